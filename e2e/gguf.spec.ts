import { expect, test } from '@playwright/test';
import { openHarness, type Harness } from './harness_page';
import { ggufFile } from '../tools/gguf/hf_to_gguf';

// llama.cpp's greedy continuation of BOS + "The quick brown fox" from the same Q4_K_M file (tests/gguf_oracle.test.ts)
const EXPECTED = [300, 265, 564, 568, 333, 302, 398, 367, 525, 48];
/** F16 files of two fixtures (Gemma 3 norms and layer pattern; stacked experts) and llama.cpp's greedy continuation of PROMPT from them */
const PROMPT = [5, 17, 200, 42, 99, 7];
const ARCHITECTURES = [
  { dir: 'tests/fixtures/models/gemma3-local', expected: [4, 83, 83, 83, 83, 83, 83, 83, 83, 83, 83, 83, 83, 83, 107, 232], dtype: 'f16' },
  { dir: 'tests/fixtures/models/qwen3moe-rand', expected: [247, 153, 247, 153, 247, 153, 247, 153, 247, 153, 247, 153, 25, 70, 210, 64], dtype: 'f16' },
];

test.describe('GGUF in the worker engine', () => {
  test.beforeAll(() => {
    ggufFile('public/models/tiny-dense', 'Q4_K_M'); // served from the repository root by the dev server
    for (const { dir } of ARCHITECTURES) ggufFile(dir, 'F16', { forLlamaCpp: true });
  });

  for (const { dir, expected, dtype } of ARCHITECTURES) {
    test(`loads ${dir.split('/').pop()} as GGUF and continues as llama.cpp does`, async ({ page }) => {
      await openHarness(page);
      const run = await page.evaluate(async ({ url, prompt }) => {
        const engine = await (window as unknown as Harness).webgpuInfer.createEngine({ model: url, cache: false });
        const { tokens } = await engine.complete({ prompt, maxTokens: 16, stopAtEos: false, strategy: { kind: 'greedy' } });
        const info = engine.info;
        await engine.dispose();
        return { tokens, dtype: info.dtype };
      }, { url: `/.cache/gguf/${dir.split('/').pop()}-F16-llamacpp.gguf`, prompt: PROMPT });
      expect(run).toEqual({ tokens: expected, dtype });
    });
  }

  test('loads a Q4_K_M file from a URL and from a dropped File and continues as llama.cpp does', async ({ page }) => {
    await openHarness(page);
    const runs = await page.evaluate(async (url) => {
      const w = window as unknown as Harness;
      const continuation = async (model: string | File[]) => {
        const engine = await w.webgpuInfer.createEngine({ model, cache: false });
        const { tokens } = await engine.complete({ prompt: 'The quick brown fox', maxTokens: 10, stopAtEos: false, strategy: { kind: 'greedy' } });
        const info = engine.info;
        await engine.dispose();
        return { tokens, dtype: info.dtype };
      };
      const file = new File([await (await fetch(url)).blob()], url.split('/').pop()!);
      return [await continuation(url), await continuation([file])];
    }, '/.cache/gguf/tiny-dense-Q4_K_M.gguf');
    for (const run of runs) expect(run).toEqual({ tokens: EXPECTED, dtype: 'q4_k' });
  });
});
