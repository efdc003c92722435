import { commonHyperParameters, type ConfigFields } from '../config_fields';
import type { LayerRecipe, ModelConfig, Rotation } from '../config';
import { attentionTensors, modelTensors, perLayer, sandwichNorms, swiglu, type Family } from '../family';

type LayerType = 'sliding_attention' | 'full_attention';

/** `layer_types`, or the config class's default pattern: layer i is sliding unless (i + 1) % every == 0. */
function layerTypes(f: ConfigFields, layers: number, every: number): LayerType[] {
  const v = f.optional('layer_types');
  if (v === null) return Array.from({ length: layers }, (_, i) => ((i + 1) % every ? 'sliding_attention' : 'full_attention'));
  if (!Array.isArray(v) || v.length !== layers || !v.every((t) => t === 'sliding_attention' || t === 'full_attention')) {
    throw f.format('layer_types', `${JSON.stringify(v)} is not a list of ${layers} "sliding_attention" / "full_attention" entries`);
  }
  return v as LayerType[];
}

/** A soft-cap: its value, 0 (none) when null, the config class's default `fallback` when absent. */
const cap = (f: ConfigFields, field: string, fallback: number) => (!f.present(field) ? fallback : f.optional(field) === null ? 0 : f.positive(field, NaN));

/**
 * What Gemma 2 and Gemma 3 share: embeddings times sqrt(hidden), RMSNorm as x̂·(1 + w), four norms per layer
 * ('sandwich'), GeGLU (gelu_pytorch_tanh), scores times query_pre_attn_scalar^-0.5, sliding-window layers per
 * `layer_types`, tied embeddings.
 */
function gemmaConfig(f: ConfigFields, hfArchitecture: string, opts: { slidingEvery: number; qkNorm: boolean; attnSoftcap: number; logitSoftcap: number; rope: (type: LayerType) => Rotation }): Omit<ModelConfig, 'architecture'> {
  const act = f.optional('hidden_activation') ?? f.optional('hidden_act') ?? 'gelu_pytorch_tanh';
  if (act !== 'gelu_pytorch_tanh') throw f.unsupported('hidden_activation', `activation ${JSON.stringify(act)} is not supported (gelu_pytorch_tanh)`);
  f.require('attention_bias', false, 'attention biases');
  const c = commonHyperParameters(f, hfArchitecture, { maxPositions: 8192, rmsEps: 1e-6, tieEmbeddings: true });
  const window = f.int('sliding_window', 4096);
  const scale = f.positive('query_pre_attn_scalar', 256) ** -0.5;
  const softcap = cap(f, 'attn_logit_softcapping', opts.attnSoftcap);
  const recipe = layerTypes(f, c.layers, opts.slidingEvery).map((type): LayerRecipe => ({
    norms: 'sandwich',
    activation: 'gelu_pytorch_tanh',
    mlp: 'dense',
    attention: { bias: false, qkNorm: opts.qkNorm, rope: opts.rope(type), window: type === 'sliding_attention' ? window : 0, scale, softcap },
  }));
  const logitSoftcap = cap(f, 'final_logit_softcapping', opts.logitSoftcap);
  return { ...c, normOffset: 1, embedScale: Math.fround(Math.sqrt(c.hidden)), logitSoftcap, recipe };
}

const gemmaTensors = (c: ModelConfig) => [
  ...modelTensors(c),
  ...perLayer(c, (l, p, key) => [...sandwichNorms(c, p, key), ...attentionTensors(c, l, p, key), ...swiglu(c, `${p}.mlp`, `${key}.mlp`, c.intermediate)]),
];

/**
 * Gemma 2: scores and final logits soft-capped (attn_logit_softcapping 50, final_logit_softcapping 30 by default),
 * even layers sliding, one rope_theta.
 */
export const gemma2: Family = {
  id: 'gemma2',
  classes: ['Gemma2ForCausalLM'],
  config(f: ConfigFields, hfArchitecture: string): ModelConfig {
    const rope = f.rotation(10000);
    return { ...gemmaConfig(f, hfArchitecture, { slidingEvery: 2, qkNorm: false, attnSoftcap: 50, logitSoftcap: 30, rope: () => rope }), architecture: 'gemma2' };
  },
  tensors: gemmaTensors,
};

/**
 * Gemma 3 (text): per-head q_norm/k_norm (also x̂·(1 + w)), no soft-capping by default, five sliding layers per
 * full one; sliding layers rotate with rope_local_base_freq, full layers with rope_theta and rope_scaling.
 */
export const gemma3: Family = {
  id: 'gemma3',
  classes: ['Gemma3ForCausalLM'],
  config(f: ConfigFields, hfArchitecture: string): ModelConfig {
    const global = f.rotation(1e6, 'full_attention');
    const local: Rotation = f.object('rope_parameters') ? f.rotation(10000, 'sliding_attention') : { theta: f.positive('rope_local_base_freq', 10000) };
    const rope = (type: LayerType) => (type === 'sliding_attention' ? local : global);
    return { ...gemmaConfig(f, hfArchitecture, { slidingEvery: 6, qkNorm: true, attnSoftcap: 0, logitSoftcap: 0, rope }), architecture: 'gemma3' };
  },
  tensors: gemmaTensors,
};
