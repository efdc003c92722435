import { expect, test } from '@playwright/test';
import { openHarness, type Harness } from './harness_page';
import { convertToGguf, ggufFile } from '../tools/gguf/hf_to_gguf';

const TINY_DENSE = 'public/models/tiny-dense';
/** One tiny-dense file of the other 32-blocks (and BF16 elsewhere), a type per matrix, written as `url` */
const MIXED = { url: '/.cache/gguf/tiny-dense-mixed.gguf', types: { attn_q: 'Q8_0', attn_k: 'Q4_0', attn_v: 'Q5_0', attn_output: 'Q4_1', ffn_gate: 'Q5_1', ffn_up: 'Q8_0' } };

/**
 * tiny-dense GGUF files in the newer block types (their K-quant rows of 320 fall back to Q5_1 / IQ4_NL, as llama.cpp's
 * quantizer does), one mixing Q8_0, Q4_0, Q5_0, Q4_1, Q5_1 and BF16, and tiny-moe's routed experts in blocks (Q4_K_M:
 * q5_0 gate/up, q8_0 down), each with llama.cpp's greedy continuation of BOS + "The quick brown fox" from the same bytes
 * (node-llama-cpp 3.21.1, CPU; files of one 32-block type are left out: there llama.cpp's 8-bit activations turn a
 * near-tie within 12 tokens). One page, served from the repository root.
 */
const FILES: { url: string; dtype: string; expected: number[] }[] = [
  { url: '/.cache/gguf/tiny-dense-Q5_K.gguf', dtype: 'q5_k', expected: [300, 265, 564, 568, 333, 302, 398, 367, 525, 12, 99, 733] },
  { url: '/.cache/gguf/tiny-dense-Q3_K.gguf', dtype: 'q3_k', expected: [300, 265, 277, 731, 391, 280, 290, 265, 277, 731, 1255, 48] },
  { url: '/.cache/gguf/tiny-dense-Q2_K.gguf', dtype: 'q2_k', expected: [290, 265, 281, 1146, 117, 290, 265, 500, 1993, 300, 265, 12] },
  { url: '/.cache/gguf/tiny-dense-IQ4_NL.gguf', dtype: 'iq4_nl', expected: [300, 265, 564, 568, 333, 302, 398, 367, 525, 48, 1, 0] },
  { url: MIXED.url, dtype: 'q8_0', expected: [300, 265, 564, 568, 333, 302, 398, 367, 525, 48, 1, 0] },
  { url: '/.cache/gguf/tiny-moe-Q4_K_M.gguf', dtype: 'q5_0', expected: [300, 361, 265, 276, 967, 262, 290, 265, 258, 263, 278, 290] },
];

test('GGUF files of every other block type load in the worker engine and continue as llama.cpp does', async ({ page }) => {
  for (const scheme of ['Q5_K', 'Q3_K', 'Q2_K', 'IQ4_NL'] as const) ggufFile(TINY_DENSE, scheme);
  convertToGguf(TINY_DENSE, `.${MIXED.url}`, 'BF16', { tensorTypes: MIXED.types });
  ggufFile('public/models/tiny-moe', 'Q4_K_M');
  await openHarness(page);
  const runs = await page.evaluate(async (urls) => {
    const w = window as unknown as Harness;
    const out = [];
    for (const url of urls) {
      const engine = await w.webgpuInfer.createEngine({ model: url, cache: false });
      const { tokens } = await engine.complete({ prompt: 'The quick brown fox', maxTokens: 12, stopAtEos: false, strategy: { kind: 'greedy' } });
      out.push({ tokens, dtype: engine.info.dtype });
      await engine.dispose();
    }
    return out;
  }, FILES.map(({ url }) => url));
  expect(runs).toEqual(FILES.map(({ expected, dtype }) => ({ tokens: expected, dtype })));
});
