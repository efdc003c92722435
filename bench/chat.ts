/**
 * Chat-grade generation on the shipped tiny-dense (Node): constrained decoding's cost against unconstrained
 * decoding, the CPU mask time per token next to a forward pass (the mask is computed while the GPU runs that
 * pass), the mask time for a 151,936-token vocabulary (tiny-dense's token texts joined in pairs: Qwen's size),
 * and the prefill time of a third chat turn with and without the previous turns' KV cache.
 * `main` writes bench/results/chat.json.
 */
import type { Gpu } from '../src/gpu/device';
import type { Runtime } from '../src/runtime/runtime';
import type { GenerateRequest, ResponseFormat } from '../src/contract/types';
import { compileFormat, TokenTrie } from '../src/decode/constraints';
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
  /**
   * decode tok/s over unconstrained, same run, per format: json_object, a json_schema, a GBNF grammar, a regex, and
   * `[\s\S]*` (every token allowed, its one mask cached: the cost of the constrained pipeline without mask work)
   */
  formatRatios: Record<string, number>;
  /** CPU ms per mask (2,048 tokens) and GPU ms per forward pass + choice, same run */
  maskMsPerToken: number;
  stepMs: number;
  /** ms per mask at 151,936 tokens, by automaton state */
  largeVocabMaskMs: Record<string, number>;
  /** prefill ms of a third chat turn: fresh cache vs the previous turns' cache reused */
  thirdTurnPrefillMs: { cold: number; reused: number; promptTokens: number; cachedTokens: number };
}

const DECODE_TOKENS = 48;
const RUNS = 5;

/** One decode run: tok/s, ms per token, CPU ms per mask. */
async function decodeRun(runtime: Runtime, request: GenerateRequest) {
  const { stats } = await runtime.generate({ maxTokens: DECODE_TOKENS, ...request }, () => undefined);
  return { tokPerS: (1000 * stats.decodeTokens) / stats.decodeMs, stepMs: stats.decodeMs / stats.decodeTokens, maskMs: (stats.constraintMaskMs ?? 0) / (stats.constraintMasks || 1) };
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
  const time = (mask: () => unknown) => median(Array.from({ length: 5 }, () => {
    const t0 = performance.now();
    mask();
    return performance.now() - t0;
  }));
  const json = Object.entries(states).map(([name, stack]) => [name, time(() => trie.mask(JSON_AUTOMATON, stack, []))]);
  // grammar states without the mask cache (it would answer a repeated state at once)
  const grammar = (format: ResponseFormat, prefix: string) => {
    const { automaton, start } = compileFormat(format)!;
    const state = [...prefix].reduce<unknown>((st, c) => automaton.feed(st, c), start);
    return time(() => trie.mask(automaton, state, []));
  };
  return Object.fromEntries([
    ...json,
    ['GBNF date, start', grammar({ type: 'grammar', grammar: 'root ::= [0-9]{4} "-" [0-9]{2} "-" [0-9]{2}' }, '')],
    ['regex free text', grammar({ type: 'regex', regex: "[A-Za-z ,.'-]{0,60}" }, 'Once upon')],
  ]);
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
  // json_object with stopAtEos false: strings run to their bound, so every token's mask is a real one
  const formats: Record<string, ResponseFormat> = {
    json_object: { type: 'json_object' },
    json_schema: { type: 'json_schema', json_schema: { name: 'story', schema: { type: 'object', properties: { title: { type: 'string', maxLength: 60 }, lines: { type: 'array', items: { type: 'string', maxLength: 60 }, maxItems: 8 } }, required: ['title', 'lines'], additionalProperties: false } } },
    grammar: { type: 'grammar', grammar: 'root ::= line+\nline ::= [A-Za-z ,.\'-]{1,60} "\\n"' },
    regex: { type: 'regex', regex: '([A-Za-z ,.\'-]{1,60}\\n)+' },
    'allow-all': { type: 'regex', regex: '[\\s\\S]*' },
  };
  for (const responseFormat of Object.values(formats)) await runtime.generate({ prompt, maxTokens: 4, responseFormat }, () => undefined); // compile
  // each run decodes unconstrained and then every format, and ratios are taken within a run: the machine's load drifts
  const plain: Awaited<ReturnType<typeof decodeRun>>[] = [];
  const runs: Record<string, { ratio: number; tokPerS: number; maskMs: number }[]> = Object.fromEntries(Object.keys(formats).map((k) => [k, []]));
  for (let r = 0; r < RUNS; r++) {
    const base = await decodeRun(runtime, { prompt, stopAtEos: false });
    plain.push(base);
    for (const [name, responseFormat] of Object.entries(formats)) {
      const run = await decodeRun(runtime, { prompt, stopAtEos: false, responseFormat });
      runs[name].push({ ratio: run.tokPerS / base.tokPerS, tokPerS: run.tokPerS, maskMs: run.maskMs });
    }
  }
  const formatRatios = Object.fromEntries(Object.entries(runs).map(([name, rs]) => [name, median(rs.map((x) => x.ratio))]));
  const json = runs.json_object;
  return {
    adapter: gpu.adapter.description, isSoftware: gpu.adapter.isSoftware, decodeTokens: DECODE_TOKENS,
    unconstrainedTokPerS: median(plain.map((x) => x.tokPerS)), constrainedTokPerS: median(json.map((x) => x.tokPerS)), constrainedRatio: formatRatios.json_object,
    formatRatios, maskMsPerToken: median(json.map((x) => x.maskMs)), stepMs: median(plain.map((x) => x.stepMs)),
    largeVocabMaskMs: largeVocabMasks(runtime),
    thirdTurnPrefillMs: await thirdTurn(runtime),
  };
}

export async function main(): Promise<number> {
  const summary = (b: ChatBench) => [
    `decode ${b.unconstrainedTokPerS.toFixed(1)} tok/s, json_object ${b.constrainedTokPerS.toFixed(1)} tok/s (${b.constrainedRatio.toFixed(2)})`,
    `constrained / unconstrained tok/s: ${Object.entries(b.formatRatios).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`,
    `mask ${b.maskMsPerToken.toFixed(3)} ms/token (2,048 tokens) vs step ${b.stepMs.toFixed(2)} ms`,
    `151,936-token masks: ${Object.entries(b.largeVocabMaskMs).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ')}`,
    `third turn prefill: cold ${b.thirdTurnPrefillMs.cold.toFixed(1)} ms, reused ${b.thirdTurnPrefillMs.reused.toFixed(1)} ms (${b.thirdTurnPrefillMs.cachedTokens}/${b.thirdTurnPrefillMs.promptTokens} tokens cached)`,
  ].join('\n');
  return runTinyDenseBench('chat', 1024, benchChat, summary);
}
