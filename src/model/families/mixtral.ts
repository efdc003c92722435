import { commonHyperParameters, type ConfigFields } from '../config_fields';
import type { ModelConfig } from '../config';
import { attentionTensors, everyLayer, llamaLayer, modelTensors, perLayer, preNorms, routedExperts, type Family } from '../family';

/**
 * Mixtral: Llama attention; every MLP is `block_sparse_moe`: softmax router, top-k renormalised, experts
 * w2(silu(w1 x) * w3 x).
 */
export const mixtral: Family = {
  id: 'mixtral',
  classes: ['MixtralForCausalLM'],
  config(f: ConfigFields, hfArchitecture: string): ModelConfig {
    f.requireSilu();
    f.requireFullAttention();
    const c = commonHyperParameters(f, hfArchitecture, { maxPositions: 4096 * 32, rmsEps: 1e-5 });
    const moe = { experts: f.int('num_local_experts'), expertsPerToken: f.int('num_experts_per_tok'), expertIntermediate: c.intermediate, normTopK: true, routerScore: 'softmax' as const };
    return { ...c, architecture: 'mixtral', moe, recipe: everyLayer(c, llamaLayer(c, f.rotation(1e6), 'moe')) };
  },
  tensors: (c) => {
    const w = { gate: 'w1', up: 'w3', down: 'w2' } as const;
    return [
      ...modelTensors(c),
      ...perLayer(c, (l, p, key) => [
        ...preNorms(c, p, key),
        ...attentionTensors(c, l, p, key),
        ...routedExperts(c, `${key}.moe`, `${p}.block_sparse_moe.gate.weight`, (e, m) => `${p}.block_sparse_moe.experts.${e}.${w[m]}.weight`),
      ]),
    ];
  },
};
