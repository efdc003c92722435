import { commonHyperParameters, type ConfigFields, type CommonHyperParameters } from '../config_fields';
import type { LayerRecipe, ModelConfig, MoeConfig } from '../config';
import { attentionTensors, llamaLayer, matrix, modelTensors, perLayer, preNorms, routedExperts, swiglu, type Family, type TensorSpec } from '../family';

/**
 * The Qwen MoE routing (Qwen2-MoE, Qwen3-MoE): softmax router, top-k renormalised only with `norm_topk_prob`.
 * Layer i is sparse when (i + 1) % decoder_sparse_step == 0 and i is not in mlp_only_layers; other layers
 * run a dense SwiGLU of `intermediate_size`.
 */
export function qwenMoe(f: ConfigFields, c: CommonHyperParameters, layer: (mlp: LayerRecipe['mlp']) => LayerRecipe, sharedExpert: boolean): { moe: MoeConfig; recipe: LayerRecipe[] } {
  const experts = f.int('num_experts');
  const expertsPerToken = f.int('num_experts_per_tok');
  const shared = sharedExpert ? f.int('shared_expert_intermediate_size', 0, 0) : 0;
  const sparseStep = f.int('decoder_sparse_step', 1);
  const mlpOnly = f.layerList('mlp_only_layers', c.layers);
  const moe: MoeConfig = {
    experts,
    expertsPerToken,
    expertIntermediate: f.int('moe_intermediate_size'),
    normTopK: f.bool('norm_topk_prob', false),
    ...(shared > 0 ? { sharedExpertIntermediate: shared } : {}),
    routerScore: 'softmax',
  };
  const recipe = Array.from({ length: c.layers }, (_, l) => layer((l + 1) % sparseStep === 0 && !mlpOnly.includes(l) ? 'moe' : 'dense'));
  return { moe, recipe };
}

/** The MLP tensors of a Qwen MoE layer: `mlp.gate` router, `mlp.experts.{e}.*`, optional shared expert. */
export function qwenMoeMlpTensors(c: ModelConfig, l: number, p: string, key: string): TensorSpec[] {
  const x = `${p}.mlp`;
  if (c.recipe[l].mlp === 'dense') return swiglu(c, x, `${key}.mlp`, c.intermediate);
  const S = c.moe!.sharedExpertIntermediate;
  return [
    ...routedExperts(c, `${key}.moe`, `${x}.gate.weight`, (e, m) => `${x}.experts.${e}.${m}_proj.weight`),
    ...(S ? [...swiglu(c, `${x}.shared_expert`, `${key}.moe.shared`, S), matrix(`${key}.moe.sharedGate`, `${x}.shared_expert_gate.weight`, 1, c.hidden, false)] : []),
  ];
}

/** Qwen2-MoE: Qwen2 attention (q/k/v biases), routed experts plus a sigmoid-gated shared expert. */
export const qwen2Moe: Family = {
  id: 'qwen2_moe',
  classes: ['Qwen2MoeForCausalLM'],
  config(f: ConfigFields, hfArchitecture: string): ModelConfig {
    f.requireSilu();
    f.requireFullAttention();
    const c = commonHyperParameters(f, hfArchitecture, { maxPositions: 32768, rmsEps: 1e-6 });
    const rope = f.rotation(10000);
    return { ...c, architecture: 'qwen2_moe', ...qwenMoe(f, c, (mlp) => llamaLayer(c, rope, mlp, { bias: true }), true) };
  },
  tensors: (c) => [...modelTensors(c), ...perLayer(c, (l, p, key) => [...preNorms(c, p, key), ...attentionTensors(c, l, p, key), ...qwenMoeMlpTensors(c, l, p, key)])],
};
