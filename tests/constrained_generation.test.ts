/**
 * Constrained decoding end to end: every output parses and validates against its schema, on the shipped tiny-dense
 * model and on a random-weight model (where any token is likely, and unconstrained output is never JSON), greedy and
 * sampled; the mask kernel path reads back only ids.
 */
import { mkdtempSync, copyFileSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime/runtime';
import type { GenerateRequest, ResponseFormat, Strategy } from '../src/contract/types';
import { loadRuntime } from './helpers/runtime';
import { safetensorsBytes } from './helpers/safetensors_writer';
import { SCHEMAS, validate } from './helpers/json_schemas';

const TINY = 'public/models/tiny-dense';

/** A 2-layer Llama with tiny-dense's tokenizer and random f32 weights (scaled so logits spread widely). */
function randomModel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'random-llama-'));
  const config = { ...JSON.parse(readFileSync(`${TINY}/config.json`, 'utf8')), hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, head_dim: 16, torch_dtype: 'float32' };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) copyFileSync(join(TINY, f), join(dir, f));
  let state = 12345;
  const random = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const tensor = (shape: number[], scale: number, constant?: number) => ({
    dtype: 'F32', shape,
    data: new Uint8Array(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => constant ?? random() * scale).buffer),
  });
  const { hidden_size: h, intermediate_size: m, vocab_size: v, num_attention_heads: heads, num_key_value_heads: kv, head_dim: d } = config;
  const tensors: Record<string, ReturnType<typeof tensor>> = { 'model.embed_tokens.weight': tensor([v, h], 1), 'model.norm.weight': tensor([h], 0, 1) };
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    Object.assign(tensors, {
      [`${p}.input_layernorm.weight`]: tensor([h], 0, 1), [`${p}.post_attention_layernorm.weight`]: tensor([h], 0, 1),
      [`${p}.self_attn.q_proj.weight`]: tensor([heads * d, h], 0.3), [`${p}.self_attn.k_proj.weight`]: tensor([kv * d, h], 0.3),
      [`${p}.self_attn.v_proj.weight`]: tensor([kv * d, h], 0.3), [`${p}.self_attn.o_proj.weight`]: tensor([h, heads * d], 0.3),
      [`${p}.mlp.gate_proj.weight`]: tensor([m, h], 0.3), [`${p}.mlp.up_proj.weight`]: tensor([m, h], 0.3), [`${p}.mlp.down_proj.weight`]: tensor([h, m], 0.3),
    });
  }
  writeFileSync(join(dir, 'model.safetensors'), safetensorsBytes(tensors));
  return dir;
}

const schemaFormat = (name: string): ResponseFormat => ({ type: 'json_schema', json_schema: { name, schema: SCHEMAS[name], strict: true } });

async function expectValid(runtime: Runtime, request: GenerateRequest, schema: unknown): Promise<void> {
  const result = await runtime.generate({ maxTokens: 160, ...request }, () => undefined);
  expect(result.finishReason, result.text).toBe('eos');
  let value: unknown;
  expect(() => (value = JSON.parse(result.text)), result.text).not.toThrow();
  expect(validate(schema, value), result.text).toEqual([]);
  expect(result.stats.constraintMasks).toBe(result.tokens.length + 1);
}

const strategies: [string, Strategy][] = [['greedy', { kind: 'greedy' }], ['sampling', { kind: 'sample', temperature: 1, seed: 11 }]];

describe('constrained decoding on a random-weight model', () => {
  let runtime: Runtime;
  let dir: string;
  beforeAll(async () => {
    dir = randomModel();
    runtime = await loadRuntime(dir);
  });
  afterAll(() => {
    runtime?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('unconstrained output is not JSON', async () => {
    for (const prompt of ['{"name":', 'Answer in JSON:']) {
      const { text } = await runtime.generate({ prompt, maxTokens: 40, stopAtEos: false }, () => undefined);
      expect(() => JSON.parse(text), text).toThrow();
    }
  });

  for (const [label, strategy] of strategies) {
    it(`${label}: every schema of the suite, and json_object`, async () => {
      for (const name of Object.keys(SCHEMAS)) await expectValid(runtime, { prompt: 'JSON:', strategy, responseFormat: schemaFormat(name) }, SCHEMAS[name]);
      await expectValid(runtime, { prompt: 'JSON:', strategy, responseFormat: { type: 'json_object' } }, { type: 'object' });
    });
  }
});

describe('constrained decoding on tiny-dense', () => {
  let runtime: Runtime;
  beforeAll(async () => {
    runtime = await loadRuntime(TINY);
  });
  afterAll(() => runtime?.dispose());

  for (const [label, strategy] of strategies) {
    it(`${label}: schemas with logprobs and penalties alongside`, async () => {
      for (const name of ['person', 'union', 'list']) {
        await expectValid(runtime, { prompt: 'The answer, as JSON:', strategy, responseFormat: schemaFormat(name), logprobs: true, topLogprobs: 2, frequencyPenalty: 0.5 }, SCHEMAS[name]);
      }
    });
  }

  it('a schema outside the subset is refused before generation; the engine stays usable', async () => {
    const bad: ResponseFormat = { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', pattern: 'a+' } } };
    await expect(runtime.generate({ prompt: 'x', responseFormat: bad }, () => undefined)).rejects.toMatchObject({ name: 'InvalidRequestError' });
    await expect(runtime.generate({ prompt: 'x', responseFormat: { type: 'json_object' }, strategy: { kind: 'superposed' } }, () => undefined)).rejects.toMatchObject({ details: { field: 'responseFormat' } });
    await expectValid(runtime, { prompt: 'x', responseFormat: schemaFormat('color') }, SCHEMAS.color);
  });
});
