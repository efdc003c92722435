import { expect, test } from '@playwright/test';
import type * as Api from '../src/browser/index';
import { ggufFile } from '../tests/helpers/gguf_convert';

type Harness = Window & { webgpuInfer: typeof Api };

// llama.cpp's greedy continuation of BOS + "The quick brown fox" from the same Q4_K_M file (tests/gguf_oracle.test.ts)
const EXPECTED = [300, 265, 564, 568, 333, 302, 398, 367, 525, 48];

test.describe('GGUF in the worker engine', () => {
  test.beforeAll(() => {
    ggufFile('public/models/tiny-dense', 'Q4_K_M'); // served from the repository root by the dev server
  });

  test('loads a Q4_K_M file from a URL and from a dropped File and continues as llama.cpp does', async ({ page }) => {
    await page.goto('/e2e/harness/worker.html');
    await page.waitForFunction(() => 'webgpuInfer' in window);
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
