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

/** Options common to the bundled presets (measured on 2 CPU cores, wasm backend). */
const CPU_HOUR = {
  lossNet: 'vgg19',
  width: 'half',
  imageSize: 160,
  batchSize: 2,
  microBatch: 0,
  styleSize: 320,
  lr: 2e-3,
  iterations: 2400,
  checkpointEvery: 200,
  sampleEvery: 400,
  logEvery: 10,
  keep: 3,
  scaleAugment: 1.1,
  validation: '2',
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
