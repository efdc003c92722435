/** GGUF loading without llama.cpp: the same model from a GGUF file and from its Hugging Face folder computes the same. */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../src/gpu/device';
import { ModelFormatError, UnsupportedModelError } from '../src/contract/errors';
import { rowPieces } from '../src/kernels/tensor';
import { GgufSource, ggufFileNames } from '../src/model/gguf/source';
import { memorySource, type ModelSource } from '../src/model/source';
import { Tokenizer } from '../src/model/tokenizer';
import { parseConfig, type ModelConfig } from '../src/model/config';
import { ropeTable } from '../src/kernels/rope_table';
import { estimateWeightBytes } from '../src/model/weight_plan';
import { directorySource } from '../src/node/source';
import { Runtime } from '../src/runtime/runtime';
import { GGUF_DIR, ggufFile, ggufSplitFiles, hfToGguf } from '../tools/gguf/hf_to_gguf';
import { ggufBytes } from '../tools/gguf/writer';
import { quantizeGgml } from '../tools/gguf/quants';
import { parseArgs } from '../tools/gguf/convert';
import { testGpu } from './helpers/gpu';

const FIXTURES = 'tests/fixtures/models';
const IDS = [0, 5, 17, 300, 42, 99, 7, 383];
/** 24 ids: past the 16-key sliding windows of the Mistral and Gemma fixtures */
const LONG_IDS = Array.from({ length: 24 }, (_, i) => (i * 37 + 5) % 256);

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const gguf = (path: string) => new GgufSource(directorySource(GGUF_DIR), ggufFileNames(basename(path)));
/**
 * A config with every number rounded to f32, LongRoPE's attention factor left out: GGUF files carry it (the converter
 * writes transformers' default), folders may leave it to that default (compared through the rope tables instead).
 */
const f32 = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'attentionFactor' ? undefined : typeof x === 'number' ? Math.fround(x) : x)));
const attentionFactors = (c: ModelConfig) => c.recipe.map(({ attention: { rope } }) => rope && Math.fround(ropeTable({ ...rope, headDim: c.headDim }).attentionFactor));
const load = (source: ModelSource, g = gpu) => Runtime.load(g, source, { contextLength: 64 });
/** The test GPU as a device whose buffers may hold at most `bytes`. */
const withBufferLimit = (bytes: number): Gpu => ({ ...gpu, adapter: { ...gpu.adapter, limits: { ...gpu.adapter.limits, maxStorageBufferBindingSize: bytes, maxBufferSize: bytes } } });

describe.each(['llama-gqa3', 'llama-sharded', 'llama-tied', 'llama-headdim', 'qwen2-bias', 'mistral-window', 'qwen3-qknorm', 'gemma2-softcap', 'gemma3-local', 'phi3-longrope', 'mixtral-rand', 'qwen2moe-rand', 'qwen3moe-rand'])('%s from an F32 GGUF file', (name) => {
  let folder: Runtime;
  beforeAll(async () => {
    folder = await load(directorySource(`${FIXTURES}/${name}`));
  });
  afterAll(() => folder.dispose());

  it('computes the logits of its Hugging Face folder (llama q/k row order, Gemma norms, stacked experts, fused Phi-3 tensors)', async () => {
    const file = await load(gguf(ggufFile(`${FIXTURES}/${name}`, 'F32')));
    // GGUF stores floats (epsilon, score scale, rope factors) as f32, which the kernels use either way
    expect(f32(file.config)).toEqual(f32(folder.config));
    expect(attentionFactors(file.config)).toEqual(attentionFactors(folder.config));
    const [a, b] = [await file.logits(LONG_IDS), await folder.logits(LONG_IDS)];
    const worst = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    expect(worst).toBeLessThan(1e-5);
    file.dispose();
  });
});

