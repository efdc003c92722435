/**
 * The GPU proof run's model sections (bench/device.ts runs them): parity of the shipped models against their
 * reference fixtures, superposed k=3 against three sampled runs, a real-width random model's decode step, and the
 * shipped model read from GGUF files of several block types. Paths are relative to the working directory, as in
 * the repository and in the unpacked kit.
 */
import { basename, join } from 'node:path';
import type { Gpu } from '../src/gpu/device';
import type { Strategy } from '../src/contract/types';
import { GgufSource, ggufFileNames } from '../src/model/gguf/source';
import { directorySource } from '../src/node/source';
import { Runtime } from '../src/runtime/runtime';
import { readFixture } from '../tests/helpers/fixtures';
import { relativeError } from '../tests/helpers/reference';
import { GGUF_DIR, ggufFile, type GgufScheme } from '../tools/gguf/hf_to_gguf';
import { QWEN, writeRandomCheckpoint } from './real_width';
import { median } from './tiny_dense';
import { PROMPT } from './speculative';

/** The logit tolerance of tests/model_parity.test.ts. */
const LOGIT_TOLERANCE = 2e-3;

export interface ParityResult {
  model: string;
  /** relative error of the logits at every position, per prompt length */
  logitsError: Record<string, number>;
  greedyEqual: boolean;
  pass: boolean;
}

export async function parity(gpu: Gpu, model: string): Promise<ParityResult> {
  const fixture = readFixture(`tests/fixtures/${model}.safetensors`);
  const runtime = await Runtime.load(gpu, directorySource(`public/models/${model}`), { contextLength: 256 });
  try {
    const logitsError: Record<string, number> = {};
    for (const len of [1, 7, 45]) {
      logitsError[len] = relativeError(await runtime.logits(Array.from(fixture[`prompt_len${len}`])), fixture[`logits_len${len}`]);
    }
    const expected = Array.from(fixture.greedy_tokens);
    const run = await runtime.generate({ prompt: Array.from(fixture.greedy_prompt), maxTokens: expected.length, stopAtEos: false }, () => undefined);
    const greedyEqual = run.tokens.join() === expected.join();
    return { model, logitsError, greedyEqual, pass: greedyEqual && Object.values(logitsError).every((e) => e <= LOGIT_TOLERANCE) };
  } finally {
    runtime.dispose();
  }
}

interface Speed {
  prefillTokPerS: number;
  decodeTokPerS: number;
  /** ms per decoded token */
  stepMs: number;
}

/** Median over `runs` generations (after one warm-up) of prefill and decode speed. */
async function speed(runtime: Runtime, prompt: number[], maxTokens: number, runs: number, strategy: Strategy = { kind: 'greedy' }): Promise<Speed & { tokens: number[] }> {
  await runtime.generate({ prompt: prompt.slice(0, 4), maxTokens: 2, stopAtEos: false, strategy }, () => undefined);
  const samples: Speed[] = [];
  let tokens: number[] = [];
  for (let r = 0; r < runs; r++) {
    runtime.resetCache(); // a cold prefill every run: the runs share their prompt, which the KV cache would keep
    const { stats, tokens: out } = await runtime.generate({ prompt, maxTokens, stopAtEos: false, strategy }, () => undefined);
    tokens = out;
    samples.push({ prefillTokPerS: (1000 * stats.prefillTokens) / stats.prefillMs, decodeTokPerS: (1000 * stats.decodeTokens) / stats.decodeMs, stepMs: stats.decodeMs / stats.decodeTokens });
  }
  const pick = (k: keyof Speed) => median(samples.map((s) => s[k]));
  return { prefillTokPerS: pick('prefillTokPerS'), decodeTokPerS: pick('decodeTokPerS'), stepMs: pick('stepMs'), tokens };
}

export interface SuperposedResult {
  decodeTokens: number;
  /** one superposed run with 3 drafts, prefill included */
  superposedK3Ms: number;
  /** three sampled runs of the same length, one after the other */
  threeSeparateRunsMs: number;
  ngrams: string;
}

