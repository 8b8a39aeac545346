/**
 * The stylise engines, in one home for `hokusai stylize` and the server's inference workers: tfjs (stylizeTensor of
 * @hokusai/model), onnxruntime-node on the CPU or its WebGPU execution provider (onnx-stylizer.ts), and Hokusai's
 * WebGPU engine (@hokusai/engine's TransformerForward under Dawn, one forward per image size). Each takes an RGB
 * image and gives the stylised one with the same clip, colour transfer and blend (postprocess.ts's finishPixels),
 * so every engine gives the same picture. The auto choice (docs/backends.md "Inference engines") lives here too:
 * the GPU engine on a hardware WebGPU adapter with the limits it needs, else onnxruntime on the CPU, with one line
 * saying which and why.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { finishPixels, stylizeTensor, type NetConfig, type TransformerNet } from '@hokusai/model';
import { HokusaiError } from '@hokusai/errors';
import {
  checkForwardFits, GpuContext, readNetWeights, requestEngineDevice, TransformerForward, type EngineDevice, type NamedWeights,
} from '@hokusai/engine';
import { ONNX_MIN_SIDE } from '@hokusai/export';
import { gpuDeviceFiles, probeWebGpu, rgbToTensor, tensorToRgbAsync, type RgbImage } from '@hokusai/node';
import { createOnnxStylizer, loadOnnxRuntime, type Ort } from './onnx-stylizer.ts';
import { cropTopLeft, padToMin } from './postprocess.ts';

/** What `--engine` may name: auto chooses gpu or onnx (see the header); the others force one. */
export const ENGINE_CHOICES = ['auto', 'gpu', 'onnx', 'onnx-webgpu', 'tfjs'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];

/** What a network is run with: an RGB image in, the stylised RGB image (same size) out. */
export interface StylizeEngine {
  /** Says which engine runs, for the log line. */
  readonly label: string;
  stylize(img: RgbImage, opts: { strength: number; preserveColors: boolean }): Promise<RgbImage>;
  /** Gives back memory that sizes larger than usual grew (the GPU engine: its forward's buffers); the engine stays usable. */
  release?(): void;
  dispose(): void;
}

/** tfjs on whichever backend is active (`stylizeTensor` of @hokusai/model). Owns `net`. */
export function tfjsEngine(net: TransformerNet): StylizeEngine {
  return {
    label: `tfjs ${tf.getBackend()}`,
    async stylize(img, opts) {
      const input = rgbToTensor(img);
      let styled: tf.Tensor3D | undefined;
      try {
        styled = stylizeTensor(net, input, opts);
        return await tensorToRgbAsync(styled);
      } finally {
        input.dispose();
        styled?.dispose();
      }
    },
    dispose: () => net.dispose(),
  };
}

/** onnxruntime-node (CPU, or its WebGPU execution provider), running the ONNX export of `net` (which it does not keep). */
export async function onnxEngine(ort: Ort, net: TransformerNet, threads = availableParallelism(), provider: 'cpu' | 'webgpu' = 'cpu'): Promise<StylizeEngine> {
  // logSeverityLevel 3: the WebGPU provider warns that it leaves shape ops on the CPU, as intended
  const session = provider === 'webgpu' ? { executionProviders: ['webgpu'], logSeverityLevel: 3 as const } : {};
  const stylizer = await createOnnxStylizer(ort, net, { threads, name: 'hokusai stylize', session });
  const where = provider === 'webgpu' ? 'webgpu execution provider' : `cpu, ${threads} thread(s)`;
  return {
    label: `onnxruntime-node ${ort.env.versions.common ?? ''} (${where})`,
    async stylize(img, opts) {
      const data = await stylizer.run(img.data, img.width, img.height, opts.strength, opts.preserveColors);
      return { data, width: img.width, height: img.height };
    },
    dispose: () => void stylizer.dispose(),
  };
}

/** One forward of the engine for one image size, with the context that owns its buffers. */
interface SizedForward {
  key: string;
  ctx: GpuContext;
  forward: TransformerForward;
}

/** A forward for [1, h, w, 3] on `device`: checked against its limits first (OUT_OF_MEMORY naming --max-size). */
async function createForward(device: GPUDevice, net: { config: NetConfig; weights: NamedWeights }, h: number, w: number): Promise<SizedForward> {
  const size = { n: 1, h, w };
  checkForwardFits(device, net.config, size);
  const ctx = new GpuContext(device);
  device.pushErrorScope('out-of-memory');
  try {
    const forward = await TransformerForward.create(ctx, net, size);
    const error = await device.popErrorScope();
    if (error !== null) throw new HokusaiError('OUT_OF_MEMORY', `the engine's forward at ${w}×${h} does not fit GPU memory (${error.message}); try --max-size`);
    return { key: `${h}x${w}`, ctx, forward };
  } catch (error) {
    ctx.dispose();
    throw error;
  }
}