describe('GGUF files', () => {
  it('load Mixtral experts stored one tensor each (blk.L.ffn_gate.E.weight, older files), the same as stacked', async () => {
    const { metadata, tensors } = hfToGguf(`${FIXTURES}/mixtral-rand`, 'F16');
    const perExpert = tensors.flatMap((t) => {
      const m = /^blk\.(\d+)\.(ffn_\w+)_exps\.weight$/.exec(t.name);
      if (!m) return [t];
      const [cols, rows, experts] = t.dims;
      const bytes = t.data.byteLength / experts;
      return Array.from({ length: experts }, (_, e) => ({ ...t, name: `blk.${m[1]}.${m[2]}.${e}.weight`, dims: [cols, rows], data: t.data.subarray(e * bytes, (e + 1) * bytes) }));
    });
    expect(perExpert.length).toBeGreaterThan(tensors.length);
    writeFileSync(`${GGUF_DIR}/mixtral-per-expert.gguf`, ggufBytes(metadata, perExpert));
    const [split, stacked] = [await load(gguf('mixtral-per-expert.gguf')), await load(gguf(ggufFile(`${FIXTURES}/mixtral-rand`, 'F16')))];
    expect(Array.from(await split.logits(IDS))).toEqual(Array.from(await stacked.logits(IDS)));
    split.dispose();
    stacked.dispose();
  });

  it('take Llama 3.1 rope scaling from the rope_freqs tensor (one divisor per frequency), as its folder computes it', async () => {
    // llama-gqa3 with llama3 scaling that leaves, smooths and divides its 8 frequencies
    const dir = `${GGUF_DIR}/llama3-rope`;
    mkdirSync(dir, { recursive: true });
    const config = JSON.parse(readFileSync(`${FIXTURES}/llama-gqa3/config.json`, 'utf8'));
    const rope_scaling = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };
    writeFileSync(`${dir}/config.json`, JSON.stringify({ ...config, rope_scaling }));
    copyFileSync(`${FIXTURES}/llama-gqa3/model.safetensors`, `${dir}/model.safetensors`);
    const path = ggufFile(dir, 'F32');
    const { metadata, tensors } = hfToGguf(dir, 'F32');
    expect(tensors[0].name).toBe('rope_freqs.weight');
    expect(metadata['llama.rope.scaling.type']).toBeUndefined();
    const [file, folder] = [await load(gguf(path)), await load(directorySource(dir))];
    expect(file.config.recipe[0].attention.rope?.scaling?.type).toBe('divisors');
    const [a, b] = [await file.logits(LONG_IDS), await folder.logits(LONG_IDS)];
    expect(a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0)).toBeLessThan(1e-5);
    file.dispose();
    folder.dispose();
  });

  it('load split into -0000i-of-0000N files, the same as one file', async () => {
    const one = await load(gguf(ggufFile(`${FIXTURES}/llama-gqa3`, 'Q8_0')));
    const split = await load(gguf(ggufSplitFiles(`${FIXTURES}/llama-gqa3`, 'Q8_0', 3)));
    expect(Array.from(await split.logits(IDS))).toEqual(Array.from(await one.logits(IDS)));
    one.dispose();
    split.dispose();
  });

  it('split a q8_0 embedding over the buffer limit by rows on 4-byte boundaries (rows of 102 bytes), computing the same bits', async () => {
    const path = ggufFile(`${FIXTURES}/llama-gqa3`, 'Q8_0'); // hidden 96: 3 blocks of 34 bytes per row
    const whole = await load(gguf(path));
    // 19,500 bytes hold 191 rows; pieces take 190 so the next starts on a 4-byte boundary
    const split = await load(gguf(path), withBufferLimit(19_500));
    expect(rowPieces(split.weights.embed).map((p) => p.rowStart)).toEqual([0, 190, 380]);
    expect(split.weights.embed.format).toBe('q8_0');
    expect(Array.from(await split.logits(IDS))).toEqual(Array.from(await whole.logits(IDS)));
    whole.dispose();
    split.dispose();
  });

  it('give tiny-dense the tokenizer and chat template of its folder', async () => {
    const source = gguf(ggufFile('public/models/tiny-dense', 'Q8_0'));
    const fromGguf = Tokenizer.fromJson(JSON.parse(await source.text('tokenizer.json')), JSON.parse(await source.text('tokenizer_config.json')));
    const dir = 'public/models/tiny-dense';
    const original = Tokenizer.fromJson(JSON.parse(readFileSync(`${dir}/tokenizer.json`, 'utf8')), JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, 'utf8')));
    for (const text of ['The quick brown fox', '  spaces  and\ttabs\n', 'naïve café 🙂 <|eos|> 3.14159']) {
      expect(fromGguf.encode(text)).toEqual(original.encode(text));
      expect(fromGguf.decode(fromGguf.encode(text))).toBe(original.decode(original.encode(text)));
    }
    expect(fromGguf.chatTemplate).toEqual(original.chatTemplate);
    expect([fromGguf.bosId, fromGguf.eosIds]).toEqual([original.bosId, original.eosIds]);
  });

  it('estimate their GPU memory from the tensors\' storage in the header, as the load allocates it', async () => {
    const source = gguf(ggufFile('public/models/tiny-dense', 'Q4_K_M'));
    const config = parseConfig(JSON.parse(await source.text('config.json')));
    const dtypes = await source.tensorDtypes();
    expect(new Set(dtypes.values())).toEqual(new Set(['F32', 'q4_k', 'q6_k', 'q8_0']));
    const runtime = await load(source);
    expect(estimateWeightBytes(config, { dtype: (name) => dtypes.get(name)! }).gpu).toBe(runtime.weights.bytes);
    runtime.dispose();
  });

  it('keep routed experts in their blocks (tiny-moe Q4_K_M: q5_0 gate/up, q8_0 down), estimated as allocated, the same under an expert budget (gemv and GEMM)', async () => {
    const source = gguf(ggufFile('public/models/tiny-moe', 'Q4_K_M'));
    const config = parseConfig(JSON.parse(await source.text('config.json')));
    const dtypes = await source.tensorDtypes();
    const all = await load(source);
    const { moe } = all.weights.layers[0];
    expect([moe!.gate.format, moe!.up.format, moe!.down.format]).toEqual(['q5_0', 'q5_0', 'q8_0']);
    expect(estimateWeightBytes(config, { dtype: (name) => dtypes.get(name)! }).gpu).toBe(all.weights.bytes);
    const budget = await Runtime.load(gpu, source, { contextLength: 64, maxResidentExperts: 3 });
    expect(budget.weights.layers[0].moe!.offloaded?.resident).toBe(3);
    expect(estimateWeightBytes(config, { dtype: (name) => dtypes.get(name)!, residentExperts: 3 }).gpu).toBe(budget.weights.bytes);
    expect(Array.from(await budget.logits(IDS))).toEqual(Array.from(await all.logits(IDS)));
    expect(Array.from(await budget.logits(LONG_IDS))).toEqual(Array.from(await all.logits(LONG_IDS))); // grouped GEMM
    all.dispose();
    budget.dispose();
  });

  it('come out of the command line converter (tools/gguf/convert.ts) as the module writes them, and load', async () => {
    const path = `${GGUF_DIR}/tiny-dense-cli-Q4_K.gguf`;
    execFileSync('node_modules/.bin/tsx', ['tools/gguf/convert.ts', 'public/models/tiny-dense', path, '--type', 'q4_k', '--tensor-type', 'attn_v=Q6_K'], { timeout: 120_000 });
    const { metadata, tensors } = hfToGguf('public/models/tiny-dense', 'Q4_K', { tensorTypes: { attn_v: 'Q6_K' } });
    expect(readFileSync(path).equals(ggufBytes(metadata, tensors))).toBe(true);
    const source = gguf(path);
    expect(new Set((await source.tensorDtypes()).values())).toEqual(new Set(['F32', 'q4_k', 'q5_0', 'q6_k']));
    const runtime = await load(source);
    expect((await runtime.logits(IDS)).every(Number.isFinite)).toBe(true);
    runtime.dispose();
    expect(parseArgs(['in', 'out.gguf'])).toEqual({ dir: 'in', out: 'out.gguf', scheme: 'F16', options: {} });
    for (const bad of [['in'], ['in', 'out', '--type', 'Q7_K'], ['in', 'out', '--tensor-type', 'attn_q=Q4_K_M'], ['in', 'out', '--tensor-type', 'attn_q'], ['in', 'out', '--pure']]) {
      expect(() => parseArgs(bad)).toThrow(/usage: npx tsx tools\/gguf\/convert\.ts/);
    }
  });

  it('refuse what they cannot load with typed errors naming the file', async () => {
    const { metadata, tensors } = hfToGguf(`${FIXTURES}/llama-gqa3`, 'F32');
    const bytes = ggufBytes(metadata, tensors);
    const open = (data: Uint8Array) => new GgufSource(memorySource({ 'm.gguf': data }), ['m.gguf']).text('config.json');
    const notGguf = bytes.slice();
    notGguf[0] = 0x47 ^ 1;
    await expect(open(notGguf)).rejects.toThrow(/m\.gguf: does not start with "GGUF"/);
    await expect(open(bytes.subarray(0, 4000))).rejects.toBeInstanceOf(ModelFormatError);
    const gemma = ggufBytes({ ...metadata, 'general.architecture': { type: 'string', value: 'gemma' } }, tensors);
    await expect(open(gemma)).rejects.toBeInstanceOf(UnsupportedModelError);
    await expect(open(gemma)).rejects.toThrow(/GGUF architecture "gemma" is not supported \(llama, qwen2, qwen3, qwen2moe, qwen3moe, gemma2, gemma3, phi3\)/);
    // blocks where the runtime takes vectors: a norm stored as Q8_0
    const norm = tensors.map((t) => (t.name === 'blk.0.attn_norm.weight' ? { ...t, type: 'Q8_0', data: quantizeGgml('q8_0', new Float32Array(t.data.slice().buffer), 1, t.dims[0]) } : t));
    const blocks = await load(new GgufSource(memorySource({ 'm.gguf': ggufBytes(metadata, norm) }), ['m.gguf'])).catch((e: unknown) => e);
    expect(blocks).toBeInstanceOf(UnsupportedModelError);
    expect(String(blocks)).toMatch(/input_layernorm\.weight" is stored as q8_0 blocks.*not in vectors/);
    const source = new GgufSource(memorySource({ 'm.gguf': bytes.subarray(0, bytes.byteLength - 100) }), ['m.gguf']);
    const truncated = await load(source).catch((e: unknown) => e);
    expect(truncated).toBeInstanceOf(ModelFormatError);
  });
});
