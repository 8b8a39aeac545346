// What bench/gpu.ts measures about WebGPU itself, for any code that drives a Dawn device (tfjs-backend-webgpu or
// @hokusai/engine): it installs Dawn (npm `webgpu`) as navigator.gpu with timestamp queries allowed
// (`allow_unsafe_apis`, `timestamp_quantization` off), counts CPU-side calls (dispatches, buffer and bind-group
// creations, uniform/staging writes, submits) by wrapping the prototypes' methods, and, when asked, times every
// dispatch on the GPU: each dispatch is replayed in its own compute pass with begin/end timestamp writes, resolved
// when the command buffer is finished and read after it is submitted. Timing changes how work is batched, so
// counted runs and timed runs are separate.

export interface CallCounts {
  dispatches: number;
  buffersCreated: number;
  bindGroupsCreated: number;
  writeBuffers: number;
  submits: number;
}

export interface KernelTime {
  name: string;
  calls: number;
  ms: number;
}

type Fn = (...args: never[]) => unknown;
type Proto = Record<string, Fn>;

const MAP_READ = 0x1;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const QUERY_RESOLVE = 0x200;
const QUERIES_PER_SET = 4096;

export const DAWN_FLAGS = ['enable-dawn-features=allow_unsafe_apis', 'disable-dawn-features=timestamp_quantization'];

