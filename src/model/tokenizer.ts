import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ModelFormatError } from '../contract/errors';
import { isObject, parseJsonObject } from './json';
import type { ModelSource } from './source';

const TOKENIZER = 'tokenizer.json';
const TOKENIZER_CONFIG = 'tokenizer_config.json';
const GENERATION_CONFIG = 'generation_config.json';

/** A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) with the ids the runtime needs. */
export class Tokenizer {
  readonly bosId?: number;
  readonly eosIds: number[];
  /** One past the largest token id (vocabulary plus added tokens). */
  readonly vocabSize: number;
  readonly bosToken?: string;
  readonly eosToken?: string;
  /** The Jinja chat template of tokenizer_config.json, if any. */
  readonly chatTemplate?: string;
  private readonly addBosDefault: boolean;

  private constructor(private readonly hf: HfTokenizer, config: Record<string, unknown>, generationEos: number[]) {
    const vocab = hf.get_vocab(true);
    this.vocabSize = Math.max(-1, ...vocab.values()) + 1;
    this.bosToken = tokenText(config.bos_token);
    this.eosToken = tokenText(config.eos_token);
    this.bosId = this.bosToken === undefined ? undefined : hf.token_to_id(this.bosToken);
    const eosId = this.eosToken === undefined ? undefined : hf.token_to_id(this.eosToken);
    this.eosIds = [...new Set([...(eosId === undefined ? [] : [eosId]), ...generationEos])];
    this.addBosDefault = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : this.bosId !== undefined;
    this.chatTemplate = pickTemplate(config.chat_template);
  }

  /** Reads tokenizer.json, tokenizer_config.json and (for extra EOS ids) generation_config.json. */
  static async load(source: ModelSource): Promise<Tokenizer> {
    const json = parseJsonObject(await source.text(TOKENIZER), TOKENIZER);
    const config = (await source.exists(TOKENIZER_CONFIG)) ? parseJsonObject(await source.text(TOKENIZER_CONFIG), TOKENIZER_CONFIG) : {};
    const generation = (await source.exists(GENERATION_CONFIG)) ? parseJsonObject(await source.text(GENERATION_CONFIG), GENERATION_CONFIG) : {};
    return Tokenizer.fromJson(json, config, generation);
  }

  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown = {}, generationConfig: unknown = {}): Tokenizer {
    if (!isObject(tokenizerJson) || !isObject(tokenizerJson.model)) throw new ModelFormatError(`${TOKENIZER}: field "model" is missing or not an object`, { file: TOKENIZER, field: 'model' });
    if (!isObject(tokenizerConfig)) throw new ModelFormatError(`${TOKENIZER_CONFIG}: not a JSON object`, { file: TOKENIZER_CONFIG });
    let hf: HfTokenizer;
    try {
      hf = new HfTokenizer(tokenizerJson, tokenizerConfig);
      hf.encode('a');
    } catch (e) {
      throw new ModelFormatError(`${TOKENIZER}: cannot build the tokenizer (${(e as Error).message})`, { file: TOKENIZER });
    }
    const eos = isObject(generationConfig) ? generationConfig.eos_token_id : undefined;
    const generationEos = (Array.isArray(eos) ? eos : [eos]).filter((id): id is number => Number.isSafeInteger(id));
    return new Tokenizer(hf, tokenizerConfig, generationEos);
  }

  /** Token ids of `text`; special-token strings in the text map to their ids. BOS is prepended when the model uses one. */
  encode(text: string, options: { addBos?: boolean } = {}): number[] {
    const ids = this.hf.encode(text, { add_special_tokens: false }).ids;
    return (options.addBos ?? this.addBosDefault) && this.bosId !== undefined ? [this.bosId, ...ids] : ids;
  }

  decode(ids: number[], options: { skipSpecial?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.hf.decode(ids, { skip_special_tokens: options.skipSpecial ?? true });
  }

  tokenId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  /** Incremental decoding for a growing token sequence. */
  detokenizer(): StreamingDetokenizer {
    return new StreamingDetokenizer(this);
  }
}

/**
 * Text deltas for tokens as they arrive. Decodes a short window (the previous emission's tokens plus the
 * new ones) so spacing rules see context, and holds text back while it ends in U+FFFD: a UTF-8 character
 * split across byte-level tokens is emitted whole once its last byte arrives.
 */
export class StreamingDetokenizer {
  private readonly ids: number[] = [];
  private prefix = 0;
  private read = 0;

  constructor(private readonly tokenizer: Tokenizer) {}

  /** Appends tokens; returns the text they complete ('' while a character is incomplete). */
  push(ids: readonly number[]): string {
    this.ids.push(...ids);
    const before = this.tokenizer.decode(this.ids.slice(this.prefix, this.read));
    const after = this.tokenizer.decode(this.ids.slice(this.prefix));
    if (after.length <= before.length || after.endsWith('\uFFFD')) return '';
    this.prefix = this.read;
    this.read = this.ids.length;
    return after.slice(before.length);
  }

  /** Text still held back at the end of the stream (an incomplete character decodes as U+FFFD). */
  flush(): string {
    const before = this.tokenizer.decode(this.ids.slice(this.prefix, this.read));
    const after = this.tokenizer.decode(this.ids.slice(this.prefix));
    this.prefix = this.read = this.ids.length;
    return after.slice(before.length);
  }
}

/** `"<s>"` or `{content: "<s>", ...}` (AddedToken form) -> the token text. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  return undefined;
}

/** A string, or HF's list of named templates (the "default" one). */
function pickTemplate(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.find((t) => isObject(t) && t.name === 'default');
    return isObject(named) && typeof named.template === 'string' ? named.template : undefined;
  }
  return undefined;
}

