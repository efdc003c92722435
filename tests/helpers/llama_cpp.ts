/** llama.cpp (node-llama-cpp on the CPU) as the oracle of the GGUF tests: its context, and ours against it on one prompt. */
import { beforeAll, afterAll } from 'vitest';
import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaModel, type Token } from 'node-llama-cpp';
import type { Engine } from '../../src/contract/types';

/** llama.cpp's CPU backend for the test file (started before its tests, disposed after): call the getter inside tests. */
export function useLlamaCpp(): () => Llama {
  let llama: Llama | undefined;
  beforeAll(async () => {
    llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  });
  afterAll(async () => {
    await llama?.dispose();
  });
  return () => llama!;
}

/** llama.cpp's model and context for the file at `path`: f32 KV cache, no flash attention. */
export async function llamaContext(llama: Llama, path: string, contextSize = 256): Promise<{ model: LlamaModel; context: LlamaContext }> {
  const model = await llama.loadModel({ modelPath: path });
  // one thread: llama.cpp's workers spin while waiting, which starves a busy 2-core machine
  const context = await model.createContext({ contextSize, threads: 1, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
  return { model, context };
}

const argmax = (row: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
};

function softmax(row: Float32Array): Float32Array {
  const max = Math.max(...row);
  const e = Float32Array.from(row, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/**
 * Greedy continuations of `prompt` (`tokens` each) by us and by llama.cpp, then teacher forcing on llama.cpp's: top-1
 * agreement over the positions, the worst |p_ours - p_llama.cpp| over every position and token, and at each
 * disagreement the gap in our distribution between our top and theirs.
 */
export async function compareWithLlamaCpp(engine: Engine, context: LlamaContext, prompt: number[], tokens: number) {
  const sequence = context.getSequence();
  const theirs: number[] = [];
  for await (const token of sequence.evaluate(prompt as Token[], { temperature: 0, yieldEogToken: true })) {
    theirs.push(token);
    if (theirs.length === tokens) break;
  }
  await sequence.clearHistory();
  const ours = (await engine.complete({ prompt, maxTokens: tokens, stopAtEos: false, strategy: { kind: 'greedy' } })).tokens;
  const forced = [...prompt, ...theirs];
  const their = await sequence.controlledEvaluate(forced.map((id) => [id as Token, { generateNext: { probabilities: true } }]));
  sequence.dispose();
  const logits = await engine.logits(forced);
  const vocab = engine.info.vocab;
  let worst = 0;
  let agree = 0;
  const gaps: number[] = [];
  for (let r = 0; r < forced.length; r++) {
    const p = softmax(logits.subarray(r * vocab, (r + 1) * vocab));
    const q = their[r]!.next.probabilities!;
    p.forEach((v, t) => (worst = Math.max(worst, Math.abs(v - (q.get(t as Token) ?? 0)))));
    const theirTop = q.keys().next().value!;
    if (argmax(p) === theirTop) agree++;
    else gaps.push(p[argmax(p)] - p[theirTop]);
  }
  return { ours, theirs, agree, positions: forced.length, worst, gaps };
}
