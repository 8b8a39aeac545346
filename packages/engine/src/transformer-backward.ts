/**
 * Backward pass of the Johnson et al. 2016 transformation network graph (transformer-graph.ts): from the gradient of
 * the loss with respect to the network's output to the gradient of every parameter, through the instance norms
 * (their ReLU mask recomputed), the residual skips, and the convs (input and filter gradients, reflect padding and
 * upsampling folded back by the kernels).
 */
import type { Dispatch } from './gpu-context.ts';
import { conv2dBackpropFilter, conv2dBackpropFilterScratchFloats, conv2dBackpropInput } from './kernels/conv2d-backprop.ts';
import { add } from './kernels/elementwise.ts';
import { instanceNormBackward } from './kernels/instance-norm.ts';
import { normShape, type TransformerGraph } from './transformer-graph.ts';

/**
 * Dispatches of the backward pass: from `dOut` (gradient of the loss with respect to `output`) to the gradient
 * of every parameter, written (not added) into `grads` (laid out like the parameters). Gradient buffers are
 * allocated on the first call.
 */
export function transformerBackward(g: TransformerGraph, dOut: GPUBuffer, grads: GPUBuffer): Dispatch[] {
  const ctx = g.ctx;
  const L = g.layout;
  const out: Dispatch[] = [];
  const last = g.stages.length - 1;
  const dA: GPUBuffer[] = g.buffers.map((b, i) => (i === last ? dOut : ctx.createBuffer(b.a.size, `grad ${g.stages[i]!.conv} out`)));
  const scratch = ctx.createBuffer(Math.max(...g.stages.map((s) => conv2dBackpropFilterScratchFloats(s.shape))) * 4, 'filter grad scratch');
  let dTmp: GPUBuffer | null = null;
  for (let i = last; i >= 0; i--) {
    const s = g.stages[i]!;
    const b = g.buffers[i]!;
    let dZ = dA[i]!;
    if (s.norm !== null) {
      dZ = ctx.createBuffer(b.z.size, `grad ${s.conv} z`);
      out.push(
        ...instanceNormBackward(
          ctx,
          normShape(s),
          {
            scratch: g.normScratch,
            x: b.z,
            gamma: L.binding(g.params, `${s.norm}.weight`),
            beta: L.binding(g.params, `${s.norm}.bias`),
            mean: b.mean!,
            invStd: b.invStd!,
            dy: dA[i]!,
            dx: dZ,
            dgamma: L.binding(grads, `${s.norm}.weight`),
            dbeta: L.binding(grads, `${s.norm}.bias`),
          },
        ),
      );
    }
    out.push(
      ...conv2dBackpropFilter(ctx, s.shape, {
        x: b.x,
        dy: dZ,
        dw: L.binding(grads, `${s.conv}.weight`),
        dbias: L.binding(grads, `${s.conv}.bias`),
        partial: scratch,
      }),
    );
    if (i === 0) break;
    const w = L.binding(g.params, `${s.conv}.weight`);
    const skip = g.stages.findIndex((t) => t.residualOf === i);
    if (skip < 0) {
      out.push(...conv2dBackpropInput(ctx, s.shape, { dy: dZ, w, dx: dA[i - 1]! }));
    } else {
      // The block's input also reaches its output through the skip connection: add that gradient.
      dTmp ??= ctx.createBuffer(b.x.size, 'grad residual tmp');
      out.push(...conv2dBackpropInput(ctx, s.shape, { dy: dZ, w, dx: dTmp }));
      out.push(...add(ctx, { count: b.x.size / 4 }, { a: dTmp, b: dA[skip]!, y: dA[i - 1]! }));
    }
  }
  return out;
}
