/**
 * The engine's handle on one WebGPU device: buffer creation, compute pipelines cached by their WGSL source, bind
 * groups, uploads and reads, and counters of everything that costs CPU time per step (dispatches, buffer and bind
 * group creations, submits). Kernels bake their shapes into the WGSL source as constants, so a pipeline and its
 * bind group are made once per shape and a step only records dispatches (no uniform writes).
 *
 * Runs wherever a `GPUDevice` exists: Dawn in Node (npm `webgpu`) or a browser's `navigator.gpu`; the caller
 * acquires the device (libraries never pick an engine).
 */

/** What one step costs the CPU; compare snapshots with `diff`. */
export interface GpuCounters {
  dispatches: number;
  buffersCreated: number;
  bytesAllocated: number;
  bindGroupsCreated: number;
  pipelinesCreated: number;
  submits: number;
  bytesUploaded: number;
  bytesRead: number;
}

/** A whole buffer, or a range of one (offset and size in bytes). */
export type Binding = GPUBuffer | GPUBufferBinding;

/** One recorded compute dispatch: a pipeline, its bind group (group 0) and the workgroup counts. */
export interface Dispatch {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
}

export const STORAGE_USAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST (GPUBufferUsage may not be global)
const MAP_READ = 0x1;
const COPY_DST = 0x8;

function zeroCounters(): GpuCounters {
  return {
    dispatches: 0, buffersCreated: 0, bytesAllocated: 0, bindGroupsCreated: 0, pipelinesCreated: 0, submits: 0,
    bytesUploaded: 0, bytesRead: 0,
  };
}

export class GpuContext {
  readonly counters: GpuCounters = zeroCounters();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly owned: GPUBuffer[] = [];
  private readonly staging = new Map<number, GPUBuffer[]>();

  constructor(readonly device: GPUDevice) {}

  /** A storage buffer of `bytes` (rounded up to 4), owned by this context and destroyed by `dispose`. */
  createBuffer(bytes: number, label = 'buffer', usage = STORAGE_USAGE): GPUBuffer {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const buffer = this.device.createBuffer({ size, usage, label });
    this.counters.buffersCreated++;
    this.counters.bytesAllocated += size;
    this.owned.push(buffer);
    return buffer;
  }

  /** The compute pipeline of a WGSL module (entry point `main`), created once per distinct source. */
  pipeline(code: string, label = 'kernel'): GPUComputePipeline {
    let p = this.pipelines.get(code);
    if (p === undefined) {
      const module = this.device.createShaderModule({ code, label });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label });
      this.pipelines.set(code, p);
      this.counters.pipelinesCreated++;
    }
    return p;
  }

  /**
   * A bind group for group 0 whose binding i is `buffers[i]`: a whole buffer, or a range of one
   * (`{ buffer, offset, size }`, offset a multiple of the device's minStorageBufferOffsetAlignment, 256 bytes).
   */
  bindGroup(pipeline: GPUComputePipeline, buffers: readonly Binding[], label = 'bind group'): GPUBindGroup {
    this.counters.bindGroupsCreated++;
    return this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((b, binding) => ({ binding, resource: 'buffer' in b ? b : { buffer: b } })),
      label,
    });
  }

  /** Pipeline + bind group + workgroup counts: everything a step needs to record this kernel. */
  dispatch(label: string, code: string, buffers: readonly Binding[], workgroups: readonly [number, number?, number?]): Dispatch {
    const pipeline = this.pipeline(code, label);
    return {
      label,
      pipeline,
      bindGroup: this.bindGroup(pipeline, buffers, label),
      workgroups: [workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1],
    };
  }

  /** Records dispatches into one compute pass of `encoder`. */
  record(encoder: GPUCommandEncoder, dispatches: readonly Dispatch[]): void {
    const pass = encoder.beginComputePass();
    for (const d of dispatches) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
    }
    pass.end();
    this.counters.dispatches += dispatches.length;
  }

  /** Records and submits dispatches as one command buffer. */
  run(dispatches: readonly Dispatch[]): void {
    const encoder = this.device.createCommandEncoder();
    this.record(encoder, dispatches);
    this.submit(encoder);
  }

  submit(encoder: GPUCommandEncoder): void {
    this.device.queue.submit([encoder.finish()]);
    this.counters.submits++;
  }

  upload(buffer: GPUBuffer, data: Float32Array, byteOffset = 0): void {
    this.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
    this.counters.bytesUploaded += data.byteLength;
  }

  /**
   * Copies `bytes` of `buffer` (from `byteOffset`) to a mappable staging buffer and resolves with them as float32.
   * Staging buffers are pooled by size, so repeated reads of one shape create no buffer after the first.
   * `before` are dispatches recorded ahead of the copy in the same command buffer: run + read in one submit.
   */
  async read(buffer: GPUBuffer, bytes = buffer.size, byteOffset = 0, before: readonly Dispatch[] = []): Promise<Float32Array> {
    const size = Math.ceil(bytes / 4) * 4;
    const pool = this.staging.get(size) ?? [];
    this.staging.set(size, pool);
    let stage = pool.pop();
    if (stage === undefined) {
      stage = this.device.createBuffer({ size, usage: MAP_READ | COPY_DST, label: 'staging' });
      this.counters.buffersCreated++;
      this.counters.bytesAllocated += size;
      this.owned.push(stage);
    }
    const encoder = this.device.createCommandEncoder();
    if (before.length > 0) this.record(encoder, before);
    encoder.copyBufferToBuffer(buffer, byteOffset, stage, 0, size);
    this.submit(encoder);
    await stage.mapAsync(MAP_READ);
    const out = new Float32Array(stage.getMappedRange().slice(0));
    stage.unmap();
    pool.push(stage);
    this.counters.bytesRead += size;
    return out;
  }

  /** A copy of the counters, to subtract from a later one. */
  snapshot(): GpuCounters {
    return { ...this.counters };
  }

  /** counters now − `before`. */
  since(before: GpuCounters): GpuCounters {
    const now = this.counters;
    const out = zeroCounters();
    for (const k of Object.keys(out) as (keyof GpuCounters)[]) out[k] = now[k] - before[k];
    return out;
  }

  /** Destroys every buffer this context created (the device itself belongs to the caller). */
  dispose(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
    this.staging.clear();
    this.pipelines.clear();
  }
}
