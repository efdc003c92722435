/**
 * Browser benchmarks, one page, one run: ours vs onnxruntime-web (webgpu and wasm EPs) on the shipped
 * tiny-dense model, and decoding strategies against plain greedy. Results land on window.benchResults;
 * scripts/bench.mjs drives this page in Chromium and records them.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { createEngine, type Engine, type GenerateRequest, type GenerateResult } from '../src/browser/index';
import { ortGreedy, type OrtModelShape } from './ort_runner';

const MODEL = '/models/tiny-dense/';
const PROMPT = 'Once upon a time, there was a little program that wanted to run language models in a web browser. It';
const DECODE_TOKENS = 48;
const ORT_WEBGPU_DECODE_TOKENS = 12;

const log = document.getElementById('log')!;
const say = (line: string) => (log.textContent += `\n${line}`);

async function median<T>(runs: number, f: () => Promise<T>, key: (t: T) => number): Promise<T> {
  const results: T[] = [];
  for (let i = 0; i < runs; i++) results.push(await f());
  return results.sort((a, b) => key(a) - key(b))[Math.floor(runs / 2)];
}

const tokPerS = (tokens: number, ms: number) => (1000 * tokens) / ms;

/** Ours through the public API: the engine runs in its module Worker, as on any page; a cold prefill each time. */
async function runOurs(engine: Engine, request: GenerateRequest): Promise<GenerateResult> {
  await engine.resetCache();
  return engine.complete({ stopAtEos: false, ...request });
}

async function benchOurs(runtime: Engine, prompt: number[]) {
  const greedy = await median(3, () => runOurs(runtime, { prompt, maxTokens: DECODE_TOKENS }), (r) => r.stats.decodeMs);
  say(`ours greedy: prefill ${tokPerS(greedy.stats.prefillTokens, greedy.stats.prefillMs).toFixed(0)} tok/s, decode ${tokPerS(greedy.stats.decodeTokens, greedy.stats.decodeMs).toFixed(1)} tok/s`);
  const spec = await median(3, () => runOurs(runtime, { prompt, maxTokens: DECODE_TOKENS, strategy: { kind: 'self-speculative', exitLayer: 'auto', draftLength: 'auto' } }), (r) => r.stats.decodeMs);
  say(`ours self-speculative: decode ${tokPerS(spec.stats.decodeTokens, spec.stats.decodeMs).toFixed(1)} tok/s, accepted ${spec.stats.accepted}/${spec.stats.drafted}`);
  const superposed = await median(3, () => runOurs(runtime, { prompt, maxTokens: DECODE_TOKENS, strategy: { kind: 'superposed', drafts: 3 } }), (r) => r.stats.decodeMs);
  const threeRuns = await median(3, async () => {
    const t0 = performance.now();
    for (const seed of [1, 2, 3]) await runOurs(runtime, { prompt, maxTokens: DECODE_TOKENS, strategy: { kind: 'sample', temperature: 0.8, topK: 40, seed } });
    return performance.now() - t0;
  }, (ms) => ms);
  const superposedMs = superposed.stats.prefillMs + superposed.stats.decodeMs;
  say(`ours superposed k=3: ${superposedMs.toFixed(0)} ms vs 3 sampled runs ${threeRuns.toFixed(0)} ms`);
  return {
    prefillTokPerS: tokPerS(greedy.stats.prefillTokens, greedy.stats.prefillMs),
    decodeTokPerS: tokPerS(greedy.stats.decodeTokens, greedy.stats.decodeMs),
    selfSpeculativeDecodeTokPerS: tokPerS(spec.stats.decodeTokens, spec.stats.decodeMs),
    selfSpeculativeIdentical: spec.tokens.join() === greedy.tokens.join(),
    selfSpeculativeAcceptance: (spec.stats.accepted ?? 0) / Math.max(1, spec.stats.drafted ?? 0),
    superposedK3Ms: superposedMs,
    threeSeparateRunsMs: threeRuns,
    greedyTokens: greedy.tokens,
  };
}

async function benchOrt(ep: 'webgpu' | 'wasm', shape: OrtModelShape, prompt: number[], steps: number) {
  const bytes = new Uint8Array(await (await fetch(`${MODEL}onnx/model.onnx`)).arrayBuffer());
  const presentOnGpu = Object.fromEntries(
    Array.from({ length: shape.layers }, (_, i) => ['key', 'value'].map((kv) => [`present.${i}.${kv}`, 'gpu-buffer'] as const)).flat(),
  );
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: [ep],
    ...(ep === 'webgpu' ? { preferredOutputLocation: presentOnGpu } : {}),
  });
  await ortGreedy(ort, session, shape, prompt, 2); // warm-up: shader compilation, allocations
  const run = await median(3, () => ortGreedy(ort, session, shape, prompt, steps), (r) => r.decodeMs);
  await session.release();
  const result = {
    prefillTokPerS: tokPerS(prompt.length, run.prefillMs),
    decodeTokPerS: tokPerS(steps - 1, run.decodeMs),
    tokens: run.tokens,
  };
  say(`onnxruntime-web ${ep}: prefill ${result.prefillTokPerS.toFixed(0)} tok/s, decode ${result.decodeTokPerS.toFixed(1)} tok/s`);
  return result;
}

