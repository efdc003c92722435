/**
 * GGUF decode and prefill against llama.cpp on the CPU (node-llama-cpp 3.21.1), same run, same file:
 * tiny-dense written as F16, Q8_0 and Q4_K_M GGUF, and tiny-moe as F16 and Q8_0 (routed experts in blocks), in
 * .cache/gguf. Ours runs on the Node adapter (SwiftShader here:
 * a CPU-emulated GPU against native CPU code). Greedy, a 32-token prompt, 32 decoded tokens, median of 3 runs.
 * `main` writes bench/results/gguf.json.
 */
import { getLlama, LlamaLogLevel, type LlamaModel, type Token } from 'node-llama-cpp';
import { basename } from 'node:path';
import type { Gpu } from '../src/gpu/device';
import { GgufSource, ggufFileNames } from '../src/model/gguf/source';
import { directorySource } from '../src/node/source';
import { Runtime } from '../src/runtime/runtime';
import { GGUF_DIR, ggufFile, type GgufScheme } from '../tools/gguf/hf_to_gguf';
import { median } from './tiny_dense';

const SCHEMES: GgufScheme[] = ['F16', 'Q8_0', 'Q4_K_M'];
/** tiny-moe's files (its rows of 192 take Q4_K_M's fallbacks, so Q8_0 stands for the quantized experts) */
const MOE_SCHEMES: GgufScheme[] = ['F16', 'Q8_0'];
const PROMPT_TOKENS = 32;
const DECODE_TOKENS = 32;
const RUNS = 3;
/**
 * llama.cpp's threads (LLAMA_CPP_THREADS, default 1): its workers spin while they wait, so on a shared 2-core machine
 * two of them starve each other (1.4-2.8 tok/s measured, against 140-2400 with one thread).
 */
const THREADS = Number(process.env.LLAMA_CPP_THREADS ?? 1);

interface Speed { prefillTokPerS: number; decodeTokPerS: number }

type Result = { scheme: GgufScheme; ours: Speed; llamaCpp: Speed; decodeVsLlamaCpp: number; prefillVsLlamaCpp: number; sameTokens: boolean };

export interface GgufBench {
  adapter: string;
  isSoftware: boolean;
  model: string;
  llamaCppThreads: number;
  results: Result[];
  /** the same for tiny-moe */
  moe: { model: string; results: Result[] };
}

async function ours(gpu: Gpu, path: string, prompt: number[]): Promise<Speed & { tokens: number[] }> {
  const runtime = await Runtime.load(gpu, new GgufSource(directorySource(GGUF_DIR), ggufFileNames(basename(path))), { contextLength: 256 });
  await runtime.generate({ prompt: prompt.slice(0, 8), maxTokens: 4, stopAtEos: false }, () => undefined); // warm-up: pipelines
  const runs = [];
  let tokens: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    runtime.resetCache(); // a cold prefill every run, as llama.cpp's (its history is cleared)
    const result = await runtime.generate({ prompt, maxTokens: DECODE_TOKENS, stopAtEos: false, strategy: { kind: 'greedy' } }, () => undefined);
    tokens = result.tokens;
    runs.push({ prefill: (1000 * result.stats.prefillTokens) / result.stats.prefillMs, decode: (1000 * result.stats.decodeTokens) / result.stats.decodeMs });
  }
  runtime.dispose();
  return { prefillTokPerS: median(runs.map((x) => x.prefill)), decodeTokPerS: median(runs.map((x) => x.decode)), tokens };
}

/** Prefill: until the first generated token; decode: the DECODE_TOKENS - 1 tokens after it (as our stats count them). */
async function llamaCpp(model: LlamaModel, prompt: number[]): Promise<Speed & { tokens: number[] }> {
  const context = await model.createContext({ contextSize: 256, threads: THREADS });
  const sequence = context.getSequence();
  const runs = [];
  let tokens: number[] = [];
  for (let r = 0; r <= RUNS; r++) {
    await sequence.clearHistory();
    tokens = [];
    const start = performance.now();
    let first = 0;
    for await (const token of sequence.evaluate(prompt as Token[], { temperature: 0, yieldEogToken: true })) {
      if (tokens.length === 0) first = performance.now();
      tokens.push(token);
      if (tokens.length === DECODE_TOKENS) break;
    }
    const end = performance.now();
    if (r > 0) runs.push({ prefill: (1000 * prompt.length) / (first - start), decode: (1000 * (DECODE_TOKENS - 1)) / (end - first) }); // run 0 warms up
  }
  await context.dispose();
  return { prefillTokPerS: median(runs.map((x) => x.prefill)), decodeTokPerS: median(runs.map((x) => x.decode)), tokens };
}

export async function main(): Promise<number> {
  const { nodeGpu } = await import('../src/node/gpu');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const gpu = await nodeGpu();
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const run = async (dir: string, scheme: GgufScheme): Promise<Result> => {
    const path = ggufFile(dir, scheme);
    const model = await llama.loadModel({ modelPath: path });
    const text = 'A man walks into a bar and says: the secret of life is to keep on trying, and never to stop. ';
    const prompt = [model.tokens.bos!, ...model.tokenize(text.repeat(4))].slice(0, PROMPT_TOKENS);
    const theirs = await llamaCpp(model, prompt);
    await model.dispose();
    const mine = await ours(gpu, path, prompt);
    return {
      scheme,
      ours: { prefillTokPerS: mine.prefillTokPerS, decodeTokPerS: mine.decodeTokPerS },
      llamaCpp: { prefillTokPerS: theirs.prefillTokPerS, decodeTokPerS: theirs.decodeTokPerS },
      decodeVsLlamaCpp: mine.decodeTokPerS / theirs.decodeTokPerS,
      prefillVsLlamaCpp: mine.prefillTokPerS / theirs.prefillTokPerS,
      sameTokens: mine.tokens.join() === theirs.tokens.join(),
    };
  };
  const bench: GgufBench = { adapter: gpu.adapter.description, isSoftware: gpu.adapter.isSoftware, model: 'tiny-dense', llamaCppThreads: THREADS, results: [], moe: { model: 'tiny-moe', results: [] } };
  for (const scheme of SCHEMES) bench.results.push(await run('public/models/tiny-dense', scheme));
  for (const scheme of MOE_SCHEMES) bench.moe.results.push(await run('public/models/tiny-moe', scheme));
  for (const [model, r] of [...bench.results.map((r) => ['tiny-dense', r] as const), ...bench.moe.results.map((r) => ['tiny-moe', r] as const)]) {
    console.log(`${model} ${r.scheme}: decode ours ${r.ours.decodeTokPerS.toFixed(1)} vs llama.cpp ${r.llamaCpp.decodeTokPerS.toFixed(1)} tok/s (${r.decodeVsLlamaCpp.toFixed(3)}), prefill ${r.ours.prefillTokPerS.toFixed(0)} vs ${r.llamaCpp.prefillTokPerS.toFixed(0)} (${r.prefillVsLlamaCpp.toFixed(3)}), same tokens ${r.sameTokens}`);
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/gguf.json', JSON.stringify(bench, null, 2) + '\n');
  return 0;
}
