/**
 * Hugging Face folders (model.safetensors or its shards; the architectures of archs.ts) to GGUF files as llama.cpp's converter and
 * quantizer lay them out: llama.cpp tensor names, llama q/k rows in interleaved-RoPE order, norms and biases F32,
 * matrices in the scheme's types (K-quant matrices whose rows are not whole 256-blocks fall back as llama.cpp's do), the
 * tokenizer as `gpt2` BPE metadata. Files go to a git-ignored folder and are made at test or bench time.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bf16ToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../src/kernels/quantize';
import type { GgmlFormat } from '../../src/kernels/tensor';
import { quantizeGgml } from './quants';
import { archMetadata, factorTensors, GGUF_ARCH, ggufTensorName, keepsF32, sparseEveryLayer, storesOnePlusW, type ArchOptions } from './archs';
import { ggufBytes, type GgufEntry, type GgufTensor } from './writer';

/** What the matrices become: one ggml type for every matrix (as llama.cpp's quantizer with --pure), or Q4_K_M's mix. */
export const GGUF_SCHEMES = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'IQ4_NL', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'Q4_K_M'] as const;
export type GgufScheme = (typeof GGUF_SCHEMES)[number];
export const GGUF_DIR = '.cache/gguf';

interface HfTensor { shape: number[]; values: Float32Array }

/** The folder's tensors: model.safetensors, or the shards its model.safetensors.index.json names. */
function readWeights(dir: string): Map<string, HfTensor> {
  const index = join(dir, 'model.safetensors.index.json');
  if (!existsSync(index)) return readSafetensors(join(dir, 'model.safetensors'));
  const shards = new Set(Object.values(JSON.parse(readFileSync(index, 'utf8')).weight_map as Record<string, string>));
  return new Map([...shards].flatMap((shard) => [...readSafetensors(join(dir, shard))]));
}

function readSafetensors(path: string): Map<string, HfTensor> {
  const bytes = readFileSync(path);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, HfTensor>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const raw = bytes.subarray(8 + length + t.data_offsets[0], 8 + length + t.data_offsets[1]);
    const aligned = new Uint8Array(raw).buffer;
    const values = t.dtype === 'F32' ? new Float32Array(aligned) : t.dtype === 'F16' ? f16BitsToF32(new Uint16Array(aligned)) : bf16ToF32(new Uint16Array(aligned));
    out.set(name, { shape: t.shape, values });
  }
  return out;
}

/** Rotate-half rows -> llama.cpp's interleaved order: row 2i + j of each head is rotate-half row j * d/2 + i. */
function interleaveRows(values: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const out = new Float32Array(values.length);
  const d = rows / heads;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < d / 2; i++) {
      for (let j = 0; j < 2; j++) out.set(values.subarray((h * d + j * (d / 2) + i) * cols, (h * d + j * (d / 2) + i + 1) * cols), (h * d + 2 * i + j) * cols);
    }
  }
  return out;
}

/**
 * Where a K-quant does not fit (rows that are not whole 256-blocks), llama.cpp's quantizer falls back to a type of
 * 32-blocks: these.
 */
const K_FALLBACK: Record<string, string> = { Q2_K: 'IQ4_NL', Q3_K: 'IQ4_NL', Q4_K: 'Q5_0', Q5_K: 'Q5_1', Q6_K: 'Q8_0' };

/**
 * The ggml type of a matrix under a scheme: Q4_K_M puts Q6_K on the output/tied embedding, v and down, Q4_K elsewhere;
 * the other schemes are one type for every matrix (as llama.cpp's quantizer with --pure). K-quant matrices whose rows
 * are not whole 256-blocks fall back as llama.cpp's quantizer does (K_FALLBACK); rows that are not whole 32-blocks stay F16.
 */
function matrixType(scheme: GgufScheme, name: string, cols: number, tied: boolean, options: ConvertOptions): string {
  const chosen = Object.entries(options.tensorTypes ?? {}).find(([part]) => name.includes(part))?.[1];
  if (chosen) return chosen;
  if (scheme === 'F32' || scheme === 'F16' || scheme === 'BF16') return scheme;
  if (cols % 32 !== 0) return 'F16';
  const six = name === 'output.weight' || (tied && name === 'token_embd.weight') || /attn_v|ffn_down/.test(name);
  const type = scheme === 'Q4_K_M' ? (six ? 'Q6_K' : 'Q4_K') : scheme;
  return cols % 256 !== 0 && K_FALLBACK[type] ? K_FALLBACK[type] : type;
}

function encode(type: string, values: Float32Array, rows: number, cols: number): Uint8Array {
  if (type === 'F32') return new Uint8Array(values.slice().buffer);
  if (type === 'F16') return new Uint8Array(f32ToF16Bits(values).buffer);
  if (type === 'BF16') return new Uint8Array(f32ToBf16Bits(values).buffer);
  return quantizeGgml(type.toLowerCase() as GgmlFormat, values, rows, cols);
}

