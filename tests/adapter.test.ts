import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { testGpu } from './helpers/gpu';
import { FIXTURE_MODELS, readFixture, argmaxRows } from './helpers/fixtures';
import { relativeError } from './helpers/reference';
import { modelWithAdapter, randomAdapterTensors, storedTensor, type AdapterSpec } from './helpers/adapter_models';
import { safetensorsBytes } from './helpers/safetensors_writer';
import { directorySource } from '../src/node/source';
import { memorySource, urlSource } from '../src/model/source';
import { startStaticServer } from './helpers/static_server';
import { rmSync } from 'node:fs';
import { Runtime } from '../src/runtime/runtime';
import { estimateMemory } from '../src/runtime/load';
import { parseConfig } from '../src/model/config';
import { parameterCount } from '../src/model/weight_plan';
import { readBuffer } from '../src/gpu/buffers';
import { ParamArena, Step } from '../src/gpu/step';
import { ModelFormatError, InvalidRequestError } from '../src/contract/errors';
import type { GenerateResult, RoundInfo, Strategy } from '../src/contract/types';
import { ExitPolicy, tokensPerLayer } from '../src/decode/exit_policy';
import { expectTargetDistribution } from './helpers/rank_chi_square';

const LOGIT_TOLERANCE = 2e-3;
const TIED = `${FIXTURE_MODELS}/llama-tied`;
const ADAPTER_FIXTURE = 'tests/fixtures/adapters/llama-tied';
const tiedConfig = () => JSON.parse(readFileSync(`${TIED}/config.json`, 'utf8'));
const SPEC: AdapterSpec = { exit_layer: 1, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 32 };

/** llama-tied with the fixture's random adapter (tools/train/make_adapter_fixture.py). */
function fixtureModel(name = 'llama-tied-fixture'): string {
  const adapter = readFileSync(`${ADAPTER_FIXTURE}/adapter.safetensors`);
  return modelWithAdapter(TIED, name, [SPEC], {}, { 'adapter.safetensors': adapter, 'config.json': readFileSync(`${ADAPTER_FIXTURE}/config.json`, 'utf8') });
}

/**
 * A shipped model with its trained adapters once they ship, else with random adapters at `exits` whose drafts stay
 * close to the plain exits' (a small o_proj, the model's final norm), so that rounds often accept every draft.
 */
function shippedWithAdapter(name: 'tiny-dense' | 'tiny-moe', exits: number[]): { dir: string; exits: number[] } {
  const folder = `public/models/${name}`;
  const config = JSON.parse(readFileSync(`${folder}/config.json`, 'utf8'));
  if (config.self_speculative) return { dir: folder, exits: config.self_speculative.adapters.map((a: AdapterSpec) => a.exit_layer) };
  const shape = { num_attention_heads: config.num_attention_heads, num_key_value_heads: config.num_key_value_heads, head_dim: config.head_dim };
  const specs = exits.map((exit_layer): AdapterSpec => ({ exit_layer, ...shape }));
  const finalNorm = storedTensor(`${folder}/model.safetensors`, 'model.norm.weight');
  return { dir: modelWithAdapter(folder, `${name}-random`, specs, randomAdapterTensors(config.hidden_size, specs, 11, { oScale: 2e-3, finalNorm })), exits };
}
const tinyDenseWithAdapter = () => shippedWithAdapter('tiny-dense', [2, 6]);

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

  it('fetch the adapter file like the other files from a URL, and name it when the server lacks it', async () => {
    const dir = fixtureModel('llama-tied-url');
    const server = await startStaticServer('.cache/adapter-models');
    try {
      const runtime = await Runtime.load(await testGpu(), urlSource(`${server.url}/llama-tied-url/`), { contextLength: 64 });
      expect(runtime.info.draftAdapters).toEqual([1]);
      expect(server.requests.some((r) => r.method === 'GET' && r.path.endsWith('/adapter.safetensors'))).toBe(true);
      runtime.dispose();
      rmSync(`${dir}/adapter.safetensors`);
      await expect(Runtime.load(await testGpu(), urlSource(`${server.url}/llama-tied-url/`))).rejects.toMatchObject({ details: { field: 'self_speculative.adapter_file' } });
    } finally {
      await server.close();
    }
  });
});

