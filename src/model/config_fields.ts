import { ModelFormatError, UnsupportedModelError } from '../contract/errors';
import type { RopeScaling } from '../kernels/rope';
import type { ModelConfig, Rotation } from './config';

/** Typed access to the fields of a config.json, with errors naming file and field. */
export class ConfigFields {
  private readonly json: Record<string, unknown>;

  constructor(json: unknown, readonly file: string) {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelFormatError(`${file}: not a JSON object`, { file });
    this.json = json as Record<string, unknown>;
  }

  format(field: string, message: string): ModelFormatError {
    return new ModelFormatError(`${this.file}: field "${field}": ${message}`, { file: this.file, field });
  }

  unsupported(field: string, message: string): UnsupportedModelError {
    return new UnsupportedModelError(`${this.file}: field "${field}": ${message}`, { file: this.file, field });
  }

  /** The field is in the file (possibly null). */
  present(field: string): boolean {
    return Object.hasOwn(this.json, field);
  }

  optional(field: string): unknown {
    return Object.hasOwn(this.json, field) ? this.json[field] ?? null : null;
  }

  architecture(): string {
    const list = this.optional('architectures');
    if (!Array.isArray(list) || list.length === 0 || typeof list[0] !== 'string') throw this.format('architectures', 'missing or not a list of class names');
    return list[0];
  }

  /** A positive integer (or `min` and above); `fallback` when absent. */
  int(field: string, fallback?: number, min = 1): number {
    const v = this.optional(field) ?? fallback;
    if (v === undefined) throw this.format(field, 'missing');
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > 2 ** 31) throw this.format(field, `${JSON.stringify(v)} is not an integer >= ${min}`);
    return v;
  }

  positive(field: string, fallback: number): number {
    const v = this.optional(field) ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw this.format(field, `${JSON.stringify(v)} is not a positive number`);
    return v;
  }

  bool(field: string, fallback: boolean): boolean {
    const v = this.optional(field) ?? fallback;
    if (typeof v !== 'boolean') throw this.format(field, `${JSON.stringify(v)} is not true or false`);
    return v;
  }

  tokenIds(field: string): number[] {
    const v = this.optional(field);
    if (v === null) return [];
    const ids = Array.isArray(v) ? v : [v];
    if (!ids.every((id) => typeof id === 'number' && Number.isSafeInteger(id) && id >= 0)) throw this.format(field, `${JSON.stringify(v)} is not a token id or list of token ids`);
    return ids as number[];
  }

  layerList(field: string, layers: number): number[] {
    const v = this.optional(field) ?? [];
    if (!Array.isArray(v) || !v.every((i) => Number.isSafeInteger(i) && i >= 0 && i < layers)) throw this.format(field, `${JSON.stringify(v)} is not a list of layer indices below ${layers}`);
    return v as number[];
  }

  /** `field` must be absent or equal `allowed`; otherwise the architecture needs `what`, which is missing. */
  require(field: string, allowed: unknown, what: string): void {
    const v = this.optional(field);
    if (v !== null && v !== allowed) throw this.unsupported(field, `${JSON.stringify(v)} needs ${what}, which this runtime does not implement`);
  }

  /** Activation of the MLP: only SiLU (SwiGLU) is implemented. */
  requireSilu(field = 'hidden_act'): void {
    const act = this.optional(field) ?? 'silu';
    if (act !== 'silu') throw this.unsupported(field, `activation ${JSON.stringify(act)} is not supported (only silu)`);
  }

  /** Sliding-window attention narrower than the context is not implemented. */
  requireFullAttention(): void {
    const window = this.optional('sliding_window');
    const windowUsed = this.optional('use_sliding_window') !== false;
    const maxPositions = this.optional('max_position_embeddings');
    if (windowUsed && typeof window === 'number' && (typeof maxPositions !== 'number' || window < maxPositions)) {
      throw this.unsupported('sliding_window', `sliding-window attention (${window}) is not supported`);
    }
  }

  /** A nested object field, read with the same checks. */
  object(field: string): ConfigFields | undefined {
    const v = this.optional(field);
    if (v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw this.format(field, 'not an object');
    return new ConfigFields(v, `${this.file} ${field}`);
  }

  /**
   * The rotary embedding: rope_theta (default `theta`) and rope_scaling, or the newer `rope_parameters` object
   * holding both (per layer type, e.g. "sliding_attention", where the model has several).
   */
  rotation(theta: number, layerType?: string): Rotation {
    const params = this.object('rope_parameters');
    if (params) {
      const own = (layerType && params.object(layerType)) || params;
      return { theta: own.positive('rope_theta', theta), scaling: ropeScaling(own, true) };
    }
    const scaling = this.object('rope_scaling');
    return { theta: this.positive('rope_theta', theta), scaling: scaling && ropeScaling(scaling) };
  }
}