/** Installs Dawn as navigator.gpu with DAWN_FLAGS (before @hokusai/node's initBackend, which then reuses it). */
export async function installDawn(): Promise<{ gpu: GPU; globals: Record<string, unknown> }> {
  const dawn = (await import('webgpu')) as unknown as { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(DAWN_FLAGS);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return { gpu, globals: dawn.globals };
}

export function adapterLine(adapter: GPUAdapter): string {
  const i = adapter.info;
  const ts = adapter.features.has('timestamp-query') ? 'timestamp-query' : 'no timestamp-query';
  const f16 = adapter.features.has('shader-f16') ? ', shader-f16' : '';
  return `${i.description || i.device || '?'} (vendor ${i.vendor || '?'}, architecture ${i.architecture || '?'}; ${ts}${f16})`;
}

interface OpenSet {
  device: GPUDevice;
  querySet: GPUQuerySet;
  names: string[];
}

/** An encoder's query sets, resolved into `staging` (read after its command buffer is submitted). */
interface ResolvedSets {
  staging: GPUBuffer;
  sets: OpenSet[];
  resolve: GPUBuffer[];
}

/** Counts calls on every Dawn device and optionally times each dispatch; install once, before any device exists. */
export class GpuProbe {
  readonly counts: CallCounts = { dispatches: 0, buffersCreated: 0, bindGroupsCreated: 0, writeBuffers: 0, submits: 0 };
  timing = false;
  private readonly kernels = new Map<string, KernelTime>();
  private readonly pending: Promise<void>[] = [];
  private readonly labels = new WeakMap<object, string>();
  private readonly encoderDevice = new WeakMap<object, GPUDevice>();
  private readonly encoderSets = new WeakMap<object, OpenSet[]>();
  private readonly bufferSets = new WeakMap<object, ResolvedSets>();

  constructor(globals: Record<string, unknown>) {
    const proto = (name: string): Proto => (globals[name] as { prototype: Proto }).prototype;
    this.wrapDevice(proto('GPUDevice'));
    this.wrapQueue(proto('GPUQueue'));
    this.wrapEncoder(proto('GPUCommandEncoder'));
    const pass = proto('GPUComputePassEncoder');
    const dispatch = pass['dispatchWorkgroups'] as Fn;
    const counts = this.counts;
    pass['dispatchWorkgroups'] = function (this: unknown, ...args: never[]) {
      counts.dispatches++;
      return dispatch.apply(this, args);
    };
  }

  snapshot(): CallCounts {
    return { ...this.counts };
  }

  since(before: CallCounts): CallCounts {
    const c = this.counts;
    return {
      dispatches: c.dispatches - before.dispatches,
      buffersCreated: c.buffersCreated - before.buffersCreated,
      bindGroupsCreated: c.bindGroupsCreated - before.bindGroupsCreated,
      writeBuffers: c.writeBuffers - before.writeBuffers,
      submits: c.submits - before.submits,
    };
  }

  /** Runs `work` with every dispatch timed; returns the kernels by total GPU time, largest first. */
  async timeKernels(work: () => Promise<void>): Promise<KernelTime[]> {
    this.kernels.clear();
    this.timing = true;
    try {
      await work();
    } finally {
      this.timing = false;
    }
    await Promise.all(this.pending.splice(0));
    return [...this.kernels.values()].sort((a, b) => b.ms - a.ms);
  }

  private wrapDevice(p: Proto): void {
    const { counts, labels, encoderDevice } = this;
    const orig = { ...pick(p, ['createBuffer', 'createBindGroup', 'createComputePipeline', 'createComputePipelineAsync', 'createCommandEncoder']) };
    p['createBuffer'] = function (this: unknown, ...a: never[]) {
      counts.buffersCreated++;
      return orig['createBuffer']!.apply(this, a);
    };
    p['createBindGroup'] = function (this: unknown, ...a: never[]) {
      counts.bindGroupsCreated++;
      return orig['createBindGroup']!.apply(this, a);
    };
    const label = (d: { label?: string } | undefined, pipe: object): object => (labels.set(pipe, d?.label || 'unlabelled'), pipe);
    p['createComputePipeline'] = function (this: unknown, ...a: never[]) {
      return label(a[0], orig['createComputePipeline']!.apply(this, a) as object);
    };
    p['createComputePipelineAsync'] = function (this: unknown, ...a: never[]) {
      return (orig['createComputePipelineAsync']!.apply(this, a) as Promise<object>).then((pipe) => label(a[0], pipe));
    };
    p['createCommandEncoder'] = function (this: GPUDevice, ...a: never[]) {
      const enc = orig['createCommandEncoder']!.apply(this, a) as object;
      encoderDevice.set(enc, this);
      return enc;
    };
  }

  private wrapQueue(p: Proto): void {
    const { counts } = this;
    const orig = pick(p, ['submit', 'writeBuffer']);
    p['writeBuffer'] = function (this: unknown, ...a: never[]) {
      counts.writeBuffers++;
      return orig['writeBuffer']!.apply(this, a);
    };
    const collect = (cb: object): void => this.collect(cb);
    p['submit'] = function (this: unknown, ...a: never[]) {
      counts.submits++;
      const r = orig['submit']!.apply(this, a);
      for (const cb of a[0] as unknown as Iterable<object>) collect(cb);
      return r;
    };
  }

  private wrapEncoder(p: Proto): void {
    const orig = pick(p, ['beginComputePass', 'finish']);
    const timedPass = (enc: GPUCommandEncoder, desc: GPUComputePassDescriptor | undefined): object | undefined =>
      !this.timing || desc?.timestampWrites !== undefined
        ? undefined
        : this.timedPass(enc, (d) => orig['beginComputePass']!.call(enc, d as never) as GPUComputePassEncoder);
    const resolve = (enc: GPUCommandEncoder): ResolvedSets | undefined => {
      const sets = this.encoderSets.get(enc);
      return sets === undefined ? undefined : this.resolve(enc, sets);
    };
    const remember = (cb: object, r: ResolvedSets): void => void this.bufferSets.set(cb, r);
    p['beginComputePass'] = function (this: GPUCommandEncoder, ...a: never[]) {
      return timedPass(this, a[0]) ?? orig['beginComputePass']!.apply(this, a);
    };
    p['finish'] = function (this: GPUCommandEncoder, ...a: never[]) {
      const resolved = resolve(this);
      const cb = orig['finish']!.apply(this, a) as object;
      if (resolved !== undefined) remember(cb, resolved);
      return cb;
    };
  }

  /** A stand-in compute pass: each dispatch runs in a real pass of its own with begin/end timestamps. */
  private timedPass(enc: GPUCommandEncoder, begin: (d: GPUComputePassDescriptor) => GPUComputePassEncoder): object {
    let pipeline: GPUComputePipeline | undefined;
    const groups = new Map<number, [GPUBindGroup | null, number[] | undefined]>();
    const record = (run: (pass: GPUComputePassEncoder) => void): void => {
      const [set, index] = this.slot(enc, pipeline === undefined ? '?' : (this.labels.get(pipeline) ?? 'unlabelled'));
      const pass = begin({ timestampWrites: { querySet: set.querySet, beginningOfPassWriteIndex: index, endOfPassWriteIndex: index + 1 } });
      if (pipeline !== undefined) pass.setPipeline(pipeline);
      for (const [i, [g, offsets]] of groups) pass.setBindGroup(i, g, offsets);
      run(pass);
      pass.end();
    };
    return {
      label: '',
      setPipeline: (p: GPUComputePipeline) => void (pipeline = p),
      setBindGroup: (i: number, g: GPUBindGroup | null, offsets?: number[]) => void groups.set(i, [g, offsets === undefined ? undefined : [...offsets]]),
      dispatchWorkgroups: (x: number, y?: number, z?: number) => record((pass) => pass.dispatchWorkgroups(x, y, z)),
      dispatchWorkgroupsIndirect: (b: GPUBuffer, o: number) => record((pass) => pass.dispatchWorkgroupsIndirect(b, o)),
      pushDebugGroup: () => {},
      popDebugGroup: () => {},
      insertDebugMarker: () => {},
      end: () => {},
    };
  }

  /** The query set and first index for one more timed dispatch recorded into `enc`. */
  private slot(enc: GPUCommandEncoder, name: string): [OpenSet, number] {
    let sets = this.encoderSets.get(enc);
    if (sets === undefined) this.encoderSets.set(enc, (sets = []));
    let set = sets[sets.length - 1];
    if (set === undefined || set.names.length * 2 >= QUERIES_PER_SET) {
      const device = this.encoderDevice.get(enc);
      if (device === undefined) throw new Error('gpu-probe: a command encoder from an unknown device');
      set = { device, querySet: device.createQuerySet({ type: 'timestamp', count: QUERIES_PER_SET }), names: [] };
      sets.push(set);
    }
    set.names.push(name);
    return [set, (set.names.length - 1) * 2];
  }

  private resolve(enc: GPUCommandEncoder, sets: OpenSet[]): ResolvedSets {
    const device = (sets[0] as OpenSet).device;
    const staging = device.createBuffer({ size: sets.length * QUERIES_PER_SET * 8, usage: MAP_READ | COPY_DST });
    const resolve = sets.map((s, i) => {
      const bytes = s.names.length * 16;
      const buf = device.createBuffer({ size: QUERIES_PER_SET * 8, usage: QUERY_RESOLVE | COPY_SRC });
      enc.resolveQuerySet(s.querySet, 0, s.names.length * 2, buf, 0);
      enc.copyBufferToBuffer(buf, 0, staging, i * QUERIES_PER_SET * 8, bytes);
      return buf;
    });
    this.encoderSets.delete(enc);
    return { staging, sets, resolve };
  }

  private collect(cb: object): void {
    const r = this.bufferSets.get(cb);
    if (r === undefined) return;
    this.bufferSets.delete(cb);
    this.pending.push(
      r.staging.mapAsync(MAP_READ).then(() => {
        const t = new BigUint64Array(r.staging.getMappedRange());
        r.sets.forEach((s, i) => {
          s.names.forEach((name, k) => {
            const at = i * QUERIES_PER_SET + 2 * k;
            const ms = Number((t[at + 1] as bigint) - (t[at] as bigint)) / 1e6;
            const e = this.kernels.get(name) ?? { name, calls: 0, ms: 0 };
            e.calls++;
            e.ms += ms;
            this.kernels.set(name, e);
          });
          s.querySet.destroy();
        });
        r.staging.unmap();
        r.staging.destroy();
        for (const b of r.resolve) b.destroy();
      }),
    );
  }
}

function pick(p: Proto, names: string[]): Record<string, Fn> {
  const out: Record<string, Fn> = {};
  for (const n of names) {
    const f = p[n];
    if (typeof f !== 'function') throw new Error(`gpu-probe: this Dawn has no ${n}`);
    out[n] = f;
  }
  return out;
}
