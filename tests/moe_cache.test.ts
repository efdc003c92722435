import { describe, expect, it, vi } from 'vitest';
import { loadRuntime } from './helpers/runtime';
import { testGpu } from './helpers/gpu';
import { fixtureModels, FIXTURE_MODELS, isMoe, readFixture } from './helpers/fixtures';
import type { Runtime, RuntimeOptions } from '../src/runtime/runtime';
import type { EngineOptions, GenerateResult } from '../src/contract/types';
import { readFileSync } from 'node:fs';
import { InvalidRequestError, ResourceLimitError } from '../src/contract/errors';
import { parseConfig } from '../src/model/config';
import { createEngine } from '../src/node/index';
import { directorySource } from '../src/node/source';
import { estimateMemory, loadRuntime as loadWorkerRuntime } from '../src/runtime/load';

/** An expert memory budget changes where expert weights live, never what is computed: outputs are bitwise equal. */
const models = fixtureModels(isMoe).map((m) => `${FIXTURE_MODELS}/${m}`);
/** Consecutive MoE layers (so the next layer's experts can be prefetched), and every expert matrix quantizable (I % 32 == 0). */
const MIXTRAL = `${FIXTURE_MODELS}/mixtral-rand`;
/** Budgets for a model routing to k experts per token: the smallest possible, with and without prefetch, and one more. */
const budgets = (k: number): RuntimeOptions[] => [
  { maxResidentExperts: k, prefetchExperts: false },
  { maxResidentExperts: k, prefetchExperts: true },
  { maxResidentExperts: k + 1, prefetchExperts: true },
];
const expertsPerToken = (dir: string): number => JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')).num_experts_per_tok;

describe.each(models)('%s with an expert budget', (dir) => {
  const fixture = readFixture(`${dir}/fixture.safetensors`);
  const prompts = [1, 7, 45].map((len) => Array.from(fixture[`prompt_len${len}`]));

  it('gives bitwise the same logits and greedy tokens as without, and counts hits, misses and uploads', async () => {
    const full = await loadRuntime(dir);
    const expectedLogits = [];
    for (const p of prompts) expectedLogits.push(Array.from(await full.logits(p)));
    const greedyPrompt = Array.from(fixture.greedy_prompt);
    const expected = (await full.generate({ prompt: greedyPrompt, maxTokens: 16, stopAtEos: false }, () => undefined)).tokens;
    full.dispose();
    for (const budget of budgets(expertsPerToken(dir))) {
      const runtime = await loadRuntime(dir, budget);
      for (const [i, p] of prompts.entries()) expect(Array.from(await runtime.logits(p)), `${JSON.stringify(budget)} prompt ${p.length}`).toEqual(expectedLogits[i]);
      const result = await runtime.generate({ prompt: greedyPrompt, maxTokens: 16, stopAtEos: false }, () => undefined);
      expect(result.tokens, JSON.stringify(budget)).toEqual(expected);
      const { expertCacheHits: hits = 0, expertCacheMisses: misses = 0, expertUploadBytes: bytes = 0 } = result.stats;
      expect(hits + misses).toBeGreaterThan(0);
      expect(bytes).toBeGreaterThan(0);
      runtime.dispose();
    }
  });

  it('allocates GPU memory for the resident experts only while loading', async () => {
    await expectResidentAllocations(dir, {}, prompts[1]);
  });
});

it('q8 experts under a budget: data and scales of the resident experts only, and the same logits', async () => {
  await expectResidentAllocations(MIXTRAL, { quantize: 'q8' }, Array.from(readFixture(`${MIXTRAL}/fixture.safetensors`).prompt_len7));
});

