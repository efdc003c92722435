import { describe, expect, it } from 'vitest';
import { loadRuntime } from './helpers/runtime';
import { fixtureModels, FIXTURE_MODELS, isMoe, readFixture } from './helpers/fixtures';
import type { RuntimeOptions } from '../src/runtime/runtime';

/** An expert memory budget changes where expert weights live, never what is computed: outputs are bitwise equal. */
const models = fixtureModels(isMoe).map((m) => `${FIXTURE_MODELS}/${m}`);
const BUDGETS: RuntimeOptions[] = [
  { maxResidentExperts: 2, prefetchExperts: false },
  { maxResidentExperts: 2, prefetchExperts: true },
  { maxResidentExperts: 3, prefetchExperts: true },
];

describe.each(models)('%s with an expert budget', (dir) => {
  const fixture = readFixture(`${dir}/fixture.safetensors`);
  const prompts = [1, 7, 45].map((len) => Array.from(fixture[`prompt_len${len}`]));

  it('gives bitwise the same logits and greedy tokens as without, and counts hits, misses and uploads', async () => {
    const full = await loadRuntime(dir);
    const expectedLogits = [];
    for (const p of prompts) expectedLogits.push(Array.from(await full.logits(p)));
    const greedyPrompt = Array.from(fixture.greedy_prompt);
    const expected = (await full.generate({ prompt: greedyPrompt, maxTokens: 16, stopAtEos: false }, () => undefined)).tokens;
    full.dispose();
    for (const budget of BUDGETS) {
      const runtime = await loadRuntime(dir, budget);
      for (const [i, p] of prompts.entries()) expect(Array.from(await runtime.logits(p)), `${JSON.stringify(budget)} prompt ${p.length}`).toEqual(expectedLogits[i]);
      const result = await runtime.generate({ prompt: greedyPrompt, maxTokens: 16, stopAtEos: false }, () => undefined);
      expect(result.tokens, JSON.stringify(budget)).toEqual(expected);
      const { expertCacheHits: hits = 0, expertCacheMisses: misses = 0, expertUploadBytes: bytes = 0 } = result.stats;
      expect(hits + misses).toBeGreaterThan(0);
      expect(bytes).toBeGreaterThan(0);
      runtime.dispose();
    }
  });
});

describe('expert budget validation', () => {
  it('rejects fewer resident experts than experts per token', async () => {
    await expect(loadRuntime(models[0], { maxResidentExperts: 1 })).rejects.toThrow(/maxResidentExperts/);
  });
});
