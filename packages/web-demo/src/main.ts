/**
 * Entry of the web demo page: picks a TensorFlow.js backend, fills the style picker from the server's
 * `GET /v1/styles`, loads the chosen style network lazily (Johnson et al. 2016 transformation network, the same
 * `@hokusai/model` code and checkpoint files as the Node tools), styles the webcam live and image files on demand.
 * The webcam uses a style's stable-for-video variant where the server has one (video-variants.ts), stills the
 * regular network. On WebGPU, camera frames go through Hokusai's own engine (engine-frames.ts) where it runs the
 * network; the backend line says so, and a lost engine device falls back to tfjs with a message.
 * Every failure ends as a readable message in the page. `window.__hokusai` exposes counters for tests.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NetConfig } from '@hokusai/model';
import { chooseBackend, parseBackendParam, watchContextLoss, type PageBackend } from './backend.ts';
import { fetchStyles } from './styles-api.ts';
import { describeChoice, networkFor, pairVideoVariants, type StyleChoice, type StyleUse } from './video-variants.ts';
import { ModelCache } from './model-cache.ts';
import { backendLabel, chooseFramePath, EngineFrames, engineWanted, type FramePath } from './engine-frames.ts';
import { LiveStylizer, type FrameCapture, type LiveSettings, type LiveStats } from './render-loop.ts';
import { closeCamera, openCamera } from './camera.ts';
import { canvasToPngBlob, decodeImageFile, stylizeBitmap } from './still-image.ts';
import { byId, clearMessage, showMessage, setStatus } from './ui.ts';

interface HokusaiTestHooks {
  numTensors(): number;
  readonly frames: number;
  backend: PageBackend | null;
  /** Which path paints the current network's camera frames: Hokusai's engine (WebGPU pages) or tfjs. */
  framePath: FramePath;
  /** The picked style's id once the network for the current use (camera or stills) is loaded. */
  style: string | null;
  /** Id of that network: the stable variant's while the camera runs, if the style has one. */
  network: string | null;
  ready: boolean;
  /** Resolves with the next processed camera frame: input and output RGBA bytes (base64). */
  lastFrame(): Promise<FrameCapture>;
  /** Test hook: simulate a lost WebGL context, or a lost device of Hokusai's engine while it runs (else a no-op). */
  loseContext(): boolean;
  /** Progress notes shown over the stage so far (camera starting, a network's first frame), oldest first. */
  readonly stageNotes: string[];
}

declare global {
  interface Window {
    __hokusai: HokusaiTestHooks;
  }
}

const params = new URLSearchParams(location.search);
const apiBase = new URL(params.get('api') ?? './', location.href).href.replace(/([^/])$/, '$1/');

const els = {
  backend: byId('backend'),
  backendNote: byId('backend-note'),
  picker: byId<HTMLFieldSetElement>('style-picker'),
  progressRow: byId('model-progress-row'),
  progress: byId<HTMLProgressElement>('model-progress'),
  progressLabel: byId('model-progress-label'),
  cameraToggle: byId<HTMLButtonElement>('camera-toggle'),
  size: byId<HTMLSelectElement>('size'),
  mirror: byId<HTMLInputElement>('mirror'),
  keepColors: byId<HTMLInputElement>('keep-colors'),
  stageHint: byId('stage-hint'),
  stageNote: byId('stage-note'),
  strength: byId<HTMLInputElement>('strength'),
  strengthValue: byId<HTMLOutputElement>('strength-value'),
  snapshot: byId<HTMLButtonElement>('snapshot'),
  output: byId<HTMLCanvasElement>('output'),
  video: byId<HTMLVideoElement>('video'),
  fps: byId('fps'),
  ms: byId('ms'),
  dims: byId('dims'),
  drop: byId('drop'),
  file: byId<HTMLInputElement>('file'),
  still: byId('still'),
  stillOutput: byId<HTMLCanvasElement>('still-output'),
  stillInfo: byId('still-info'),
  stillDownload: byId<HTMLAnchorElement>('still-download'),
};

const models = new ModelCache();
let live: LiveStylizer | null = null;
let stream: MediaStream | null = null;
let styles: StyleChoice[] = [];
let current: StyleChoice | null = null;
let stillUrl: string | null = null;
let gpuLost = false;
/** Hokusai's engine while the page runs on WebGPU and the engine's device works, else null. */
let engine: EngineFrames | null = null;
let backendNote = '';