/** Superposed decoding with k = 3 drafts against three separate sampled runs (bench/page.ts's comparison, in Node). */
export async function superposed(runtime: Runtime, decodeTokens: number, runs: number): Promise<SuperposedResult> {
  const prompt = runtime.tokenize(PROMPT);
  const request = { prompt, maxTokens: decodeTokens, stopAtEos: false };
  await runtime.generate({ ...request, maxTokens: 2, strategy: { kind: 'superposed', drafts: 3 } }, () => undefined);
  const superposedRuns: number[] = [], separate: number[] = [];
  let ngrams = '';
  for (let r = 0; r < runs; r++) {
    const { stats } = await runtime.generate({ ...request, strategy: { kind: 'superposed', drafts: 3 } }, () => undefined);
    superposedRuns.push(stats.prefillMs + stats.decodeMs);
    ngrams = stats.ngrams ?? '';
    const t0 = performance.now();
    for (const seed of [1, 2, 3]) await runtime.generate({ ...request, strategy: { kind: 'sample', temperature: 0.8, topK: 40, seed } }, () => undefined);
    separate.push(performance.now() - t0);
  }
  return { decodeTokens, superposedK3Ms: median(superposedRuns), threeSeparateRunsMs: median(separate), ngrams };
}

export interface RealWidthResult extends Speed {
  model: string;
  layers: number;
  params: number;
  weightBytes: number;
  promptTokens: number;
  decodeTokens: number;
  /** weight bytes read per decoded token over the step time: the bandwidth a decode step reaches */
  decodeGBps: number;
}

/**
 * Qwen2.5-0.5B's published config with random BF16 weights, written into `scratch` (1 GB; `layers` makes a
 * shallower model of the same widths for quick runs), with the real Qwen tokenizer from `tokenizerDir`.
 */
export async function realWidth(gpu: Gpu, scratch: string, tokenizerDir: string, { layers, decodeTokens, runs }: { layers?: number; decodeTokens: number; runs: number }): Promise<RealWidthResult> {
  const dir = writeRandomCheckpoint(QWEN, join(scratch, QWEN.name), tokenizerDir, layers);
  let weightBytes = 0; // 'ready' reports the loaded weights' GPU bytes
  const runtime = await Runtime.load(gpu, directorySource(dir), { contextLength: 256 }, (p) => p.phase === 'ready' && (weightBytes = p.loadedBytes));
  try {
    const prompt = runtime.tokenize(PROMPT).slice(0, 16);
    const { tokens: _, ...s } = await speed(runtime, prompt, decodeTokens, runs);
    return {
      model: QWEN.name, layers: runtime.info.layers, params: runtime.info.params, weightBytes,
      promptTokens: prompt.length, decodeTokens, ...s, decodeGBps: weightBytes / s.stepMs / 1e6,
    };
  } finally {
    runtime.dispose();
  }
}

export interface GgufResult extends Speed {
  scheme: GgufScheme;
  /** greedy tokens equal to the safetensors model's */
  sameTokensAsSafetensors: boolean;
}

/**
 * tiny-dense written as GGUF files of several block types (tools/gguf/hf_to_gguf.ts, in `.cache/gguf` of the
 * working directory), each decoded by our GGUF kernels; the safetensors model's greedy tokens are the reference.
 */
export async function ggufSchemes(gpu: Gpu, schemes: GgufScheme[], decodeTokens: number, runs: number): Promise<{ safetensors: Speed; results: GgufResult[] }> {
  const base = await Runtime.load(gpu, directorySource('public/models/tiny-dense'), { contextLength: 256 });
  const prompt = base.tokenize(PROMPT);
  const reference = await speed(base, prompt, decodeTokens, runs);
  base.dispose();
  const results: GgufResult[] = [];
  for (const scheme of schemes) {
    const path = ggufFile('public/models/tiny-dense', scheme);
    const runtime = await Runtime.load(gpu, new GgufSource(directorySource(GGUF_DIR), ggufFileNames(basename(path))), { contextLength: 256 });
    try {
      const { tokens, ...s } = await speed(runtime, prompt, decodeTokens, runs);
      results.push({ scheme, ...s, sameTokensAsSafetensors: tokens.join() === reference.tokens.join() });
    } finally {
      runtime.dispose();
    }
  }
  const { tokens: _, ...safetensors } = reference;
  return { safetensors, results };
}
