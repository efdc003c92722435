/**
 * Constrained decoding end to end: every output parses and validates against its schema, on the shipped tiny-dense
 * model and on a random-weight model (where any token is likely, and unconstrained output is never JSON), greedy and
 * sampled; the mask kernel path reads back only ids.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime/runtime';
import type { GenerateRequest, ResponseFormat, Strategy } from '../src/contract/types';
import { loadRuntime } from './helpers/runtime';
import { useRandomModelRuntime } from './helpers/random_model';
import { SCHEMAS, validate } from './helpers/json_schemas';

const TINY = 'public/models/tiny-dense';

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
  const runtime = useRandomModelRuntime();

  it('unconstrained output is not JSON', async () => {
    for (const prompt of ['{"name":', 'Answer in JSON:']) {
      const { text } = await runtime().generate({ prompt, maxTokens: 40, stopAtEos: false }, () => undefined);
      expect(() => JSON.parse(text), text).toThrow();
    }
  });

  for (const [label, strategy] of strategies) {
    it(`${label}: every schema of the suite, and json_object`, async () => {
      for (const name of Object.keys(SCHEMAS)) await expectValid(runtime(), { prompt: 'JSON:', strategy, responseFormat: schemaFormat(name) }, SCHEMAS[name]);
      await expectValid(runtime(), { prompt: 'JSON:', strategy, responseFormat: { type: 'json_object' } }, { type: 'object' });
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
    await expect(runtime.generate({ prompt: 'x', logprobs: true, strategy: { kind: 'superposed' } }, () => undefined)).rejects.toMatchObject({ details: { field: 'logprobs' } });
    await expectValid(runtime, { prompt: 'x', responseFormat: schemaFormat('color') }, SCHEMAS.color);
  });
});
