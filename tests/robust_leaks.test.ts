/**
 * No leaks over long use: 50 load/dispose cycles and 500 generations leave no GPU buffer alive beyond the
 * baseline (the hard assertion: live buffers are counted, not inferred from RSS, which a loaded machine skews).
 */
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../src/gpu/device';
import { createEngine } from '../src/node/index';
import { directorySource } from '../src/node/source';
import { Runtime } from '../src/runtime/runtime';
import { testGpu } from './helpers/gpu';

const MODEL = 'tests/fixtures/models/llama-tied';
const CYCLES = 50;
const GENERATIONS = 500;

/** Counts the device's GPU buffers created and not yet destroyed. */
function countLiveBuffers(gpu: Gpu): () => number {
  const live = new Set<GPUBuffer>();
  const device = gpu.device;
  const create = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = create(descriptor);
    live.add(buffer);
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = () => {
      live.delete(buffer);
      destroy();
    };
    return buffer;
  };
  return () => live.size;
}

const load = (gpu: Gpu) => Runtime.load(gpu, directorySource(MODEL), { contextLength: 64 });
const generate = (runtime: Runtime, seed: number) =>
  runtime.generate({ prompt: [3, 7, 11], maxTokens: 2, stopAtEos: false, strategy: seed % 2 ? { kind: 'sample', temperature: 0.9, seed } : { kind: 'greedy' } }, () => undefined);

describe('long use', () => {
  it(`${CYCLES} load/dispose cycles and ${GENERATIONS} generations leave no GPU buffer behind`, async () => {
    const gpu = await testGpu();
    const live = countLiveBuffers(gpu);
    const warm = await load(gpu);
    const expected = (await generate(warm, 0)).tokens;
    warm.dispose();
    const baseline = live();
    const rss0 = process.memoryUsage().rss;
    const started = performance.now();
    for (let i = 0; i < CYCLES; i++) {
      const runtime = await load(gpu);
      expect(live()).toBeGreaterThan(baseline);
      runtime.dispose();
      expect(live(), `after cycle ${i}`).toBe(baseline);
    }
    const cyclesMs = performance.now() - started;
    // the MoE variants tear down their own buffers (router scratch, expert cache slots) too
    for (const options of [{}, { maxResidentExperts: 2 }, { maxResidentExperts: 2, prefetchExperts: false }]) {
      const moe = await Runtime.load(gpu, directorySource('tests/fixtures/models/mixtral-rand'), { contextLength: 64, ...options });
      await moe.generate({ prompt: [3, 7, 11], maxTokens: 3, stopAtEos: false }, () => undefined);
      moe.dispose();
      expect(live(), `after MoE ${JSON.stringify(options)}`).toBe(baseline);
    }
    // and so does the Node engine (it shares this device)
    for (let i = 0; i < 3; i++) {
      const engine = await createEngine({ model: MODEL, contextLength: 64 });
      await engine.complete({ prompt: [3, 7, 11], maxTokens: 2 });
      await engine.dispose();
      expect(live(), `after engine ${i}`).toBe(baseline);
    }
    const runtime = await load(gpu);
    const loaded = live();
    for (let i = 0; i < GENERATIONS; i++) await generate(runtime, i);
    expect(live(), `after ${GENERATIONS} generations`).toBe(loaded);
    expect((await generate(runtime, 0)).tokens).toEqual(expected);
    runtime.dispose();
    expect(live()).toBe(baseline);
    const rssGrowth = (process.memoryUsage().rss - rss0) / 2 ** 20;
    console.log(`${CYCLES} cycles in ${(cyclesMs / 1000).toFixed(1)} s, ${GENERATIONS} generations in ${((performance.now() - started - cyclesMs) / 1000).toFixed(1)} s; live buffers ${baseline} before and after; RSS ${rssGrowth.toFixed(0)} MiB over the run`);
  }, 300_000);
});
