/**
 * Client for the server's style list (`GET /v1/styles`): each entry has an id, a display name and a thumbnail URL;
 * the checkpoint files live under `/models/<id>/` (model.json, weights.bin, meta.json) unless the entry names
 * another base. Accepts either a bare array or `{ styles: [...] }`, and validates what it uses. An entry's
 * `stability` says whether its network was trained not to flicker on video and which style it is the stable
 * variant of (video-variants.ts pairs them).
 */

export interface StyleEntry {
  id: string;
  name: string;
  /** Absolute URL of the thumbnail, or null when the server offers none. */
  thumbnailUrl: string | null;
  /** Absolute URL of the checkpoint directory, ending in `/`. */
  modelUrl: string;
  /** Trained with a stability loss against video flicker (the server's `stability.trained`). */
  stableForVideo: boolean;
  /** Id of the style this one is the stable-for-video variant of (`stability.variantOf`), or null. */
  variantOf: string | null;
}

function stabilityFields(obj: Record<string, unknown>): Pick<StyleEntry, 'stableForVideo' | 'variantOf'> {
  const st = obj.stability && typeof obj.stability === 'object' ? (obj.stability as Record<string, unknown>) : {};
  const stableForVideo = st.trained === true;
  const variantOf = stableForVideo ? stringField(st, ['variantOf']) ?? null : null;
  return { stableForVideo, variantOf };
}

function stringField(obj: Record<string, unknown>, keys: string[]): string | undefined {
  for (const key of keys) {
    const value = obj[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

/** Parses the `/v1/styles` body; `apiBase` (absolute, ending in `/`) resolves relative URLs. */
export function parseStyles(body: unknown, apiBase: string): StyleEntry[] {
  const list = Array.isArray(body)
    ? body
    : body && typeof body === 'object' && Array.isArray((body as { styles?: unknown }).styles)
      ? (body as { styles: unknown[] }).styles
      : null;
  if (!list) {
    throw new Error(`GET /v1/styles: expected a JSON array of styles or { "styles": [...] }, got ${JSON.stringify(body)?.slice(0, 120)}`);
  }
  return list.map((raw, index) => {
    if (!raw || typeof raw !== 'object') throw new Error(`GET /v1/styles: entry ${index} is not an object`);
    const obj = raw as Record<string, unknown>;
    const id = stringField(obj, ['id']);
    if (!id) throw new Error(`GET /v1/styles: entry ${index} has no string "id"`);
    const name = stringField(obj, ['name', 'title']) ?? id;
    const thumb = stringField(obj, ['thumbnailUrl', 'thumbnail', 'thumbnail_url', 'thumb']);
    const model = stringField(obj, ['modelUrl', 'model_url', 'baseUrl', 'url']) ?? `models/${encodeURIComponent(id)}/`;
    const modelUrl = new URL(model, apiBase).href;
    return {
      id,
      name,
      thumbnailUrl: thumb ? new URL(thumb, apiBase).href : null,
      // A model.json URL is accepted too: its directory is the checkpoint base.
      modelUrl: modelUrl.endsWith('/') ? modelUrl : modelUrl.replace(/model\.json$/, '').replace(/([^/])$/, '$1/'),
      ...stabilityFields(obj),
    };
  });
}

export async function fetchStyles(apiBase: string, signal?: AbortSignal): Promise<StyleEntry[]> {
  const url = new URL('v1/styles', apiBase).href;
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, signal });
  } catch (error) {
    throw new Error(`Could not reach the style list at ${url} (is \`hokusai serve\` running?): ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!response.ok) {
    const hint = response.status >= 502 && response.status <= 504 ? ' (is `hokusai serve` running?)' : '';
    throw new Error(`GET ${url} answered HTTP ${response.status} ${response.statusText}`.trim() + hint);
  }
  return parseStyles(await response.json(), apiBase);
}
