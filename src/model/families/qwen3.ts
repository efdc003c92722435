import { commonHyperParameters, type ConfigFields } from '../config_fields';
import type { ModelConfig } from '../config';
import { attentionTensors, everyLayer, llamaLayer, modelTensors, perLayer, preNorms, swiglu, type Family } from '../family';
import { qwenMoe, qwenMoeMlpTensors } from './qwen2_moe';

/** Qwen3 attention: no biases; q_norm and k_norm (RMSNorm over head_dim, per head) before RoPE. */
function qwen3Config(f: ConfigFields, hfArchitecture: string) {
  f.requireSilu();
  f.require('attention_bias', false, 'attention biases (q/k/v and o_proj)');
  f.requireFullAttention();
  const c = commonHyperParameters(f, hfArchitecture, { maxPositions: 32768, rmsEps: 1e-6 });
  const rope = f.rotation(10000);
  return { c, layer: (mlp: 'dense' | 'moe') => llamaLayer(c, rope, mlp, { qkNorm: true }) };
}

/** Qwen3: pre-norm layers, GQA with per-head q/k RMSNorm, SwiGLU MLP. */
export const qwen3: Family = {
  id: 'qwen3',
  classes: ['Qwen3ForCausalLM'],
  config(f: ConfigFields, hfArchitecture: string): ModelConfig {
    const { c, layer } = qwen3Config(f, hfArchitecture);
    return { ...c, architecture: 'qwen3', recipe: everyLayer(c, layer('dense')) };
  },
  tensors: (c) => [...modelTensors(c), ...perLayer(c, (l, p, key) => [...preNorms(c, p, key), ...attentionTensors(c, l, p, key), ...swiglu(c, `${p}.mlp`, `${key}.mlp`, c.intermediate)])],
};

/** Qwen3-MoE: Qwen3 attention, Qwen MoE routing (norm_topk_prob), no shared expert. */
export const qwen3Moe: Family = {
  id: 'qwen3_moe',
  classes: ['Qwen3MoeForCausalLM'],
  config(f: ConfigFields, hfArchitecture: string): ModelConfig {
    const { c, layer } = qwen3Config(f, hfArchitecture);
    return { ...c, architecture: 'qwen3_moe', ...qwenMoe(f, c, layer, false) };
  },
  tensors: (c) => [...modelTensors(c), ...perLayer(c, (l, p, key) => [...preNorms(c, p, key), ...attentionTensors(c, l, p, key), ...qwenMoeMlpTensors(c, l, p, key)])],
};
