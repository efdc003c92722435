import { describe, expect, it } from 'vitest';
import { greedyRun, loadRuntime } from './helpers/runtime';
import { runStep } from './helpers/step';
import { FIXTURE_MODELS } from './helpers/fixtures';
import { readF32, uploadBuffer } from '../src/gpu/buffers';
import { KvCache } from '../src/model/kv_cache';
import { Transformer } from '../src/model/forward';
import { estimateMemory } from '../src/runtime/load';
import type { Runtime } from '../src/runtime/runtime';

/** Logits at every position of `ids` from a model whose cache is `kv`, in passes of `rows` tokens. */
async function logitsWith(runtime: Runtime, kv: KvCache, ids: number[]): Promise<Float32Array> {
  const { gpu, config } = runtime;
  const model = new Transformer(gpu, config, runtime.weights, kv, runtime.model.rows, runtime.model.mlpBlock);
  const out = new Float32Array(ids.length * config.vocab);
  for (let start = 0; start < ids.length; start += model.rows) {
    const count = Math.min(model.rows, ids.length - start);
    const idsBuffer = uploadBuffer(gpu, 'ids', Uint32Array.from(ids.slice(start, start + count)));
    await runStep(gpu, (step) => {
      model.embed(step, idsBuffer, 0, count);
      model.layers(step, count, start, 0, config.layers, ids.length);
      model.head(step, count);
    });
    out.set(await readF32(gpu, model.act.logits, count * config.vocab), start * config.vocab);
    idsBuffer.destroy();
  }
  model.destroy();
  return out;
}

describe('ring KV caches of sliding-window layers', () => {
  it('hold window + pass rows - 1 slots, counted by the memory estimate, and give the bits of a full cache as they wrap', async () => {
    const runtime = await loadRuntime(`${FIXTURE_MODELS}/gemma3-local`, { contextLength: 256 });
    const { config, model } = runtime;
    // layer 0 slides over 16 keys, layer 1 attends to every key
    expect(model.kv.slots).toEqual([16 + model.rows - 1, 256]);
    expect(estimateMemory(config, { contextLength: 256 }).kvCache).toBe(model.kv.bytes);
    const ids = Array.from({ length: 200 }, (_, i) => (i * 37 + 11) % config.vocab); // wraps the ring twice
    const full = new KvCache(runtime.gpu, config.layers, config.kvHeads, config.headDim, 256);
    const ring = new KvCache(runtime.gpu, config.layers, config.kvHeads, config.headDim, 256, model.kv.slots);
    expect(Array.from(await logitsWith(runtime, ring, ids))).toEqual(Array.from(await logitsWith(runtime, full, ids)));
    full.destroy();
    ring.destroy();
    runtime.dispose();
  });

  it('let a request reuse a cached prefix only while every ring still holds the keys below it', async () => {
    const runtime = await loadRuntime(`${FIXTURE_MODELS}/gemma3-local`, { contextLength: 256 });
    const vocab = runtime.config.vocab;
    const prompt = Array.from({ length: 20 }, (_, i) => (i * 53 + 7) % vocab);
    const request = (ids: number[]) => runtime.generate({ prompt: ids, maxTokens: 8, stopAtEos: false }, () => undefined);
    const fresh = async (ids: number[]) => {
      runtime.resetCache();
      return request(ids);
    };
    // a follow-up right after a short run: the ring (16 + rows - 1 slots) still holds the last 15 keys below the prefix
    const first = await greedyRun(runtime, prompt, 10);
    const followUp = [...prompt, ...first.tokens, 5, 6];
    const reused = await request(followUp);
    expect(reused.stats.cachedTokens).toBeGreaterThan(0);
    expect(reused.tokens).toEqual((await fresh(followUp)).tokens);
    // after a long run, a request sharing only an early prefix: the ring has overwritten the keys below it
    await greedyRun(runtime, prompt, 150);
    const early = [...prompt.slice(0, 10), 7, 8, 9];
    const recomputed = await request(early);
    expect(recomputed.stats.cachedTokens).toBe(0);
    expect(recomputed.tokens).toEqual((await fresh(early)).tokens);
    runtime.dispose();
  });
});
