import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestGpu, type Gpu } from '../src/gpu/device';
import { AbortError, ModelFormatError, ResourceLimitError } from '../src/contract/errors';
import { readBuffer } from '../src/gpu/buffers';
import { bf16ToF32, dequantize, f16BitsToF32, quantizeQ8 } from '../src/kernels/quantize';
import { denseFormat, rowPieces, type SplitMatrix, type WeightMatrix } from '../src/kernels/tensor';
import { parseConfig } from '../src/model/config';
import { openCheckpoint } from '../src/model/checkpoint';
import { fileListSource, memorySource, urlSource, type ModelSource } from '../src/model/source';
import { destroyWeights, estimateWeightBytes, loadWeights, type ModelWeights } from '../src/model/weights';
import { planWeights, type Destination } from '../src/model/weight_plan';
import { directorySource } from '../src/node/source';
import { estimateMemory } from '../src/runtime/load';
import { Runtime } from '../src/runtime/runtime';
import { testGpu } from './helpers/gpu';

const FIXTURES = 'tests/fixtures/models';
const dirs = readdirSync(FIXTURES).filter((d) => !d.includes('.'));

/** Every tensor of a fixture checkpoint as exact f32 values. */
async function fileTensors(dir: string): Promise<Map<string, Float32Array>> {
  const checkpoint = await openCheckpoint(directorySource(`${FIXTURES}/${dir}`));
  await checkpoint.close();
  const out = new Map<string, Float32Array>();
  for (const t of checkpoint.tensors.values()) {
    const bytes = readFileSync(`${FIXTURES}/${dir}/${t.file}`).subarray(t.start, t.end);
    const aligned = new Uint8Array(bytes).buffer;
    out.set(t.name, t.dtype === 'F32' ? new Float32Array(aligned) : t.dtype === 'F16' ? f16BitsToF32(new Uint16Array(aligned)) : bf16ToF32(new Uint16Array(aligned)));
  }
  return out;
}

async function matrixValues(gpu: Gpu, matrix: WeightMatrix | SplitMatrix): Promise<Float32Array> {
  const pieces = await Promise.all(rowPieces(matrix).map(async ({ w: m }) => {
    const data = new Uint32Array(await readBuffer(gpu, m.data));
    const scales = m.scales ? new Float32Array(await readBuffer(gpu, m.scales)) : undefined;
    return dequantize(denseFormat(m, 'test reader'), data, scales, m.rows, m.cols);
  }));
  return concat(pieces);
}

/** The test GPU as a device whose buffers may hold at most `bytes` (row splitting at small sizes). */
const withBufferLimit = (gpu: Gpu, bytes: number): Gpu => ({ ...gpu, adapter: { ...gpu.adapter, limits: { ...gpu.adapter.limits, maxStorageBufferBindingSize: bytes, maxBufferSize: bytes } } });

