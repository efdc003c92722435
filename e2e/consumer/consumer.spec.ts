/**
 * The package as a user gets it: the packed tarball installed into a fresh app (prepare.ts) whose code is the
 * README's Install blocks. Type-checked, run in Node and from the CLI, and driven in Chromium in the Vite dev
 * server, in the minified production build on a plain static server, and as plain modules in a static folder.
 */
import { expect, test, type Page } from '@playwright/test';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { NAN, poisoned } from '../../tests/helpers/non_finite';
import { startStaticServer } from '../../tests/helpers/static_server';
import type { ConsumerState } from './prepare';

const state = (): ConsumerState => JSON.parse(readFileSync(process.env.CONSUMER_STATE!, 'utf8')) as ConsumerState;
const node = (args: string[], cwd: string) => spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 120_000 });
const tsc = (project: string) => node([path.join(state().app, 'node_modules/typescript/bin/tsc'), '-p', project], state().app);

type ProbeResult = Awaited<ReturnType<typeof import('./app/src/probe')['run']>>;
type HostileResult = Awaited<ReturnType<typeof import('./app/src/hostile')['hostile']>>;
type Unload = typeof import('./app/src/hostile')['unload'];
const unloadApi = (page: Page) => ({
  greedy: (model: string, options: object) => page.evaluate(([m, o]) => (window as unknown as { consumerUnload: Unload }).consumerUnload.greedy(m, o), [model, options] as const),
  startLoad: (model: string) => page.evaluate((m) => (window as unknown as { consumerUnload: Unload }).consumerUnload.startLoad(m), model),
  generateLong: () => page.evaluate(() => (window as unknown as { consumerUnload: Unload }).consumerUnload.generateLong()),
});

/** The page goes away after the (poisoned) weights were stored, before the loader read them; the fixed server then loads. */
async function unloadMidLoad(page: Page, reference: number[]): Promise<void> {
  const bad = poisoned(readFileSync('public/models/tiny-dense/model.safetensors'), 'model.layers.0.mlp.down_proj.weight', 1000, NAN);
  let tokenizerAsked!: () => void;
  const asked = new Promise<void>((resolve) => (tokenizerAsked = resolve));
  const pattern = '**/~unloaded/models/tiny-dense/**';
  await page.route(pattern, async (route) => {
    const file = new URL(route.request().url()).pathname.split('/').pop()!;
    if (file === 'model.safetensors' && route.request().method() === 'GET') return route.fulfill({ body: Buffer.from(bad), contentType: 'application/octet-stream' });
    if (file === 'tokenizer.json') return tokenizerAsked(); // never answered
    return route.fallback();
  });
  const model = '/~unloaded/models/tiny-dense/';
  await unloadApi(page).startLoad(model);
  await asked;
  await page.unroute(pattern);
  await page.reload();
  await page.waitForFunction(() => 'consumerUnload' in window, undefined, { timeout: 90_000 });
  expect(await unloadApi(page).greedy(model, { cache: true }), 'the fixed server, after a page unloaded mid-load').toEqual(reference);
}

/** The page goes away during a long generation: its worker ends, and the next page answers the same. */
async function unloadMidGeneration(page: Page, reference: number[]): Promise<void> {
  await unloadApi(page).generateLong();
  // every worker of the page (the README's engine has one too) ends with it
  const closed = Promise.all(page.workers().map((w) => new Promise<void>((resolve) => w.on('close', () => resolve()))));
  await page.reload();
  await closed;
  await page.waitForFunction(() => 'consumerUnload' in window, undefined, { timeout: 90_000 });
  expect(await unloadApi(page).greedy('/models/tiny-dense/', {}), 'after a page unloaded mid-generation').toEqual(reference);
}

