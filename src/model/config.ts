import { ModelFormatError, UnsupportedModelError } from '../contract/errors';
import type { RopeScaling } from '../kernels/rope';
import { parseJson } from './json';
import type { ModelSource } from './source';

/** Compute families: Llama/Mistral (dense), Qwen2 (dense + q/k/v bias), Mixtral and Qwen2-MoE (sparse MLPs). */
export type Architecture = 'llama' | 'qwen2' | 'mixtral' | 'qwen2_moe';

export type { RopeScaling } from '../kernels/rope';

export interface MoeConfig {
  experts: number;
  expertsPerToken: number;
  /** Intermediate size of one routed expert. */
  expertIntermediate: number;
  /** Renormalise the selected experts' softmax weights to sum to 1 (Mixtral: yes; Qwen2-MoE: `norm_topk_prob`). */
  normTopK: boolean;
  /** Qwen2-MoE shared expert, gated by sigmoid(sharedGate · x). */
  sharedExpertIntermediate?: number;
  /** Layer i is sparse when (i + 1) % sparseStep == 0 and i is not in mlpOnlyLayers. */
  sparseStep: number;
  mlpOnlyLayers: number[];
  routerScore: 'softmax';
}

export interface ModelConfig {
  /** The Hugging Face class name, e.g. "Qwen2ForCausalLM". */
  hfArchitecture: string;
  architecture: Architecture;
  hidden: number;
  /** Dense MLP intermediate size. */
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  maxPositions: number;
  ropeTheta: number;
  ropeScaling?: RopeScaling;
  rmsEps: number;
  tieEmbeddings: boolean;
  /** q/k/v projections have biases (no o bias). */
  attentionBias: boolean;
  bosTokenId?: number;
  eosTokenIds: number[];
  moe?: MoeConfig;
}

interface Family {
  architecture: Architecture;
  ropeTheta: number;
  maxPositions: number;
  rmsEps: number;
}
const FAMILIES: Record<string, Family> = {
  LlamaForCausalLM: { architecture: 'llama', ropeTheta: 10000, maxPositions: 2048, rmsEps: 1e-6 },
  MistralForCausalLM: { architecture: 'llama', ropeTheta: 10000, maxPositions: 4096 * 32, rmsEps: 1e-6 },
  Qwen2ForCausalLM: { architecture: 'qwen2', ropeTheta: 10000, maxPositions: 32768, rmsEps: 1e-6 },
  MixtralForCausalLM: { architecture: 'mixtral', ropeTheta: 1e6, maxPositions: 4096 * 32, rmsEps: 1e-5 },
  Qwen2MoeForCausalLM: { architecture: 'qwen2_moe', ropeTheta: 10000, maxPositions: 32768, rmsEps: 1e-6 },
};

/** Is layer `i` a sparse (MoE) layer? */
export function isMoeLayer(config: ModelConfig, i: number): boolean {
  const moe = config.moe;
  return !!moe && (i + 1) % moe.sparseStep === 0 && !moe.mlpOnlyLayers.includes(i);
}

/** Reads and validates `config.json` of a model folder. */
export async function loadConfig(source: ModelSource): Promise<ModelConfig> {
  return parseConfig(parseJson(await source.text('config.json'), 'config.json'));
}

