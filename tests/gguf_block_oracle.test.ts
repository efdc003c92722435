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
import { expect, it } from 'vitest';
import { createEngine } from '../src/node/index';
import { GGML_TYPES } from '../src/model/gguf/types';
import { isGgmlFormat } from '../src/kernels/tensor';
import { quantizeGgml } from '../tools/gguf/quants';
import { GGUF_DIR, hfToGguf } from '../tools/gguf/hf_to_gguf';
import { ggufBytes } from '../tools/gguf/writer';
import { compareWithLlamaCpp, llamaContext, useLlamaCpp } from './helpers/llama_cpp';

const TINY_DENSE = 'public/models/tiny-dense';
const PROMPT = '"Ah," said the old man. "Whatever you do,';
const TOKENS = 40;
const BOUND = 3e-5;
const BLOCK_TYPES = GGML_TYPES.filter((t) => isGgmlFormat(t.stored)).map((t) => t.name);

const llama = useLlamaCpp();

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

it.each(BLOCK_TYPES)('a %s embedding is dequantized exactly as llama.cpp does: greedy equal, probabilities within 3e-5', async (type) => {
  const path = embeddingProbe(type);
  const engine = await createEngine({ model: path, contextLength: 128 });
  const { model, context } = await llamaContext(llama(), path, 128);
  try {
    const { ours, theirs, agree, positions, worst } = await compareWithLlamaCpp(engine, context, await engine.tokenize(PROMPT), TOKENS);
    console.log(`${type} embedding: top-1 equal at ${agree}/${positions} positions; worst |dp| ${worst.toExponential(2)}`);
    expect(ours).toEqual(theirs);
    expect(agree).toBe(positions);
    expect(worst).toBeLessThanOrEqual(BOUND);
  } finally {
    await engine.dispose();
    await context.dispose();
    await model.dispose();
  }
}, 180_000);
