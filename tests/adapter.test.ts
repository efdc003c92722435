import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { testGpu } from './helpers/gpu';
import { FIXTURE_MODELS, readFixture, argmaxRows } from './helpers/fixtures';
import { relativeError } from './helpers/reference';
import { modelWithAdapter, randomAdapterTensors, type AdapterSpec } from './helpers/adapter_models';
import { safetensorsBytes } from './helpers/safetensors_writer';
import { directorySource } from '../src/node/source';
import { memorySource } from '../src/model/source';
import { Runtime } from '../src/runtime/runtime';
import { estimateMemory } from '../src/runtime/load';
import { parseConfig } from '../src/model/config';
import { parameterCount } from '../src/model/weight_plan';
import { readBuffer } from '../src/gpu/buffers';
import { ParamArena, Step } from '../src/gpu/step';
import { ModelFormatError, InvalidRequestError } from '../src/contract/errors';
import type { GenerateResult, RoundInfo, Strategy } from '../src/contract/types';

const LOGIT_TOLERANCE = 2e-3;
const TIED = `${FIXTURE_MODELS}/llama-tied`;
const ADAPTER_FIXTURE = 'tests/fixtures/adapters/llama-tied';
const tiedConfig = () => JSON.parse(readFileSync(`${TIED}/config.json`, 'utf8'));
const SPEC: AdapterSpec = { exit_layer: 1, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 32 };

/** llama-tied with the fixture's random adapter (tools/train/make_adapter_fixture.py). */
function fixtureModel(): string {
  const adapter = readFileSync(`${ADAPTER_FIXTURE}/adapter.safetensors`);
  return modelWithAdapter(TIED, 'llama-tied-fixture', [SPEC], {}, { 'adapter.safetensors': adapter, 'config.json': readFileSync(`${ADAPTER_FIXTURE}/config.json`, 'utf8') });
}

async function generate(runtime: Runtime, prompt: number[], maxTokens: number, strategy: Strategy): Promise<{ result: GenerateResult; rounds: RoundInfo[] }> {
  const rounds: RoundInfo[] = [];
  const result = await runtime.generate({ prompt, maxTokens, stopAtEos: false, strategy }, (ev) => {
    if (ev.type === 'tokens' && ev.round) rounds.push(ev.round);
  });
  return { result, rounds };
}

