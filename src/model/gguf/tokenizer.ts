import { UnsupportedModelError } from '../../contract/errors';
import type { Metadata } from './config';

/**
 * The tokenizer.json (and tokenizer_config.json) equivalent of a GGUF file's `tokenizer.*` metadata, for
 * @huggingface/tokenizers: `gpt2` byte-level BPE with the pre-tokenizer its `tokenizer.ggml.pre` names, and
 * `llama` SentencePiece BPE (merges ranked by the merged piece's score, byte fallback, "▁" for spaces).
 */

/** ggml token types (llama_token_type). */
const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

const byteLevel = (useRegex: boolean) => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
const splitThenBytes = (pattern: string) => ({
  type: 'Sequence',
  pretokenizers: [{ type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false }, byteLevel(false)],
});

/** Byte-level BPE pre-tokenizers by `tokenizer.ggml.pre` (llama.cpp's names), from the families' tokenizer.json. */
const PRE_TOKENIZERS: Record<string, { pre_tokenizer: unknown; normalizer?: unknown; ignore_merges?: boolean }> = {
  'gpt-2': { pre_tokenizer: byteLevel(true) },
  'llama-bpe': {
    pre_tokenizer: splitThenBytes("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
    ignore_merges: true,
  },
  qwen2: {
    pre_tokenizer: splitThenBytes("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
    normalizer: { type: 'NFC' },
  },
};

export interface GgufTokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

export function ggufTokenizer(meta: Metadata): GgufTokenizerFiles {
  const model = meta.string('tokenizer.ggml.model');
  const tokens = meta.strings('tokenizer.ggml.tokens');
  const types = meta.numbers('tokenizer.ggml.token_type') ?? tokens.map(() => TOKEN_TYPE.normal);
  const added = tokens.flatMap((content, id) => (types[id] === TOKEN_TYPE.control || types[id] === TOKEN_TYPE.userDefined
    ? [{ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: types[id] === TOKEN_TYPE.control }] : []));
  const vocab = Object.fromEntries(tokens.map((t, id) => [t, id]));
  let tokenizerJson: Record<string, unknown>;
  if (model === 'gpt2') {
    const pre = meta.string('tokenizer.ggml.pre', 'gpt-2');
    const variant = PRE_TOKENIZERS[pre];
    if (!variant) throw unsupported(meta, 'tokenizer.ggml.pre', `pre-tokenizer "${pre}" is not supported (${Object.keys(PRE_TOKENIZERS).join(', ')})`);
    const merges = meta.strings('tokenizer.ggml.merges').map((m) => m.split(' '));
    tokenizerJson = {
      normalizer: variant.normalizer ?? null,
      pre_tokenizer: variant.pre_tokenizer,
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: variant.ignore_merges ?? false, vocab, merges },
    };
  } else if (model === 'llama') {
    const scores = meta.numbers('tokenizer.ggml.scores') ?? tokens.map(() => 0);
    const spacePrefix = meta.get('tokenizer.ggml.add_space_prefix') !== false;
    const unk = meta.get('tokenizer.ggml.unknown_token_id');
    tokenizerJson = {
      normalizer: { type: 'Sequence', normalizers: [...(spacePrefix ? [{ type: 'Prepend', prepend: '▁' }] : []), { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      pre_tokenizer: null,
      decoder: {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' },
          ...(spacePrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
        ],
      },
      model: {
        type: 'BPE', dropout: null, unk_token: typeof unk === 'number' ? tokens[unk] : null, continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: scoreMerges(tokens, types, scores),
      },
    };
  } else {
    throw unsupported(meta, 'tokenizer.ggml.model', `tokenizer model "${model}" is not supported (gpt2, llama)`);
  }
  const tokenAt = (key: string) => {
    const id = meta.get(key);
    return typeof id === 'number' && id < tokens.length ? tokens[id] : undefined;
  };
  const addBos = meta.get('tokenizer.ggml.add_bos_token');
  return {
    tokenizerJson: { version: '1.0', truncation: null, padding: null, added_tokens: added, post_processor: null, ...tokenizerJson },
    tokenizerConfig: {
      bos_token: tokenAt('tokenizer.ggml.bos_token_id'),
      eos_token: tokenAt('tokenizer.ggml.eos_token_id'),
      ...(typeof addBos === 'boolean' ? { add_bos_token: addBos } : {}),
      ...(meta.has('tokenizer.chat_template') ? { chat_template: meta.string('tokenizer.chat_template') } : {}),
    },
  };
}

/**
 * SentencePiece BPE as ranked merges: every split of a normal piece into two pieces of the vocabulary is a merge,
 * ranked by the merged piece's score (highest first), as SentencePiece merges the best-scoring adjacent pair.
 */
function scoreMerges(tokens: string[], types: number[], scores: number[]): [string, string][] {
  const ids = new Map(tokens.map((t, id) => [t, id]));
  const merges: { pair: [string, string]; score: number; left: number }[] = [];
  tokens.forEach((piece, id) => {
    if (types[id] !== TOKEN_TYPE.normal && types[id] !== TOKEN_TYPE.userDefined) return;
    const chars = Array.from(piece);
    for (let i = 1; i < chars.length; i++) {
      const left = chars.slice(0, i).join('');
      const right = chars.slice(i).join('');
      if (ids.has(left) && ids.has(right)) merges.push({ pair: [left, right], score: scores[id], left: left.length });
    }
  });
  merges.sort((a, b) => b.score - a.score || a.left - b.left);
  return merges.map((m) => m.pair);
}

function unsupported(meta: Metadata, key: string, message: string): UnsupportedModelError {
  return new UnsupportedModelError(`${meta.header.file}: ${message}`, { file: meta.header.file, field: key });
}
