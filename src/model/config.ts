import type { GatedActivation } from '../kernels/linear';
import type { RopeSpec } from '../kernels/rope_table';
import { ConfigFields } from './config_fields';
import { familyFor } from './families';
import { parseJson } from './json';
import type { ModelSource } from './source';
import { parseSelfSpeculative, type SelfSpeculativeConfig } from './adapter';

/** Family ids (src/model/families/): the compute recipe a Hugging Face class maps to. */
export type Architecture = 'llama' | 'qwen2' | 'mixtral' | 'qwen2_moe' | 'qwen3' | 'qwen3_moe' | 'smollm3' | 'gemma2' | 'gemma3' | 'phi3';

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

/** A layer's rotary embedding: rope_theta, the scaling rule, and rotaryDim for partial rotary (kernels/rope_table.ts). */
export type Rotation = Omit<RopeSpec, 'headDim'>;

/** The attention sub-block of a layer. */
export interface AttentionRecipe {
  /** q/k/v projections carry biases (o_proj does not). */
  bias: boolean;
  /** Per-head RMSNorm of queries and keys (q_norm, k_norm over head_dim) before RoPE. */
  qkNorm: boolean;
  /** The layer's rotary embedding; null for a NoPE layer (keys and queries unrotated). */
  rope: Rotation | null;
  /** Sliding window: a query sees its own and the `window - 1` previous keys; 0 = every earlier key. */
  window: number;
  /** Scores are q·k · scale (1/sqrt(head_dim), or Gemma's query_pre_attn_scalar^-0.5). */
  scale: number;
  /** Scores soft-capped to tanh(s / softcap) · softcap; 0 = none. */
  softcap: number;
}

/**
 * What one decoder layer computes, in order ('pre' norms; 'sandwich' also norms each sub-block's output,
 * Gemma's post_attention_layernorm and post_feedforward_layernorm):
 *   x += [norm](o(attention(rope(q(norm(x))), rope(k(norm(x))), v(norm(x)))))
 *   x += [norm](mlp(norm(x)))      (dense gated MLP, or the routed experts)
 */
export interface LayerRecipe {
  norms: 'pre' | 'sandwich';
  attention: AttentionRecipe;
  mlp: 'dense' | 'moe';
  /** Activation of the gated MLP: SwiGLU (silu) or GeGLU (gelu_pytorch_tanh). */
  activation: GatedActivation;
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
  rmsEps: number;
  /** RMSNorm weights apply as (normOffset + w): 1 for Gemma's x̂·(1 + w), else 0. */
  normOffset: number;
  /** The embedding rows are multiplied by this (Gemma: sqrt(hidden)); 1 elsewhere. */
  embedScale: number;
  /** Final logits soft-capped to tanh(l / cap) · cap; 0 = none. */
  logitSoftcap: number;
  tieEmbeddings: boolean;
  bosTokenId?: number;
  eosTokenIds: number[];
  moe?: MoeConfig;
  /** One entry per layer. */
  recipe: LayerRecipe[];
  /** Kangaroo adapters for self-speculative drafts (config.json `self_speculative`, model/adapter.ts) */
  selfSpeculative?: SelfSpeculativeConfig;
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
  const config = familyFor(f, hfArchitecture).config(f, hfArchitecture);
  if (config.moe && config.moe.expertsPerToken > config.moe.experts) {
    throw f.format('num_experts_per_tok', `${config.moe.expertsPerToken} exceeds the ${config.moe.experts} experts per layer`);
  }
  const selfSpeculative = parseSelfSpeculative(f.optional('self_speculative'), config.layers, config.vocab, file);
  return selfSpeculative ? { ...config, selfSpeculative } : config;
}
