/**
 * Architecture configurations of the transformation networks:
 * - 'johnson': Johnson, Alahi & Fei-Fei 2016, "Perceptual Losses for Real-Time Style Transfer and
 *   Super-Resolution", as implemented in pytorch/examples fast_neural_style (reflection padding, instance norm,
 *   nearest-upsample + conv decoder), with configurable widths and residual-block count.
 * - 'engstrom': Logan Engstrom's fast-style-transfer variant (transposed convs, SAME zero padding, no biases,
 *   tanh output), fixed widths; used to import the published ml5 / deeplearn.js checkpoints.
 */
import { z } from 'zod';

export type NetConfig =
  | {
      arch: 'johnson';
      channels: [number, number, number];
      residualBlocks: number;
      /** σ of the fixed noise field added to the 0–255 input (input-noise.ts); absent or 0: none. */
      inputNoise?: number;
    }
  | { arch: 'engstrom' };

/** The full-size Johnson network: 1,679,235 parameters. */
export const FULL_NET: NetConfig = Object.freeze({ arch: 'johnson', channels: [32, 64, 128], residualBlocks: 5 }) as NetConfig;
/** Half the widths (≈ 1/4 of the parameters and FLOPs). */
export const HALF_NET: NetConfig = Object.freeze({ arch: 'johnson', channels: [16, 32, 64], residualBlocks: 5 }) as NetConfig;

const channel = z.number().int().min(1).max(4096);

export const NetConfigSchema: z.ZodType<NetConfig> = z.discriminatedUnion('arch', [
  z.strictObject({
    arch: z.literal('johnson'),
    channels: z.tuple([channel, channel, channel]),
    residualBlocks: z.number().int().min(0).max(64),
    inputNoise: z.number().min(0).max(64).optional(),
  }),
  z.strictObject({ arch: z.literal('engstrom') }),
]);

/** Human-readable one-liner, e.g. `johnson [32,64,128]×5`, `johnson [16,32,64]×5 + input noise σ 8` or `engstrom`. */
export function describeNetConfig(config: NetConfig): string {
  if (config.arch !== 'johnson') return 'engstrom';
  const noise = config.inputNoise !== undefined && config.inputNoise > 0 ? ` + input noise σ ${config.inputNoise}` : '';
  return `johnson [${config.channels.join(',')}]×${config.residualBlocks}${noise}`;
}
