import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { testGpu } from './helpers/gpu';
import { FIXTURE_MODELS, readFixture, argmaxRows } from './helpers/fixtures';
import { relativeError } from './helpers/reference';
import { modelWithAdapter, randomAdapterTensors, storedTensor, type AdapterSpec } from './helpers/adapter_models';
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

const TINY_DENSE = 'public/models/tiny-dense';

/**
 * tiny-dense with its trained adapter once one ships, else with random adapters at exits 2 and 6 whose drafts stay
 * close to the plain exits' (a small o_proj, the model's final norm), so that rounds often accept every draft.
 */
function tinyDenseWithAdapter(): { dir: string; exits: number[] } {
  const shipped = JSON.parse(readFileSync(`${TINY_DENSE}/config.json`, 'utf8')).self_speculative;
  if (shipped) return { dir: TINY_DENSE, exits: shipped.adapters.map((a: AdapterSpec) => a.exit_layer) };
  const specs = [2, 6].map((exit_layer): AdapterSpec => ({ exit_layer, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 64 }));
  const finalNorm = storedTensor(`${TINY_DENSE}/model.safetensors`, 'model.norm.weight');
  return { dir: modelWithAdapter(TINY_DENSE, 'tiny-dense-random', specs, randomAdapterTensors(256, specs, 11, { oScale: 2e-3, finalNorm })), exits: [2, 6] };
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

describe('self-speculative decoding with a Kangaroo adapter is lossless', () => {
  const tied = readFixture(`${TIED}/fixture.safetensors`);
  const prompt = Array.from(tied.greedy_prompt);
  const golden = Array.from(tied.greedy_tokens);

  it('on llama-tied with a random adapter: greedy equals plain greedy with the adapter pinned, DEL choosing, and plain exits pinned', async () => {
    const runtime = await Runtime.load(await testGpu(), directorySource(fixtureModel()), { contextLength: 128 });
    const plain = await generate(runtime, prompt, golden.length, { kind: 'greedy' });
    expect(plain.result.tokens).toEqual(golden);
    const settings: [Strategy, 'adapter' | 'exit' | 'either'][] = [
      [{ kind: 'self-speculative', exitLayer: 1, draftLength: 3 }, 'adapter'], // a pinned exit with an adapter drafts with it
      [{ kind: 'self-speculative', exitLayer: 1, draftLength: 4, draftSource: 'adapter', confidenceThreshold: 0.3 }, 'adapter'],
      [{ kind: 'self-speculative', exitLayer: 'auto', draftLength: 'auto', draftSource: 'adapter' }, 'adapter'],
      [{ kind: 'self-speculative', exitLayer: 'auto', draftLength: 'auto' }, 'either'],
      [{ kind: 'self-speculative', exitLayer: 1, draftLength: 3, draftSource: 'exit' }, 'exit'],
    ];
    for (const [strategy, source] of settings) {
      const { result, rounds } = await generate(runtime, prompt, golden.length, strategy);
      const s = result.stats;
      expect(result.tokens, JSON.stringify(strategy)).toEqual(golden);
      const drafting = rounds.filter((r) => r.drafted > 0);
      expect(drafting.length, JSON.stringify(strategy)).toBeGreaterThan(0);
      const byAdapter = s.acceptanceByAdapter?.[1]?.drafted ?? 0;
      if (source === 'adapter') expect(drafting.every((r) => r.adapter)).toBe(true);
      if (source === 'exit') expect(drafting.some((r) => r.adapter)).toBe(false);
      expect(byAdapter).toBe(drafting.filter((r) => r.adapter).reduce((a, r) => a + r.drafted, 0));
      expect(byAdapter + Object.values(s.acceptanceByExitLayer!).reduce((a, e) => a + e.drafted, 0)).toBe(s.drafted);
      if (source === 'either') {
        expect(s.delDecision!.adapterAcceptance![1]).toBeGreaterThan(0);
        expect(s.tokensByVerdict!.adapter).toBe(rounds.filter((r) => r.adapter).reduce((a, r) => a + r.accepted + 1, 0));
      }
      // the adapter's cache never holds positions the model's does not
      expect(runtime.model.adapter(1)!.kv.length).toBeLessThanOrEqual(runtime.model.kv.length);
    }
    runtime.dispose();
  });

  it('on tiny-dense with an adapter: greedy equals the reference greedy tokens, pinned and under DEL', async () => {
    const fx = readFixture('tests/fixtures/tiny-dense.safetensors');
    const expected = Array.from(fx.greedy_tokens).slice(0, 40);
    const { dir, exits } = tinyDenseWithAdapter();
    const runtime = await Runtime.load(await testGpu(), directorySource(dir), { contextLength: 256 });
    for (const strategy of [{ kind: 'self-speculative', exitLayer: exits[exits.length - 1], draftLength: 3 }, { kind: 'self-speculative', exitLayer: 'auto', draftLength: 'auto' }] as Strategy[]) {
      const { result, rounds } = await generate(runtime, Array.from(fx.greedy_prompt), expected.length, strategy);
      expect(result.tokens, JSON.stringify(strategy)).toEqual(expected);
      if (strategy.kind === 'self-speculative' && strategy.exitLayer !== 'auto') expect(rounds.some((r) => r.adapter)).toBe(true);
    }
    runtime.dispose();
  });

  it("leaves the adapter's KV cache equal to a fresh prefill's of the accepted tokens (rounds accepting every draft included)", async () => {
    const gpu = await testGpu();
    const { dir, exits } = tinyDenseWithAdapter();
    const runtime = await Runtime.load(gpu, directorySource(dir), { contextLength: 128 });
    const adapter = runtime.model.adapter(exits[exits.length - 1])!;
    const { kvHeads, headDim } = adapter.shape;
    const start = [0, 1268, 340, 1331, 260, 580, 46];
    const strategy: Strategy = { kind: 'self-speculative', exitLayer: adapter.exitLayer, draftLength: 2 };
    const { result, rounds } = await generate(runtime, start, 24, strategy);
    // after a round accepting every draft the adapter lacks the last draft's position, fed from the exit states next round
    expect(rounds.some((r) => r.adapter && r.accepted === r.drafted)).toBe(true);
    const positions = adapter.kv.length;
    expect(positions).toBeGreaterThan(start.length + 10);
    /** keys and values of positions 0..positions-1, per kv head */
    const cache = async () => {
      const out: Float32Array[] = [];
      for (const b of [adapter.kv.keys[0], adapter.kv.values[0]]) {
        const all = new Float32Array(await readBuffer(gpu, b));
        for (let h = 0; h < kvHeads; h++) out.push(all.slice(h * adapter.kv.maxSeq * headDim, (h * adapter.kv.maxSeq + positions) * headDim));
      }
      return out;
    };
    const speculated = await cache();
    runtime.resetCache();
    await generate(runtime, [...start, ...result.tokens], 1, strategy);
    const prefilled = await cache();
    speculated.forEach((c, i) => expect(relativeError(c, prefilled[i])).toBeLessThan(1e-5));
    runtime.dispose();
  });

  // one long sampled generation: each emitted token's rank under the full model's distribution at its position
  // (from one logits pass over the whole sequence) must follow those distributions
  it('keeps the target distribution when sampling with adapter drafts (chi-square over rank buckets)', async () => {
    const runtime = await Runtime.load(await testGpu(), directorySource(fixtureModel()), { contextLength: 256 });
    const vocab = runtime.config.vocab;
    const { result } = await generate(runtime, prompt, 120, { kind: 'self-speculative', exitLayer: 1, draftLength: 2, draftSource: 'adapter', sampling: { temperature: 1, seed: 5 } });
    const { drafted, accepted } = result.stats.acceptanceByAdapter![1];
    expect(accepted / drafted).toBeLessThan(0.9); // the residual distribution does part of the work
    const sequence = [...prompt, ...result.tokens];
    const logits = await runtime.logits(sequence.slice(0, -1));
    const buckets = 5; // ranks 0, 1, 2, 3 and the rest
    const observed = new Array(buckets).fill(0), expected = new Array(buckets).fill(0);
    for (let t = prompt.length - 1; t < sequence.length - 1; t++) {
      const row = logits.subarray(t * vocab, (t + 1) * vocab);
      const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a]);
      const weights = order.map((v) => Math.exp(row[v] - row[order[0]]));
      const total = weights.reduce((a, b) => a + b, 0);
      weights.forEach((w, rank) => (expected[Math.min(rank, buckets - 1)] += w / total));
      observed[Math.min(order.indexOf(sequence[t + 1]), buckets - 1)]++;
    }
    expect(Math.min(...expected)).toBeGreaterThan(5);
    const chiSquare = observed.reduce((sum, o, b) => sum + (o - expected[b]) ** 2 / expected[b], 0);
    expect(chiSquare).toBeLessThan(18.47); // 99.9% quantile, 4 degrees of freedom
    runtime.dispose();
  });

  it('refuses draftSource adapter for a model or exit layer without one', async () => {
    const runtime = await Runtime.load(await testGpu(), directorySource(TIED), { contextLength: 64 });
    await expect(generate(runtime, prompt, 4, { kind: 'self-speculative', draftSource: 'adapter' })).rejects.toBeInstanceOf(InvalidRequestError);
    runtime.dispose();
  });
});