/** Loads `dir` with and without a budget of k (experts per token): expert GPU bytes created during load scale by k/E, logits stay equal. */
async function expectResidentAllocations(dir: string, options: RuntimeOptions, prompt: number[]): Promise<void> {
  const k = expertsPerToken(dir);
  const full = await expertAllocations(() => loadRuntime(dir, options));
  const budgeted = await expertAllocations(() => loadRuntime(dir, { ...options, maxResidentExperts: k }));
  const experts = full.runtime.config.moe!.experts;
  console.log(`${dir} ${JSON.stringify(options)}: expert GPU bytes created at load ${full.bytes} (${experts} experts), ${budgeted.bytes} (${k} resident)`);
  expect(full.bytes).toBeGreaterThan(0);
  expect(budgeted.bytes).toBe((full.bytes * k) / experts);
  expect(full.runtime.weights.bytes - budgeted.runtime.weights.bytes).toBe(full.bytes - budgeted.bytes);
  expect(Array.from(await budgeted.runtime.logits(prompt))).toEqual(Array.from(await full.runtime.logits(prompt)));
  full.runtime.dispose();
  budgeted.runtime.dispose();
}

/** Routed experts' weight buffers: layers.L.moe.{gate,up,down} and anything derived from them (scales, slots). */
const EXPERT_BUFFER = /^layers\.\d+\.moe\.(gate|up|down)(\.|$)/;

/** Bytes of the GPU buffers created for routed-expert weights while `load` runs. */
async function expertAllocations(load: () => Promise<Runtime>): Promise<{ runtime: Runtime; bytes: number }> {
  const { device } = await testGpu();
  const create = device.createBuffer.bind(device);
  let bytes = 0;
  const spy = vi.spyOn(device, 'createBuffer').mockImplementation((descriptor) => {
    if (EXPERT_BUFFER.test(descriptor.label ?? '')) bytes += descriptor.size;
    return create(descriptor);
  });
  try {
    const runtime = await load();
    return { runtime, bytes };
  } finally {
    spy.mockRestore();
  }
}

describe('expert budget through the Node engine', () => {
  const prompt = Array.from(readFixture(`${MIXTRAL}/fixture.safetensors`).greedy_prompt);
  const complete = async (options: Partial<EngineOptions>): Promise<GenerateResult> => {
    const engine = await createEngine({ model: MIXTRAL, contextLength: 256, ...options });
    try {
      return await engine.complete({ prompt, maxTokens: 8, stopAtEos: false });
    } finally {
      await engine.dispose();
    }
  };

  it('maxResidentExperts and prefetchExperts reach the runtime: prefetches only when asked, same tokens', async () => {
    const plain = await complete({});
    const prefetching = await complete({ maxResidentExperts: 2 });
    const onDemand = await complete({ maxResidentExperts: 2, prefetchExperts: false });
    expect(plain.stats.expertCacheMisses).toBeUndefined();
    expect(prefetching.tokens).toEqual(plain.tokens);
    expect(onDemand.tokens).toEqual(plain.tokens);
    expect(prefetching.stats.expertPrefetches).toBeGreaterThan(0);
    expect(onDemand.stats.expertPrefetches).toBe(0);
    expect(onDemand.stats.expertCacheMisses).toBeGreaterThan(0);
    const figures = ({ stats: s }: GenerateResult) => `hits ${s.expertCacheHits}, misses ${s.expertCacheMisses}, prefetches ${s.expertPrefetches}, ${s.expertUploadBytes} bytes uploaded`;
    console.log(`mixtral-rand, 2 of 4 experts resident: prefetch ${figures(prefetching)}; on demand ${figures(onDemand)}`);
  });
});

describe('expert budget validation', () => {
  it('rejects fewer resident experts than experts per token, and a budget on a dense model, before loading weights', async () => {
    await expect(loadRuntime(models[0], { maxResidentExperts: 1 })).rejects.toThrow(InvalidRequestError);
    await expect(loadRuntime(models[0], { maxResidentExperts: 1 })).rejects.toThrow(/maxResidentExperts must be an integer >= experts per token \(2\), got 1/);
    await expect(loadRuntime(`${FIXTURE_MODELS}/llama-gqa3`, { maxResidentExperts: 2 })).rejects.toThrow(/maxResidentExperts applies to mixture-of-experts models/);
  });

  it.each([
    ['prefetchExperts', { maxResidentExperts: 2, prefetchExperts: 'no' }, /prefetchExperts: must be a boolean/],
    ['maxResidentExperts', { maxResidentExperts: '2' }, /maxResidentExperts: must be an integer/],
    ['maxResidentExperts', { maxResidentExperts: 2.5 }, /maxResidentExperts: must be an integer/],
  ])('the engine refuses a mistyped %s with InvalidRequestError naming it', async (field, options, message) => {
    const error = await createEngine({ model: models[0], ...(options as Partial<EngineOptions>) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as Error).message).toMatch(message);
    expect((error as InvalidRequestError).details).toMatchObject({ field });
  });
});