/** Validates an HF `config.json` (parsed JSON) into a ModelConfig. */
export function parseConfig(json: unknown, file = 'config.json'): ModelConfig {
  const f = new Fields(json, file);
  const hfArchitecture = f.architecture();
  const family = FAMILIES[hfArchitecture];
  if (hfArchitecture === 'OlmoeForCausalLM') {
    throw f.unsupported('architectures', 'OlmoeForCausalLM normalises queries and keys (q_norm/k_norm), which this runtime does not implement');
  }
  if (!family) throw f.unsupported('architectures', `architecture ${hfArchitecture} is not supported (supported: ${Object.keys(FAMILIES).join(', ')})`);
  f.rejectUnsupportedFeatures(family.architecture);
  const hidden = f.int('hidden_size');
  const heads = f.int('num_attention_heads');
  const kvHeads = f.int('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) throw f.unsupported('num_key_value_heads', `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  const explicitHeadDim = f.optional('head_dim') === null ? undefined : f.int('head_dim', 0);
  if (!explicitHeadDim && hidden % heads !== 0) throw f.format('hidden_size', `hidden_size ${hidden} is not divisible by num_attention_heads ${heads} and there is no head_dim`);
  const headDim = explicitHeadDim || hidden / heads;
  if (headDim % 4 !== 0) throw f.unsupported('head_dim', `head_dim ${headDim} is not a multiple of 4 (attention reads heads as 4-float vectors)`);
  const layers = f.int('num_hidden_layers');
  const config: ModelConfig = {
    hfArchitecture,
    architecture: family.architecture,
    hidden,
    intermediate: f.int('intermediate_size'),
    layers,
    heads,
    kvHeads,
    headDim,
    vocab: f.int('vocab_size'),
    maxPositions: f.int('max_position_embeddings', family.maxPositions),
    ropeTheta: f.positive('rope_theta', family.ropeTheta),
    ropeScaling: f.ropeScaling(),
    rmsEps: f.positive('rms_norm_eps', family.rmsEps),
    tieEmbeddings: f.bool('tie_word_embeddings', false),
    attentionBias: family.architecture === 'qwen2' || family.architecture === 'qwen2_moe',
    bosTokenId: f.tokenIds('bos_token_id')[0],
    eosTokenIds: f.tokenIds('eos_token_id'),
    moe: f.moe(family.architecture, layers),
  };
  if (config.moe && config.moe.expertsPerToken > config.moe.experts) {
    throw f.format('num_experts_per_tok', `${config.moe.expertsPerToken} exceeds the ${config.moe.experts} experts per layer`);
  }
  return config;
}

/** Typed access to the JSON fields, with errors naming file and field. */
class Fields {
  private readonly json: Record<string, unknown>;

  constructor(json: unknown, private readonly file: string) {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelFormatError(`${file}: not a JSON object`, { file });
    this.json = json as Record<string, unknown>;
  }

  format(field: string, message: string): ModelFormatError {
    return new ModelFormatError(`${this.file}: field "${field}": ${message}`, { file: this.file, field });
  }

  unsupported(field: string, message: string): UnsupportedModelError {
    return new UnsupportedModelError(`${this.file}: field "${field}": ${message}`, { file: this.file, field });
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

  /** Features that change the computation in ways the kernels do not implement. */
  rejectUnsupportedFeatures(architecture: Architecture): void {
    const act = this.optional('hidden_act') ?? 'silu';
    if (act !== 'silu') throw this.unsupported('hidden_act', `activation ${JSON.stringify(act)} is not supported (only silu)`);
    if (this.optional('mlp_bias') === true) throw this.unsupported('mlp_bias', 'MLP biases are not supported');
    if (architecture === 'llama' && this.optional('attention_bias') === true) throw this.unsupported('attention_bias', 'Llama-style attention bias (including o_proj) is not supported');
    const window = this.optional('sliding_window');
    const windowUsed = this.optional('use_sliding_window') !== false;
    const maxPositions = this.optional('max_position_embeddings');
    if (windowUsed && typeof window === 'number' && (typeof maxPositions !== 'number' || window < maxPositions)) {
      throw this.unsupported('sliding_window', `sliding-window attention (${window}) is not supported`);
    }
  }

  ropeScaling(): RopeScaling | undefined {
    const v = this.optional('rope_scaling');
    if (v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw this.format('rope_scaling', 'not an object');
    const scaling = new Fields(v, `${this.file} rope_scaling`);
    const type = scaling.optional('rope_type') ?? scaling.optional('type');
    if (type === 'default') return undefined;
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
    throw this.unsupported('rope_scaling', `rope scaling type ${JSON.stringify(type)} is not supported (linear, llama3)`);
  }

  moe(architecture: Architecture, layers: number): MoeConfig | undefined {
    if (architecture === 'mixtral') {
      return {
        experts: this.int('num_local_experts'),
        expertsPerToken: this.int('num_experts_per_tok'),
        expertIntermediate: this.int('intermediate_size'),
        normTopK: true,
        sparseStep: 1,
        mlpOnlyLayers: [],
        routerScore: 'softmax',
      };
    }
    if (architecture !== 'qwen2_moe') return undefined;
    const experts = this.int('num_experts');
    const expertsPerToken = this.int('num_experts_per_tok');
    const shared = this.int('shared_expert_intermediate_size', 0, 0);
    return {
      experts,
      expertsPerToken,
      expertIntermediate: this.int('moe_intermediate_size'),
      normTopK: this.bool('norm_topk_prob', false),
      sharedExpertIntermediate: shared > 0 ? shared : undefined,
      sparseStep: this.int('decoder_sparse_step', 1),
      mlpOnlyLayers: this.layerList('mlp_only_layers', layers),
      routerScore: 'softmax',
    };
  }

  layerList(field: string, layers: number): number[] {
    const v = this.optional(field) ?? [];
    if (!Array.isArray(v) || !v.every((i) => Number.isSafeInteger(i) && i >= 0 && i < layers)) throw this.format(field, `${JSON.stringify(v)} is not a list of layer indices below ${layers}`);
    return v as number[];
  }
}
