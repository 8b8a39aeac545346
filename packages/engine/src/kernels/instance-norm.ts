/**
 * Instance normalisation (Ulyanov, Vedaldi & Lempitsky 2016) forward and backward on NHWC activations, with the
 * ReLU and the residual add of the Johnson et al. 2016 residual blocks fused into the forward store.
 * Statistics as packages/model/src/instance-norm.ts: per image and channel, biased variance over H×W, eps inside
 * the square root. Both directions reduce over H×W in chunks of CHUNK pixels (one workgroup per 16 channels ×
 * chunk × image, so a 1024×1024 image fills a large GPU), then merge the chunks per (image, channel) and apply.
 * The forward merges Welford partials (count, mean, M2; Chan et al. 1979) so large images lose no precision.
 */
import type { Binding, Dispatch, GpuContext } from '../gpu-context.ts';
import { bindings, check, checkInts, declare, f, grid1d, LINEAR_WG, u, type Param } from './common.ts';

export interface InstanceNormShape {
  n: number;
  /** Pixels per image (H·W). */
  hw: number;
  c: number;
  relu: boolean;
  /** Adds `res` after normalisation (and after the ReLU, if any). */
  residual: boolean;
  eps: number;
}

const CHUNK = 1024;
const chunksOf = (s: InstanceNormShape): number => Math.ceil(s.hw / CHUNK);

/** Bytes of the scratch buffer one instance norm layer needs (the same scratch serves forward and backward). */
export function instanceNormScratchBytes(s: InstanceNormShape): number {
  const partials = s.n * chunksOf(s) * s.c;
  return 4 * Math.max(3 * partials, 2 * partials + 2 * s.n * s.c);
}

function checkShape(kernel: string, s: InstanceNormShape): void {
  checkInts(kernel, s, ['n', 'hw', 'c']);
  check(kernel, typeof s.eps === 'number' && s.eps > 0, `eps must be a positive number, got ${String(s.eps)}`);
  check(kernel, chunksOf(s) <= 65535, `hw ${s.hw} exceeds ${65535 * CHUNK} pixels`);
}

function scratchOf(ctx: GpuContext, s: InstanceNormShape, scratch: Binding | undefined): Binding {
  return scratch ?? ctx.createBuffer(instanceNormScratchBytes(s), 'instance norm scratch');
}

const CONSTS = (s: InstanceNormShape): string =>
  `const C = ${u(s.c)}; const HW = ${u(s.hw)}; const NC = ${u(s.n * s.c)}; const CHUNK = ${u(CHUNK)}; const CHUNKS = ${u(chunksOf(s))};`;

/** The per-chunk loop header shared by both partial kernels: channel ch of image wg.z, pixels of chunk wg.y. */
const CHUNK_LOOP = `
  let ch = wg.x * 16u + lid.x; let chunk = wg.y; let ni = wg.z; let li = lid.y * 16u + lid.x;
  let p_end = min(HW, (chunk + 1u) * CHUNK);`;

const FORWARD_PARTIAL = `
var<workgroup> s_n: array<f32, 256>; var<workgroup> s_mean: array<f32, 256>; var<workgroup> s_m2: array<f32, 256>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  ${CHUNK_LOOP}
  var cnt = 0.0; var mean = 0.0; var m2 = 0.0;
  if (ch < C) {
    for (var p = chunk * CHUNK + lid.y; p < p_end; p += 16u) {
      let v = x[(ni * HW + p) * C + ch];
      cnt += 1.0; let d = v - mean; mean += d / cnt; m2 += d * (v - mean);
    }
  }
  s_n[li] = cnt; s_mean[li] = mean; s_m2[li] = m2;
  workgroupBarrier();
  for (var stride = 8u; stride > 0u; stride >>= 1u) {
    if (lid.y < stride) {
      let o = li + stride * 16u;
      let na = s_n[li]; let nb = s_n[o]; let nt = na + nb;
      if (nt > 0.0) {
        let d = s_mean[o] - s_mean[li];
        s_mean[li] += d * nb / nt; s_m2[li] += s_m2[o] + d * d * na * nb / nt; s_n[li] = nt;
      }
    }
    workgroupBarrier();
  }
  if (lid.y == 0u && ch < C) {
    let at = ((ni * CHUNKS + chunk) * C + ch) * 3u;
    scratch[at] = s_n[li]; scratch[at + 1u] = s_mean[li]; scratch[at + 2u] = s_m2[li];
  }
}`;

function forwardFinalize(s: InstanceNormShape): string {
  return `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= NC) { return; }
  let ni = i / C; let ch = i % C;
  var cnt = 0.0; var mu = 0.0; var m2 = 0.0;
  for (var k = 0u; k < CHUNKS; k++) {
    let at = ((ni * CHUNKS + k) * C + ch) * 3u;
    let nb = scratch[at]; let nt = cnt + nb;
    let d = scratch[at + 1u] - mu;
    mu += d * nb / nt; m2 += scratch[at + 2u] + d * d * cnt * nb / nt; cnt = nt;
  }
  mean[i] = mu;
  inv_std[i] = inverseSqrt(m2 / cnt + ${f(s.eps)});
}`;
}