describe('memory estimate under an expert budget', () => {
  // mixtral-rand: 2 layers of E = 4 experts, I = hidden = 64; q8 keeps 1 byte per weight plus a 4-byte scale per 32
  const config = parseConfig(JSON.parse(readFileSync(`${MIXTRAL}/config.json`, 'utf8')));
  const expertBytes = 2 * 3 * 4 * 64 * 64 * (1 + 4 / 32);
  const kvBytes = 2 * 2 * 4 * (2 * 16) * 256; // layers, keys+values, f32, kvHeads*headDim, positions (max 256)

  it('moves the non-resident experts off the GPU and counts the CPU copies of all of them', () => {
    const full = estimateMemory(config, { quantize: 'q8', contextLength: 1024 });
    const budgeted = estimateMemory(config, { quantize: 'q8', contextLength: 1024, maxResidentExperts: 2 });
    expect(full.context).toBe(256);
    expect(full.kvCache).toBe(kvBytes);
    expect(full.hostExperts).toBe(0);
    expect(full.total).toBe(full.gpuWeights + kvBytes);
    expect(full.gpuWeights - budgeted.gpuWeights).toBe(expertBytes / 2);
    expect(budgeted.hostExperts).toBe(expertBytes);
    expect(budgeted.total).toBe(budgeted.gpuWeights + expertBytes + kvBytes);
    expect(budgeted.total - full.total).toBe(expertBytes / 2);
    expect(estimateMemory(config, { quantize: 'q8', contextLength: 1024, maxResidentExperts: 4 })).toEqual(full);
  });

  it('matches what a budgeted load allocates: GPU weight buffers and CPU expert copies', async () => {
    const options = { quantize: 'q8', contextLength: 64 } as const;
    const full = await loadRuntime(MIXTRAL, options);
    const budgeted = await loadRuntime(MIXTRAL, { ...options, maxResidentExperts: 2 });
    const copies = budgeted.weights.layers.flatMap((l) => {
      const o = l.moe!.offloaded!;
      return [o.gate, o.up, o.down].map((h) => h.data.byteLength + (h.scales?.byteLength ?? 0));
    });
    const estimate = { full: estimateMemory(config, options), budgeted: estimateMemory(config, { ...options, maxResidentExperts: 2 }) };
    expect(copies.reduce((a, b) => a + b)).toBe(estimate.budgeted.hostExperts);
    expect(full.weights.bytes - budgeted.weights.bytes).toBe(estimate.full.gpuWeights - estimate.budgeted.gpuWeights);
    expect(budgeted.model.kv.bytes).toBe(estimate.budgeted.kvCache);
    full.dispose();
    budgeted.dispose();
  });

  it('a machine that holds the model without a budget is too small for it with one (all experts stay in CPU memory)', async () => {
    const machine = estimateMemory(config, {}).total;
    const { total } = estimateMemory(config, { maxResidentExperts: 2 });
    const error = await loadWorkerRuntime(await testGpu(), directorySource(MIXTRAL), { model: MIXTRAL, maxResidentExperts: 2 }, () => undefined, new AbortController().signal, machine)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceLimitError);
    expect((error as ResourceLimitError).message).toMatch(/GPU weights, [\d.]+ MiB of expert copies in CPU memory and a 256-token KV cache/);
    expect((error as ResourceLimitError).details).toMatchObject({ neededBytes: total, availableBytes: machine });
  });
});
