/**
 * Option fields shared by several commands (engine, loss network, loss options, weights cache), so each command's
 * zod schema spells them the same way and the same defaults appear in every `--help`.
 */
import { z } from 'zod';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { POOLINGS } from '@hokusai/losses';

export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;

/** Default cache directory: $HOKUSAI_CACHE_DIR, else $XDG_CACHE_HOME/hokusai, else ~/.cache/hokusai. */
export function defaultCacheDir(): string {
  const env = process.env;
  if (env.HOKUSAI_CACHE_DIR) return env.HOKUSAI_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'hokusai');
}

export const backendOption = z
  .enum(BACKENDS)
  .default('auto')
  .describe('compute engine: auto picks the fastest that loads (tensorflow > webgpu > wasm > cpu)');

export const lossNetOption = z.enum(['vgg16', 'vgg19']).default('vgg16').describe('loss network');

export const poolingOption = z
  .enum(POOLINGS)
  .default('max')
  .describe('pooling of the loss network (avg: Gatys et al.; max-blur: anti-aliased max, Zhang 2019)');

export const weightsOption = z
  .string()
  .optional()
  .describe('loss network weights: a Keras notop .h5 file (default: the cached official file, see `hokusai weights`)');

export const cacheDirOption = z.string().default(defaultCacheDir()).describe('cache directory for weights and prepared data');

export const styleBlurOption = z
  .number()
  .int()
  .min(0)
  .default(0)
  .describe('passes of a [1,2,1]/4 blur on the output and the style image before the style loss, so it stops paying for a fine weave (0 = off)');

export const latticeWeightOption = z
  .number()
  .min(0)
  .default(0)
  .describe('weight of the lattice penalty: the part of the output periodic with the network\'s stride of 4 px (the checkerboard; 0 = off)');
