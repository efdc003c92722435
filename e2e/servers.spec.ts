/**
 * The browser loader behind ordinary servers (tests/servers.test.ts does the same in Node): a cross-origin
 * server without Content-Length, compressing (gzip, brotli: the page cannot even see the Content-Encoding),
 * redirecting, with or without Range. And a Cache API that refuses writes: loading goes on, said once.
 */
import { expect, test, type Page } from '@playwright/test';
import type { LoadProgress } from '../src/contract/types';
import { openHarness, useModelServer, type Harness } from './harness_page';

const REQUEST = { prompt: 'Once upon a time', maxTokens: 8, stopAtEos: false };

const server = useModelServer();

/** Loads twice (a cold cache, then from the cache) and generates each time. */
async function loadTwice(page: Page, model: string, worker = true) {
  return page.evaluate(async ({ model, request, worker }) => {
    const w = window as unknown as Harness;
    await w.webgpuInfer.deleteCachedModel(model);
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const progress: LoadProgress[] = [];
      const engine = await w.webgpuInfer.createEngine({ model, worker, onProgress: (p) => progress.push(p) });
      runs.push({ progress, tokens: (await engine.complete(request)).tokens });
      await engine.dispose();
    }
    const cached = (await w.webgpuInfer.listCachedModels()).find((m) => m.url === new URL(model, location.href).href);
    await w.webgpuInfer.deleteCachedModel(model);
    return { runs, cachedFiles: cached?.files ?? [] };
  }, { model, request: REQUEST, worker });
}

test.describe('loading behind ordinary servers', () => {
  test.beforeEach(async ({ page }) => openHarness(page));

  test('no Content-Length, gzip, brotli, redirects, Range or not: the same tokens, cold and cached', async ({ page }) => {
    const reference = await loadTwice(page, '/models/tiny-dense/');
    for (const flags of ['nolength', 'gzip', 'redirect,br,ranges']) {
      const out = await loadTwice(page, `${server().url}/~${flags}/tiny-dense/`);
      for (const run of out.runs) expect(run.tokens, flags).toEqual(reference.runs[0].tokens);
      expect(out.cachedFiles, flags).toContain('model.safetensors');
      const download = out.runs[0].progress.filter((p) => p.phase === 'download');
      expect(download.length, flags).toBeGreaterThan(0);
      if (flags === 'nolength') {
        // the total is unknown: indeterminate progress, bytes still counted
        expect(download.every((p) => p.totalBytes === 0)).toBe(true);
        expect(download.at(-1)!.loadedBytes).toBeGreaterThan(8_000_000);
      }
      const weights = out.runs[1].progress.filter((p) => p.phase === 'weights').at(-1)!;
      expect(weights.loadedBytes, flags).toBe(weights.totalBytes);
    }
    expect(server().requests.filter((r) => r.range)).toEqual([]);
  });

  test('a Cache API that refuses writes: loading goes on uncached, and says so once', async ({ page }) => {
    const out = await page.evaluate(async (request) => {
      const w = window as unknown as Harness;
      const model = '/models/tiny-dense/';
      await w.webgpuInfer.deleteCachedModel(model);
      const put = Cache.prototype.put;
      Cache.prototype.put = () => Promise.reject(new DOMException('the quota is exceeded', 'QuotaExceededError'));
      try {
        const progress: LoadProgress[] = [];
        // in-thread, so the page's Cache is the one that refuses
        const engine = await w.webgpuInfer.createEngine({ model, worker: false, onProgress: (p) => progress.push(p) });
        const tokens = (await engine.complete(request)).tokens;
        await engine.dispose();
        const cached = await w.webgpuInfer.listCachedModels();
        return { warnings: progress.filter((p) => p.warning), last: progress.at(-1)!, tokens, cached: cached.length };
      } finally {
        Cache.prototype.put = put;
      }
    }, REQUEST);
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0].warning).toMatch(/refused to cache .*QuotaExceededError.*without caching/);
    expect(out.last.phase).toBe('ready');
    expect(out.tokens).toHaveLength(8);
    expect(out.cached).toBe(0);
  });
});
