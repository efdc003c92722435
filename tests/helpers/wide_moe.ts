/**
 * A random-weight Mixtral whose matrices are whole 256-blocks (hidden and expert width 256), so that GGUF K-quants hold
 * its routed experts; tiny-moe's tokenizer. Written once into a git-ignored folder.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { safetensorsBytes } from './safetensors_writer';
import { randomModelFolder, seededTensors, type RandomTensor } from './random_weights';

const TINY_MOE = 'public/models/tiny-moe';
export const WIDE_MOE = '.cache/wide-moe';

/** 2 layers, 4 experts (top-2), hidden 256, 4 heads of 64 (2 kv heads), f32 weights from a fixed seed. Returns the folder. */
export function wideMoeModel(): string {
  if (existsSync(join(WIDE_MOE, 'model.safetensors'))) return WIDE_MOE;
  mkdirSync(WIDE_MOE, { recursive: true });
  const config = randomModelFolder(WIDE_MOE, TINY_MOE, { hidden_size: 256, intermediate_size: 256, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 64, num_local_experts: 4 });
  const tensor = seededTensors(4242);
  const { hidden_size: h, intermediate_size: m, vocab_size: v, num_local_experts: experts, head_dim: d } = config;
  const tensors: Record<string, ReturnType<RandomTensor>> = { 'model.embed_tokens.weight': tensor([v, h], 1), 'model.norm.weight': tensor([h], 0, 1) };
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    Object.assign(tensors, {
      [`${p}.input_layernorm.weight`]: tensor([h], 0, 1), [`${p}.post_attention_layernorm.weight`]: tensor([h], 0, 1),
      [`${p}.self_attn.q_proj.weight`]: tensor([4 * d, h], 0.15), [`${p}.self_attn.k_proj.weight`]: tensor([2 * d, h], 0.15),
      [`${p}.self_attn.v_proj.weight`]: tensor([2 * d, h], 0.15), [`${p}.self_attn.o_proj.weight`]: tensor([h, 4 * d], 0.15),
      [`${p}.block_sparse_moe.gate.weight`]: tensor([experts, h], 0.3),
    });
    for (let e = 0; e < experts; e++) {
      const x = `${p}.block_sparse_moe.experts.${e}`;
      Object.assign(tensors, { [`${x}.w1.weight`]: tensor([m, h], 0.15), [`${x}.w3.weight`]: tensor([m, h], 0.15), [`${x}.w2.weight`]: tensor([h, m], 0.15) });
    }
  }
  writeFileSync(join(WIDE_MOE, 'model.safetensors'), safetensorsBytes(tensors));
  return WIDE_MOE;
}
