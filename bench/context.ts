/**
 * How speed scales with context on the shipped tiny-dense (Node, one adapter, one run): prefill tok/s of
 * prompts of 32 to 512 tokens, and greedy decode tok/s of 32 tokens after each. Attention is the part that
 * grows with context (flash prefill, split-K decode); the matmuls do not.
 * `main` writes bench/results/context.json.
 */
import type { Gpu } from '../src/gpu/device';
import type { Runtime } from '../src/runtime/runtime';
import { median, runTinyDenseBench } from './tiny_dense';

export interface ContextPoint {
  promptTokens: number;
  prefillTokPerS: number;
  decodeTokPerS: number;
}

export interface ContextBench {
  adapter: string;
  isSoftware: boolean;
  model: string;
  decodeTokens: number;
  points: ContextPoint[];
}

const PROMPT_TOKENS = [32, 128, 512];
const DECODE_TOKENS = 32;
const RUNS = 3;

/** A prompt of `length` token ids from the model's own vocabulary (the fortunes text repeated): no tokenizer round trip. */
function promptOf(runtime: Runtime, length: number): number[] {
  const text = 'A man walks into a bar and says: the secret of life is to keep on trying, and never to stop. ';
  const ids: number[] = [];
  while (ids.length < length) ids.push(...runtime.tokenize(text));
  return ids.slice(0, length);
}

export async function benchContext(gpu: Gpu, runtime: Runtime): Promise<ContextBench> {
  const points: ContextPoint[] = [];
  await runtime.generate({ prompt: promptOf(runtime, 8), maxTokens: 4, stopAtEos: false }, () => undefined); // warm-up: pipelines
  for (const promptTokens of PROMPT_TOKENS) {
    const runs = [];
    for (let r = 0; r < RUNS; r++) {
      runtime.resetCache(); // a cold prefill: the prompts share their prefix, which the KV cache would keep
      const { stats } = await runtime.generate({ prompt: promptOf(runtime, promptTokens), maxTokens: DECODE_TOKENS, stopAtEos: false, strategy: { kind: 'greedy' } }, () => undefined);
      runs.push({ prefill: (1000 * stats.prefillTokens) / stats.prefillMs, decode: (1000 * stats.decodeTokens) / stats.decodeMs });
    }
    points.push({ promptTokens, prefillTokPerS: median(runs.map((x) => x.prefill)), decodeTokPerS: median(runs.map((x) => x.decode)) });
  }
  return { adapter: gpu.adapter.description, isSoftware: gpu.adapter.isSoftware, model: 'tiny-dense', decodeTokens: DECODE_TOKENS, points };
}

export async function main(): Promise<number> {
  const summary = (b: ContextBench) => b.points.map((p) => `prompt ${p.promptTokens}: prefill ${p.prefillTokPerS.toFixed(0)} tok/s, decode ${p.decodeTokPerS.toFixed(1)} tok/s`).join('\n');
  return runTinyDenseBench('context', 1024, benchContext, summary);
}
