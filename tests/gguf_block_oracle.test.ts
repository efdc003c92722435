/**
 * Every GGUF block type read exactly as llama.cpp reads it. llama.cpp quantizes activations to 8 bits for its
 * quantized matrix products, so comparing files quantized throughout leaves near-ties (tests/gguf_oracle.test.ts);
 * its embedding lookup, though, dequantizes a row exactly. So each file here is tiny-dense in F32 with only the token
 * embedding in the block type (the LM head a separate F32 copy of the original embedding): both sides compute in f32
 * from the same dequantized embeddings, and must agree as the F32 file does. llama.cpp (node-llama-cpp 3.21.1, CPU,
 * f32 KV cache) continues greedily for 40 tokens; on its sequence, under teacher forcing, our top-1 must equal its
 * choice at every position (so our greedy continuation is the same, token for token) and every next-token probability
 * lie within 3e-5 of its.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { getLlama, LlamaLogLevel, type Llama, type Token } from 'node-llama-cpp';
import { createEngine } from '../src/node/index';
import { GGML_TYPES } from '../src/model/gguf/types';
import { isGgmlFormat } from '../src/kernels/tensor';
import { quantizeGgml } from '../tools/gguf/quants';
import { GGUF_DIR, hfToGguf } from '../tools/gguf/hf_to_gguf';
import { ggufBytes } from '../tools/gguf/writer';

const TINY_DENSE = 'public/models/tiny-dense';
const PROMPT = '"Ah," said the old man. "Whatever you do,';
const TOKENS = 40;
const BOUND = 3e-5;
const BLOCK_TYPES = GGML_TYPES.filter((t) => isGgmlFormat(t.stored)).map((t) => t.name);

let llama: Llama;
beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
});
afterAll(async () => {
  await llama?.dispose();
});

/** tiny-dense as F32 GGUF with token_embd in `type` and output.weight the original embedding; returns its path. */
function embeddingProbe(type: string): string {
  const { metadata, tensors } = hfToGguf(TINY_DENSE, 'F32');
  const embd = tensors.find((t) => t.name === 'token_embd.weight')!;
  const [cols, rows] = embd.dims;
  const values = new Float32Array(embd.data.slice().buffer);
  const quantized = { ...embd, type, data: quantizeGgml(type.toLowerCase() as Parameters<typeof quantizeGgml>[0], values, rows, cols) };
  mkdirSync(GGUF_DIR, { recursive: true });
  const path = join(GGUF_DIR, `tiny-dense-embd-${type}.gguf`);
  writeFileSync(path, ggufBytes(metadata, [...tensors.map((t) => (t === embd ? quantized : t)), { ...embd, name: 'output.weight' }]));
  return path;
}

function softmax(row: Float32Array): Float32Array {
  const max = Math.max(...row);
  const e = Float32Array.from(row, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

it.each(BLOCK_TYPES)('a %s embedding is dequantized exactly as llama.cpp does: greedy equal, probabilities within 3e-5', async (type) => {
  const path = embeddingProbe(type);
  const engine = await createEngine({ model: path, contextLength: 128 });
  const model = await llama.loadModel({ modelPath: path });
  // one thread: llama.cpp's workers spin while waiting, which starves a busy 2-core machine
  const context = await model.createContext({ contextSize: 128, threads: 1, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
  try {
    const prompt = await engine.tokenize(PROMPT);
    const sequence = context.getSequence();
    const theirs: number[] = [];
    for await (const token of sequence.evaluate(prompt as Token[], { temperature: 0, yieldEogToken: true })) {
      theirs.push(token);
      if (theirs.length === TOKENS) break;
    }
    await sequence.clearHistory();
    const forced = [...prompt, ...theirs];
    const their = await sequence.controlledEvaluate(forced.map((id) => [id as Token, { generateNext: { probabilities: true } }]));
    const logits = await engine.logits(forced);
    const vocab = engine.info.vocab;
    let worst = 0;
    const ourTop: number[] = [];
    const theirTop: number[] = [];
    for (let r = 0; r < forced.length; r++) {
      const p = softmax(logits.subarray(r * vocab, (r + 1) * vocab));
      const q = their[r]!.next.probabilities!;
      p.forEach((v, t) => (worst = Math.max(worst, Math.abs(v - (q.get(t as Token) ?? 0)))));
      ourTop.push(p.indexOf(Math.max(...p)));
      theirTop.push(q.keys().next().value!);
    }
    console.log(`${type} embedding: top-1 equal at ${ourTop.filter((t, i) => t === theirTop[i]).length}/${forced.length} positions; worst |dp| ${worst.toExponential(2)}`);
    expect(ourTop).toEqual(theirTop);
    expect(worst).toBeLessThanOrEqual(BOUND);
  } finally {
    await engine.dispose();
    await context.dispose();
    await model.dispose();
  }
}, 180_000);
