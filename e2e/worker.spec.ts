import { expect, test } from '@playwright/test';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type * as Api from '../src/browser/index';
import type * as ModelCache from '../src/browser/cache';
import type { GenerateEvent, GenerateResult, LoadProgress } from '../src/contract/types';
import { openHarness } from './harness_page';

/** What e2e/harness/worker.ts puts on window. */
type Harness = Window & {
  webgpuInfer: typeof Api;
  modelCache: typeof ModelCache;
  probeMainThread(): { stop(): { longestTaskMs: number; longestFrameGapMs: number; frames: number } };
  engine?: Api.Engine;
};

const MODEL = '/models/tiny-dense/';
const SHARDED = '/tests/fixtures/models/llama-sharded/';
/** The served config.json's SHA-256, computed here from the file the dev server serves. */
const CONFIG_SHA256 = createHash('sha256').update(readFileSync('public/models/tiny-dense/config.json')).digest('hex');

test.describe('worker engine', () => {
  test.beforeEach(async ({ page }) => openHarness(page));

  test('loads with progress from a cold cache, streams tokens, keeps the main thread responsive', async ({ page }) => {
    const load = await page.evaluate(async (model) => {
      const w = window as unknown as Harness;
      await w.webgpuInfer.deleteCachedModel(model);
      const progress: LoadProgress[] = [];
      const started = performance.now();
      w.engine = await w.webgpuInfer.createEngine({ model, onProgress: (p) => progress.push(p) });
      return { progress, ms: performance.now() - started, info: w.engine.info, cached: await w.webgpuInfer.listCachedModels() };
    }, MODEL);
    const phases = load.progress.map((p) => p.phase);
    expect(phases).toContain('download');
    expect(phases).toContain('weights');
    expect(phases[phases.length - 1]).toBe('ready');
    const partial = load.progress.filter((p) => p.phase === 'weights' && p.loadedBytes > 0 && p.loadedBytes < p.totalBytes);
    expect(partial.length, 'byte-level progress during the weight upload').toBeGreaterThan(0);
    expect(load.cached.find((m) => m.url.endsWith(MODEL))?.files).toContain('model.safetensors');
    console.log(`load ${load.ms.toFixed(0)} ms, ${load.progress.length} progress events, adapter ${load.info.adapter.description}`);

    const run = await page.evaluate(async () => {
      const w = window as unknown as Harness;
      const probe = w.probeMainThread();
      const events: GenerateEvent[] = [];
      const started = performance.now();
      for await (const ev of w.engine!.generate({ prompt: 'Once upon a time', maxTokens: 48, stopAtEos: false })) events.push(ev);
      const ms = performance.now() - started;
      return { events, ms, main: probe.stop() };
    });
    const tokenEvents = run.events.filter((e) => e.type === 'tokens');
    const done = run.events[run.events.length - 1] as Extract<GenerateEvent, { type: 'done' }>;
    expect(done.type).toBe('done');
    expect(done.result.tokens).toHaveLength(48);
    expect(tokenEvents.flatMap((e) => e.tokens)).toEqual(done.result.tokens);
    expect(tokenEvents.map((e) => e.text).join('')).toBe(done.result.text);
    expect(run.main.longestTaskMs, 'longest main-thread task during generation').toBeLessThan(200);
    console.log(`generate 48 tokens in ${run.ms.toFixed(0)} ms over ${tokenEvents.length} token events; main thread: longest task ${run.main.longestTaskMs.toFixed(0)} ms, longest frame gap ${run.main.longestFrameGapMs.toFixed(0)} ms over ${run.main.frames} frames`);
  });

  test('abort mid-stream ends with done(aborted); the engine then answers exactly as before', async ({ page }) => {
    const out = await page.evaluate(async (model) => {
      const w = window as unknown as Harness;
      const engine = await w.webgpuInfer.createEngine({ model });
      const request = { prompt: 'The little robot', maxTokens: 12, stopAtEos: false };
      const before = await engine.complete(request);
      const controller = new AbortController();
      let aborted: GenerateResult | undefined;
      for await (const ev of engine.generate({ ...request, maxTokens: 200, signal: controller.signal })) {
        if (ev.type === 'tokens') controller.abort();
        if (ev.type === 'done') aborted = ev.result;
      }
      const after = await engine.complete(request);
      await engine.dispose();
      return { before, aborted: aborted!, after };
    }, MODEL);
    expect(out.aborted.aborted).toBe(true);
    expect(out.aborted.finishReason).toBe('aborted');
    expect(out.aborted.tokens.length).toBeLessThan(200);
    expect(out.after.tokens).toEqual(out.before.tokens);
    expect(out.after.text).toBe(out.before.text);
  });

  test('dispose() and reload() during a long generation end it within a second; the engine then answers as before', async ({ page }) => {
    const run = await page.evaluate(async (model) => {
      const w = window as unknown as Harness;
      const probe = { prompt: 'Once upon a time', maxTokens: 8, stopAtEos: false };
      const long = { prompt: 'The little robot', maxTokens: 1000, stopAtEos: false };
      /** Starts a long generation and waits for its first tokens; `ends` resolves with its result (wrapped: an async function would adopt it). */
      const startLong = async (engine: Api.Engine) => {
        const events = engine.generate(long)[Symbol.asyncIterator]();
        for (let ev = await events.next(); !ev.done && ev.value.type !== 'tokens'; ev = await events.next());
        const ends = (async () => {
          for (let ev = await events.next(); !ev.done; ev = await events.next()) if (ev.value.type === 'done') return ev.value.result;
          throw new Error('no done event');
        })();
        return { ends };
      };
      const engine = await w.webgpuInfer.createEngine({ model });
      const expected = (await engine.complete(probe)).tokens;
      let { ends } = await startLong(engine);
      let started = performance.now();
      const reloaded = engine.reload();
      const afterReload = await ends;
      const reloadMs = performance.now() - started;
      await reloaded;
      const reloadedTokens = (await engine.complete(probe)).tokens;
      ({ ends } = await startLong(engine));
      started = performance.now();
      await engine.dispose();
      const disposeMs = performance.now() - started;
      const afterDispose = await ends;
      const fresh = await w.webgpuInfer.createEngine({ model });
      const freshTokens = (await fresh.complete(probe)).tokens;
      await fresh.dispose();
      return { expected, reloadMs, disposeMs, afterReload, afterDispose, reloadedTokens, freshTokens };
    }, MODEL);
    console.log(`worker: reload() ended the generation in ${run.reloadMs.toFixed(0)} ms after ${run.afterReload.tokens.length} tokens, dispose() resolved in ${run.disposeMs.toFixed(0)} ms after ${run.afterDispose.tokens.length} tokens`);
    for (const result of [run.afterReload, run.afterDispose]) {
      expect(result).toMatchObject({ aborted: true, finishReason: 'aborted' });
      expect(result.tokens.length).toBeLessThan(1000);
    }
    expect(run.reloadMs).toBeLessThan(1000);
    expect(run.disposeMs).toBeLessThan(1000);
    expect(run.reloadedTokens).toEqual(run.expected);
    expect(run.freshTokens).toEqual(run.expected);
  });

  test('a load that fails validation leaves nothing in the cache: the fixed server then loads', async ({ page }) => {
    // a folder whose config.json is once answered with broken JSON (a glitching server), every other file as is
    let poisoned = true;
    await page.route('**/poisoned/tiny-dense/**', async (route) => {
      const file = new URL(route.request().url()).pathname.split('/').pop()!;
      if (file === 'config.json' && poisoned) {
        poisoned = false;
        return route.fulfill({ status: 200, contentType: 'application/json', body: '{"architectures": ["LlamaForCaus' });
      }
      return route.fulfill({ response: await route.fetch({ url: new URL(`/models/tiny-dense/${file}`, route.request().url()).href }) });
    });
    const run = await page.evaluate(async () => {
      const w = window as unknown as Harness;
      const model = '/poisoned/tiny-dense/';
      await w.webgpuInfer.deleteCachedModel(model);
      const first = await w.webgpuInfer.createEngine({ model }).then(() => 'loaded', (e: Error) => e.name);
      const cachedAfterFailure = (await w.webgpuInfer.listCachedModels()).find((m) => m.url.endsWith(model))?.files ?? [];
      const engine = await w.webgpuInfer.createEngine({ model });
      const tokens = (await engine.complete({ prompt: 'Once upon a time', maxTokens: 8, stopAtEos: false })).tokens;
      await engine.dispose();
      const cachedAfterSuccess = (await w.webgpuInfer.listCachedModels()).find((m) => m.url.endsWith(model))?.files ?? [];
      await w.webgpuInfer.deleteCachedModel(model);
      const reference = await w.webgpuInfer.createEngine({ model: '/models/tiny-dense/', cache: false });
      const expected = (await reference.complete({ prompt: 'Once upon a time', maxTokens: 8, stopAtEos: false })).tokens;
      await reference.dispose();
      return { first, cachedAfterFailure, cachedAfterSuccess, tokens, expected };
    });
    expect(run.first).toBe('ModelFormatError');
    expect(run.cachedAfterFailure).toEqual([]);
    expect(run.cachedAfterSuccess).toContain('config.json');
    expect(run.tokens).toEqual(run.expected);
  });

  test('network faults cross the worker as NetworkError naming the URL; a 503 that clears is retried', async ({ page }) => {
    const answers: Record<string, number[]> = { denied: [403], broken: [500, 500, 500], flaky: [503] };
    const seen: Record<string, number> = {};
    await page.route('**/faulty/*/tiny-dense/**', async (route) => {
      const url = new URL(route.request().url());
      const [, , fault] = url.pathname.split('/');
      const file = url.pathname.split('/').pop()!;
      const key = `${fault}/${file}/${route.request().method()}`;
      const status = answers[fault]?.[(seen[key] = (seen[key] ?? -1) + 1)];
      if (status) return route.fulfill({ status, body: 'no' });
      return route.fulfill({ response: await route.fetch({ url: new URL(`/models/tiny-dense/${file}`, url).href }) });
    });
    const run = await page.evaluate(async () => {
      const w = window as unknown as Harness;
      const outcome = async (fault: string) => {
        const model = `/faulty/${fault}/tiny-dense/`;
        await w.webgpuInfer.deleteCachedModel(model);
        try {
          const engine = await w.webgpuInfer.createEngine({ model });
          const tokens = (await engine.complete({ prompt: 'Once upon a time', maxTokens: 8, stopAtEos: false })).tokens;
          await engine.dispose();
          return { tokens };
        } catch (e) {
          const error = e as InstanceType<typeof w.webgpuInfer.NetworkError>;
          return { name: error.name, isNetworkError: e instanceof w.webgpuInfer.NetworkError, message: error.message, url: error.details?.url };
        } finally {
          await w.webgpuInfer.deleteCachedModel(model);
        }
      };
      return { denied: await outcome('denied'), broken: await outcome('broken'), flaky: await outcome('flaky') };
    });
    for (const [fault, status] of [['denied', 'access denied \\(HTTP 403\\)'], ['broken', 'server error \\(HTTP 500\\)']]) {
      const result = run[fault as 'denied' | 'broken'];
      expect(result, fault).toMatchObject({ name: 'NetworkError', isNetworkError: true });
      expect(result.message).toMatch(new RegExp(status));
      expect(result.url).toMatch(new RegExp(`/faulty/${fault}/tiny-dense/`));
    }
    expect(run.flaky.tokens).toHaveLength(8);
  });

  test('the in-thread engine answers exactly like the worker engine', async ({ page }) => {
    const out = await page.evaluate(async (model) => {
      const w = window as unknown as Harness;
      const request = { prompt: 'Once upon a time', maxTokens: 10, stopAtEos: false };
      const results = [];
      for (const worker of [true, false]) {
        const engine = await w.webgpuInfer.createEngine({ model, worker });
        results.push(await engine.complete(request));
        await engine.dispose();
      }
      return results;
    }, MODEL);
    expect(out[1].tokens).toEqual(out[0].tokens);
    expect(out[1].text).toBe(out[0].text);
  });

  test('typed errors cross the worker boundary; loading can be aborted', async ({ page }) => {
    const out = await page.evaluate(async (model) => {
      const w = window as unknown as Harness;
      const describe = (e: unknown) => ({ name: (e as Error).name, message: (e as Error).message, isClass: e instanceof w.webgpuInfer.InferError, details: (e as Api.InferError).details });
      const missing = await w.webgpuInfer.createEngine({ model: '/models/does-not-exist/' }).catch(describe);
      const controller = new AbortController();
      const pending = w.webgpuInfer.createEngine({ model, signal: controller.signal, cache: false });
      controller.abort();
      const abortedLoad = await pending.catch(describe);
      const engine = await w.webgpuInfer.createEngine({ model });
      // too long only once tokenized: the runtime in the worker raises it
      const context = await engine.complete({ prompt: 'a b '.repeat(engine.info.contextLength) }).catch(describe);
      const vocab = await engine.complete({ prompt: [engine.info.vocab] }).catch(describe);
      const strategy = await engine.complete({ prompt: 'x', strategy: { kind: 'beam' } as never }).catch(describe);
      const ok = await engine.complete({ prompt: 'x', maxTokens: 3 });
      await engine.dispose();
      return { missing, abortedLoad, context, vocab, strategy, ok: ok.tokens.length };
    }, MODEL);
    expect(out.missing).toMatchObject({ name: 'ModelFormatError', isClass: true });
    expect(out.abortedLoad).toMatchObject({ name: 'AbortError', isClass: true });
    expect(out.context).toMatchObject({ name: 'ContextLengthError', isClass: true });
    expect(out.vocab).toMatchObject({ name: 'InvalidRequestError', isClass: true });
    expect(out.strategy).toMatchObject({ name: 'InvalidRequestError', isClass: true, details: { field: 'strategy.kind' } });
    expect(out.ok).toBe(3);
  });

  test('shards download in parallel into the Cache API, verified, listed and deleted', async ({ page }) => {
    const out = await page.evaluate(async ({ sharded, model, sha }) => {
      const w = window as unknown as Harness;
      const { modelCache } = w;
      const base = new URL(sharded, location.href).href;
      await w.webgpuInfer.deleteCachedModel(sharded);
      const started: Record<string, number> = {};
      const finished: Record<string, number> = {};
      const realFetch = window.fetch;
      window.fetch = async (input, init) => {
        const name = String(input).split('/').pop()!;
        started[name] = performance.now();
        const response = await realFetch(input, init);
        const timed = response.body!.pipeThrough(new TransformStream({ flush: () => void (finished[name] = performance.now()) }));
        return new Response(timed, { status: response.status, headers: response.headers });
      };
      const progress: LoadProgress[] = [];
      await modelCache.downloadWeights(base, { cache: true }, (p) => progress.push(p), new AbortController().signal);
      window.fetch = realFetch;
      const listed = (await w.webgpuInfer.listCachedModels()).find((m) => m.url === base);

      const describe = (e: unknown) => ({ name: (e as Error).name, message: (e as Error).message });
      const failure = (e: unknown) => ({ failed: describe(e) });
      const modelBase = new URL(model, location.href).href;
      await w.webgpuInfer.deleteCachedModel(model);
      const badSha = await modelCache.modelFetch({ cache: true, expectedSha256: { 'config.json': '00'.repeat(32) } })(`${modelBase}config.json`).then(() => ({ failed: undefined }), failure);
      const cachedAfterBad = (await w.webgpuInfer.listCachedModels()).some((m) => m.url === modelBase);
      const good = await modelCache.modelFetch({ cache: true, expectedSha256: { 'config.json': sha } })(`${modelBase}config.json`);
      const config = (await good.json()) as { vocab_size: number };
      const abortedController = new AbortController();
      abortedController.abort();
      await w.webgpuInfer.deleteCachedModel(model);
      const aborted = await modelCache.downloadWeights(modelBase, { cache: true }, () => undefined, abortedController.signal).then(() => ({ failed: undefined }), failure);
      const removed = await w.webgpuInfer.deleteCachedModel(sharded);
      const listedAfter = (await w.webgpuInfer.listCachedModels()).some((m) => m.url === base);
      return { started, finished, progress, listed, badSha, cachedAfterBad, vocab: config.vocab_size, aborted, removed, listedAfter };
    }, { sharded: SHARDED, model: MODEL, sha: CONFIG_SHA256 });
    const shards = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    expect(shards.every((f) => f in out.finished)).toBe(true);
    // both downloads were under way before either finished
    expect(Math.max(...shards.map((f) => out.started[f]))).toBeLessThan(Math.min(...shards.map((f) => out.finished[f])));
    const last = out.progress[out.progress.length - 1];
    expect(last).toMatchObject({ phase: 'download', loadedBytes: 198528 + 88064, totalBytes: 198528 + 88064 });
    expect(out.listed?.files.sort()).toEqual([...shards, 'model.safetensors.index.json'].sort());
    expect(out.listed?.bytes).toBeGreaterThanOrEqual(198528 + 88064);
    expect(out.badSha.failed?.name).toBe('ModelFormatError');
    expect(out.badSha.failed?.message).toContain('config.json');
    expect(out.cachedAfterBad).toBe(false);
    expect(out.vocab).toBe(2048);
    expect(out.aborted.failed?.name).toBe('AbortError');
    expect(out.removed).toBe(3);
    expect(out.listedAfter).toBe(false);
  });
});
