import type { CommonHyperParameters, ConfigFields } from './config_fields';
import type { Architecture, AttentionRecipe, LayerRecipe, ModelConfig, Rotation } from './config';
import { QUANT_BLOCK } from '../kernels/tensor';

/**
 * One weight of the model as the checkpoint stores it: a vector (norms, biases), token ids, or a matrix [rows, cols]
 * filled by one HF tensor, or by several stacked along rows in order (routed experts, part p at rows p*rows..).
 */
export interface TensorSpec {
  /** Where the runtime finds it: "embed", "layers.3.q", "layers.3.moe.gate", ... */
  key: string;
  /** 'ids': a vector of token ids, I32 in the checkpoint, u32 on the GPU (the draft vocabulary's) */
  kind: 'vector' | 'matrix' | 'ids';
  /** HF tensor names, in stacking order. */
  parts: string[];
  /** Rows of one part (1 for vectors). */
  partRows: number;
  cols: number;
  /** Eligible for q8/q4 (big matrices; not the embedding or routers). */
  quantizable: boolean;
  /** The part is rows start..start+partRows of an HF tensor of `total` rows (Phi-3's fused qkv_proj and gate_up_proj). */
  rowsOf?: { start: number; total: number };
  /** Routed experts: an expert budget keeps only some parts on the GPU. */
  experts?: boolean;
  /**
   * Column count whose alignment decides the storage format (default `cols`): the routed experts' gate, up and
   * down run in one kernel that needs one format, so they share the strictest alignment of the three.
   */
  alignCols?: number;
}

/**
 * A model family: how a Hugging Face config maps onto the hyper-parameters and per-layer recipe, and the
 * tensors its checkpoints hold. Loading, validation, memory planning, teardown, the parameter count and the
 * forward pass are all driven from these two functions.
 */
export interface Family {
  id: Architecture;
  /** HF `architectures[0]` class names. */
  classes: readonly string[];
  config(f: ConfigFields, hfArchitecture: string): ModelConfig;
  tensors(c: ModelConfig): TensorSpec[];
}

// ---- recipe and schema pieces the families share ----

/** A Llama layer: pre-norms, SwiGLU, causal GQA attention with 1/sqrt(head_dim) scores; `attention` overrides. */
export function llamaLayer(c: Pick<CommonHyperParameters, 'headDim'>, rope: Rotation | null, mlp: LayerRecipe['mlp'] = 'dense', attention: Partial<AttentionRecipe> = {}): LayerRecipe {
  return { norms: 'pre', activation: 'silu', mlp, attention: { bias: false, qkNorm: false, rope, window: 0, scale: 1 / Math.sqrt(c.headDim), softcap: 0, ...attention } };
}

/** The same layer `layers` times. */
export const everyLayer = (c: Pick<CommonHyperParameters, 'layers'>, layer: LayerRecipe): LayerRecipe[] => Array.from({ length: c.layers }, () => layer);

export const matrix = (key: string, name: string, rows: number, cols: number, quantizable = true): TensorSpec =>
  ({ key, kind: 'matrix', parts: [name], partRows: rows, cols, quantizable });

export const vector = (key: string, name: string, length: number): TensorSpec =>
  ({ key, kind: 'vector', parts: [name], partRows: 1, cols: length, quantizable: false });

/** Embedding, final norm, and the LM head unless tied. */
export function modelTensors(c: ModelConfig): TensorSpec[] {
  return [
    matrix('embed', 'model.embed_tokens.weight', c.vocab, c.hidden, false),
    vector('norm', 'model.norm.weight', c.hidden),
    ...(c.tieEmbeddings ? [] : [matrix('lmHead', 'lm_head.weight', c.vocab, c.hidden)]),
  ];
}

/** Every layer's tensors: `layer(l, hf prefix, key prefix)`. */
export function perLayer(c: ModelConfig, layer: (l: number, p: string, key: string) => TensorSpec[]): TensorSpec[] {
  return Array.from({ length: c.layers }, (_, l) => layer(l, `model.layers.${l}`, `layers.${l}`)).flat();
}