const hooks: HokusaiTestHooks = {
  numTensors: () => tf.memory().numTensors,
  get frames() {
    return live?.frames ?? 0;
  },
  backend: null,
  framePath: 'tfjs',
  style: null,
  network: null,
  ready: false,
  lastFrame: () => {
    if (!live?.isRunning) return Promise.reject(new Error('The camera is not running'));
    return live.nextCapture();
  },
  stageNotes: [],
  loseContext: () => {
    if (engine) {
      engine.loseDevice();
      return true;
    }
    const gl = (tf.backend() as unknown as { gpgpu?: { gl?: WebGLRenderingContext } }).gpgpu?.gl;
    const ext = gl?.getExtension('WEBGL_lose_context');
    ext?.loseContext();
    return !!ext;
  },
};
window.__hokusai = hooks;

function readSettings(): LiveSettings {
  return {
    size: Number(els.size.value),
    mirror: els.mirror.checked,
    strength: Number(els.strength.value) / 100,
    preserveColors: els.keepColors.checked,
  };
}

function showStats(stats: LiveStats): void {
  els.fps.textContent = stats.fps === null ? '– fps' : `${stats.fps.toFixed(1)} fps`;
  els.ms.textContent = stats.msPerFrame === null ? '– ms/frame' : `${stats.msPerFrame.toFixed(0)} ms/frame`;
  els.dims.textContent = stats.width > 0 ? `${stats.width}×${stats.height}` : '–';
  if (stats.frames > 0 && noteKind === 'camera') showStageNote(null);
}

// ---- progress over the stage: a slow first frame says what it is doing and for how long ---------------------------

let noteKind: 'camera' | 'warmup' | null = null;
let noteTimer: ReturnType<typeof setInterval> | undefined;

/** Shows `text` over the stage with the seconds elapsed, or hides the note (null). */
function showStageNote(text: string | null, kind: 'camera' | 'warmup' = 'camera'): void {
  clearInterval(noteTimer);
  noteKind = text === null ? null : kind;
  els.stageNote.hidden = text === null;
  if (text === null) return;
  hooks.stageNotes.push(text);
  const started = performance.now();
  const render = (): void => {
    els.stageNote.textContent = `${text} ${((performance.now() - started) / 1000).toFixed(0)} s`;
  };
  render();
  noteTimer = setInterval(render, 500);
}

