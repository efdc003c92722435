/**
 * Test-only: the hostile cases (tests/robust_*.test.ts in Node) through the installed package's minified build.
 * The page's static server injects faults by a path prefix (`/~stall/models/...`, tests/helpers/static_server.ts).
 * Each case reports what a user would see (error class by instanceof, name, code, message) and the greedy tokens a
 * healthy engine gives afterwards.
 */
import {
  createEngine, deleteCachedModel, listCachedModels, InferError, InvalidRequestError, ModelFormatError, NetworkError, NonFiniteError,
  type Engine, type GenerateResult, type Strategy,
} from 'webgpu-infer';

const MODEL = '/models/tiny-dense/';
const REQUEST = { prompt: 'Once upon a time', maxTokens: 8, stopAtEos: false };
const LONG = { prompt: 'The little robot', maxTokens: 1000, stopAtEos: false };
/** 900 tokens: a prefill of tens of seconds on a software adapter */
const LONG_PROMPT = Array.from({ length: 900 }, (_, i) => 2 + ((i * 37) % 2000));

interface Failure {
  name: string;
  code: string;
  message: string;
  classes: string[];
}

/** What the caller sees of an error: which exported classes it is an instance of. */
function failure(e: unknown): Failure {
  const classes = Object.entries({ InferError, NetworkError, ModelFormatError, InvalidRequestError, NonFiniteError })
    .filter(([, type]) => e instanceof type).map(([name]) => name);
  return { name: (e as Error).name, code: (e as InferError).code, message: (e as Error).message, classes };
}

const outcome = <T>(run: Promise<T>) => run.then((value) => ({ value }), (e: unknown) => ({ error: failure(e) }));

async function greedy(model = MODEL, options = {}): Promise<number[]> {
  const engine = await createEngine({ model, cache: false, ...options });
  const { tokens } = await engine.complete(REQUEST);
  await engine.dispose();
  return tokens;
}

/** Starts LONG and waits for its first tokens; resolves with the promise of its result. */
async function startLong(engine: Engine): Promise<{ ends: Promise<GenerateResult> }> {
  const events = engine.generate(LONG)[Symbol.asyncIterator]();
  for (let ev = await events.next(); !ev.done && ev.value.type !== 'tokens'; ev = await events.next());
  const ends = (async () => {
    for (let ev = await events.next(); !ev.done; ev = await events.next()) if (ev.value.type === 'done') return ev.value.result;
    throw new Error('no done event');
  })();
  return { ends };
}

/** Loads tiny-dense with the server's `flags`; the tokens, or the error; and the files left in the cache. */
async function faulty(flags: string) {
  const model = `/~${flags}${MODEL}`;
  // short only where a stall is the case: a loaded machine may take longer than that to compress a file
  const result = await outcome(greedy(model, { cache: true, stallTimeoutMs: flags === 'stall' ? 700 : undefined }));
  const cached = (await listCachedModels()).find((m) => m.url.endsWith(model))?.files ?? [];
  await deleteCachedModel(model);
  return { ...result, cached };
}

async function network() {
  const out: Record<string, Awaited<ReturnType<typeof faulty>>> = {};
  for (const flags of ['stall', 'cut', 'loop', 'status403', 'status500', 'html', 'flaky', 'cutonce,ranges', 'gzip', 'nan']) out[flags] = await faulty(flags);
  return out;
}

async function weightsAndTemplates() {
  const unscanned = await createEngine({ model: `/~nan${MODEL}`, cache: false, scanWeights: false });
  const nonFinite = await outcome(unscanned.complete(REQUEST));
  await unscanned.dispose();
  const looping = await createEngine({ model: `/~looptemplate${MODEL}`, cache: false });
  const template = await outcome(looping.chat.completions.create({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }));
  const afterTemplate = (await looping.complete(REQUEST)).tokens;
  await looping.dispose();
  return { nonFinite, template, afterTemplate };
}

async function settings() {
  const engine = await createEngine({ model: MODEL, cache: false });
  const run = (strategy: Strategy) => outcome(engine.complete({ ...REQUEST, strategy }).then((r) => r.tokens));
  const out = {
    temperatureZero: await run({ kind: 'sample', temperature: 0, seed: 3 }),
    tinyTemperature: await run({ kind: 'sample', temperature: Number.MIN_VALUE, seed: 3 }),
    tinyTopP: await run({ kind: 'sample', temperature: 1, topP: 1e-300, seed: 5 }),
    sampledSpeculation: await run({ kind: 'self-speculative', exitLayer: 2, draftLength: 3, sampling: { temperature: 0 } }),
    widestSuperposed: await run({ kind: 'superposed', drafts: 16, tokensPerDraft: 16 }),
    tokensPerDraft17: await run({ kind: 'superposed', tokensPerDraft: 17 }),
    huge: await run({ kind: 'sample', temperature: 1e300 }),
    // eslint-disable-next-line no-sparse-arrays
    holes: await outcome(engine.logits([5, , 7] as number[]).then((l) => l.length)),
    chatTemperatureZero: await outcome(engine.chat.completions.create({ messages: [{ role: 'user', content: 'Tell me a story.' }], max_tokens: 8, temperature: 0 }).then((c) => c.choices[0].message.content)),
    after: (await engine.complete(REQUEST)).tokens,
  };
  await engine.dispose();
  return out;
}

async function lifecycle() {
  const engine = await createEngine({ model: MODEL, cache: false });
  const long = await startLong(engine);
  let started = performance.now();
  const reloading = engine.reload();
  const reloaded = { result: await long.ends, ms: performance.now() - started };
  await reloading;
  const afterReload = (await engine.complete(REQUEST)).tokens;
  // a first 64-row chunk builds its pipelines (seconds on a software adapter, not interruptible): done before the case
  await engine.complete({ prompt: LONG_PROMPT.slice(0, 65), maxTokens: 1 });
  const prefill = engine.complete({ prompt: LONG_PROMPT, maxTokens: 4, stopAtEos: false });
  const queued = engine.complete(REQUEST); // behind it: never starts
  await new Promise((resolve) => setTimeout(resolve, 500));
  started = performance.now();
  await engine.dispose();
  const disposedPrefill = { result: await prefill, queued: await queued, ms: performance.now() - started };
  const fresh = await createEngine({ model: MODEL, cache: false });
  const other = await startLong(fresh);
  started = performance.now();
  await fresh.dispose();
  const disposed = { result: await other.ends, ms: performance.now() - started };
  return { reloaded, afterReload, disposedPrefill, disposed, afterAll: await greedy() };
}

export async function hostile() {
  return { reference: await greedy(), network: await network(), weights: await weightsAndTemplates(), settings: await settings(), lifecycle: await lifecycle() };
}

/** For unloading the page mid-load and mid-generation (driven from the test, which reloads the page). */
export const unload = {
  greedy,
  /** starts loading `model` (cached) and does not wait */
  startLoad: (model: string) => void createEngine({ model }).catch(() => undefined),
  /** starts a long generation; resolves once its first tokens arrived */
  generateLong: async () => void (await startLong(await createEngine({ model: MODEL, cache: false }))),
};
