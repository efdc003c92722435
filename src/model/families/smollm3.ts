import { commonHyperParameters, type ConfigFields } from '../config_fields';
import type { ModelConfig } from '../config';
import { llamaLayer, type Family } from '../family';
import { llama } from './llama';

/**
 * SmolLM3: Llama layers where some skip the rotary embedding (NoPE): layer i rotates iff no_rope_layers[i] is 1
 * (default: all but every no_rope_layer_interval-th layer). With use_sliding_window, the NoPE layers slide.
 */
export const smollm3: Family = {
  id: 'smollm3',
  classes: ['SmolLM3ForCausalLM'],
  config(f: ConfigFields, hfArchitecture: string): ModelConfig {
    f.requireSilu();
    f.require('mlp_bias', false, 'MLP biases');
    f.require('attention_bias', false, 'attention biases (including o_proj)');
    const c = commonHyperParameters(f, hfArchitecture, { maxPositions: 32768, rmsEps: 1e-6, tieEmbeddings: true });
    const interval = f.int('no_rope_layer_interval', 4);
    const listed = f.optional('no_rope_layers');
    if (listed !== null && !(Array.isArray(listed) && listed.length === c.layers && listed.every((v) => v === 0 || v === 1))) {
      throw f.format('no_rope_layers', `${JSON.stringify(listed)} is not a list of ${c.layers} zeros and ones`);
    }
    const rotates = (listed as number[] | null) ?? Array.from({ length: c.layers }, (_, i) => ((i + 1) % interval !== 0 ? 1 : 0));
    const window = f.bool('use_sliding_window', false) && f.optional('sliding_window') !== null ? f.int('sliding_window') : 0;
    const rope = f.rotation(2e6);
    return { ...c, architecture: 'smollm3', recipe: rotates.map((r) => (r ? llamaLayer(c, rope) : llamaLayer(c, null, 'dense', { window }))) };
  },
  tensors: llama.tensors,
};
