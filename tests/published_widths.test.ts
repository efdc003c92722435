import { describe, expect, it } from 'vitest';
import { loadRuntime, greedyRun } from './helpers/runtime';
import { argmaxRows, readFixture } from './helpers/fixtures';
import { writeSeededModel } from './helpers/seeded_weights';

/**
 * Logits parity at the exact published widths of real checkpoints (vocabulary, hidden, heads, head_dim),
 * layers cut to two, BF16 weights generated from a seed (tools/train/published_widths.py). The fixture holds
 * the reference logits at 256 spread vocabulary ids plus the reference top-8, and max |logit| of each full row.
 */
const LOGIT_TOLERANCE = 2e-3;
const FIXTURES = 'tests/fixtures/published';
const families = ['qwen3-0.6b-2l', 'gemma3-270m-2l', 'phi3.5-mini-2l', 'gemma2-2b-2l', 'qwen3-30b-a3b-2l'];

describe.each(families)('%s', (family) => {
  it('matches the reference at every position and continues greedily like it', async () => {
    const fixture = readFixture(`${FIXTURES}/${family}/fixture.safetensors`);
    const dir = `.cache/published/${family}`;
    writeSeededModel(`${FIXTURES}/${family}`, dir);
    const runtime = await loadRuntime(dir);
    expect(runtime.info.dtype).toBe('bf16');
    const vocab = runtime.config.vocab;
    const sampled = Array.from(fixture.sampled_ids);
    let worst = 0;
    for (const len of [1, 7, 45]) {
      const logits = await runtime.logits(Array.from(fixture[`prompt_len${len}`]));
      const topIds = fixture[`top_ids_len${len}`];
      expect(argmaxRows(logits, vocab), `top-1, prompt length ${len}`).toEqual(Array.from({ length: len }, (_, r) => topIds[r * 8]));
      for (let r = 0; r < len; r++) {
        const pairs: [id: number, ref: number][] = [
          ...sampled.map((id, j): [number, number] => [id, fixture[`sampled_len${len}`][r * sampled.length + j]]),
          ...Array.from({ length: 8 }, (_, j): [number, number] => [topIds[r * 8 + j], fixture[`top_values_len${len}`][r * 8 + j]]),
        ];
        const diff = Math.max(...pairs.map(([id, ref]) => Math.abs(logits[r * vocab + id] - ref)));
        const error = diff / fixture[`max_abs_len${len}`][r];
        expect(error, `prompt length ${len}, position ${r}`).toBeLessThanOrEqual(LOGIT_TOLERANCE);
        worst = Math.max(worst, error);
      }
    }
    console.log(`${family}: worst relative logits error ${worst.toExponential(2)}`);
    const expected = Array.from(fixture.greedy_tokens);
    expect((await greedyRun(runtime, Array.from(fixture.greedy_prompt), expected.length)).tokens).toEqual(expected);
    runtime.dispose();
  }, 300_000);
});
