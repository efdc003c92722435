import { describe, expect, it } from 'vitest';
import { loadRuntime } from './helpers/runtime';
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
});