/** The normalised, affine pre-activation; forward and backward evaluate the same expression (same ReLU mask). */
const PRE = `fn pre_act(v: f32, i: u32, ch: u32) -> f32 { return (v - mean[i]) * inv_std[i] * gamma[ch] + beta[ch]; }`;

function forwardApply(s: InstanceNormShape): string {
  return `
${PRE}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let e = ${LINEAR_WG} * 256u + li;
  if (e >= ${u(s.n * s.hw * s.c)}) { return; }
  let ch = e % C; let i = (e / (HW * C)) * C + ch;
  var o = pre_act(x[e], i, ch);
  ${s.relu ? 'o = max(o, 0.0);' : ''}
  ${s.residual ? 'o += res[e];' : ''}
  y[e] = o;
}`;
}

/**
 * y = IN(x)·gamma + beta, then ReLU if `relu`, then + res if `residual`. x, y, res: [n, hw, c]; gamma, beta: [c];
 * mean, invStd: [n·c] (written, for the backward). `scratch`: instanceNormScratchBytes(s) bytes, created here if
 * absent. Three dispatches: chunk partials, merge, apply.
 */
export function instanceNorm(
  ctx: GpuContext,
  s: InstanceNormShape,
  b: { x: Binding; gamma: Binding; beta: Binding; y: Binding; mean: Binding; invStd: Binding; res?: Binding; scratch?: Binding },
): Dispatch[] {
  checkShape('instanceNorm', s);
  check('instanceNorm', !s.residual || b.res !== undefined, 'residual is true but no res binding was given');
  const scratch = scratchOf(ctx, s, b.scratch);
  const head = CONSTS(s);
  const p1: Param[] = [
    { name: 'x', access: 'read', binding: b.x },
    { name: 'scratch', access: 'read_write', binding: scratch },
  ];
  const p2: Param[] = [
    { name: 'scratch', access: 'read', binding: scratch },
    { name: 'mean', access: 'read_write', binding: b.mean },
    { name: 'inv_std', access: 'read_write', binding: b.invStd },
  ];
  const p3: Param[] = [
    { name: 'x', access: 'read', binding: b.x },
    { name: 'mean', access: 'read', binding: b.mean },
    { name: 'inv_std', access: 'read', binding: b.invStd },
    { name: 'gamma', access: 'read', binding: b.gamma },
    { name: 'beta', access: 'read', binding: b.beta },
  ];
  if (s.residual) p3.push({ name: 'res', access: 'read', binding: b.res as Binding });
  p3.push({ name: 'y', access: 'read_write', binding: b.y });
  const label = `instance norm ${s.c}ch`;
  return [
    ctx.dispatch(`${label} partials`, `${declare(p1)}\n${head}\n${FORWARD_PARTIAL}`, bindings(p1), [Math.ceil(s.c / 16), chunksOf(s), s.n]),
    ctx.dispatch(`${label} merge`, `${declare(p2)}\n${head}\n${forwardFinalize(s)}`, bindings(p2), [Math.ceil((s.n * s.c) / 64)]),
    ctx.dispatch(`${label} apply`, `${declare(p3)}\n${head}\n${forwardApply(s)}`, bindings(p3), grid1d(Math.ceil((s.n * s.hw * s.c) / 256))),
  ];
}

function backwardPartial(s: InstanceNormShape): string {
  return `
${s.relu ? PRE : ''}
var<workgroup> s_g: array<f32, 256>; var<workgroup> s_gx: array<f32, 256>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  ${CHUNK_LOOP}
  var sg = 0.0; var sgx = 0.0;
  if (ch < C) {
    let i = ni * C + ch;
    for (var p = chunk * CHUNK + lid.y; p < p_end; p += 16u) {
      let e = (ni * HW + p) * C + ch;
      let v = x[e];
      var g = dy[e];
      ${s.relu ? 'if (pre_act(v, i, ch) <= 0.0) { g = 0.0; }' : ''}
      sg += g; sgx += g * (v - mean[i]) * inv_std[i];
    }
  }
  s_g[li] = sg; s_gx[li] = sgx;
  workgroupBarrier();
  for (var stride = 8u; stride > 0u; stride >>= 1u) {
    if (lid.y < stride) { s_g[li] += s_g[li + stride * 16u]; s_gx[li] += s_gx[li + stride * 16u]; }
    workgroupBarrier();
  }
  if (lid.y == 0u && ch < C) {
    let at = ((ni * CHUNKS + chunk) * C + ch) * 2u;
    scratch[at] = s_g[li]; scratch[at + 1u] = s_gx[li];
  }
}`;
}