describe('DEL with Kangaroo adapters', () => {
  it('weighs each adapter as a draft source with its own acceptance and cost (brute-force TPL argmax)', () => {
    const layers = 8, maxDraft = 6, headCost = 1;
    const adapters = [{ exitLayer: 2, cost: 0.3 }, { exitLayer: 4, cost: 0.3 }];
    const plainRates = [0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9];
    const chosen = new Set<boolean>();
    for (const [rate2, rate4] of [[0.5, 0.5], [0.85, 0.6], [0.6, 0.92], [0.99, 0.99]]) {
      for (const rowCost of [0, 0.5]) {
        const policy = new ExitPolicy(layers, maxDraft, 0, { rate: 0, trials: 0 }, headCost, rowCost, { plain: true, adapters });
        plainRates.forEach((a, i) => policy.observe(i + 1, a * 1000, 1000));
        policy.observe(2, rate2 * 1000, 1000, true);
        policy.observe(4, rate4 * 1000, 1000, true);
        let best = { tpl: -1, exitLayer: 0, draftLength: 0, adapter: false };
        const sources = [...plainRates.map((alpha, i) => ({ exitLayer: i + 1, alpha, extra: 0, adapter: false })), { exitLayer: 2, alpha: rate2, extra: 0.3, adapter: true }, { exitLayer: 4, alpha: rate4, extra: 0.3, adapter: true }];
        for (const { exitLayer, alpha, extra, adapter } of sources) {
          for (let d = 0; d <= maxDraft; d++) {
            const tpl = tokensPerLayer(alpha, exitLayer, d, layers, headCost, rowCost, extra);
            if (tpl > best.tpl + 1e-12) best = { tpl, exitLayer, draftLength: d, adapter };
          }
        }
        const choice = policy.choose();
        expect({ ...choice, adapter: choice.adapter ?? false }, JSON.stringify({ rate2, rate4, rowCost })).toEqual({ exitLayer: best.exitLayer, draftLength: best.draftLength, adapter: best.adapter });
        expect(policy.explain().adapterAcceptance).toEqual({ 2: rate2, 4: rate4 });
        chosen.add(best.adapter);
      }
    }
    expect(chosen, 'the grid has adapter and plain-exit optima').toEqual(new Set([true, false]));
    // an adapter draft costs its layers, the adapter and the head
    expect(tokensPerLayer(1, 2, 1, 8, 1, 0, 0.3)).toBeCloseTo(2 / (2 + 0.3 + 1 + 2 + 6 + 1), 12);
    // pinned to adapters: only adapter sources, at the pinned exit when one is
    const adaptersOnly = new ExitPolicy(layers, maxDraft, 0.9, undefined, headCost, 0, { plain: false, adapters });
    expect(adaptersOnly.candidates()).toEqual([{ exitLayer: 2, adapter: true }, { exitLayer: 4, adapter: true }]);
    expect(adaptersOnly.choose(4, 3)).toEqual({ exitLayer: 4, draftLength: 3, adapter: true });
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
      adapter.record(step, model, count, first);
      model.head(step, count, 0, adapter.weights.norm);
      step.read(model.act.logits, 0, 4 * count * vocab);
      return new Float32Array((await step.submit())[0]);
    };
    const whole = await draft(0, ids.length);
    const byToken = new Float32Array(ids.length * vocab);
    for (let i = 0; i < ids.length; i++) byToken.set(await draft(i, 1), i * vocab);
    console.log(`adapter draft logits: relative error ${[whole, byToken].map((l) => relativeError(l, fx.draft_logits).toExponential(2)).join(' (one pass), ')} (token by token)`);
    for (const logits of [whole, byToken]) {
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

  it('on tiny-dense with an adapter: greedy equals the reference greedy tokens, pinned and under DEL, and constrained greedy', async () => {
    const fx = readFixture('tests/fixtures/tiny-dense.safetensors');
    const expected = Array.from(fx.greedy_tokens).slice(0, 40);
    const { dir, exits } = tinyDenseWithAdapter();
    const runtime = await Runtime.load(await testGpu(), directorySource(dir), { contextLength: 256 });
    for (const strategy of [{ kind: 'self-speculative', exitLayer: exits[exits.length - 1], draftLength: 3 }, { kind: 'self-speculative', exitLayer: 'auto', draftLength: 'auto' }] as Strategy[]) {
      const { result, rounds } = await generate(runtime, Array.from(fx.greedy_prompt), expected.length, strategy);
      expect(result.tokens, JSON.stringify(strategy)).toEqual(expected);
      if (strategy.kind === 'self-speculative' && strategy.exitLayer !== 'auto') expect(rounds.some((r) => r.adapter)).toBe(true);
    }
    // constrained: adapter drafts are masked like plain ones, so the output is constrained greedy's
    const constrained = (strategy: Strategy) => runtime.generate({ prompt: 'JSON:', maxTokens: 24, strategy, responseFormat: { type: 'json_object' } }, () => undefined);
    const speculated = await constrained({ kind: 'self-speculative', exitLayer: exits[0], draftLength: 3, draftSource: 'adapter' });
    expect(speculated.tokens).toEqual((await constrained({ kind: 'greedy' })).tokens);
    expect(speculated.stats.acceptanceByAdapter![exits[0]].drafted).toBeGreaterThan(0);
    runtime.dispose();
  });

  it('on tiny-moe with an adapter: greedy equals the reference greedy tokens', async () => {
    const fx = readFixture('tests/fixtures/tiny-moe.safetensors');
    const expected = Array.from(fx.greedy_tokens).slice(0, 24);
    const { dir, exits } = shippedWithAdapter('tiny-moe', [2]);
    const runtime = await Runtime.load(await testGpu(), directorySource(dir), { contextLength: 128 });
    const { result, rounds } = await generate(runtime, Array.from(fx.greedy_prompt), expected.length, { kind: 'self-speculative', exitLayer: exits[0], draftLength: 3, draftSource: 'adapter' });
    expect(result.tokens).toEqual(expected);
    expect(rounds.some((r) => r.adapter)).toBe(true);
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
    const { result } = await generate(runtime, prompt, 120, { kind: 'self-speculative', exitLayer: 1, draftLength: 2, draftSource: 'adapter', sampling: { temperature: 1, seed: 5 } });
    const { drafted, accepted } = result.stats.acceptanceByAdapter![1];
    expect(accepted / drafted).toBeLessThan(0.9); // the residual distribution does part of the work
    await expectTargetDistribution(runtime, prompt, result.tokens);
    runtime.dispose();
  });

  it('refuses draftSource adapter for a model or exit layer without one, and unknown draft sources', async () => {
    const plainModel = await Runtime.load(await testGpu(), directorySource(TIED), { contextLength: 64 });
    await expect(generate(plainModel, prompt, 4, { kind: 'self-speculative', draftSource: 'adapter' })).rejects.toMatchObject({ details: { field: 'strategy.draftSource' } });
    plainModel.dispose();
    const runtime = await Runtime.load(await testGpu(), directorySource(fixtureModel()), { contextLength: 64 });
    await expect(generate(runtime, prompt, 4, { kind: 'self-speculative', exitLayer: 2, draftSource: 'adapter' })).rejects.toMatchObject({ details: { field: 'strategy.exitLayer' } });
    await expect(generate(runtime, prompt, 4, { kind: 'self-speculative', draftSource: 'medusa' as 'exit' })).rejects.toBeInstanceOf(InvalidRequestError);
    expect((await generate(runtime, prompt, 4, { kind: 'greedy' })).result.tokens).toEqual(golden.slice(0, 4)); // still usable
    runtime.dispose();
  });
});