function onWarmup(active: boolean): void {
  if (active) {
    const name = current ? `“${current.style.name}”` : 'the style';
    showStageNote(`Preparing ${name} on ${els.backend.textContent || 'this backend'}: the first frame uploads and compiles the network…`, 'warmup');
  } else if (noteKind === 'warmup') {
    showStageNote(null);
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Shows the backend (and whether Hokusai's engine paints `config`'s frames) at the top of the page. */
function showBackend(config: NetConfig | null): void {
  const backend = hooks.backend;
  if (backend === null) return;
  const { path, why } = chooseFramePath(engine, config);
  hooks.framePath = path;
  els.backend.textContent = backendLabel(backend, path);
  els.backendNote.textContent = [backendNote, why ? `(tfjs: ${why})` : ''].filter(Boolean).join(' ');
}

/** Opens Hokusai's engine when the page runs on WebGPU (not with ?engine=off); the note says why not when it cannot run here. */
async function openEngine(backend: PageBackend): Promise<void> {
  if (!engineWanted(backend)) return;
  if (params.get('engine') === 'off') {
    backendNote = [backendNote, '(Hokusai engine off: ?engine=off)'].filter(Boolean).join(' ');
    return;
  }
  const opened = await EngineFrames.open(navigator.gpu, onEngineLost);
  if ('reason' in opened) {
    backendNote = [backendNote, `(Hokusai engine: ${opened.reason}; tfjs runs the frames)`].filter(Boolean).join(' ');
    return;
  }
  engine = opened;
  backendNote = [backendNote, `(Hokusai engine on ${opened.adapter})`].filter(Boolean).join(' ');
}

/** The engine's device is gone: frames continue on tfjs (the next path), and the page says so. */
function onEngineLost(reason: string): void {
  const lost = engine;
  engine = null;
  if (live) live.engine = null;
  lost?.dispose();
  backendNote = `(Hokusai engine's device lost: ${reason})`;
  showBackend(live?.net?.config ?? null);
  showMessage(`The WebGPU device of the Hokusai engine was lost (${reason}); frames continue with TensorFlow.js on ${hooks.backend ?? 'this backend'}.`);
}

function onGpuLost(what: string): void {
  gpuLost = true;
  void live?.stop();
  els.cameraToggle.disabled = true;
  showMessage(`The graphics device stopped working: ${what}. Reload the page to continue (try ?backend=wasm if it keeps happening).`);
}

// ---- styles ------------------------------------------------------------------------------------------------------

function renderPicker(): void {
  const legend = els.picker.querySelector('legend');
  els.picker.replaceChildren(...(legend ? [legend] : []));
  if (styles.length === 0) {
    const p = document.createElement('p');
    p.className = 'placeholder';
    p.textContent = 'The server offers no styles yet: train one (hokusai train) and put it in the checkpoints folder.';
    els.picker.append(p);
    return;
  }
  for (const choice of styles) {
    const { style, stable } = choice;
    const label = document.createElement('label');
    label.className = 'style-option';
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'style';
    input.value = style.id;
    input.addEventListener('change', () => {
      if (input.checked) void selectStyle(choice);
    });
    label.append(input);
    if (style.thumbnailUrl) {
      const img = document.createElement('img');
      img.src = style.thumbnailUrl;
      img.alt = '';
      img.loading = 'lazy';
      img.width = 96;
      img.height = 96;
      label.append(img);
    }
    const name = document.createElement('span');
    name.textContent = style.name;
    label.append(name);
    if (stable) {
      const tag = document.createElement('small');
      tag.className = 'video-tag';
      tag.textContent = 'stable for video';
      tag.title = 'The camera uses a network of this style trained not to flicker; still images use the regular one.';
      label.append(tag);
    }
    els.picker.append(label);
  }
}

function currentUse(): StyleUse {
  return live?.isRunning ? 'video' : 'still';
}

async function selectStyle(choice: StyleChoice): Promise<void> {
  current = choice;
  hooks.style = null;
  hooks.network = null;
  clearMessage();
  await useNetworkFor(choice);
}

/** Loads the network `choice` paints the current use with (camera: its stable variant, if any) and puts it to work. */
async function useNetworkFor(choice: StyleChoice): Promise<void> {
  const use = currentUse();
  const entry = networkFor(choice, use);
  const stillWanted = () => current === choice && networkFor(choice, currentUse()) === entry;
  if (!models.has(entry.modelUrl)) {
    els.progressRow.hidden = false;
    els.progress.value = 0;
    els.progressLabel.textContent = `Loading “${describeChoice(choice, use)}”`;
  }
  try {
    const { net } = await models.load(entry.modelUrl, (f) => {
      if (current === choice) els.progress.value = f;
    });
    if (!stillWanted()) return; // another style was picked, or the camera started or stopped, meanwhile
    if (live) live.net = net;
    showBackend(net.config);
    hooks.style = choice.style.id;
    hooks.network = entry.id;
    setStatus(`Style: ${describeChoice(choice, use)}`);
  } catch (error) {
    if (stillWanted()) {
      if (live) live.net = null;
      showMessage(`The model for “${describeChoice(choice, use)}” could not be loaded: ${errorText(error)}`);
    }
  } finally {
    if (current === choice) els.progressRow.hidden = true;
  }
}

// ---- camera ------------------------------------------------------------------------------------------------------

async function startCamera(backend: PageBackend): Promise<void> {
  clearMessage();
  els.cameraToggle.disabled = true;
  try {
    stream = await openCamera(els.video);
    if (!live) {
      live = new LiveStylizer({
        video: els.video,
        output: els.output,
        settings: readSettings(),
        cpuReadback: backend === 'wasm' || backend === 'cpu' || engine !== null,
        onStats: showStats,
        onWarmup,
        onError: (error) => {
          showMessage(`Styling the camera stopped: ${errorText(error)}`);
          void stopCamera();
        },
      });
      live.engine = engine;
    }
    const video = current ? networkFor(current, 'video') : null;
    live.net = video && models.has(video.modelUrl) ? (await models.load(video.modelUrl)).net : null;
    showStageNote('Starting the camera…');
    live.start();
    if (current) void useNetworkFor(current);
    els.output.hidden = false;
    els.stageHint.hidden = true;
    els.cameraToggle.textContent = 'Stop camera';
    els.cameraToggle.setAttribute('aria-pressed', 'true');
    els.snapshot.disabled = false;
    if (!current) setStatus('Camera running: pick a style to paint it.');
  } catch (error) {
    closeCamera(els.video, stream);
    stream = null;
    showStageNote(null);
    showMessage(errorText(error));
  } finally {
    els.cameraToggle.disabled = gpuLost;
  }
}

async function stopCamera(): Promise<void> {
  await live?.stop(); // also clears the readout's rates
  closeCamera(els.video, stream);
  stream = null;
  showStageNote(null);
  // The last frame must not stay on screen as if the camera were still live.
  els.output.width = 0;
  els.output.height = 0;
  els.output.hidden = true;
  els.stageHint.hidden = false;
  els.cameraToggle.textContent = 'Start camera';
  els.cameraToggle.setAttribute('aria-pressed', 'false');
  els.snapshot.disabled = true;
  // Stills use the regular network (loaded by the next image); the status line stops saying "stable for video".
  if (current && hooks.style !== null) setStatus(`Style: ${describeChoice(current, 'still')}`);
}

function bindControls(backend: PageBackend): void {
  els.cameraToggle.setAttribute('aria-pressed', 'false');
  els.cameraToggle.addEventListener('click', () => {
    void (live?.isRunning ? stopCamera() : startCamera(backend));
  });
  const sync = (): void => {
    const s = readSettings();
    els.strengthValue.textContent = `${Math.round(s.strength * 100)}%`;
    if (live) Object.assign(live.settings, s);
  };
  els.size.addEventListener('change', sync);
  els.mirror.addEventListener('change', sync);
  els.keepColors.addEventListener('change', sync);
  els.strength.addEventListener('input', sync);
  els.snapshot.addEventListener('click', () => {
    void canvasToPngBlob(els.output)
      .then((blob) => download(blob, `hokusai-${current?.style.id ?? 'camera'}-${Date.now()}.png`))
      .catch((error: unknown) => showMessage(errorText(error)));
  });

  // image files: choose or drop
  els.file.addEventListener('change', () => {
    const file = els.file.files?.[0];
    if (file) void stylizeFile(file);
  });
  for (const type of ['dragenter', 'dragover'] as const) {
    els.drop.addEventListener(type, (event) => {
      event.preventDefault();
      els.drop.classList.add('over');
    });
  }
  els.drop.addEventListener('dragleave', () => els.drop.classList.remove('over'));
  els.drop.addEventListener('drop', (event) => {
    event.preventDefault();
    els.drop.classList.remove('over');
    const file = event.dataTransfer?.files[0];
    if (file) void stylizeFile(file);
  });
}

function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---- still images ------------------------------------------------------------------------------------------------

async function stylizeFile(file: File): Promise<void> {
  clearMessage();
  if (!current) {
    showMessage('Pick a style first, then choose the image again.');
    return;
  }
  const entry = networkFor(current, 'still');
  let net;
  try {
    net = (await models.load(entry.modelUrl)).net;
  } catch (error) {
    showMessage(`The model for “${entry.name}” could not be loaded: ${errorText(error)}`);
    return;
  }
  try {
    setStatus(`Styling ${file.name}…`);
    const bitmap = await decodeImageFile(file);
    const { strength, preserveColors } = readSettings();
    const ms = await stylizeBitmap(net, bitmap, els.stillOutput, { strength, preserveColors });
    bitmap.close();
    els.still.hidden = false;
    els.stillInfo.textContent = `${els.stillOutput.width}×${els.stillOutput.height}, ${ms.toFixed(0)} ms`;
    const blob = await canvasToPngBlob(els.stillOutput);
    if (stillUrl) URL.revokeObjectURL(stillUrl);
    stillUrl = URL.createObjectURL(blob);
    els.stillDownload.href = stillUrl;
    els.stillDownload.download = `${file.name.replace(/\.[^.]*$/, '')}-${entry.id}.png`;
    els.stillDownload.hidden = false;
    setStatus(`Styled ${file.name}.`);
  } catch (error) {
    showMessage(errorText(error));
  }
}

// ---- start -------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  let backend: PageBackend;
  try {
    const choice = await chooseBackend(parseBackendParam(params.get('backend')));
    backend = choice.name;
    hooks.backend = backend;
    backendNote = choice.tried.length ? `(skipped ${choice.tried.join('; ')})` : '';
    await openEngine(backend);
    showBackend(null);
    watchContextLoss(onGpuLost);
  } catch (error) {
    els.backend.textContent = 'none';
    showMessage(errorText(error));
    return;
  }
  bindControls(backend);
  await loadStyles();
  hooks.ready = true;
}

/** Fills the picker; while the server has no style yet (still loading, empty folder), asks again every 3 s. */
let stylesErrorShown = false;
async function loadStyles(): Promise<void> {
  try {
    styles = pairVideoVariants(await fetchStyles(apiBase));
    if (stylesErrorShown) clearMessage();
    stylesErrorShown = false;
  } catch (error) {
    showMessage(`The list of styles could not be loaded: ${errorText(error)}`);
    stylesErrorShown = true;
  }
  renderPicker();
  setStatus(styles.length ? 'Pick a style, then start the camera or choose an image.' : '');
  if (styles.length === 0) {
    setTimeout(() => void loadStyles(), 3000);
  }
}

window.addEventListener('unhandledrejection', (event) => showMessage(`Unexpected error: ${errorText(event.reason)}`));
window.addEventListener('error', (event) => showMessage(`Unexpected error: ${event.message}`));
void main();
