/**
 * Unit tests of the web demo's choice between a style's regular network and its stable-for-video variant
 * (video-variants.ts): the picker shows each style once, the camera uses the stable variant, stills the regular one.
 */
import { describe, expect, test } from 'vitest';
import type { StyleEntry } from '../src/styles-api.ts';
import { describeChoice, networkFor, pairVideoVariants } from '../src/video-variants.ts';

function entry(id: string, variantOf: string | null = null, name = id.toUpperCase()): StyleEntry {
  return { id, name, thumbnailUrl: null, modelUrl: `http://h/models/${id}/`, stableForVideo: variantOf !== null, variantOf };
}

describe('pairVideoVariants', () => {
  test('folds a stable variant into its style and keeps the order of the others', () => {
    const [a, aStable, b] = [entry('a'), entry('a-stable', 'a'), entry('b')];
    const choices = pairVideoVariants([aStable, b, a]);
    expect(choices.map((c) => [c.style.id, c.stable?.id ?? null])).toEqual([
      ['b', null],
      ['a', 'a-stable'],
    ]);
  });
  test('a variant whose style is not offered is a style of its own', () => {
    const choices = pairVideoVariants([entry('a-stable', 'a'), entry('c')]);
    expect(choices.map((c) => [c.style.id, c.stable])).toEqual([
      ['a-stable', null],
      ['c', null],
    ]);
  });
  test('no chains or self-references: a variant of a variant, or of itself, is not folded into it', () => {
    const choices = pairVideoVariants([entry('a'), entry('a-stable', 'a'), entry('a-stable-stable', 'a-stable'), entry('s', 's')]);
    expect(choices.map((c) => [c.style.id, c.stable?.id ?? null])).toEqual([
      ['a', 'a-stable'],
      ['a-stable-stable', null],
      ['s', null],
    ]);
  });
  test('two variants of one style: the first listed is used, the second stays visible', () => {
    const choices = pairVideoVariants([entry('a'), entry('a-stable', 'a'), entry('a-stable2', 'a')]);
    expect(choices.map((c) => [c.style.id, c.stable?.id ?? null])).toEqual([
      ['a', 'a-stable'],
      ['a-stable2', null],
    ]);
  });
});

describe('networkFor / describeChoice', () => {
  const [choice] = pairVideoVariants([entry('wave', null, 'Great Wave'), entry('wave-stable', 'wave', 'Great Wave')]);
  const [plain] = pairVideoVariants([entry('wanderer', null, 'Wanderer')]);
  test('the camera uses the stable variant, stills the regular network', () => {
    if (!choice || !plain) throw new Error('expected one choice each');
    expect(networkFor(choice, 'video').id).toBe('wave-stable');
    expect(networkFor(choice, 'still').id).toBe('wave');
    expect(networkFor(plain, 'video').id).toBe('wanderer');
    expect(networkFor(plain, 'still').id).toBe('wanderer');
  });
  test('the status line says when the camera uses the stable variant', () => {
    if (!choice || !plain) throw new Error('expected one choice each');
    expect(describeChoice(choice, 'video')).toBe('Great Wave (stable for video)');
    expect(describeChoice(choice, 'still')).toBe('Great Wave');
    expect(describeChoice(plain, 'video')).toBe('Wanderer');
  });
});
