import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelFormatError, UnsupportedModelError } from '../src/contract/errors';
import { isMoeLayer, loadConfig, parseConfig } from '../src/model/config';
import { parameterCount, planWeights } from '../src/model/weight_plan';
import { parseHeaderJson, parseHeaderLength } from '../src/model/safetensors';
import { FIXTURE_MODELS, fixtureModels } from './helpers/fixtures';
import { memorySource } from '../src/model/source';

const fixture = (dir: string) => JSON.parse(readFileSync(`tests/fixtures/models/${dir}/config.json`, 'utf8'));

function expectError(json: unknown, cls: typeof ModelFormatError | typeof UnsupportedModelError, field: string) {
  let error: unknown;
  try {
    parseConfig(json);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(cls);
  expect((error as Error).message).toContain('config.json');
  expect((error as Error).message).toContain(field);
}

describe('parseConfig', () => {
  it('reads a Llama config with GQA and defaults', () => {
    const c = parseConfig(fixture('llama-gqa3'));
    expect(c).toMatchObject({ hfArchitecture: 'LlamaForCausalLM', architecture: 'llama', hidden: 96, heads: 6, kvHeads: 2, headDim: 16, vocab: 384, layers: 2, tieEmbeddings: false, bosTokenId: 0, eosTokenIds: [1] });
    expect(c.moe).toBeUndefined();
  });

  it('takes an explicit head_dim, tied embeddings and Qwen2 biases', () => {
    expect(parseConfig(fixture('llama-headdim')).headDim).toBe(48);
    expect(parseConfig(fixture('llama-tied')).tieEmbeddings).toBe(true);
    const qwen2 = parseConfig(fixture('qwen2-bias'));
    expect(qwen2).toMatchObject({ architecture: 'qwen2', rmsEps: 1e-6 });
    expect(qwen2.recipe.map((r) => r.attention)).toEqual([0, 1].map(() => ({ bias: true, qkNorm: false, rope: { theta: 1e6 }, window: 0, scale: 0.25, softcap: 0 })));
  });

  it('reads Mixtral and Qwen2-MoE routing', () => {
    const mixtral = parseConfig(fixture('mixtral-rand'));
    expect(mixtral.moe).toMatchObject({ experts: 4, expertsPerToken: 2, normTopK: true });
    expect(mixtral.recipe.map((r) => r.mlp)).toEqual(['moe', 'moe']);
    expect(mixtral.moe!.expertIntermediate).toBe(mixtral.intermediate);
    const qwen = parseConfig(fixture('qwen2moe-rand'));
    expect(qwen.moe).toEqual({ experts: 6, expertsPerToken: 2, expertIntermediate: 48, normTopK: false, sharedExpertIntermediate: 80, routerScore: 'softmax' });
    expect([0, 1, 2].map((i) => isMoeLayer(qwen, i))).toEqual([true, false, true]);
  });

  it('reads Qwen3 (per-head q/k norms, no biases) and Qwen3-MoE (norm_topk_prob, no shared expert)', () => {
    const qwen3 = parseConfig(fixture('qwen3-qknorm'));
    expect(qwen3).toMatchObject({ architecture: 'qwen3', headDim: 32, hidden: 64, tieEmbeddings: true });
    expect(qwen3.recipe.every((r) => r.attention.qkNorm && !r.attention.bias && r.mlp === 'dense')).toBe(true);
    const moe = parseConfig(fixture('qwen3moe-rand'));
    expect(moe.moe).toEqual({ experts: 8, expertsPerToken: 4, expertIntermediate: 16, normTopK: true, routerScore: 'softmax' });
    expect(moe.recipe.map((r) => [r.attention.qkNorm, r.mlp])).toEqual([[true, 'moe'], [true, 'moe']]);
    expectError({ ...fixture('qwen3-qknorm'), attention_bias: true }, UnsupportedModelError, 'attention_bias');
  });

  it('reads Gemma 2 and Gemma 3: sandwich norms, (1 + w) weights, embedding scale, soft-caps, windows per layer type, local RoPE base', () => {
    const g2 = parseConfig(fixture('gemma2-softcap'));
    expect(g2).toMatchObject({ architecture: 'gemma2', normOffset: 1, embedScale: 8, logitSoftcap: 8, tieEmbeddings: true });
    expect(g2.recipe.map((r) => [r.norms, r.activation, r.attention.window, r.attention.softcap, r.attention.scale])).toEqual([0, 16].map((_, l) => ['sandwich', 'gelu_pytorch_tanh', l === 0 ? 16 : 0, 5, 24 ** -0.5]));
    const { final_logit_softcapping: _, ...noCap } = fixture('gemma2-softcap') as Record<string, unknown>;
    expect(parseConfig(noCap).logitSoftcap).toBe(30); // the Gemma2Config default applies only when the field is absent
    expect(parseConfig({ ...noCap, final_logit_softcapping: null }).logitSoftcap).toBe(0);
    const g3 = parseConfig(fixture('gemma3-local'));
    expect(g3).toMatchObject({ architecture: 'gemma3', logitSoftcap: 0 });
    expect(g3.recipe.map((r) => [r.attention.qkNorm, r.attention.window, r.attention.rope, r.attention.softcap])).toEqual([[true, 16, { theta: 1e4 }, 0], [true, 0, { theta: 1e6 }, 0]]);
    const { layer_types: __, ...patterned } = { ...fixture('gemma3-local'), num_hidden_layers: 7 } as Record<string, unknown>;
    expect(parseConfig(patterned).recipe.map((r) => r.attention.window)).toEqual([16, 16, 16, 16, 16, 0, 16]);
    expectError({ ...fixture('gemma3-local'), layer_types: ['full_attention'] }, ModelFormatError, 'layer_types');
    expectError({ ...fixture('gemma3-local'), hidden_activation: 'gelu' }, UnsupportedModelError, 'hidden_activation');
  });

  it('reads SmolLM3 NoPE layers and Mistral windows', () => {
    expect(parseConfig(fixture('smollm3-nope')).recipe.map((r) => r.attention.rope)).toEqual([{ theta: 5e6 }, null]);
    expect(parseConfig({ ...fixture('smollm3-nope'), no_rope_layers: [0, 1] }).recipe.map((r) => r.attention.rope)).toEqual([null, { theta: 5e6 }]);
    expectError({ ...fixture('smollm3-nope'), no_rope_layers: [1] }, ModelFormatError, 'no_rope_layers');
    expect(parseConfig(fixture('mistral-window')).recipe.map((r) => r.attention.window)).toEqual([16, 16]);
  });

  it('reads Phi-3: fused projections split by rows, partial rotary, LongRoPE', () => {
    const c = parseConfig(fixture('phi3-longrope'));
    expect(c.recipe[0].attention.rope).toEqual({
      theta: 10000, rotaryDim: 12,
      scaling: { type: 'longrope', shortFactor: [1, 1.1, 1.25, 1.5, 2, 3], longFactor: [1, 1.5, 2.5, 4, 6, 9], maxPositions: 128, originalMaxPositions: 40 },
    });
    const qkv = planWeights(c).byTensor.get('model.layers.0.self_attn.qkv_proj.weight')!;
    expect(qkv.map(({ destination: d }) => [d.key, d.rowsOf!.start, d.partRows, d.rowsOf!.total])).toEqual([['layers.0.q', 0, 64, 128], ['layers.0.k', 64, 32, 128], ['layers.0.v', 96, 32, 128]]);
    expectError({ ...fixture('phi3-longrope'), partial_rotary_factor: 0.7 }, UnsupportedModelError, 'partial_rotary_factor');
    expectError({ ...fixture('phi3-longrope'), rope_scaling: { type: 'longrope', short_factor: [1], long_factor: [1] } }, ModelFormatError, 'short_factor');
  });

  it('counts every fixture\'s parameters from its family schema as the reference does', () => {
    for (const m of fixtureModels()) {
      const bytes = new Uint8Array(readFileSync(`${FIXTURE_MODELS}/${m}/fixture.safetensors`));
      const header = parseHeaderJson(bytes.subarray(8, 8 + parseHeaderLength(bytes.subarray(0, 8), bytes.length, m)), bytes.length, m);
      expect(parameterCount(parseConfig(fixture(m))), m).toBe(Number(header.metadata.params));
    }
  });

  it('reads rope_parameters (the newer form of rope_theta and rope_scaling)', () => {
    const { rope_theta: _, ...base } = fixture('llama-gqa3') as Record<string, unknown>;
    expect(parseConfig({ ...base, rope_parameters: { rope_type: 'linear', rope_theta: 5e5, factor: 4 } }).recipe[0].attention.rope).toEqual({ theta: 5e5, scaling: { type: 'linear', factor: 4 } });
    expect(parseConfig({ ...base, rope_parameters: { rope_theta: 5e5 } }).recipe[0].attention.rope).toEqual({ theta: 5e5 });
  });

  it('reads rope scaling and eos lists', () => {
    const base = fixture('llama-gqa3');
    const c = parseConfig({ ...base, eos_token_id: [1, 2], rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } });
    expect(c.recipe[0].attention.rope!.scaling).toEqual({ type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
    expect(c.eosTokenIds).toEqual([1, 2]);
    expect(parseConfig({ ...base, rope_scaling: { type: 'linear', factor: 2 } }).recipe[1].attention.rope).toEqual({ theta: 10000, scaling: { type: 'linear', factor: 2 } });
    expectError({ ...base, rope_scaling: { type: 'yarn', factor: 2 } }, UnsupportedModelError, 'rope_scaling');
    expectError({ ...base, rope_scaling: { type: 'linear' } }, ModelFormatError, 'factor');
  });

  it('refuses head sizes the attention kernels do not read (not a multiple of 4)', () => {
    const base = fixture('llama-gqa3');
    expectError({ ...base, head_dim: 18 }, UnsupportedModelError, 'head_dim');
    expect(parseConfig({ ...base, head_dim: 20 }).headDim).toBe(20);
  });

  it('names the file and field of malformed or missing fields', () => {
    const base = fixture('llama-gqa3');
    expectError('not an object', ModelFormatError, 'config.json');
    expectError({ ...base, architectures: undefined }, ModelFormatError, 'architectures');
    expectError({ ...base, hidden_size: undefined }, ModelFormatError, 'hidden_size');
    expectError({ ...base, vocab_size: '384' }, ModelFormatError, 'vocab_size');
    expectError({ ...base, num_hidden_layers: 2.5 }, ModelFormatError, 'num_hidden_layers');
    expectError({ ...base, rms_norm_eps: -1 }, ModelFormatError, 'rms_norm_eps');
    expectError({ ...base, eos_token_id: 'x' }, ModelFormatError, 'eos_token_id');
    expectError({ ...fixture('qwen2moe-rand'), mlp_only_layers: [7] }, ModelFormatError, 'mlp_only_layers');
  });

  it('rejects a missing or malformed config.json, then reads a good one', async () => {
    await expect(loadConfig(memorySource({}))).rejects.toThrow(/config\.json not found/);
    await expect(loadConfig(memorySource({}))).rejects.toBeInstanceOf(ModelFormatError);
    await expect(loadConfig(memorySource({ 'config.json': '{"hidden_size": ' }))).rejects.toThrow(/config\.json: not valid JSON/);
    const good = readFileSync('tests/fixtures/models/llama-mqa/config.json', 'utf8');
    expect((await loadConfig(memorySource({ 'config.json': good }))).kvHeads).toBe(1);
  });

  it('rejects unsupported models with UnsupportedModelError', () => {
    const base = fixture('llama-gqa3');
    expectError({ ...base, architectures: ['GPT2LMHeadModel'] }, UnsupportedModelError, 'architectures');
    expectError({ ...base, architectures: ['OlmoeForCausalLM'] }, UnsupportedModelError, 'q_norm');
    expectError({ ...base, num_key_value_heads: 4 }, UnsupportedModelError, 'num_key_value_heads');
    expectError({ ...base, hidden_act: 'gelu' }, UnsupportedModelError, 'hidden_act');
    expectError({ ...base, attention_bias: true }, UnsupportedModelError, 'attention_bias');
    expectError({ ...base, sliding_window: 128 }, UnsupportedModelError, 'sliding_window');
    expect(parseConfig({ ...base, architectures: ['MistralForCausalLM'], sliding_window: 128 }).recipe.map((r) => r.attention.window)).toEqual([128, 128]);
    expect(parseConfig({ ...base, architectures: ['MistralForCausalLM'], sliding_window: null }).recipe[0].attention.window).toBe(0);
    expect(parseConfig({ ...fixture('qwen2-bias'), use_sliding_window: false, sliding_window: 128 }).architecture).toBe('qwen2');
  });
});