/**
 * Hokusai's WebGPU engine (@hokusai/engine's TransformerForward) on `dev`, which it owns unless `ownDevice` is false
 * (a device shared by several engines); reads `net`'s weights and does not keep it. One forward per image size,
 * kept while the size repeats (folders of photos, video frames) and rebuilt when it changes; `release` frees it.
 */
export async function gpuEngine(dev: EngineDevice, net: TransformerNet, { ownDevice = true } = {}): Promise<StylizeEngine> {
  const parts = { config: net.config, weights: await readNetWeights(net) };
  let current: SizedForward | null = null;
  const release = (): void => {
    current?.ctx.dispose();
    current = null;
  };
  const forwardFor = async (h: number, w: number): Promise<TransformerForward> => {
    if (current?.key !== `${h}x${w}`) {
      checkForwardFits(dev.device, parts.config, { n: 1, h, w }); // a size that does not fit keeps the current forward
      release();
      current = await createForward(dev.device, parts, h, w);
    }
    return current.forward;
  };
  return {
    label: `the GPU engine (WebGPU on ${dev.adapter.description}${dev.adapter.software ? ', a software adapter' : ''})`,
    async stylize(img, opts) {
      // images under ONNX_MIN_SIDE are edge-padded as onnx-stylizer does, so both engines give the same picture
      const padded = padToMin(img.data, img.width, img.height, ONNX_MIN_SIDE);
      const forward = await forwardFor(padded.height, padded.width);
      const styled = cropTopLeft(await forward.run(Float32Array.from(padded.pixels)), padded.width, img.width, img.height);
      for (let i = 0; i < styled.length; i++) styled[i] = Math.min(255, Math.max(0, styled[i]!));
      return { data: finishPixels(styled, img.data, opts.strength, opts.preserveColors), width: img.width, height: img.height };
    },
    release,
    dispose: () => {
      release();
      if (ownDevice) dev.device.destroy();
    },
  };
}

/** Why the GPU engine cannot run a network of `config`, or null when it can. */
export function gpuEngineRefusal(config: NetConfig): string | null {
  return config.arch === 'johnson' ? null : `the GPU engine runs Johnson networks only, this checkpoint is ${config.arch}`;
}

/**
 * The engine's device (for networks of `config`; null: not known yet), or null (auto: with one line saying why
 * onnxruntime runs instead). auto takes a hardware adapter only (Dawn is not even loaded without a GPU device
 * file: its adapter scan is noisy); a forced `gpu` takes a software adapter too (lavapipe: how CI tests it) and
 * throws where there is none.
 */
export async function engineDeviceFor(config: NetConfig | null, choice: EngineChoice, log: (line: string) => void): Promise<EngineDevice | null> {
  const forced = choice === 'gpu';
  const refuse = (reason: string, code: 'INVALID_ARGUMENT' | 'BACKEND_UNAVAILABLE' = 'BACKEND_UNAVAILABLE'): null => {
    if (forced) throw new HokusaiError(code, `--engine gpu: ${reason}; use --engine onnx (or auto)`);
    log(`engine: onnxruntime on the CPU (auto: ${reason})`);
    return null;
  };
  const archReason = config === null ? null : gpuEngineRefusal(config);
  if (archReason !== null) return refuse(archReason, 'INVALID_ARGUMENT');
  if (!forced && gpuDeviceFiles()?.length === 0) return refuse('no GPU device file (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg), so no hardware WebGPU adapter');
  let software: boolean;
  try {
    software = (await probeWebGpu()).software; // installs Dawn as navigator.gpu
  } catch (error) {
    return refuse(error instanceof Error ? error.message : String(error));
  }
  if (software && !forced) return refuse('the only WebGPU adapter is a software one (runs on the CPU; force it with --engine gpu)');
  const dev = await requestEngineDevice((globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu);
  if ('reason' in dev) return refuse(dev.reason);
  if (!forced) log(`engine: gpu (auto: ${dev.adapter.description} is a hardware WebGPU adapter with the limits the engine needs)`);
  return dev;
}

/** onnxruntime-node, or null for auto when it does not load (said in one line); a forced onnx engine throws. */
export async function onnxRuntimeFor(choice: EngineChoice, log: (line: string) => void): Promise<Ort | null> {
  try {
    return await loadOnnxRuntime();
  } catch (error) {
    const reason = `onnxruntime-node did not load (${(error as Error).message.split('\n')[0] ?? ''})`;
    if (choice !== 'auto') throw new HokusaiError('BACKEND_UNAVAILABLE', `--engine ${choice}: ${reason}; use --engine tfjs`, { cause: error });
    log(`${reason}; using tfjs`);
    return null;
  }
}
