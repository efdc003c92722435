/**
 * Hostile cases in Chromium, through the worker engine (Node: tests/robust_*.test.ts; the minified build, which also
 * unloads a page mid-generation and disposes during a prefill: e2e/consumer): a fault-injecting cross-origin server
 * (stall, cut, redirect loop, HTML for JSON) and a page unloaded in the middle of a load. After each case the same
 * greedy tokens come back.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import type * as Api from '../src/browser/index';
import { NAN, poisoned } from '../tests/helpers/non_finite';
import { openHarness, useModelServer, type Harness as WorkerHarness } from './harness_page';

type Harness = WorkerHarness & { loading?: Promise<unknown> };
const REQUEST = { prompt: 'Once upon a time', maxTokens: 8, stopAtEos: false };

const server = useModelServer();

/** Loads `model` (cache off unless asked), generates REQUEST, disposes: the tokens. */
const greedyTokens = (page: Page, model: string, cache = false) => page.evaluate(async ({ model, request, cache }) => {
  const w = window as unknown as Harness;
  const engine = await w.webgpuInfer.createEngine({ model, cache });
  const { tokens } = await engine.complete(request);
  await engine.dispose();
  return tokens;
}, { model, request: REQUEST, cache });

test.describe('hostile cases in the worker engine', () => {
  test.beforeEach(async ({ page }) => openHarness(page));

  test('stall, cut, redirect loop, HTML for JSON: typed errors naming the URL, nothing cached; a cut once resumes', async ({ page }) => {
    const expected = await greedyTokens(page, '/models/tiny-dense/');
    const faults: [string, string, RegExp][] = [
      ['stall', 'NetworkError', /stalled \(no data for 0\.7 s/],
      ['cut', 'NetworkError', /cut off after \d+ bytes|could not be fetched/],
      ['loop', 'NetworkError', /could not be fetched \(.*redirect/i],
      ['html', 'ModelFormatError', /config\.json/],
    ];
    const out = await page.evaluate(async ({ base, flags, request }) => {
      const w = window as unknown as Harness;
      const outcomes = [];
      for (const flag of flags) {
        const model = `${base}/~${flag}/tiny-dense/`;
        const started = performance.now();
        const outcome = await w.webgpuInfer.createEngine({ model, stallTimeoutMs: flag === 'stall' ? 700 : undefined }).then(async (engine) => {
          const { tokens } = await engine.complete(request);
          await engine.dispose();
          return { tokens };
        }, (e: Api.InferError) => ({ name: e.name, isClass: e instanceof w.webgpuInfer.InferError, message: e.message, url: e.details?.url as string | undefined }));
        const cached = (await w.webgpuInfer.listCachedModels()).find((m) => m.url === model)?.files ?? [];
        await w.webgpuInfer.deleteCachedModel(model);
        outcomes.push({ flag, outcome, cached, ms: performance.now() - started });
      }
      return outcomes;
    }, { base: server().url, flags: [...faults.map(([f]) => f), 'cutonce,ranges'], request: REQUEST });
    for (const [flag, name, message] of faults) {
      const { outcome, cached, ms } = out.find((o) => o.flag === flag)!;
      console.log(`${flag}: ${'name' in outcome ? outcome.name : 'loaded'} in ${ms.toFixed(0)} ms`);
      expect(outcome, flag).toMatchObject({ name, isClass: true, message: expect.stringMatching(message) });
      if (name === 'NetworkError') expect((outcome as { url: string }).url, flag).toMatch(new RegExp(`^${server().url}/~${flag}/tiny-dense/`));
      expect(cached, `${flag}: a failed load leaves nothing cached`).toEqual([]);
    }
    // cross-origin the page cannot read Accept-Ranges (not exposed): the download restarts and skips what arrived
    expect(out.at(-1)!.outcome, 'a body cut once resumes').toEqual({ tokens: expected });
    // the healthy server then loads the same greedy tokens
    expect(await greedyTokens(page, `${server().url}/tiny-dense/`)).toEqual(expected);
  });

  test('a page unloaded mid-load leaves no unvalidated file trusted: the fixed server then loads', async ({ page }) => {
    // the server sends weights holding a NaN, and holds tokenizer.json back: the load stops after model.safetensors
    // was stored and before the loader read it; then the page goes away
    const bad = poisoned(readFileSync('public/models/tiny-dense/model.safetensors'), 'model.layers.0.mlp.down_proj.weight', 1000, NAN);
    let broken = true;
    let tokenizerAsked: () => void;
    const asked = new Promise<void>((resolve) => (tokenizerAsked = resolve));
    await page.route('**/unloaded/tiny-dense/**', async (route) => {
      const file = new URL(route.request().url()).pathname.split('/').pop()!;
      if (broken && file === 'model.safetensors' && route.request().method() === 'GET') return route.fulfill({ body: Buffer.from(bad), contentType: 'application/octet-stream' });
      if (broken && file === 'tokenizer.json') return tokenizerAsked(); // never answered
      return route.fulfill({ response: await route.fetch({ url: new URL(`/models/tiny-dense/${file}`, route.request().url()).href }) });
    });
    const model = '/unloaded/tiny-dense/';
    await page.evaluate(async (model) => {
      const w = window as unknown as Harness;
      await w.webgpuInfer.deleteCachedModel(model);
      w.loading = w.webgpuInfer.createEngine({ model });
    }, model);
    await asked;
    const leftover = await page.evaluate(async () => (await (window as unknown as Harness).webgpuInfer.listCachedModels()).flatMap((m) => m.files));
    expect(leftover, 'the weights were stored before the page went away').toContain('model.safetensors');
    broken = false;
    await page.reload();
    await page.waitForFunction(() => 'webgpuInfer' in window);
    const expected = await greedyTokens(page, '/models/tiny-dense/');
    expect(await greedyTokens(page, model, true), 'loaded from the fixed server').toEqual(expected);
    expect(await greedyTokens(page, model, true), 'and then from the cache').toEqual(expected);
    await page.evaluate((model) => (window as unknown as Harness).webgpuInfer.deleteCachedModel(model), model);
  });
});