/** Rounds of one streamed run: each tokens event's round (drafted, accepted, exit layer) and the ms since the previous event. */
async function rounds(engine: Engine, request: GenerateRequest) {
  await engine.resetCache();
  const out: { drafted: number; accepted: number; exitLayer: number; tokens: number; ms: number }[] = [];
  let result: GenerateResult | undefined;
  let last = NaN;
  for await (const e of engine.generate({ stopAtEos: false, ...request })) {
    const now = performance.now();
    if (e.type === 'tokens') out.push({ ...(e.round ?? { drafted: 0, accepted: 0, exitLayer: 0 }), tokens: e.tokens.length, ms: now - last });
    if (e.type === 'done') result = e.result;
    last = now;
  }
  return { rounds: out, result: result! };
}

/** `?only=speculative`: greedy and self-speculative 'auto' alternating (five pairs), with DEL's choices and per-round times. */
async function benchSpeculative(engine: Engine, prompt: number[]) {
  await runOurs(engine, { prompt, maxTokens: DECODE_TOKENS }); // warm-up: greedy's pipelines (speculation's compile in its first run, as a user's would)
  const pairs = [];
  for (let i = 0; i < 5; i++) {
    const greedy = await runOurs(engine, { prompt, maxTokens: DECODE_TOKENS });
    const spec = await rounds(engine, { prompt, maxTokens: DECODE_TOKENS, strategy: { kind: 'self-speculative', exitLayer: 'auto', draftLength: 'auto' } });
    const { stats } = spec.result;
    const ratio = tokPerS(stats.decodeTokens, stats.decodeMs) / tokPerS(greedy.stats.decodeTokens, greedy.stats.decodeMs);
    say(`pair ${i}: greedy ${tokPerS(greedy.stats.decodeTokens, greedy.stats.decodeMs).toFixed(1)} tok/s, auto/greedy ${ratio.toFixed(2)}, verdicts ${JSON.stringify(stats.tokensByVerdict)}, accepted ${stats.accepted}/${stats.drafted}, identical ${spec.result.tokens.join() === greedy.tokens.join()}`);
    pairs.push({ greedyDecodeTokPerS: tokPerS(greedy.stats.decodeTokens, greedy.stats.decodeMs), autoDecodeTokPerS: tokPerS(stats.decodeTokens, stats.decodeMs), ratio,
      identical: spec.result.tokens.join() === greedy.tokens.join(), tokensByVerdict: stats.tokensByVerdict, drafted: stats.drafted, accepted: stats.accepted,
      lastDecision: stats.delDecision,
      // each tokens event: 'drafted/accepted@exit layer:tokens:ms since the previous event'
      rounds: spec.rounds.map((r) => `${r.drafted}/${r.accepted}@${r.exitLayer}:${r.tokens}:${Number.isNaN(r.ms) ? 0 : r.ms.toFixed(0)}`).join(' ') });
  }
  return pairs;
}

async function main() {
  if (new URLSearchParams(location.search).get('only') === 'speculative') {
    const engine = await createEngine({ model: MODEL });
    const prompt = await engine.tokenize(PROMPT);
    const speculative = await benchSpeculative(engine, prompt);
    await engine.dispose();
    return { adapter: engine.info.adapter.description, model: 'tiny-dense', promptTokens: prompt.length, speculative };
  }
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  const engine = await createEngine({ model: MODEL });
  const { adapter, layers, kvHeads, headDim, vocab } = engine.info;
  say(`adapter: ${adapter.description}`);
  const prompt = await engine.tokenize(PROMPT);
  const shape: OrtModelShape = { layers, kvHeads, headDim, vocab };
  const ours = await benchOurs(engine, prompt);
  await engine.dispose();
  const wasm = await benchOrt('wasm', shape, prompt, DECODE_TOKENS);
  const webgpu = await benchOrt('webgpu', shape, prompt, ORT_WEBGPU_DECODE_TOKENS);
  const agree = (tokens: number[]) => tokens.every((t, i) => t === ours.greedyTokens[i]);
  return {
    adapter: adapter.description,
    isSoftware: adapter.isSoftware,
    model: 'tiny-dense',
    promptTokens: prompt.length,
    ours,
    ortWasm: { ...wasm, sameTokensAsOurs: agree(wasm.tokens) },
    ortWebgpu: { ...webgpu, sameTokensAsOurs: agree(webgpu.tokens) },
  };
}

main().then(
  (r) => ((window as unknown as { benchResults: unknown }).benchResults = r),
  (e) => {
    say(String(e?.stack ?? e));
    (window as unknown as { benchResults: unknown }).benchResults = { error: String(e) };
  },
);
