import { expect, test } from '@playwright/test';
import type * as Api from '../src/browser/index';
import { ggufFile, type GgufScheme } from '../tools/gguf/hf_to_gguf';

type Harness = Window & { webgpuInfer: typeof Api };

/**
 * tiny-dense GGUF files in the newer block types (their K-quant rows of 320 fall back to Q5_1 / IQ4_NL, as llama.cpp's
 * quantizer does) and llama.cpp's greedy continuation of BOS + "The quick brown fox" from the same bytes
 * (node-llama-cpp 3.21.1, CPU; Q4_1 and Q5_1 are left out: there llama.cpp's 8-bit activations turn a near-tie).
 */
const FILES: { scheme: GgufScheme; dtype: string; expected: number[] }[] = [
  { scheme: 'Q5_K', dtype: 'q5_k', expected: [300, 265, 564, 568, 333, 302, 398, 367, 525, 12, 99, 733] },
  { scheme: 'Q3_K', dtype: 'q3_k', expected: [300, 265, 277, 731, 391, 280, 290, 265, 277, 731, 1255, 48] },
  { scheme: 'Q2_K', dtype: 'q2_k', expected: [290, 265, 281, 1146, 117, 290, 265, 500, 1993, 300, 265, 12] },
  { scheme: 'IQ4_NL', dtype: 'iq4_nl', expected: [300, 265, 564, 568, 333, 302, 398, 367, 525, 48, 1, 0] },
];

test('GGUF files of the newer block types load in the worker engine and continue as llama.cpp does', async ({ page }) => {
  for (const { scheme } of FILES) ggufFile('public/models/tiny-dense', scheme); // served from the repository root
  await page.goto('/e2e/harness/worker.html');
  await page.waitForFunction(() => 'webgpuInfer' in window);
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
  }, FILES.map(({ scheme }) => `/.cache/gguf/tiny-dense-${scheme}.gguf`));
  expect(runs).toEqual(FILES.map(({ expected, dtype }) => ({ tokens: expected, dtype })));
});
