import { commonHyperParameters, type ConfigFields } from '../config_fields';
import type { ModelConfig } from '../config';
import { attentionTensors, everyLayer, llamaLayer, modelTensors, perLayer, preNorms, swiglu, type Family } from '../family';

/**
 * Llama and Mistral: pre-norm layers, rotary GQA attention without biases, SwiGLU MLP.
 *   x += o(attn(rope(q(n)), rope(k(n)), v(n)))  with n = input_layernorm(x)
 *   x += down(silu(gate(m)) * up(m))            with m = post_attention_layernorm(x)
 * Mistral's `sliding_window` (when set) limits every layer's attention to that many keys.
 */
export const llama: Family = {
  id: 'llama',
  classes: ['LlamaForCausalLM', 'MistralForCausalLM'],
  config(f: ConfigFields, hfArchitecture: string): ModelConfig {
    f.requireSilu();
    f.require('mlp_bias', false, 'MLP biases');
    f.require('attention_bias', false, 'Llama-style attention biases (including o_proj)');
    const mistral = hfArchitecture === 'MistralForCausalLM';
    if (!mistral) f.requireFullAttention();
    const c = commonHyperParameters(f, hfArchitecture, { maxPositions: mistral ? 4096 * 32 : 2048, rmsEps: 1e-6 });
    const window = mistral && f.optional('sliding_window') !== null ? f.int('sliding_window') : 0;
    return { ...c, architecture: 'llama', recipe: everyLayer(c, llamaLayer(c, f.rotation(10000), 'dense', { window })) };
  },
  tensors: (c) => [
    ...modelTensors(c),
    ...perLayer(c, (l, p, key) => [...preNorms(c, p, key), ...attentionTensors(c, l, p, key), ...swiglu(c, `${p}.mlp`, `${key}.mlp`, c.intermediate)]),
  ],
};
