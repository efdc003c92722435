import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ModelFormatError } from '../contract/errors';
import { isObject, parseJsonObject } from './json';
import { EMPTY_GENERATION_CONFIG, loadGenerationConfig, type GenerationConfig } from './generation_config';
import type { ModelSource } from './source';

const TOKENIZER = 'tokenizer.json';
const TOKENIZER_CONFIG = 'tokenizer_config.json';
/** A chat template in its own file (newer checkpoints); it wins over tokenizer_config.json's, as in transformers. */
const CHAT_TEMPLATE = 'chat_template.jinja';

/** A chat template and the file it came from (for error messages). */
export interface ChatTemplateSource {
  text: string;
  file: string;
}

/** A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) with the ids the runtime needs. */
export class Tokenizer {
  readonly bosId?: number;
  readonly eosIds: number[];
  /** One past the largest token id (vocabulary plus added tokens). */
  readonly vocabSize: number;
  readonly bosToken?: string;
  readonly eosToken?: string;
  /** The Jinja chat template (chat_template.jinja, else tokenizer_config.json's), if any. */
  readonly chatTemplate?: ChatTemplateSource;
  private readonly addBosDefault: boolean;

  private constructor(private readonly hf: HfTokenizer, json: Record<string, unknown>, config: Record<string, unknown>, generationEos: number[], template?: ChatTemplateSource) {
    this.vocabSize = largestId(json) + 1;
    this.bosToken = tokenText(config.bos_token);
    this.eosToken = tokenText(config.eos_token);
    this.bosId = this.bosToken === undefined ? undefined : hf.token_to_id(this.bosToken);
    const eosId = this.eosToken === undefined ? undefined : hf.token_to_id(this.eosToken);
    this.eosIds = [...new Set([...(eosId === undefined ? [] : [eosId]), ...generationEos])];
    this.addBosDefault = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : this.bosId !== undefined;
    const configTemplate = pickTemplate(config.chat_template);
    this.chatTemplate = template ?? (configTemplate === undefined ? undefined : { text: configTemplate, file: TOKENIZER_CONFIG });
  }

  /**
   * Reads tokenizer.json, tokenizer_config.json, chat_template.jinja, and generation_config.json for extra EOS ids
   * (unless `generation` is given). Only tokenizer.json is required.
   */
  static async load(source: ModelSource, generation?: GenerationConfig): Promise<Tokenizer> {
    const json = parseJsonObject(await source.text(TOKENIZER), TOKENIZER);
    const config = (await source.exists(TOKENIZER_CONFIG)) ? parseJsonObject(await source.text(TOKENIZER_CONFIG), TOKENIZER_CONFIG) : {};
    const template = (await source.exists(CHAT_TEMPLATE)) ? { text: await source.text(CHAT_TEMPLATE), file: CHAT_TEMPLATE } : undefined;
    return Tokenizer.fromJson(json, config, generation ?? (await loadGenerationConfig(source)), template);
  }

  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown = {}, generation: GenerationConfig = EMPTY_GENERATION_CONFIG, template?: ChatTemplateSource): Tokenizer {
    if (!isObject(tokenizerJson) || !isObject(tokenizerJson.model)) throw new ModelFormatError(`${TOKENIZER}: field "model" is missing or not an object`, { file: TOKENIZER, field: 'model' });
    if (!isObject(tokenizerConfig)) throw new ModelFormatError(`${TOKENIZER_CONFIG}: not a JSON object`, { file: TOKENIZER_CONFIG });
    let hf: HfTokenizer;
    try {
      hf = new HfTokenizer(tokenizerJson, tokenizerConfig);
      hf.encode('a');
    } catch (e) {
      throw new ModelFormatError(`${TOKENIZER}: cannot build the tokenizer (${(e as Error).message})`, { file: TOKENIZER });
    }
    return new Tokenizer(hf, tokenizerJson, tokenizerConfig, generation.eosIds, template);
  }

  /**
   * Token ids of `text`; special-token strings in the text map to their ids. BOS is prepended when the model uses
   * one (`add_bos_token`, else whenever it names a BOS token) and the text does not already begin with it, so a
   * chat prompt whose template renders BOS gets it once.
   */
  encode(text: string, options: { addBos?: boolean } = {}): number[] {
    const ids = this.hf.encode(text, { add_special_tokens: false }).ids;
    const addBos = (options.addBos ?? this.addBosDefault) && this.bosId !== undefined && ids[0] !== this.bosId;
    return addBos ? [this.bosId!, ...ids] : ids;
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
    for (const id of ids) this.ids.push(id);
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

/**
 * The largest token id of tokenizer.json: its model's vocabulary (BPE/WordPiece: token -> id; Unigram: [token, score]
 * pairs, ids by position) and its added tokens. Loops, not Math.max(...ids): 128k+ spread arguments overflow the stack.
 */
function largestId(json: Record<string, unknown>): number {
  const vocab = (json.model as Record<string, unknown>).vocab;
  let largest = Array.isArray(vocab) ? vocab.length - 1 : -1;
  if (isObject(vocab)) for (const id of Object.values(vocab)) if (typeof id === 'number' && id > largest) largest = id;
  for (const t of Array.isArray(json.added_tokens) ? json.added_tokens : []) if (isObject(t) && typeof t.id === 'number' && t.id > largest) largest = t.id;
  return largest;
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

