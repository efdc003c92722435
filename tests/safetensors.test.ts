import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../src/contract/errors';
import { ByteReader } from '../src/model/byte_reader';
import { openCheckpoint } from '../src/model/checkpoint';
import { MAX_HEADER_BYTES, parseShardIndex, readHeader } from '../src/model/safetensors';
import { memorySource } from '../src/model/source';
import { directorySource } from '../src/node/source';
import { f32Bytes, safetensorsBytes, withHeader } from './helpers/safetensors_writer';

const FILE = 'model.safetensors';

async function parse(bytes: Uint8Array, chunkBytes = 7) {
  const source = memorySource({ [FILE]: bytes }, chunkBytes);
  const binary = await source.binary(FILE);
  return readHeader(new ByteReader(binary.stream(), FILE), binary.size);
}

async function expectFormatError(bytes: Uint8Array, ...mentions: RegExp[]) {
  const error = await parse(bytes).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ModelFormatError);
  const message = (error as Error).message;
  expect(message).toContain(FILE);
  for (const m of mentions) expect(message).toMatch(m);
}

const good = () => safetensorsBytes({ a: { dtype: 'F32', shape: [2, 2], data: f32Bytes([1, 2, 3, 4]) }, b: { dtype: 'F16', shape: [2], data: new Uint8Array(4) } }, { format: 'pt' });

describe('safetensors header', () => {
  it('parses a valid file whatever the chunking', async () => {
    for (const chunk of [1, 3, 8, 1 << 16]) {
      const header = await parse(good(), chunk);
      expect(header.tensors.map((t) => [t.name, t.dtype, t.shape, t.end - t.start])).toEqual([['a', 'F32', [2, 2], 16], ['b', 'F16', [2], 4]]);
      expect(header.metadata).toEqual({ format: 'pt' });
      expect(header.tensors[0].start).toBe(header.dataStart);
    }
  });

  it('parses every fixture checkpoint', async () => {
    for (const dir of ['llama-gqa3', 'llama-mqa', 'llama-headdim', 'qwen2-bias', 'mixtral-rand', 'qwen2moe-rand']) {
      const bytes = new Uint8Array(readFileSync(`tests/fixtures/models/${dir}/model.safetensors`));
      const header = await parse(bytes, 1 << 16);
      expect(header.tensors.length).toBeGreaterThan(10);
    }
  });

  it('rejects a truncated file', async () => {
    const bytes = good();
    await expectFormatError(bytes.subarray(0, 5), /too short/);
    await expectFormatError(bytes.subarray(0, 20), /header length \d+ runs past the end/);
    await expectFormatError(bytes.subarray(0, bytes.length - 2), /tensor "b"/, /past the end of the file/);
  });

  it('rejects a header length beyond the file or absurdly large', async () => {
    await expectFormatError(withHeader('{}', [], 1000), /runs past the end/);
    await expectFormatError(withHeader('{}', [], MAX_HEADER_BYTES + 1), /exceeds the \d+-byte limit/);
    await expectFormatError(withHeader('{}', [], 2 ** 60), /exceeds/);
  });

  it('rejects a header that is not JSON or not an object', async () => {
    await expectFormatError(withHeader('{"a": [1, 2'), /not valid UTF-8 JSON/);
    await expectFormatError(withHeader('[1, 2, 3]'), /not a JSON object/);
    const badUtf8 = withHeader('{"a":"xx"}');
    badUtf8[14] = 0xff;
    await expectFormatError(badUtf8, /UTF-8/);
  });

  it('rejects unknown dtypes, bad shapes and shape/byte-size mismatches, naming the tensor', async () => {
    const entry = (e: object) => withHeader(JSON.stringify({ w: e }), [new Uint8Array(16)]);
    await expectFormatError(entry({ dtype: 'F12', shape: [4], data_offsets: [0, 16] }), /tensor "w"/, /unknown dtype "F12"/);
    await expectFormatError(entry({ dtype: 'toString', shape: [4], data_offsets: [0, 16] }), /unknown dtype/);
    await expectFormatError(entry({ dtype: 'F32', shape: [-4], data_offsets: [0, 16] }), /tensor "w"/, /shape/);
    await expectFormatError(entry({ dtype: 'F32', shape: [3], data_offsets: [0, 16] }), /tensor "w"/, /needs 12 bytes/);
    await expectFormatError(entry({ dtype: 'F32', shape: [4], data_offsets: [16, 0] }), /tensor "w"/, /data_offsets/);
    await expectFormatError(entry({ dtype: 'F32', shape: [4] }), /tensor "w"/, /data_offsets/);
    await expectFormatError(entry([1]), /tensor "w"/, /not an object/);
  });

  it('rejects offsets out of bounds, overlapping or leaving gaps', async () => {
    const data = [new Uint8Array(16)];
    const t = (begin: number, end: number) => ({ dtype: 'U8', shape: [end - begin], data_offsets: [begin, end] });
    await expectFormatError(withHeader(JSON.stringify({ a: t(0, 8), b: t(8, 24) }), data), /tensor "b"/, /past the end/);
    await expectFormatError(withHeader(JSON.stringify({ a: t(0, 12), b: t(8, 16) }), data), /tensor "b"/, /overlap/);
    await expectFormatError(withHeader(JSON.stringify({ a: t(0, 4), b: t(8, 16) }), data), /tensor "b"/, /belong to no tensor/);
    await expectFormatError(withHeader(JSON.stringify({ a: t(0, 8) }), data), /cover 8 data bytes but the file holds 16/);
  });

  it('rejects malformed __metadata__', async () => {
    await expectFormatError(withHeader(JSON.stringify({ __metadata__: { a: 1 } })), /__metadata__/);
  });
});

describe('sharded checkpoints', () => {
  it('reads the index and every shard header', async () => {
    const checkpoint = await openCheckpoint(directorySource('tests/fixtures/models/llama-sharded'));
    expect(checkpoint.shards.map((s) => s.header.file)).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(checkpoint.tensors.get('model.embed_tokens.weight')?.shape).toEqual([384, 64]);
    await checkpoint.close();
  });

  it('rejects a malformed index and an index that disagrees with the shards', () => {
    expect(() => parseShardIndex('{"weight_map": 3}')).toThrow(/model.safetensors.index.json.*weight_map/);
    expect(() => parseShardIndex('not json')).toThrow(ModelFormatError);
    expect(() => parseShardIndex('{"weight_map": {"w": "../x.safetensors"}}')).toThrow(/tensor "w"/);
  });

  it('rejects an index entry pointing at a shard without the tensor', async () => {
    const shard = safetensorsBytes({ a: { dtype: 'F32', shape: [1], data: f32Bytes([1]) } });
    const source = memorySource({ 'model.safetensors.index.json': JSON.stringify({ weight_map: { a: 's1.safetensors', b: 's1.safetensors' } }), 's1.safetensors': shard });
    await expect(openCheckpoint(source)).rejects.toThrow(/tensor "b" is mapped to s1.safetensors/);
  });
});