describe('Kangaroo adapter checkpoints', () => {
  it('parse the self_speculative block and refuse malformed ones naming the field', () => {
    const block = { adapter_file: 'adapter.safetensors', adapters: [{ exit_layer: 1, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 32 }] };
    const config = parseConfig({ ...tiedConfig(), self_speculative: block });
    expect(config.selfSpeculative).toEqual({ adapterFile: 'adapter.safetensors', adapters: [{ exitLayer: 1, heads: 2, kvHeads: 1, headDim: 32 }] });
    expect(parseConfig(tiedConfig()).selfSpeculative).toBeUndefined();
    const adapter = block.adapters[0];
    const bad: [unknown, string][] = [
      [[], 'self_speculative'],
      [{ adapters: [] }, 'self_speculative.adapters'],
      [{ adapter_file: '../model.safetensors', adapters: block.adapters }, 'self_speculative.adapter_file'],
      [{ adapters: [{ ...adapter, exit_layer: 2 }] }, 'self_speculative.adapters[0].exit_layer'], // 2 layers: exits 1..1
      [{ adapters: [{ ...adapter, num_key_value_heads: 3 }] }, 'self_speculative.adapters[0].num_key_value_heads'],
      [{ adapters: [{ ...adapter, head_dim: 31 }] }, 'self_speculative.adapters[0].head_dim'],
      [{ adapters: [adapter, adapter] }, 'self_speculative.adapters'],
    ];
    for (const [value, field] of bad) {
      const error = (() => {
        try {
          parseConfig({ ...tiedConfig(), self_speculative: value });
        } catch (e) {
          return e;
        }
      })();
      expect(error, JSON.stringify(value)).toBeInstanceOf(ModelFormatError);
      expect((error as ModelFormatError).details.field).toBe(field);
    }
    // the adapter's weights count as parameters and memory; its one-layer cache as KV memory
    const adapterParams = 2 * 64 + 64 * 64 + 2 * 32 * 64 + 64 * 64;
    expect(parameterCount(config) - parameterCount(parseConfig(tiedConfig()))).toBe(adapterParams);
    const withAdapter = estimateMemory(config, { contextLength: 128 }), without = estimateMemory(parseConfig(tiedConfig()), { contextLength: 128 });
    expect(withAdapter.gpuWeights - without.gpuWeights).toBe(2 * adapterParams - 2 * 2 * 64 + 2 * 4 * 64); // F16 matrices, f32 norms
    expect(withAdapter.kvCache - without.kvCache).toBe(2 * 4 * 32 * 128);
  });

  it('refuse a missing adapter file and missing or misshaped adapter tensors, then load a good one', async () => {
    const gpu = await testGpu();
    const config = JSON.stringify({ ...tiedConfig(), self_speculative: { adapters: [SPEC] } });
    const files = { 'config.json': config, 'model.safetensors': new Uint8Array(readFileSync(`${TIED}/model.safetensors`)) };
    const tensors = randomAdapterTensors(64, [SPEC], 7);
    const load = (extra: Record<string, Uint8Array>) => Runtime.load(gpu, memorySource({ ...files, ...extra }));
    await expect(load({})).rejects.toThrow(/adapter_file names adapter\.safetensors, which is not in/);
    const { ['kangaroo.1.self_attn.k_proj.weight']: _, ...missing } = tensors;
    await expect(load({ 'adapter.safetensors': safetensorsBytes(missing) })).rejects.toThrow(/"kangaroo\.1\.self_attn\.k_proj\.weight" is missing/);
    const misshaped = { ...tensors, 'kangaroo.1.self_attn.q_proj.weight': { ...tensors['kangaroo.1.self_attn.q_proj.weight'], shape: [32, 128] } };
    await expect(load({ 'adapter.safetensors': safetensorsBytes(misshaped) })).rejects.toBeInstanceOf(ModelFormatError);
    const runtime = await load({ 'adapter.safetensors': safetensorsBytes(tensors) });
    expect(runtime.info.draftAdapters).toEqual([1]);
    expect(runtime.model.adapters).toHaveLength(1);
    runtime.dispose();
  });
});

describe('Kangaroo adapter drafts', () => {
  it('equal the PyTorch reference draft logits at every position (one multi-row pass, and token by token)', async () => {
    const gpu = await testGpu();
    const fx = readFixture(`${ADAPTER_FIXTURE}/fixture.safetensors`);
    const runtime = await Runtime.load(gpu, directorySource(fixtureModel()), { contextLength: 64 });
    const { model } = runtime;
    const adapter = model.adapter(1)!;
    const ids = Array.from(fx.prompt);
    const vocab = runtime.config.vocab;
    const arena = new ParamArena(gpu);
    gpu.device.queue.writeBuffer(model.act.ids, 0, Uint32Array.from(ids));
    const draft = async (first: number, count: number) => {
      const step = new Step(gpu, arena);
      model.embed(step, model.act.ids, first, count);
      model.layers(step, count, first, 0, 1);
      adapter.record(step, model.act.x, count, first);
      model.head(step, count, 0, adapter.weights.norm);
      step.read(model.act.logits, 0, 4 * count * vocab);
      return new Float32Array((await step.submit())[0]);
    };
    const whole = await draft(0, ids.length);
    const byToken = new Float32Array(ids.length * vocab);
    for (let i = 0; i < ids.length; i++) byToken.set(await draft(i, 1), i * vocab);
    for (const logits of [whole, byToken]) {
      console.log(`adapter draft logits: relative error ${relativeError(logits, fx.draft_logits).toExponential(2)}`);
      expect(relativeError(logits, fx.draft_logits)).toBeLessThanOrEqual(LOGIT_TOLERANCE);
      expect(argmaxRows(logits, vocab)).toEqual(argmaxRows(fx.draft_logits, vocab));
    }
    arena.destroy();
    runtime.dispose();
  });
});