const concat = (parts: Float32Array[]) => {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** The loaded weight a plan key names ('embed', 'layers.3.q', 'layers.3.moe.shared.gate', ...): ModelWeights mirrors the keys. */
function weightAt(w: ModelWeights, key: string): WeightMatrix | SplitMatrix | GPUBuffer {
  const [head, ...rest] = key.split('.');
  let at: unknown = head === 'layers' ? w.layers[Number(rest.shift())] : (w as unknown as Record<string, unknown>)[head];
  for (const k of rest) at = (at as Record<string, unknown>)[k];
  if (!at) throw new Error(`no loaded weight at ${key}`);
  return at as WeightMatrix | SplitMatrix | GPUBuffer;
}

describe('loadWeights', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });
  const loaded: ModelWeights[] = [];
  afterAll(() => {
    loaded.forEach(destroyWeights);
  });

  for (const dir of dirs) {
    it(`${dir}: GPU contents equal the checkpoint values exactly`, async () => {
      const config = parseConfig(JSON.parse(readFileSync(`${FIXTURES}/${dir}/config.json`, 'utf8')));
      const progress: number[] = [];
      const weights = await loadWeights(gpu, config, directorySource(`${FIXTURES}/${dir}`), { onProgress: (n, total) => progress.push(n / total) });
      loaded.push(weights);
      expect(progress.at(-1)).toBe(1);
      expect(progress.every((p, i) => i === 0 || p >= progress[i - 1])).toBe(true);
      if (config.tieEmbeddings) expect(weights.lmHead).toBe(weights.embed);
      const dtype: string = JSON.parse(readFileSync(`${FIXTURES}/${dir}/config.json`, 'utf8')).torch_dtype;
      // 16-bit weights stay 16-bit (these random BF16 weights hold values that f16 cannot represent)
      expect(weights.format).toBe({ float32: 'f32', float16: 'f16', bfloat16: 'bf16' }[dtype]);
      const expected = await fileTensors(dir);
      const plan = planWeights(config);
      // the values a destination receives: its parts stacked, each the rows rowsOf names of the file tensor (default all)
      const values = (d: Destination) => concat(d.parts.map((n) => {
        const start = (d.rowsOf?.start ?? 0) * d.cols;
        return expected.get(n)!.subarray(start, start + d.partRows * d.cols);
      }));
      // the family's schema reads every tensor of the checkpoint, and each lands where its key says
      expect(new Set(plan.destinations.flatMap((d) => d.parts))).toEqual(new Set(expected.keys()));
      for (const d of plan.destinations) {
        const gpuWeight = weightAt(weights, d.key);
        const want = values(d);
        const got = 'format' in gpuWeight ? await matrixValues(gpu, gpuWeight) : new Float32Array(await readBuffer(gpu, gpuWeight, want.length * 4));
        expect(got, d.key).toEqual(want);
      }
      expect(weights.bytes).toBe(estimateWeightBytes(config, { dtype: ({ float32: 'F32', float16: 'F16', bfloat16: 'BF16' } as const)[dtype as 'float32'] }).gpu);
    });
  }

  it('quantizes big matrices to q8 on load, keeping the embedding 16-bit', async () => {
    const dir = `${FIXTURES}/llama-gqa3`;
    const config = parseConfig(JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')));
    const weights = await loadWeights(gpu, config, directorySource(dir), { quantize: 'q8' });
    loaded.push(weights);
    expect(weights.format).toBe('q8');
    expect(weights.embed.format).toBe('f32');
    const q = weights.layers[0].q!;
    const want = quantizeQ8((await fileTensors('llama-gqa3')).get('model.layers.0.self_attn.q_proj.weight')!, q.rows, q.cols);
    expect(new Uint32Array(await readBuffer(gpu, q.data))).toEqual(want.data);
    expect(new Float32Array(await readBuffer(gpu, q.scales!))).toEqual(want.scales);
    expect(weights.bytes).toBe(estimateWeightBytes(config, { quantize: 'q8', dtype: 'F32' }).gpu);
  });

  it('uploads identically whatever the chunk boundaries (odd chunk sizes split 4-byte words)', async () => {
    const dir = `${FIXTURES}/llama-mqa`;
    const config = parseConfig(JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')));
    const file = new Uint8Array(readFileSync(`${dir}/model.safetensors`));
    const expected = await fileTensors('llama-mqa');
    for (const chunk of [4093, 7, 2]) {
      const weights = await loadWeights(gpu, config, memorySource({ 'model.safetensors': file }, chunk));
      loaded.push(weights);
      expect(await matrixValues(gpu, weights.layers[1].mlp!.down)).toEqual(expected.get('model.layers.1.mlp.down_proj.weight'));
      expect(await matrixValues(gpu, weights.embed)).toEqual(expected.get('model.embed_tokens.weight'));
    }
  });

  it('with residentExperts, gives GPU storage to experts 0..R-1 only and keeps every expert in CPU memory, whatever the chunk boundaries', async () => {
    const dir = `${FIXTURES}/mixtral-rand`;
    const config = parseConfig(JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')));
    const file = new Uint8Array(readFileSync(`${dir}/model.safetensors`));
    const expected = await fileTensors('mixtral-rand');
    const experts = (n: number) => Array.from({ length: n }, (_, e) => expected.get(`model.layers.1.block_sparse_moe.experts.${e}.w2.weight`)!);
    for (const chunk of [4093, 7]) {
      const weights = await loadWeights(gpu, config, memorySource({ 'model.safetensors': file }, chunk), { residentExperts: 2 });
      loaded.push(weights);
      const moe = weights.layers[1].moe!;
      expect(moe.down.rows).toBe(2 * config.hidden);
      expect(await matrixValues(gpu, moe.down)).toEqual(concat(experts(2)));
      expect(moe.offloaded!.resident).toBe(2);
      expect(new Float32Array(moe.offloaded!.down.data.buffer)).toEqual(concat(experts(config.moe!.experts)));
      expect(moe.offloaded!.down.dataBytes).toBe(4 * config.hidden * config.moe!.expertIntermediate);
    }
  });

  it('splits an embedding and LM head over the buffer limit by rows; the split model computes the same bits', async () => {
    const dir = `${FIXTURES}/llama-headdim`; // BF16, vocab 384 x hidden 128: 96 KiB each; other matrices <= 48 KiB
    const whole = await Runtime.load(gpu, directorySource(dir), { contextLength: 64 });
    const split = await Runtime.load(withBufferLimit(gpu, 50_000), directorySource(dir), { contextLength: 64 });
    const pieces = (m: WeightMatrix | SplitMatrix) => rowPieces(m).map(({ rowStart, w }) => [rowStart, w.rows]);
    expect(pieces(split.weights.embed)).toEqual([[0, 195], [195, 189]]);
    expect(pieces(split.weights.lmHead)).toEqual([[0, 195], [195, 189]]);
    expect(split.weights.embed.format).toBe('bf16');
    expect(await matrixValues(gpu, split.weights.embed)).toEqual(await matrixValues(gpu, whole.weights.embed));
    expect(await matrixValues(gpu, split.weights.lmHead)).toEqual(await matrixValues(gpu, whole.weights.lmHead));
    expect(split.weights.bytes).toBe(whole.weights.bytes);
    const ids = [0, 5, 194, 195, 196, 383, 17, 250];
    expect(Array.from(await split.logits(ids))).toEqual(Array.from(await whole.logits(ids)));
    const greedy = (r: Runtime) => r.generate({ prompt: [3, 194, 195], maxTokens: 6, stopAtEos: false }, () => undefined);
    expect((await greedy(split)).tokens).toEqual((await greedy(whole)).tokens);
    whole.dispose();
    split.dispose();
  });

  it('asks for the adapter\'s own buffer limits, not WebGPU\'s defaults', async () => {
    let asked: Record<string, number> | undefined;
    const limits = { maxStorageBufferBindingSize: 3 * 2 ** 30, maxBufferSize: 4 * 2 ** 30 };
    const adapter = { features: new Set(), limits, requestDevice: async (d: GPUDeviceDescriptor) => { asked = d.requiredLimits as Record<string, number>; throw new Error('no device'); } };
    await requestGpu({ requestAdapter: async () => adapter } as unknown as GPU).catch(() => undefined);
    expect(asked).toMatchObject(limits);
  });

  it('refuses a weight over the buffer limit that cannot be split, before any upload', async () => {
    const dir = `${FIXTURES}/llama-headdim`;
    const config = parseConfig(JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')));
    const error = await loadWeights(withBufferLimit(gpu, 40_000), config, directorySource(dir)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceLimitError);
    expect((error as Error).message).toMatch(/self_attn\.q_proj\.weight.*49152-byte buffer.*40000 bytes/);
  });

  it.skipIf(!existsSync('public/models/tiny-dense'))('loads the shipped tiny-dense model from dropped files, plain and q4', async () => {
    const dir = 'public/models/tiny-dense';
    const names = ['config.json', 'model.safetensors', 'adapter.safetensors']; // the folder's weight files, its Kangaroo adapters included
    const source = fileListSource(names.map((n) => new File([readFileSync(`${dir}/${n}`)], n)));
    const config = parseConfig(JSON.parse(await source.text('config.json')));
    const started = performance.now();
    const plain = await loadWeights(gpu, config, source);
    const ms = performance.now() - started;
    loaded.push(plain);
    console.log(`tiny-dense: ${(plain.bytes / 2 ** 20).toFixed(1)} MiB of weights loaded in ${ms.toFixed(0)} ms`);
    expect(plain.format).toBe('f16');
    expect(plain.lmHead).toBe(plain.embed);
    const q4 = await loadWeights(gpu, config, source, { quantize: 'q4' });
    loaded.push(q4);
    expect(q4.format).toBe('q4');
    expect(q4.bytes).toBe(estimateWeightBytes(config, { quantize: 'q4' }).gpu);
    expect(q4.bytes).toBeLessThan(plain.bytes * 0.6);
  });

  it('streams through a URL source with an injected fetch, counting bytes', async () => {
    const dir = `${FIXTURES}/llama-sharded`;
    let received = 0;
    const fakeFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const name = String(input).replace('https://models.test/sharded/', '');
      let body: Buffer;
      try {
        body = readFileSync(`${dir}/${name}`);
      } catch {
        return new Response(null, { status: 404 });
      }
      return new Response(init?.method === 'HEAD' ? null : new Uint8Array(body), { headers: { 'content-length': String(body.length) } });
    }) as typeof fetch;
    const source = urlSource('https://models.test/sharded', { fetch: fakeFetch, onBytes: (n) => (received += n) });
    const config = parseConfig(JSON.parse(await source.text('config.json')));
    loaded.push(await loadWeights(gpu, config, source));
    expect(received).toBe(readFileSync(`${dir}/model-00001-of-00002.safetensors`).length + readFileSync(`${dir}/model-00002-of-00002.safetensors`).length);
  });

  describe('corrupt checkpoints give typed errors, then a good model still loads', () => {
    const dir = `${FIXTURES}/llama-mqa`;
    const config = parseConfig(JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')));
    const file = new Uint8Array(readFileSync(`${dir}/model.safetensors`));
    const headerLength = Number(new DataView(file.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + headerLength)));
    /** The file with its header JSON edited (data kept). */
    const withEditedHeader = (edit: (h: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>) => void) => {
      const h = structuredClone(header);
      edit(h);
      let text = JSON.stringify(h);
      while (text.length % 8) text += ' ';
      const json = new TextEncoder().encode(text);
      const out = new Uint8Array(8 + json.length + file.length - 8 - headerLength);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      out.set(file.subarray(8 + headerLength), 8 + json.length);
      return out;
    };
    const load = (bytes: Uint8Array, g?: Gpu, signal?: AbortSignal) => loadWeights(g ?? gpu, config, memorySource({ 'model.safetensors': bytes }), { signal });
    const cases: [string, () => Promise<unknown>, typeof ModelFormatError, RegExp][] = [
      ['truncated file', () => load(file.subarray(0, file.length - 100)), ModelFormatError, /model\.safetensors.*past the end/],
      ['header length beyond the file', () => load(file.subarray(0, 8 + headerLength - 1)), ModelFormatError, /model\.safetensors.*header length/],
      ['missing tensor', () => load(withEditedHeader((h) => {
        h['model.layers.1.mlp.up_proj.weight'].dtype = 'U8';
        h['model.layers.1.mlp.up_proj.weight'].shape = [h['model.layers.1.mlp.up_proj.weight'].data_offsets[1] - h['model.layers.1.mlp.up_proj.weight'].data_offsets[0]];
        h['renamed'] = h['model.layers.1.mlp.up_proj.weight'];
        delete h['model.layers.1.mlp.up_proj.weight'];
      })), ModelFormatError, /tensor "model\.layers\.1\.mlp\.up_proj\.weight" is missing/],
      ['shape disagreeing with config', () => load(withEditedHeader((h) => {
        const t = h['model.layers.0.self_attn.k_proj.weight'];
        t.shape = [t.shape[1], t.shape[0]];
      })), ModelFormatError, /model\.safetensors: tensor "model\.layers\.0\.self_attn\.k_proj\.weight" has shape \[64, 16\] but config\.json implies \[16, 64\]/],
      ['integer dtype for a weight', () => load(withEditedHeader((h) => {
        const t = h['model.norm.weight'];
        t.dtype = 'I16';
      })), ModelFormatError, /tensor "model\.norm\.weight" has dtype I16/],
      ['unknown dtype', () => load(withEditedHeader((h) => {
        h['model.norm.weight'].dtype = 'F17';
      })), ModelFormatError, /tensor "model\.norm\.weight": unknown dtype "F17"/],
      ['buffer over the device limit', () => load(file, { ...gpu, adapter: { ...gpu.adapter, limits: { ...gpu.adapter.limits, maxStorageBufferBindingSize: 4000 } } }), ResourceLimitError, /needs a \d+-byte buffer; this GPU allows 4000 bytes/],
      ['aborted', () => load(file, undefined, AbortSignal.abort()), AbortError, /aborted/],
    ];
    for (const [name, run, cls, message] of cases) {
      it(name, async () => {
        const error = await run().then(() => undefined, (e: unknown) => e);
        expect(error).toBeInstanceOf(cls);
        expect((error as Error).message).toMatch(message);
        const good = await loadWeights(gpu, config, memorySource({ 'model.safetensors': file }) as ModelSource);
        loaded.push(good);
        expect(good.layers).toHaveLength(2);
      });
    }
  });
});

describe('memory estimate with the activation-sparse MLP', () => {
  it('adds one transposed copy of every dense W_down, in the weights format', async () => {
    const config = parseConfig(JSON.parse(readFileSync('public/models/tiny-dense/config.json', 'utf8')));
    const plain = estimateMemory(config, { contextLength: 256 }), sparse = estimateMemory(config, { contextLength: 256, sparsity: { mlp: 0.5 } });
    expect(sparse.gpuWeights - plain.gpuWeights).toBe(config.layers * config.hidden * config.intermediate * 2);
    const q8 = estimateMemory(config, { quantize: 'q8', sparsity: { mlp: 0.5 } }).gpuWeights - estimateMemory(config, { quantize: 'q8' }).gpuWeights;
    expect(q8).toBe(config.layers * config.hidden * config.intermediate * (1 + 4 / 32));
  });
});