/** Per channel: sums per image into scratch (after the partials), and dgamma/dbeta summed over the batch. */
function backwardMerge(s: InstanceNormShape): string {
  return `
const SUMS = ${u(2 * s.n * chunksOf(s) * s.c)};
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ch = gid.x;
  if (ch >= C) { return; }
  var dg = 0.0; var db = 0.0;
  for (var ni = 0u; ni < ${u(s.n)}; ni++) {
    var sg = 0.0; var sgx = 0.0;
    for (var k = 0u; k < CHUNKS; k++) {
      let at = ((ni * CHUNKS + k) * C + ch) * 2u;
      sg += scratch[at]; sgx += scratch[at + 1u];
    }
    scratch[SUMS + (ni * C + ch) * 2u] = sg; scratch[SUMS + (ni * C + ch) * 2u + 1u] = sgx;
    db += sg; dg += sgx;
  }
  dgamma[ch] = dg; dbeta[ch] = db;
}`;
}

function backwardApply(s: InstanceNormShape): string {
  return `
${s.relu ? PRE : ''}
const SUMS = ${u(2 * s.n * chunksOf(s) * s.c)};
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let e = ${LINEAR_WG} * 256u + li;
  if (e >= ${u(s.n * s.hw * s.c)}) { return; }
  let ch = e % C; let i = (e / (HW * C)) * C + ch;
  let v = x[e];
  var g = dy[e];
  ${s.relu ? 'if (pre_act(v, i, ch) <= 0.0) { g = 0.0; }' : ''}
  let xh = (v - mean[i]) * inv_std[i];
  let mg = scratch[SUMS + i * 2u] / f32(HW); let mgx = scratch[SUMS + i * 2u + 1u] / f32(HW);
  dx[e] = gamma[ch] * inv_std[i] * (g - mg - xh * mgx);
}`;
}

/**
 * Gradients of instanceNorm (with its ReLU): dx [n, hw, c], dgamma and dbeta [c] (summed over the batch; written,
 * not accumulated). Needs the forward's x, mean and invStd; the ReLU mask is recomputed from them with the
 * forward's own expression, so the caller keeps no output. The residual add's gradient (dy itself, for `res`) is
 * the caller's. Three dispatches; `scratch` as for the forward (may be the same buffer).
 */
export function instanceNormBackward(
  ctx: GpuContext,
  s: InstanceNormShape,
  b: { x: Binding; gamma: Binding; beta: Binding; mean: Binding; invStd: Binding; dy: Binding; dx: Binding; dgamma: Binding; dbeta: Binding; scratch?: Binding },
): Dispatch[] {
  checkShape('instanceNormBackward', s);
  const scratch = scratchOf(ctx, s, b.scratch);
  const head = CONSTS(s);
  // Only what each shader reads (WGSL 'auto' layouts drop unused bindings): gamma/beta for the ReLU mask.
  const stats = (withGamma: boolean): Param[] => [
    { name: 'mean', access: 'read', binding: b.mean },
    { name: 'inv_std', access: 'read', binding: b.invStd },
    ...(withGamma || s.relu ? [{ name: 'gamma', access: 'read' as const, binding: b.gamma }] : []),
    ...(s.relu ? [{ name: 'beta', access: 'read' as const, binding: b.beta }] : []),
  ];
  const p1: Param[] = [
    { name: 'x', access: 'read', binding: b.x },
    { name: 'dy', access: 'read', binding: b.dy },
    ...stats(false),
    { name: 'scratch', access: 'read_write', binding: scratch },
  ];
  const p2: Param[] = [
    { name: 'scratch', access: 'read_write', binding: scratch },
    { name: 'dgamma', access: 'read_write', binding: b.dgamma },
    { name: 'dbeta', access: 'read_write', binding: b.dbeta },
  ];
  const p3: Param[] = [
    { name: 'x', access: 'read', binding: b.x },
    { name: 'dy', access: 'read', binding: b.dy },
    ...stats(true),
    { name: 'scratch', access: 'read', binding: scratch },
    { name: 'dx', access: 'read_write', binding: b.dx },
  ];
  const label = `instance norm backward ${s.c}ch`;
  return [
    ctx.dispatch(`${label} partials`, `${declare(p1)}\n${head}\n${backwardPartial(s)}`, bindings(p1), [Math.ceil(s.c / 16), chunksOf(s), s.n]),
    ctx.dispatch(`${label} merge`, `${declare(p2)}\n${head}\n${backwardMerge(s)}`, bindings(p2), [Math.ceil(s.c / 64)]),
    ctx.dispatch(`${label} dx`, `${declare(p3)}\n${head}\n${backwardApply(s)}`, bindings(p3), grid1d(Math.ceil((s.n * s.hw * s.c) / 256))),
  ];
}
