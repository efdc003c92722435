import type { RopeScaling } from '../kernels/rope';
import { ConfigFields } from './config_fields';
import { familyFor } from './families';
import { parseJson } from './json';
import type { ModelSource } from './source';

/** Family ids (src/model/families/): the compute recipe a Hugging Face class maps to. */
export type Architecture = 'llama' | 'qwen2' | 'mixtral' | 'qwen2_moe' | 'qwen3' | 'qwen3_moe';

export type { RopeScaling } from '../kernels/rope';

export interface MoeConfig {
  experts: number;
  expertsPerToken: number;
  /** Intermediate size of one routed expert. */
  expertIntermediate: number;
  /** Renormalise the selected experts' softmax weights to sum to 1 (Mixtral: yes; Qwen-MoE: `norm_topk_prob`). */
  normTopK: boolean;
  /** Qwen2-MoE shared expert, gated by sigmoid(sharedGate · x). */
  sharedExpertIntermediate?: number;
  routerScore: 'softmax';
}

/** The attention sub-block of a layer. */
export interface AttentionRecipe {
  /** q/k/v projections carry biases (o_proj does not). */
  bias: boolean;
  /** Per-head RMSNorm of queries and keys (q_norm, k_norm over head_dim) before RoPE. */
  qkNorm: boolean;
}

/**
 * What one decoder layer computes, in order:
 *   x += o(attention(rope(q(norm(x))), rope(k(norm(x))), v(norm(x))))
 *   x += mlp(norm(x))      (dense SwiGLU, or the routed experts)
 */
export interface LayerRecipe {
  attention: AttentionRecipe;
  mlp: 'dense' | 'moe';
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
  bosTokenId?: number;
  eosTokenIds: number[];
  moe?: MoeConfig;
  /** One entry per layer. */
  recipe: LayerRecipe[];
}

/** Is layer `i` a sparse (MoE) layer? */
export function isMoeLayer(config: ModelConfig, i: number): boolean {
  return config.recipe[i].mlp === 'moe';
}

/** Reads and validates `config.json` of a model folder. */
export async function loadConfig(source: ModelSource): Promise<ModelConfig> {
  return parseConfig(parseJson(await source.text('config.json'), 'config.json'));
}

/** Validates an HF `config.json` (parsed JSON) into a ModelConfig, as the architecture's family reads it. */
export function parseConfig(json: unknown, file = 'config.json'): ModelConfig {
  const f = new ConfigFields(json, file);
  const hfArchitecture = f.architecture();
  return familyFor(f, hfArchitecture).config(f, hfArchitecture);
}
