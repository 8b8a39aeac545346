/**
 * Bundled style presets: the options used to train the styles shipped in checkpoints/ on a 2-core CPU (half-width
 * network, small crops, VGG19, a low style weight). `--preset NAME` fills these in; any option given explicitly
 * on the command line or in --config wins.
 */

export const PRESET_NAMES = ['great-wave', 'starry-night', 'wanderer'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface Preset {
  description: string;
  /** Style image file name in the shared data's images/styles ($HOKUSAI_SHARED, default ../shared): dev recipes. */
  style: string;
  options: Record<string, unknown>;
}

/**
 * Options common to the bundled presets, sized for a CPU: one step of 2 × 128² through the half-width net and
 * VGG19 (up to relu4_3), forward + backward + Adam, takes about 4.7 CPU-seconds on the wasm backend (which computes
 * on one thread; sharp decodes on another), so 480 steps are ≈ 40 minutes on one free core. The bundled
 * checkpoints were trained two or three at a time on 2 cores (≈ 0.3–0.45 images/s each): great-wave 2000 steps
 * (3.0 hours of wall time), starry-night 651 steps and then 321 steps fine-tuned from them with TV weight 6 (`--init-from`;
 * checkpoints/README.md has the commands), wanderer 480. Crops come from photos
 * whose shorter side is scaled to 128–256 px (scale augmentation 2), closer to the 300–500 px photos the networks
 * stylise than a 128 px thumbnail is. Each painting is used at its own size (style size = its longer side, as
 * Engstrom's fast-style-transfer does): at 256 px its strokes are as large as a whole training crop, and a short
 * run paints them over the photo and loses its composition. lr 2e-3 (twice the paper's) because the run is ~50×
 * shorter than the paper's 40k steps; the divergence guard halves it if that proves too much. Style weight 0.5
 * (a quarter of the default): with the default 2, these short runs learnt to ignore the photo and paint the same
 * Gram-matching pattern on every input after 200 steps; TV weight 2 (ten times the default) against the grid
 * texture early training leaves.
 */
const CPU_RUN = {
  lossNet: 'vgg19',
  width: 'half',
  imageSize: 128,
  batchSize: 2,
  microBatch: 0,
  lr: 2e-3,
  styleWeight: 0.5,
  tvWeight: 2,
  iterations: 480,
  checkpointEvery: 80,
  sampleEvery: 80,
  logEvery: 10,
  keep: 3,
  scaleAugment: 2,
  validation: '2',
  backend: 'wasm',
} as const;

export const PRESETS: Record<PresetName, Preset> = {
  'great-wave': {
    description: 'The Great Wave off Kanagawa (Hokusai, c. 1831)',
    style: 'great_wave_hokusai.jpg',
    options: { ...CPU_RUN, styleSize: 928, iterations: 2000 },
  },
  'starry-night': {
    description: 'The Starry Night (van Gogh, 1889)',
    style: 'starry_night_van_gogh.jpg',
    // Its Gram targets are ~8× further from photos' than the others': a fifth of their style weight balances it.
    // The first bundled network: these options for 651 steps, then --tv-weight 6 for 321 (it painted a lattice).
    // The bundled one now is a chain of ten runs, each fine-tuning the last (style blur, input noise, relu3_3 ×10,
    // the painting at 384 px): its meta.json and checkpoints/README.md list every command.
    options: { ...CPU_RUN, styleSize: 1024, styleWeight: 0.1, iterations: 651 },
  },
  wanderer: {
    description: 'Wanderer above the Sea of Fog (Friedrich, c. 1818)',
    style: 'wanderer_above_the_sea_of_fog_friedrich.jpg',
    options: { ...CPU_RUN, styleSize: 512 },
  },
};