/** input_layernorm before attention, post_attention_layernorm before the MLP. */
export const preNorms = (c: ModelConfig, p: string, key: string): TensorSpec[] => [
  vector(`${key}.inputNorm`, `${p}.input_layernorm.weight`, c.hidden),
  vector(`${key}.mlpNorm`, `${p}.post_attention_layernorm.weight`, c.hidden),
];

/** Gemma's four: input_layernorm, post_attention_layernorm (on the attention output), pre_ and post_feedforward_layernorm. */
export const sandwichNorms = (c: ModelConfig, p: string, key: string): TensorSpec[] => [
  vector(`${key}.inputNorm`, `${p}.input_layernorm.weight`, c.hidden),
  vector(`${key}.attnOutNorm`, `${p}.post_attention_layernorm.weight`, c.hidden),
  vector(`${key}.mlpNorm`, `${p}.pre_feedforward_layernorm.weight`, c.hidden),
  vector(`${key}.mlpOutNorm`, `${p}.post_feedforward_layernorm.weight`, c.hidden),
];

/** q/k/v/o projections of `self_attn`, with the extras layer l's attention recipe asks for. */
export function attentionTensors(c: ModelConfig, l: number, p: string, key: string): TensorSpec[] {
  const { bias, qkNorm } = c.recipe[l].attention;
  const a = `${p}.self_attn`;
  const q = c.heads * c.headDim, kv = c.kvHeads * c.headDim;
  return [
    matrix(`${key}.q`, `${a}.q_proj.weight`, q, c.hidden),
    matrix(`${key}.k`, `${a}.k_proj.weight`, kv, c.hidden),
    matrix(`${key}.v`, `${a}.v_proj.weight`, kv, c.hidden),
    matrix(`${key}.o`, `${a}.o_proj.weight`, c.hidden, q),
    ...(bias ? [vector(`${key}.qBias`, `${a}.q_proj.bias`, q), vector(`${key}.kBias`, `${a}.k_proj.bias`, kv), vector(`${key}.vBias`, `${a}.v_proj.bias`, kv)] : []),
    ...(qkNorm ? [vector(`${key}.qNorm`, `${a}.q_norm.weight`, c.headDim), vector(`${key}.kNorm`, `${a}.k_norm.weight`, c.headDim)] : []),
  ];
}

/** A SwiGLU MLP `{prefix}.{gate,up,down}_proj` of width `width`, under `key`.{gate,up,down}. */
export const swiglu = (c: ModelConfig, prefix: string, key: string, width: number): TensorSpec[] => [
  matrix(`${key}.gate`, `${prefix}.gate_proj.weight`, width, c.hidden),
  matrix(`${key}.up`, `${prefix}.up_proj.weight`, width, c.hidden),
  matrix(`${key}.down`, `${prefix}.down_proj.weight`, c.hidden, width),
];

/**
 * A router [experts, hidden] and the routed experts stacked under `key`.{gate,up,down}; `name(e, m)` is the
 * HF tensor of expert e's gate, up or down matrix.
 */
export function routedExperts(c: ModelConfig, key: string, router: string, name: (e: number, m: 'gate' | 'up' | 'down') => string): TensorSpec[] {
  const { experts, expertIntermediate: I } = c.moe!;
  const ids = Array.from({ length: experts }, (_, e) => e);
  const alignCols = [c.hidden, I].every((n) => n % QUANT_BLOCK === 0) ? QUANT_BLOCK : [c.hidden, I].every((n) => n % 2 === 0) ? 2 : 1;
  const stacked = (m: 'gate' | 'up' | 'down', rows: number, cols: number): TensorSpec =>
    ({ key: `${key}.${m}`, kind: 'matrix', parts: ids.map((e) => name(e, m)), partRows: rows, cols, quantizable: true, experts: true, alignCols });
  return [matrix(`${key}.router`, router, experts, c.hidden, false), stacked('gate', I, c.hidden), stacked('up', I, c.hidden), stacked('down', c.hidden, I)];
}
