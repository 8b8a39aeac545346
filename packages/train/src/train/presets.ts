/**
 * Bundled style presets: the exact options used to train the styles shipped with Hokusai on a 2-core CPU in
 * about an hour each (half-width network, small crops, VGG16/19 losses tuned per style). `--preset NAME`
 * fills these in; any option given explicitly on the command line or in --config wins.
 */

export const PRESET_NAMES = ['great-wave', 'starry-night', 'wanderer'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface Preset {
  description: string;
  /** Style image file name, looked up in the shared styles folder (../shared/images/styles) unless a path exists. */
  style: string;
  options: Record<string, unknown>;
}

/**
 * Options common to the bundled presets, sized for about an hour on 2 CPU cores with the wasm backend (which
 * computes on one thread; sharp decodes on the other): one step of 2 × 128² through the half-width net and
 * VGG19 (up to relu4_3), forward + backward + Adam, measured at 4.7 CPU-seconds → ≈ 770 steps per hour; 760
 * steps leave time for samples, validation and checkpoints. lr 2e-3 (twice the paper's) because the run is 50×
 * shorter than the paper's 40k steps; the divergence guard halves it if that proves too much.
 */
const CPU_HOUR = {
  lossNet: 'vgg19',
  width: 'half',
  imageSize: 128,
  batchSize: 2,
  microBatch: 0,
  styleSize: 256,
  lr: 2e-3,
  iterations: 760,
  checkpointEvery: 100,
  sampleEvery: 100,
  logEvery: 10,
  keep: 3,
  scaleAugment: 1.15,
  validation: '2',
  backend: 'wasm',
} as const;

export const PRESETS: Record<PresetName, Preset> = {
  'great-wave': {
    description: 'The Great Wave off Kanagawa (Hokusai, c. 1831)',
    style: 'great_wave_hokusai.jpg',
    options: { ...CPU_HOUR },
  },
  'starry-night': {
    description: 'The Starry Night (van Gogh, 1889)',
    style: 'starry_night_van_gogh.jpg',
    options: { ...CPU_HOUR },
  },
  wanderer: {
    description: 'Wanderer above the Sea of Fog (Friedrich, c. 1818)',
    style: 'wanderer_above_the_sea_of_fog_friedrich.jpg',
    options: { ...CPU_HOUR },
  },
};
