/**
 * Ours against onnxruntime-web's wasm EP (one thread) in one Node process on the shipped tiny-dense: greedy
 * prefill and decode of the same prompt, each repeat running both back to back, so that every repeat gives
 * same-run ratios; the ranges over the repeats say how far one run can be trusted.
 * `main` writes bench/results/ort.json.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';
import type { Gpu } from '../src/gpu/device';
import type { Runtime } from '../src/runtime/runtime';
import { ortGreedy } from './ort_runner';
import { median, runTinyDenseBench } from './tiny_dense';

const PROMPT = 'Once upon a time, there was a little program that wanted to run language models in a web browser. It';
const DECODE_TOKENS = 48;
const REPEATS = 5;

interface Speed { prefillTokPerS: number; decodeTokPerS: number }
export interface OrtRepeat { ours: Speed; ortWasm: Speed; decode_vs_ort_wasm: number; prefill_vs_ort_wasm: number; sameTokens: boolean }
export interface Range { min: number; median: number; max: number }

export interface OrtBench {
  adapter: string;
  isSoftware: boolean;
  model: string;
  promptTokens: number;
  decodeTokens: number;
  repeats: OrtRepeat[];
  ranges: { decode_vs_ort_wasm: Range; prefill_vs_ort_wasm: Range };
}

const tokPerS = (tokens: number, ms: number) => (1000 * tokens) / ms;
const range = (xs: number[]): Range => ({ min: Math.min(...xs), median: median(xs), max: Math.max(...xs) });

export async function benchOrt(gpu: Gpu, runtime: Runtime): Promise<OrtBench> {
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(readFileSync('public/models/tiny-dense/onnx/model.onnx'), { executionProviders: ['wasm'] });
  const c = runtime.config;
  const shape = { layers: c.layers, kvHeads: c.kvHeads, headDim: c.headDim, vocab: c.vocab };
  const prompt = runtime.tokenize(PROMPT);
  const ours = () => {
    runtime.resetCache(); // a cold prefill each time, as the wasm EP's
    return runtime.generate({ prompt, maxTokens: DECODE_TOKENS, stopAtEos: false, strategy: { kind: 'greedy' } }, () => undefined);
  };
  await ours(); // warm-up: pipelines
  await ortGreedy(ort, session, shape, prompt, 2);
  const repeats: OrtRepeat[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const { stats, tokens } = await ours();
    const peer = await ortGreedy(ort, session, shape, prompt, DECODE_TOKENS);
    const mine = { prefillTokPerS: tokPerS(stats.prefillTokens, stats.prefillMs), decodeTokPerS: tokPerS(stats.decodeTokens, stats.decodeMs) };
    const theirs = { prefillTokPerS: tokPerS(prompt.length, peer.prefillMs), decodeTokPerS: tokPerS(DECODE_TOKENS - 1, peer.decodeMs) };
    repeats.push({
      ours: mine,
      ortWasm: theirs,
      decode_vs_ort_wasm: mine.decodeTokPerS / theirs.decodeTokPerS,
      prefill_vs_ort_wasm: mine.prefillTokPerS / theirs.prefillTokPerS,
      sameTokens: peer.tokens.every((t, i) => t === tokens[i]),
    });
  }
  await session.release();
  return {
    adapter: gpu.adapter.description,
    isSoftware: gpu.adapter.isSoftware,
    model: 'tiny-dense',
    promptTokens: prompt.length,
    decodeTokens: DECODE_TOKENS,
    repeats,
    ranges: {
      decode_vs_ort_wasm: range(repeats.map((x) => x.decode_vs_ort_wasm)),
      prefill_vs_ort_wasm: range(repeats.map((x) => x.prefill_vs_ort_wasm)),
    },
  };
}

export const formatRange = (r: Range) => `${r.median.toFixed(2)} (${r.min.toFixed(2)}-${r.max.toFixed(2)})`;

export async function main(): Promise<number> {
  const summary = (b: OrtBench) => [
    ...b.repeats.map((x, i) => `repeat ${i + 1}: decode ours ${x.ours.decodeTokPerS.toFixed(1)} / ort wasm ${x.ortWasm.decodeTokPerS.toFixed(1)} tok/s, ` +
      `prefill ours ${x.ours.prefillTokPerS.toFixed(0)} / ort wasm ${x.ortWasm.prefillTokPerS.toFixed(0)} tok/s, same tokens ${x.sameTokens}`),
    `decode_vs_ort_wasm ${formatRange(b.ranges.decode_vs_ort_wasm)}, prefill_vs_ort_wasm ${formatRange(b.ranges.prefill_vs_ort_wasm)} (median, min-max of ${b.repeats.length})`,
  ].join('\n');
  return runTinyDenseBench('ort', 256, benchOrt, summary);
}
