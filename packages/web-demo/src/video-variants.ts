/**
 * Stable-for-video variants (issue 21.4): where the server offers a style's network trained with a stability loss
 * (Gupta et al. 2017, "Characterizing and Improving Stability in Neural Style Transfer"; docs/video.md), the
 * picker shows the style once, the webcam is painted by the stable variant and still images by the regular network.
 * Both have the same architecture, so the camera's frame rate is the same.
 */
import type { StyleEntry } from './styles-api.ts';

/** One entry of the style picker. */
export interface StyleChoice {
  /** The regular network: shown in the picker, used for still images. */
  style: StyleEntry;
  /** Its stable-for-video variant, used for the camera, or null when the server has none. */
  stable: StyleEntry | null;
}

export type StyleUse = 'video' | 'still';

/**
 * Pairs each style with its stable variant. A variant is folded into its style when that style is offered and is
 * not itself a variant; otherwise (its style missing) it is offered as a style of its own. Order is kept.
 */
export function pairVideoVariants(entries: readonly StyleEntry[]): StyleChoice[] {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const baseOf = (e: StyleEntry): StyleEntry | undefined => {
    const base = e.variantOf === null || e.variantOf === e.id ? undefined : byId.get(e.variantOf);
    return base && base.variantOf === null ? base : undefined;
  };
  const stableFor = new Map<string, StyleEntry>();
  for (const e of entries) {
    const base = baseOf(e);
    if (base && !stableFor.has(base.id)) stableFor.set(base.id, e);
  }
  const folded = new Set([...stableFor.values()].map((e) => e.id));
  return entries.filter((e) => !folded.has(e.id)).map((style) => ({ style, stable: stableFor.get(style.id) ?? null }));
}

/** The network that paints `use`: the stable variant for video when there is one, else the style itself. */
export function networkFor(choice: StyleChoice, use: StyleUse): StyleEntry {
  return use === 'video' && choice.stable ? choice.stable : choice.style;
}

/** The style's name as the status line gives it, saying when the camera uses the stable variant. */
export function describeChoice(choice: StyleChoice, use: StyleUse): string {
  return networkFor(choice, use) === choice.stable ? `${choice.style.name} (stable for video)` : choice.style.name;
}