/**
 * A byte-level BPE tokenizer folder (tokenizer.json, tokenizer_config.json) as `gpt2` metadata with pre-tokenizer `pre`:
 * added tokens are control (special) or user-defined tokens.
 */
export function tokenizerMetadata(dir: string, pre = 'gpt-2'): Record<string, GgufEntry> {
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
  const tokens: string[] = [];
  const types: number[] = [];
  for (const [t, id] of Object.entries(json.model.vocab as Record<string, number>)) [tokens[id], types[id]] = [t, 1];
  for (const t of json.added_tokens as { id: number; content: string; special: boolean }[]) [tokens[t.id], types[t.id]] = [t.content, t.special ? 3 : 4];
  const id = (token: unknown) => tokens.indexOf(typeof token === 'string' ? token : (token as { content?: string } | null)?.content ?? '');
  const merges = (json.model.merges as (string | string[])[]).map((m) => (Array.isArray(m) ? m.join(' ') : m));
  const optionalId = (key: string, token: unknown): Record<string, GgufEntry> => (id(token) >= 0 ? { [key]: { type: 'u32', value: id(token) } } : {});
  return {
    'tokenizer.ggml.model': { type: 'string', value: 'gpt2' },
    'tokenizer.ggml.pre': { type: 'string', value: pre },
    'tokenizer.ggml.tokens': { type: 'array', of: 'string', value: tokens },
    'tokenizer.ggml.token_type': { type: 'array', of: 'i32', value: types },
    'tokenizer.ggml.merges': { type: 'array', of: 'string', value: merges },
    ...optionalId('tokenizer.ggml.bos_token_id', config.bos_token),
    ...optionalId('tokenizer.ggml.eos_token_id', config.eos_token),
    'tokenizer.ggml.add_bos_token': { type: 'bool', value: config.add_bos_token === true },
    'tokenizer.ggml.add_eos_token': { type: 'bool', value: false },
    ...(config.chat_template ? { 'tokenizer.chat_template': { type: 'string', value: config.chat_template } } : {}),
  };
}

/** GPT-2's printable stand-ins for the 256 byte values (bytes_to_unicode). */
function byteChars(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : 256 + extra++));
}

/**
 * For folders without a tokenizer (llama.cpp cannot run a `no_vocab` file): four control tokens (BOS, EOS first), the 256
 * byte tokens and numbered fillers up to the vocabulary size, no merges.
 */
function byteVocabMetadata(vocabSize: number, pre: string): Record<string, GgufEntry> {
  // <unk> and <|endoftext|> too: llama.cpp looks them up in every model whose general.name says phi-3
  const specials = ['<s>', '</s>', '<unk>', '<|endoftext|>'];
  const tokens = [...specials, ...byteChars()];
  while (tokens.length < vocabSize) tokens.push(`<|extra_${tokens.length}|>`);
  return {
    'tokenizer.ggml.model': { type: 'string', value: 'gpt2' },
    'tokenizer.ggml.pre': { type: 'string', value: pre },
    'tokenizer.ggml.tokens': { type: 'array', of: 'string', value: tokens.slice(0, vocabSize) },
    'tokenizer.ggml.token_type': { type: 'array', of: 'i32', value: tokens.slice(0, vocabSize).map((_, id) => (id < specials.length ? 3 : id < specials.length + 256 ? 1 : 4)) },
    'tokenizer.ggml.merges': { type: 'array', of: 'string', value: [] },
    'tokenizer.ggml.bos_token_id': { type: 'u32', value: 0 },
    'tokenizer.ggml.eos_token_id': { type: 'u32', value: 1 },
  };
}

export interface ConvertOptions extends ArchOptions {
  /**
   * ggml types of the matrices whose GGUF names contain a key (as llama.cpp's quantizer's --tensor-type), over the
   * scheme's; e.g. { attn_q: 'Q8_0', ffn_down: 'Q6_K' }. The rows must be whole blocks of the type.
   */
  tensorTypes?: Record<string, string>;
}

