import { commonHyperParameters, type ConfigFields } from '../config_fields';
import type { ModelConfig } from '../config';
import { everyLayer, llamaLayer, type Family } from '../family';
import { llama } from './llama';

/** Qwen2 / Qwen2.5: Llama's layers with biases on the q/k/v projections (not on o_proj). */
export const qwen2: Family = {
  id: 'qwen2',
  classes: ['Qwen2ForCausalLM'],
  config(f: ConfigFields, hfArchitecture: string): ModelConfig {
    f.requireSilu();
    f.requireFullAttention();
    const c = commonHyperParameters(f, hfArchitecture, { maxPositions: 32768, rmsEps: 1e-6 });
    return { ...c, architecture: 'qwen2', recipe: everyLayer(c, llamaLayer(c, f.rotation(10000), 'dense', { bias: true })) };
  },
  tensors: llama.tensors,
};
