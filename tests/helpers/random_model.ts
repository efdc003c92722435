/** A random-weight model for constrained decoding tests: any token is likely, and unconstrained output is never well-formed. */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Runtime } from '../../src/runtime/runtime';
import { safetensorsBytes } from './safetensors_writer';
import { randomModelFolder, seededTensors, type RandomTensor } from './random_weights';
import { loadRuntime } from './runtime';

export const TINY = 'public/models/tiny-dense';

/** A 2-layer Llama with tiny-dense's tokenizer and random f32 weights (scaled so logits spread widely). */
export function randomModel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'random-llama-'));
  const config = randomModelFolder(dir, TINY, { hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, head_dim: 16 });
  const tensor = seededTensors(12345);
  const { hidden_size: h, intermediate_size: m, vocab_size: v, num_attention_heads: heads, num_key_value_heads: kv, head_dim: d } = config;
  const tensors: Record<string, ReturnType<RandomTensor>> = { 'model.embed_tokens.weight': tensor([v, h], 1), 'model.norm.weight': tensor([h], 0, 1) };
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    Object.assign(tensors, {
      [`${p}.input_layernorm.weight`]: tensor([h], 0, 1), [`${p}.post_attention_layernorm.weight`]: tensor([h], 0, 1),
      [`${p}.self_attn.q_proj.weight`]: tensor([heads * d, h], 0.3), [`${p}.self_attn.k_proj.weight`]: tensor([kv * d, h], 0.3),
      [`${p}.self_attn.v_proj.weight`]: tensor([kv * d, h], 0.3), [`${p}.self_attn.o_proj.weight`]: tensor([h, heads * d], 0.3),
      [`${p}.mlp.gate_proj.weight`]: tensor([m, h], 0.3), [`${p}.mlp.up_proj.weight`]: tensor([m, h], 0.3), [`${p}.mlp.down_proj.weight`]: tensor([h, m], 0.3),
    });
  }
  writeFileSync(join(dir, 'model.safetensors'), safetensorsBytes(tensors));
  return dir;
}

/** A Runtime on a fresh random model for the enclosing describe block (loaded before its tests, removed after): call the getter inside tests. */
export function useRandomModelRuntime(): () => Runtime {
  let runtime: Runtime | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    dir = randomModel();
    runtime = await loadRuntime(dir);
  });
  afterAll(() => {
    runtime?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => runtime!;
}