/** The README's page shows generated text and a full progress bar; the probe's checks then hold. */
async function checkPage(page: Page, url: string): Promise<void> {
  const pageErrors: string[] = [];
  const failed: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // chat_template.jinja is the one optional file still probed (it wins over tokenizer_config.json's template, as in
  // transformers, so only a listing could avoid asking); the probe's own bad model is expected to fail
  const expected = (url: string) => url.includes('no-such-model') || url.endsWith('/chat_template.jinja');
  page.on('response', (r) => r.status() >= 400 && !expected(r.url()) && failed.push(`${r.status()} ${r.url()}`));
  await page.goto(url);
  await expect(page.locator('#out')).toHaveText(/\w{3,}.*\w{3,}/, { timeout: 90_000 });
  expect(failed, 'no other request of a normal load fails (no 404 probes in the console)').toEqual([]);
  await expect(page.locator('#out')).not.toContainText('Error');
  const bar = await page.locator('#progress').evaluate((p: HTMLProgressElement) => ({ value: p.value, max: p.max }));
  expect(bar.max).toBeGreaterThan(1_000_000);
  expect(bar.value).toBe(bar.max);

  // a bundler may put the probe's script after the README's, whose top-level await ends with its generation
  await page.waitForFunction(() => 'consumerProbe' in window, undefined, { timeout: 90_000 });
  const probe = await page.evaluate(() => (window as unknown as { consumerProbe(): Promise<ProbeResult> }).consumerProbe());
  expect(probe.phases).toEqual(expect.arrayContaining(['download', 'weights', 'ready']));
  expect(probe.partialProgress).toBe(true);
  expect(probe.tokenEvents).toBeGreaterThan(1);
  expect(probe.done!.drafted).toBeGreaterThan(0);
  expect(probe.origins.length).toBeGreaterThan(0);
  expect(probe.chat).toMatchObject({ object: 'chat.completion', finish: expect.stringMatching(/stop|length/) });
  expect(probe.chat.content?.length).toBeGreaterThan(0);
  expect(probe.aborted).toBe(true);
  expect(probe.afterAbort).toBe(3);
  expect(probe.typedError).toEqual({ instanceOfModelFormatError: true, instanceOfInferError: true, name: 'ModelFormatError', code: 'MODEL_FORMAT', constructorIsClass: true });
  expect(probe.abortError).toBe(true);
  expect(pageErrors).toEqual([]);
}

