/**
 * Full-size loads (a benchmark, not CI): random-weight BF16 checkpoints with the exact published configs of
 * Qwen2.5-0.5B-Instruct and Llama-3.2-1B-Instruct and their real tokenizers, made on the fly in .cache/load-bench/
 * (git-ignored; reused while their config is unchanged), loaded in Node through the public createEngine.
 * Records GPU weight bytes (2 per parameter when BF16 stays BF16), the JS heap's peak over its baseline during the
 * load against the largest tensor, load time by phase (from the progress events) and greedy decode tok/s.
 * `main` writes bench/results/load.json. Run: `node --expose-gc scripts/vite-run.mjs bench/load.ts [qwen|llama] [--browser]`;
 * --browser loads in Chromium too (the in-thread engine of e2e/harness/worker.html, so the page's JS heap is the loader's).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadProgress } from '../src/contract/types';
import { LLAMA, QWEN, checkpointTensors, elementCount, tokenizerPackageDir, writeRandomCheckpoint, type RealWidthShape } from './real_width';

const makeModel = (shape: RealWidthShape) => writeRandomCheckpoint(shape, join('.cache', 'load-bench', shape.name), tokenizerPackageDir(shape));

export interface LoadResult {
  model: string;
  /** 'node' or 'chromium' */
  platform: string;
  adapter: string;
  params: number;
  gpuWeightBytes: number;
  bytesPerParam: number;
  largestTensorBytes: number;
  /** JS heap (V8 heap + array buffers) at its peak during the load, over the baseline before it */
  peakHeapOverBaselineBytes: number;
  loadMs: number;
  /** ms from each phase's first progress event to the next phase's */
  phasesMs: Record<string, number>;
  decodeTokens: number;
  decodeTokPerS: number;
}

const jsHeap = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