/** The GGUF metadata and tensors of the HF folder `dir` under `scheme`. */
export function hfToGguf(dir: string, scheme: GgufScheme, options: ConvertOptions = {}): { metadata: Record<string, GgufEntry>; tensors: GgufTensor[] } {
  const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const hfClass = c.architectures[0] as string;
  const arch = GGUF_ARCH[hfClass];
  if (!arch) throw new Error(`${dir}: ${hfClass} has no GGUF mapping here`);
  const heads = c.num_attention_heads;
  const kvHeads = c.num_key_value_heads ?? heads;
  const headDim = c.head_dim ?? c.hidden_size / heads;
  const tied = c.tie_word_embeddings === true;
  const u32 = (value: number): GgufEntry => ({ type: 'u32', value });
  const f32 = (value: number): GgufEntry => ({ type: 'f32', value });
  const tokenizer = existsSync(join(dir, 'tokenizer.json')) ? tokenizerMetadata(dir) : byteVocabMetadata(c.vocab_size, arch.startsWith('qwen') ? 'qwen2' : 'gpt-2');
  const metadata: Record<string, GgufEntry> = {
    'general.architecture': { type: 'string', value: arch },
    'general.name': { type: 'string', value: dir.split('/').filter(Boolean).pop()! },
    [`${arch}.context_length`]: u32(c.max_position_embeddings),
    [`${arch}.embedding_length`]: u32(c.hidden_size),
    [`${arch}.block_count`]: u32(c.num_hidden_layers),
    [`${arch}.feed_forward_length`]: u32(c.intermediate_size),
    [`${arch}.attention.head_count`]: u32(heads),
    [`${arch}.attention.head_count_kv`]: u32(kvHeads),
    [`${arch}.attention.key_length`]: u32(headDim),
    [`${arch}.attention.value_length`]: u32(headDim),
    [`${arch}.rope.dimension_count`]: u32(headDim),
    [`${arch}.rope.freq_base`]: f32(c.rope_theta ?? 10000),
    [`${arch}.attention.layer_norm_rms_epsilon`]: f32(c.rms_norm_eps),
    [`${arch}.vocab_size`]: u32(c.vocab_size),
    ...archMetadata(c, options),
    ...tokenizer,
  };
  const tensors: GgufTensor[] = factorTensors(c, options).map(({ name, values }) => ({ name, type: 'F32', dims: [values.length], data: encode('F32', values, 1, values.length) }));
  const experts = new Map<string, { rows: number; cols: number; parts: Float32Array[] }>();
  const weights = readWeights(dir);
  if (options.forLlamaCpp && c.mlp_only_layers?.length) sparseEveryLayer(c, weights);
  for (const [hf, t] of weights) {
    if (tied && hf === 'lm_head.weight') continue;
    const { name, expert } = ggufTensorName(hf, hfClass);
    if (t.shape.length === 1 || t.shape[0] === 1) {
      const values = storesOnePlusW(name, hfClass) ? t.values.map((v) => v + 1) : t.values;
      tensors.push({ name, type: 'F32', dims: [values.length], data: encode('F32', values, 1, values.length) });
      continue;
    }
    const [rows, cols] = t.shape;
    let values = t.values;
    if (arch === 'llama' && /attn_q\.weight|attn_k\.weight/.test(name)) values = interleaveRows(values, rows, cols, name.includes('attn_q') ? heads : kvHeads);
    if (expert !== undefined) {
      const stack = experts.get(name) ?? { rows, cols, parts: [] };
      stack.parts[expert] = values;
      experts.set(name, stack);
      continue;
    }
    const type = keepsF32(name) ? 'F32' : matrixType(scheme, name, cols, tied, options);
    tensors.push({ name, type, dims: [cols, rows], data: encode(type, values, rows, cols) });
  }
  for (const [name, { rows, cols, parts }] of experts) {
    const values = new Float32Array(parts.length * rows * cols);
    parts.forEach((p, e) => values.set(p, e * rows * cols));
    const type = matrixType(scheme, name, cols, tied, options);
    tensors.push({ name, type, dims: [cols, rows, parts.length], data: encode(type, values, parts.length * rows, cols) });
  }
  return { metadata, tensors };
}

const fileStem = (dir: string, scheme: GgufScheme) => `${dir.split('/').filter(Boolean).pop()}-${scheme}`;

/** Writes the HF folder `dir` as the GGUF file `path` under `scheme`. */
export function convertToGguf(dir: string, path: string, scheme: GgufScheme, options: ConvertOptions = {}): void {
  const { metadata, tensors } = hfToGguf(dir, scheme, options);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, ggufBytes(metadata, tensors));
}

/** Writes and returns the path of `dir` as GGUF under `scheme` in GGUF_DIR (the files tests and benchmarks load). */
export function ggufFile(dir: string, scheme: GgufScheme, options: ArchOptions = {}): string {
  const path = join(GGUF_DIR, `${fileStem(dir, scheme)}${options.forLlamaCpp ? '-llamacpp' : ''}.gguf`);
  convertToGguf(dir, path, scheme, options);
  return path;
}

/**
 * `dir` as a split model of `count` files (`name-0000i-of-0000N.gguf`, as llama.cpp's gguf-split writes them: the
 * metadata in the first, `split.*` keys in each, the tensors dealt out in order). Returns the first file's path.
 */
export function ggufSplitFiles(dir: string, scheme: GgufScheme, count: number): string {
  mkdirSync(GGUF_DIR, { recursive: true });
  const { metadata, tensors } = hfToGguf(dir, scheme);
  const per = Math.ceil(tensors.length / count);
  const name = (i: number) => join(GGUF_DIR, `${fileStem(dir, scheme)}-${String(i + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.gguf`);
  for (let i = 0; i < count; i++) {
    const split: Record<string, GgufEntry> = {
      'split.no': { type: 'u32', value: i }, 'split.count': { type: 'u32', value: count }, 'split.tensors.count': { type: 'i32', value: tensors.length },
    };
    writeFileSync(name(i), ggufBytes(i === 0 ? { ...metadata, ...split } : split, tensors.slice(i * per, (i + 1) * per)));
  }
  return name(0);
}
