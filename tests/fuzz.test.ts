import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelFormatError, UnsupportedModelError } from '../src/contract/errors';
import { ByteReader } from '../src/model/byte_reader';
import { parseConfig } from '../src/model/config';
import { readHeader } from '../src/model/safetensors';
import { memorySource } from '../src/model/source';
import { f32Bytes, safetensorsBytes } from './helpers/safetensors_writer';

const FILE = 'model.safetensors';

/** Parses `bytes` as a safetensors file; resolves to the error, or undefined when it is valid. */
async function headerError(bytes: Uint8Array): Promise<unknown> {
  const source = memorySource({ [FILE]: bytes }, 13);
  const binary = await source.binary(FILE);
  return readHeader(new ByteReader(binary.stream(), FILE), binary.size).then(() => undefined, (e: unknown) => e);
}

const isTyped = (e: unknown) => e === undefined || e instanceof ModelFormatError;

const valid = safetensorsBytes({
  'model.norm.weight': { dtype: 'F32', shape: [4], data: f32Bytes([1, 2, 3, 4]) },
  'model.embed_tokens.weight': { dtype: 'F16', shape: [2, 3], data: new Uint8Array(12) },
});

describe('safetensors header fuzz', () => {
  it('random bytes give ModelFormatError or parse', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), async (bytes) => {
      expect(isTyped(await headerError(bytes))).toBe(true);
    }), { numRuns: 500 });
  });

  it('random bytes behind a plausible length give ModelFormatError or parse', async () => {
    const arb = fc.tuple(fc.integer({ min: 0, max: 300 }), fc.uint8Array({ maxLength: 300 }));
    await fc.assert(fc.asyncProperty(arb, async ([length, rest]) => {
      const bytes = new Uint8Array(8 + rest.length);
      new DataView(bytes.buffer).setUint32(0, length, true);
      bytes.set(rest, 8);
      expect(isTyped(await headerError(bytes))).toBe(true);
    }), { numRuns: 500 });
  });

  it('byte mutations and truncations of a valid file give ModelFormatError or parse', async () => {
    const arb = fc.tuple(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(valid.length));
    await fc.assert(fc.asyncProperty(arb, async ([edits, cut]) => {
      const bytes = valid.slice(0, Math.max(cut, valid.length - 40));
      for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
      expect(isTyped(await headerError(bytes))).toBe(true);
    }), { numRuns: 1000 });
  });

  it('random JSON headers give ModelFormatError or parse', async () => {
    await fc.assert(fc.asyncProperty(fc.json(), async (text) => {
      const json = new TextEncoder().encode(text);
      const bytes = new Uint8Array(8 + json.length);
      new DataView(bytes.buffer).setUint32(0, json.length, true);
      bytes.set(json, 8);
      expect(isTyped(await headerError(bytes))).toBe(true);
    }), { numRuns: 500 });
  });

  it('random tensor entries give ModelFormatError or parse', async () => {
    const entry = fc.record({ dtype: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'I64', 'X'), fc.string()), shape: fc.array(fc.oneof(fc.nat(8), fc.integer(), fc.double())), data_offsets: fc.array(fc.oneof(fc.nat(64), fc.integer()), { maxLength: 3 }) }, { requiredKeys: [] });
    await fc.assert(fc.asyncProperty(fc.dictionary(fc.string(), entry), fc.nat(64), async (header, dataLength) => {
      const json = new TextEncoder().encode(JSON.stringify(header));
      const bytes = new Uint8Array(8 + json.length + dataLength);
      new DataView(bytes.buffer).setUint32(0, json.length, true);
      bytes.set(json, 8);
      expect(isTyped(await headerError(bytes))).toBe(true);
    }), { numRuns: 500 });
  });
});

describe('config fuzz', () => {
  const base = JSON.parse(readFileSync('tests/fixtures/models/qwen2moe-rand/config.json', 'utf8')) as Record<string, unknown>;
  const outcome = (json: unknown) => {
    try {
      parseConfig(json);
      return true;
    } catch (e) {
      return e instanceof ModelFormatError || e instanceof UnsupportedModelError;
    }
  };

  it('random JSON values give typed errors or a config', () => {
    fc.assert(fc.property(fc.jsonValue(), (json) => {
      expect(outcome(json)).toBe(true);
    }), { numRuns: 1000 });
  });

  it('a valid config with fields replaced by random JSON gives typed errors or a config', () => {
    const keys = [...Object.keys(base), 'head_dim', 'rope_scaling', 'num_local_experts'];
    const arb = fc.array(fc.tuple(fc.constantFrom(...keys), fc.jsonValue()), { maxLength: 4 });
    const archs = fc.constantFrom('Qwen2MoeForCausalLM', 'MixtralForCausalLM', 'LlamaForCausalLM', 'Qwen2ForCausalLM', 'OlmoeForCausalLM');
    fc.assert(fc.property(arb, archs, (edits, arch) => {
      const json: Record<string, unknown> = { ...base, architectures: [arch], num_local_experts: 4 };
      for (const [key, value] of edits) json[key] = value;
      expect(outcome(json)).toBe(true);
    }), { numRuns: 2000 });
  });
});