async function measure(shape: RealWidthShape): Promise<LoadResult> {
  const dir = makeModel(shape);
  const { createEngine } = await import('../src/node/index');
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = jsHeap();
  let peak = baseline;
  const marks: [string, number][] = [];
  let gpuWeightBytes = 0; // 'ready' reports the loaded weights' GPU bytes
  const sample = setInterval(() => (peak = Math.max(peak, jsHeap())), 20);
  const started = performance.now();
  const onProgress = (p: LoadProgress) => {
    peak = Math.max(peak, jsHeap());
    if (marks.at(-1)?.[0] !== p.phase) marks.push([p.phase, performance.now()]);
    if (p.phase === 'ready') gpuWeightBytes = p.loadedBytes;
  };
  const engine = await createEngine({ model: dir, onProgress, contextLength: 256 });
  const loadMs = performance.now() - started;
  clearInterval(sample);
  const phasesMs = Object.fromEntries(marks.slice(0, -1).map(([phase, t], i) => [phase, Math.round(marks[i + 1][1] - t)]));
  const request = { prompt: 'Once upon a time', stopAtEos: false, strategy: { kind: 'greedy' } } as const;
  await engine.complete({ ...request, maxTokens: 2 }); // compiles the pipelines
  const result = await engine.complete({ ...request, maxTokens: 8 });
  const info = engine.info;
  await engine.dispose();
  return {
    model: shape.name,
    platform: 'node',
    adapter: info.adapter.description,
    params: info.params,
    gpuWeightBytes,
    bytesPerParam: gpuWeightBytes / info.params,
    largestTensorBytes: Math.max(...checkpointTensors(shape.config).map(([, dims]) => 2 * elementCount(dims))),
    peakHeapOverBaselineBytes: peak - baseline,
    loadMs: Math.round(loadMs),
    phasesMs,
    decodeTokens: result.stats.decodeTokens,
    decodeTokPerS: result.stats.decodeTokens / (result.stats.decodeMs / 1000),
  };
}
/** The same load in Chromium (the e2e harness page, served by Vite; Playwright's launch settings). */
async function measureInChromium(shape: RealWidthShape): Promise<LoadResult> {
  const dir = makeModel(shape);
  const { createServer } = await import('vite');
  const { chromium } = await import('@playwright/test');
  const { default: config } = await import('../playwright.config');
  const server = await createServer({ logLevel: 'error', server: { port: 5176, strictPort: true, host: '127.0.0.1' } });
  await server.listen();
  const browser = await chromium.launch(config.use?.launchOptions);
  try {
    const page = await browser.newPage();
    await page.goto('http://127.0.0.1:5176/e2e/harness/worker.html');
    await page.waitForFunction(() => 'webgpuInfer' in window);
    const r = await page.evaluate(async (model) => {
      const api = (window as unknown as { webgpuInfer: typeof import('../src/browser/index') }).webgpuInfer;
      const heap = () => (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize;
      const baseline = heap();
      let peak = baseline;
      let gpuWeightBytes = 0;
      const marks: [string, number][] = [];
      const started = performance.now();
      const engine = await api.createEngine({
        model, cache: false, worker: false, contextLength: 256,
        onProgress: (p) => {
          peak = Math.max(peak, heap());
          if (marks.at(-1)?.[0] !== p.phase) marks.push([p.phase, performance.now()]);
          if (p.phase === 'ready') gpuWeightBytes = p.loadedBytes;
        },
      });
      const loadMs = performance.now() - started;
      const request = { prompt: 'Once upon a time', stopAtEos: false, strategy: { kind: 'greedy' } } as const;
      await engine.complete({ ...request, maxTokens: 2 });
      const result = await engine.complete({ ...request, maxTokens: 8 });
      const info = engine.info;
      await engine.dispose();
      const phasesMs = Object.fromEntries(marks.slice(0, -1).map(([phase, t], i) => [phase, Math.round(marks[i + 1][1] - t)]));
      return { adapter: info.adapter.description, params: info.params, gpuWeightBytes, peak: peak - baseline, loadMs, phasesMs, stats: result.stats };
    }, `/${dir}/`);
    return {
      model: shape.name,
      platform: 'chromium',
      adapter: r.adapter,
      params: r.params,
      gpuWeightBytes: r.gpuWeightBytes,
      bytesPerParam: r.gpuWeightBytes / r.params,
      largestTensorBytes: Math.max(...checkpointTensors(shape.config).map(([, dims]) => 2 * elementCount(dims))),
      peakHeapOverBaselineBytes: r.peak,
      loadMs: Math.round(r.loadMs),
      phasesMs: r.phasesMs,
      decodeTokens: r.stats.decodeTokens,
      decodeTokPerS: r.stats.decodeTokens / (r.stats.decodeMs / 1000),
    };
  } finally {
    await browser.close();
    await server.close();
  }
}

export async function main(args: string[]): Promise<number> {
  const which = args.find((a) => !a.startsWith('--'));
  const shapes = [QWEN, LLAMA].filter((s) => !which || s.name.toLowerCase().startsWith(which));
  const platforms = args.includes('--browser') ? ['node', 'chromium'] : ['node'];
  const path = 'bench/results/load.json';
  const previous = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { results: LoadResult[] }).results : [];
  const results = previous.filter((r) => !shapes.some((s) => s.name === r.model && platforms.includes(r.platform ?? 'node')));
  for (const [shape, platform] of shapes.flatMap((s) => platforms.map((p) => [s, p] as const))) {
    const r = platform === 'node' ? await measure(shape) : await measureInChromium(shape);
    console.log(`${r.model} (${r.platform}): ${(r.gpuWeightBytes / 2 ** 20).toFixed(0)} MiB of GPU weights (${r.bytesPerParam.toFixed(3)} B/param), ` +
      `peak JS heap +${(r.peakHeapOverBaselineBytes / 2 ** 20).toFixed(1)} MiB (largest tensor ${(r.largestTensorBytes / 2 ** 20).toFixed(0)} MiB), ` +
      `load ${(r.loadMs / 1000).toFixed(1)} s ${JSON.stringify(r.phasesMs)}, decode ${r.decodeTokPerS.toFixed(2)} tok/s`);
    results.push(r);
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(path, JSON.stringify({ date: new Date().toISOString(), results }, null, 2) + '\n');
  return 0;
}