/** The cases of app/src/hostile.ts: typed errors that are instances of the package's classes, then the same greedy tokens. */
function checkHostile({ reference, network, weights, settings, lifecycle }: HostileResult): void {
  expect(reference).toHaveLength(8);
  const faults: [string, string, RegExp][] = [
    ['stall', 'NetworkError', /stalled/], ['cut', 'NetworkError', /cut off/], ['loop', 'NetworkError', /redirect/],
    ['status403', 'NetworkError', /access denied \(HTTP 403\)/], ['status500', 'NetworkError', /server error \(HTTP 500\)/],
    ['html', 'ModelFormatError', /config\.json/], ['nan', 'ModelFormatError', /model\.layers\.0\.mlp\.down_proj\.weight.*NaN or infinity/],
  ];
  for (const [flags, name, message] of faults) {
    const { error, cached } = network[flags] as { error?: { name: string; classes: string[]; message: string }; cached: string[] };
    expect(error, flags).toMatchObject({ name, classes: ['InferError', name], message: expect.stringMatching(message) });
    expect(cached, `${flags}: a failed load leaves nothing cached`).toEqual([]);
  }
  for (const flags of ['flaky', 'cutonce,ranges', 'gzip']) expect(network[flags], flags).toMatchObject({ value: reference });
  expect(network.gzip.cached).toContain('model.safetensors');

  expect(weights.nonFinite).toMatchObject({ error: { name: 'NonFiniteError', classes: ['InferError', 'NonFiniteError'] } });
  expect(weights.template).toMatchObject({ error: { name: 'ModelFormatError', classes: ['InferError', 'ModelFormatError'], message: expect.stringMatching(/budget/) } });
  expect(weights.afterTemplate).toEqual(reference);

  for (const key of ['temperatureZero', 'tinyTemperature', 'tinyTopP', 'sampledSpeculation'] as const) expect(settings[key], key).toEqual({ value: reference });
  expect(settings.widestSuperposed).toMatchObject({ value: expect.any(Array) });
  for (const key of ['tokensPerDraft17', 'huge', 'holes'] as const) {
    expect(settings[key], key).toMatchObject({ error: { name: 'InvalidRequestError', classes: ['InferError', 'InvalidRequestError'] } });
  }
  expect((settings.chatTemperatureZero as { value: string }).value.length).toBeGreaterThan(0);
  expect(settings.after).toEqual(reference);

  for (const key of ['reloaded', 'disposed', 'disposedPrefill'] as const) {
    expect(lifecycle[key].result, key).toMatchObject({ aborted: true, finishReason: 'aborted' });
    expect(lifecycle[key].ms, `${key}: a hang guard`).toBeLessThan(10_000);
  }
  expect(lifecycle.disposedPrefill.result.tokens).toEqual([]);
  expect(lifecycle.disposedPrefill.queued.aborted).toBe(true);
  expect(lifecycle.afterReload).toEqual(reference);
  expect(lifecycle.afterAll).toEqual(reference);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test.describe('the installed package', () => {
  test('the tarball holds the library only: dist/, no models, no demo', () => {
    const { packedFiles, packedBytes, setupMs } = state();
    console.log(`tarball ${(packedBytes / 1024).toFixed(0)} KiB, ${packedFiles.length} files; setup (pack, install, build) ${(setupMs / 1000).toFixed(1)} s`);
    expect(packedFiles.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(f))).toEqual([]);
    for (const entry of ['dist/index.js', 'dist/worker.js', 'dist/node/index.js', 'dist/node/cli.js', 'dist/types/browser/index.d.ts', 'dist/types/node/index.d.ts']) {
      expect(packedFiles).toContain(entry);
    }
    expect(packedBytes).toBeLessThan(1024 * 1024);
  });

  test('the app type-checks against the package; wrong usage does not', () => {
    const ok = tsc('tsconfig.json');
    expect(ok.stdout + ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    const wrong = tsc('wrong/tsconfig.json');
    expect(wrong.status).not.toBe(0);
    const errors = wrong.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors.map((l) => /usage\.ts\((\d+),/.exec(l)?.[1])).toEqual(['4', '5', '6']);
  });

  test('Node: the README script, the CLI and its --help', () => {
    const { app } = state();
    const script = node(['node.mjs'], app);
    expect(script.status, script.stderr).toBe(0);
    expect(script.stdout).toMatch(/\(16 tokens, .+\)/);
    const cli = node([path.join(app, 'node_modules/.bin/webgpu-infer'), 'generate', '--model', 'public/models/tiny-dense', '--prompt', 'Once upon a time', '--max-tokens', '8'], app);
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/^Once upon a time\S*\s+\S+/);
    const help = node([path.join(app, 'node_modules/.bin/webgpu-infer'), 'generate', '--help'], app);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: webgpu-infer generate');
  });

  test('the minified production build on a plain static server', async ({ page }) => {
    const server = await startStaticServer(path.join(state().app, 'dist'));
    try {
      await checkPage(page, `${server.url}/`);
    } finally {
      await server.close();
    }
  });

  test('the minified build under hostile files, servers, settings and lifecycle races', async ({ page }) => {
    test.setTimeout(480_000); // ~2 min on an idle 2-core machine; more than twice that under heavy load
    const server = await startStaticServer(path.join(state().app, 'dist'));
    try {
      await page.goto(`${server.url}/`);
      await page.waitForFunction(() => 'consumerHostile' in window, undefined, { timeout: 90_000 });
      const started = Date.now();
      const out = await page.evaluate(() => (window as unknown as { consumerHostile(): Promise<HostileResult> }).consumerHostile());
      console.log(`hostile cases in the minified build: ${((Date.now() - started) / 1000).toFixed(1)} s; reload() ended a generation in ${out.lifecycle.reloaded.ms.toFixed(0)} ms, dispose() in ${out.lifecycle.disposed.ms.toFixed(0)} ms, dispose() during a 900-token prefill in ${out.lifecycle.disposedPrefill.ms.toFixed(0)} ms`);
      checkHostile(out);
      await unloadMidLoad(page, out.reference);
      await unloadMidGeneration(page, out.reference);
    } finally {
      await server.close();
    }
  });

  test('the Vite dev server', async ({ page }) => {
    const { app } = state();
    const port = await freePort();
    const vite = spawn(process.execPath, [path.join(app, 'node_modules/vite/bin/vite.js'), '--port', String(port), '--strictPort', '--host', '127.0.0.1'], { cwd: app, stdio: 'pipe' });
    try {
      await new Promise<void>((resolve, reject) => {
        vite.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        vite.on('exit', (code) => reject(new Error(`vite exited with ${code}`)));
      });
      await checkPage(page, `http://127.0.0.1:${port}/`);
    } finally {
      vite.kill();
    }
  });

  test('plain <script type="module"> from a static folder', async ({ page }) => {
    const server = await startStaticServer(state().site);
    try {
      await page.goto(`${server.url}/`);
      await expect(page.locator('#out')).toHaveText(/\w{3,}.*\w{3,}/, { timeout: 90_000 });
    } finally {
      await server.close();
    }
  });
});
