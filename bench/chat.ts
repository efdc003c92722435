/**
 * Chat-grade generation on the shipped tiny-dense (Node): constrained decoding's cost against unconstrained
 * decoding, the CPU mask time per token next to a forward pass (the mask is computed while the GPU runs that
 * pass), the mask time for a 151,936-token vocabulary (tiny-dense's token texts joined in pairs: Qwen's size),
 * and the prefill time of a third chat turn with and without the previous turns' KV cache.
 * `main` writes bench/results/chat.json.
 */
import type { Gpu } from '../src/gpu/device';
import type { Runtime } from '../src/runtime/runtime';
import type { GenerateRequest } from '../src/contract/types';
import { TokenTrie } from '../src/decode/constraints';
import { documentStack, feed, JSON_AUTOMATON, type Stack } from '../src/decode/constraints/json_grammar';
import { compileSchema, FREE_OBJECT } from '../src/decode/constraints/json_schema';
import { median, runTinyDenseBench } from './tiny_dense';

export interface ChatBench {
  adapter: string;
  isSoftware: boolean;
  decodeTokens: number;
  unconstrainedTokPerS: number;
  constrainedTokPerS: number;
  /** constrained / unconstrained decode tok/s */
  constrainedRatio: number;
  /** CPU ms per mask (2,048 tokens) and GPU ms per forward pass + choice, same run */
  maskMsPerToken: number;
  stepMs: number;
  /** ms per mask at 151,936 tokens, by automaton state */
  largeVocabMaskMs: Record<string, number>;
  /** prefill ms of a third chat turn: fresh cache vs the previous turns' cache reused */
  thirdTurnPrefillMs: { cold: number; reused: number; promptTokens: number; cachedTokens: number };
}

const DECODE_TOKENS = 48;
const RUNS = 3;

async function tokPerS(runtime: Runtime, request: GenerateRequest) {
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    const { stats } = await runtime.generate({ maxTokens: DECODE_TOKENS, ...request }, () => undefined);
    runs.push({ tokPerS: (1000 * stats.decodeTokens) / stats.decodeMs, stepMs: stats.decodeMs / stats.decodeTokens, maskMs: (stats.constraintMaskMs ?? 0) / (stats.constraintMasks || 1) });
  }
  return { tokPerS: median(runs.map((x) => x.tokPerS)), stepMs: median(runs.map((x) => x.stepMs)), maskMs: median(runs.map((x) => x.maskMs)) };
}

/** Mask time at a 151,936-token vocabulary in a few automaton states. */
function largeVocabMasks(runtime: Runtime): Record<string, number> {
  const base = Array.from({ length: runtime.config.vocab }, (_, id) => runtime.detokenize([id]));
  let state = 7;
  const pick = () => base[(state = (state * 1103515245 + 12345) >>> 0) % base.length];
  const texts = [...base, ...Array.from({ length: 151_936 - base.length }, () => pick() + pick())];
  const trie = new TokenTrie(texts);
  const after = (node: Parameters<typeof documentStack>[0], prefix: string): Stack => [...prefix].reduce<Stack>((s, c) => feed(s, c)!, documentStack(node));
  const person = compileSchema({ type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name', 'age'], additionalProperties: false });
  const states: Record<string, Stack> = {
    'document start': after(FREE_OBJECT, ''),
    'in a free string': after(FREE_OBJECT, '{"story":"Once upon'),
    'schema key': after(person, '{"'),
    'in a number': after(person, '{"name":"Al","age":4'),
  };
  return Object.fromEntries(Object.entries(states).map(([name, stack]) => {
    const times = Array.from({ length: 5 }, () => {
      const t0 = performance.now();
      trie.mask(JSON_AUTOMATON, stack, []);
      return performance.now() - t0;
    });
    return [name, median(times)];
  }));
}

async function thirdTurn(runtime: Runtime) {
  const turns = ['Tell me about the sea.', 'And the mountains?', 'Which is older?'].map((t) => runtime.tokenize(t));
  const run = async (reuse: boolean) => {
    let prompt: number[] = [];
    let answer: number[] = [];
    let last;
    runtime.resetCache();
    for (const turn of turns) {
      prompt = [...prompt, ...answer, ...turn];
      if (!reuse) runtime.resetCache();
      last = await runtime.generate({ prompt, maxTokens: 16, stopAtEos: false }, () => undefined);
      answer = last.tokens;
    }
    return last!.stats;
  };
  const cold = [], reused = [];
  let stats;
  for (let r = 0; r < RUNS; r++) {
    cold.push((await run(false)).prefillMs);
    stats = await run(true);
    reused.push(stats.prefillMs);
  }
  return { cold: median(cold), reused: median(reused), promptTokens: stats!.prefillTokens, cachedTokens: stats!.cachedTokens ?? 0 };
}

export async function benchChat(gpu: Gpu, runtime: Runtime): Promise<ChatBench> {
  const prompt = 'Once upon a time';
  await runtime.generate({ prompt, maxTokens: 4, responseFormat: { type: 'json_object' } }, () => undefined); // warm-up: pipelines, trie
  const plain = await tokPerS(runtime, { prompt, stopAtEos: false });
  // json_object with stopAtEos false: strings run to their bound, so every token's mask is a real one
  const constrained = await tokPerS(runtime, { prompt, stopAtEos: false, responseFormat: { type: 'json_object' } });
  return {
    adapter: gpu.adapter.description, isSoftware: gpu.adapter.isSoftware, decodeTokens: DECODE_TOKENS,
    unconstrainedTokPerS: plain.tokPerS, constrainedTokPerS: constrained.tokPerS, constrainedRatio: constrained.tokPerS / plain.tokPerS,
    maskMsPerToken: constrained.maskMs, stepMs: plain.stepMs,
    largeVocabMaskMs: largeVocabMasks(runtime),
    thirdTurnPrefillMs: await thirdTurn(runtime),
  };
}

export async function main(): Promise<number> {
  const summary = (b: ChatBench) => [
    `decode ${b.unconstrainedTokPerS.toFixed(1)} tok/s, json_object ${b.constrainedTokPerS.toFixed(1)} tok/s (${b.constrainedRatio.toFixed(2)})`,
    `mask ${b.maskMsPerToken.toFixed(3)} ms/token (2,048 tokens) vs step ${b.stepMs.toFixed(2)} ms`,
    `151,936-token masks: ${Object.entries(b.largeVocabMaskMs).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ')}`,
    `third turn prefill: cold ${b.thirdTurnPrefillMs.cold.toFixed(1)} ms, reused ${b.thirdTurnPrefillMs.reused.toFixed(1)} ms (${b.thirdTurnPrefillMs.cachedTokens}/${b.thirdTurnPrefillMs.promptTokens} tokens cached)`,
  ].join('\n');
  return runTinyDenseBench('chat', 1024, benchChat, summary);
}
