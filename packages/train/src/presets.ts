/**
 * Bundled style presets: the options used to train the styles shipped in checkpoints/ on a 2-core CPU (half-width
 * network, small crops, VGG19, a low style weight), and the `*-full` candidates of issue 22: the paper's recipe
 * (Johnson et al. 2016) for a GPU, to be measured with tools/eval-quality.ts. `--preset NAME` fills these in; any
 * option given explicitly on the command line or in --config wins.
 */

export const PRESET_NAMES = ['great-wave', 'starry-night', 'wanderer', 'great-wave-full', 'starry-night-full', 'scream-full', 'udnie-full'] as const;
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

/**
 * The paper's recipe (Johnson et al. 2016) for the issue-22 candidates: full-width network, batch 4 of 256² crops,
 * Adam lr 1e-3, 40k steps, content relu2_2 and the calibrated default loss weights (content 1, style 2, TV 0.2;
 * docs/losses.md), VGG19 (the loss network whose weights we have), each painting at its own size (Engstrom's
 * practice, and the size criterion 1 measures at). Meant for a GPU: with `--backend webgpu` on a hardware adapter
 * `--engine auto` (the default) trains on Hokusai's WebGPU engine, 93 ms a step on an H200 (docs/backends.md), so
 * 40k steps ≈ 62 minutes; runs resume with `--resume latest`. Untested at full length: no GPU has run them yet.
 */
const GPU_RUN = {
  lossNet: 'vgg19',
  width: 'full',
  imageSize: 256,
  batchSize: 4,
  lr: 1e-3,
  iterations: 40000,
  checkpointEvery: 1000,
  sampleEvery: 1000,
  logEvery: 100,
  keep: 3,
  scaleAugment: 1,
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
  'great-wave-full': {
    description: 'The Great Wave off Kanagawa (Hokusai, c. 1831): the paper\'s recipe, full width (issue 22)',
    style: 'great_wave_hokusai.jpg',
    options: { ...GPU_RUN, styleSize: 928 },
  },
  'starry-night-full': {
    description: 'The Starry Night (van Gogh, 1889): the paper\'s recipe, full width (issue 22)',
    style: 'starry_night_van_gogh.jpg',
    // A photo's style loss against this painting is 9.4× that against the Great Wave (median of five photos at
    // 256², both paintings at their own size: 2.55e6 vs 2.71e5): a tenth of the style weight gives the same
    // balance of style and content at the start, against the faces it destroyed at the default (issue 22).
    options: { ...GPU_RUN, styleSize: 1024, styleWeight: 0.2 },
  },
  'scream-full': {
    description: 'The Scream (Munch, 1893): the paper\'s recipe, full width (issue 22)',
    style: 'the_scream_munch.jpg',
    // 1024 px instead of its own 1528: at 1528 × 1200 VGG19's first layers do not fit the wasm backend's 4 GiB
    // heap, so tools/eval-quality.ts could not measure criterion 1 against it on a CPU.
    options: { ...GPU_RUN, styleSize: 1024 },
  },
  'udnie-full': {
    description: 'Udnie (Picabia, 1913): the paper\'s recipe, full width (issue 22)',
    style: 'udnie_picabia.jpg',
    options: { ...GPU_RUN, styleSize: 512 },
  },
};