/** linear / llama3 rope scaling (or `divisors`, GGUF's precomputed rope_freqs) from a rope_scaling object, or from rope_parameters (`typeOptional`: no type = none). */
function ropeScaling(scaling: ConfigFields, typeOptional = false): RopeScaling | undefined {
  const type = scaling.optional('rope_type') ?? scaling.optional('type');
  if (type === 'default' || (type === null && typeOptional)) return undefined;
  if (type === 'linear') return { type, factor: scaling.positive('factor', NaN) };
  if (type === 'llama3') {
    return {
      type,
      factor: scaling.positive('factor', NaN),
      lowFreqFactor: scaling.positive('low_freq_factor', NaN),
      highFreqFactor: scaling.positive('high_freq_factor', NaN),
      originalMaxPositions: scaling.int('original_max_position_embeddings'),
    };
  }
  if (type === 'divisors') {
    const v = scaling.optional('divisors');
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && x > 0)) throw scaling.format('divisors', 'must list positive numbers (one per frequency)');
    return { type, divisors: v as number[] };
  }
  throw scaling.unsupported('rope_type', `rope scaling type ${JSON.stringify(type)} is not supported (linear, llama3)`);
}

/** Defaults a family applies when config.json omits a field (the transformers config class defaults). */
export interface ConfigDefaults {
  maxPositions: number;
  rmsEps: number;
  /** default of tie_word_embeddings (false unless the config class says otherwise) */
  tieEmbeddings?: boolean;
}

/** The hyper-parameters every decoder family shares (Llama's norm, embedding and head); the family adds its `recipe` and `moe`. */
export type CommonHyperParameters = Omit<ModelConfig, 'architecture' | 'recipe' | 'moe'>;

export function commonHyperParameters(f: ConfigFields, hfArchitecture: string, defaults: ConfigDefaults): CommonHyperParameters {
  const hidden = f.int('hidden_size');
  const heads = f.int('num_attention_heads');
  const kvHeads = f.int('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) throw f.unsupported('num_key_value_heads', `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  const explicitHeadDim = f.optional('head_dim') === null ? undefined : f.int('head_dim', 0);
  if (!explicitHeadDim && hidden % heads !== 0) throw f.format('hidden_size', `hidden_size ${hidden} is not divisible by num_attention_heads ${heads} and there is no head_dim`);
  const headDim = explicitHeadDim || hidden / heads;
  if (headDim % 4 !== 0) throw f.unsupported('head_dim', `head_dim ${headDim} is not a multiple of 4 (attention reads heads as 4-float vectors)`);
  return {
    hfArchitecture,
    hidden,
    intermediate: f.int('intermediate_size'),
    layers: f.int('num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    vocab: f.int('vocab_size'),
    maxPositions: f.int('max_position_embeddings', defaults.maxPositions),
    rmsEps: f.positive('rms_norm_eps', defaults.rmsEps),
    normOffset: 0,
    embedScale: 1,
    logitSoftcap: 0,
    tieEmbeddings: f.bool('tie_word_embeddings', defaults.tieEmbeddings ?? false),
    bosTokenId: f.tokenIds('bos_token_id')[0],
    eosTokenIds: f.tokenIds('eos_token_id'),
  };
}
