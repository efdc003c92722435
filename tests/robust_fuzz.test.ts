/**
 * Fuzzing the engine end to end: random request options and random config fields either give a correct answer
 * (tokens inside the vocabulary, a loaded model that generates) or a typed InferError, within a time limit, and
 * the engine answers the probe exactly as before afterwards.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferError } from '../src/contract/errors';
import type { Engine, GenerateRequest } from '../src/contract/types';
import { memorySource } from '../src/model/source';
import { createEngine } from '../src/node/index';
import { Runtime } from '../src/runtime/runtime';
import { testGpu } from './helpers/gpu';

const LIMIT_MS = 10_000;
const PROBE: GenerateRequest = { prompt: 'Once upon a time', maxTokens: 6, stopAtEos: false };

/** How many fuzzed inputs were answered and how many refused with a typed error. */
const tally = { answered: 0, refused: 0 };

/** Checks the answer, or accepts a typed error; fails the property when neither comes within the limit. */
async function within<T>(work: Promise<T>, check: (value: T) => void): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${LIMIT_MS} ms`)), LIMIT_MS)));
  try {
    check(await Promise.race([work, timeout]));
    tally.answered++;
  } catch (e) {
    if (!(e instanceof InferError)) throw e; // anything but a typed error fails the property
    tally.refused++;
  } finally {
    clearTimeout(timer);
  }
}

/** Numbers and non-numbers a hostile caller would try. */
const anyNumber = fc.oneof(
  fc.integer({ min: -3, max: 20 }), fc.double({ noNaN: false }),
  fc.constantFrom(0, -0, 1e-45, Number.MIN_VALUE, 1e-300, 1e300, Infinity, -Infinity, NaN, 2 ** 31, 2 ** 53),
  fc.constantFrom('1', null, true, [], {}),
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
/** Mostly a plausible value, sometimes a hostile one: either kind must work or be refused. */
const or = (plausible: fc.Arbitrary<unknown>) => maybe(fc.oneof({ arbitrary: plausible, weight: 4 }, { arbitrary: anyNumber, weight: 1 }));
const unit = fc.double({ min: 0, max: 1, noNaN: true });
const sampling = fc.record({
  temperature: or(fc.double({ min: 0, max: 3, noNaN: true })), topK: or(fc.integer({ min: 0, max: 60 })), topP: or(unit), seed: or(fc.nat()),
}, { requiredKeys: [] });
const strategy = fc.oneof(
  fc.constant({ kind: 'greedy' }),
  sampling.map((s) => ({ kind: 'sample', ...s })),
  fc.record({
    exitLayer: or(fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant('auto'))), draftLength: or(fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constant('auto'))),
    confidenceThreshold: or(unit), sampling: maybe(sampling),
  }, { requiredKeys: [] }).map((s) => ({ kind: 'self-speculative', ...s })),
  fc.record({ drafts: or(fc.integer({ min: 1, max: 16 })), ngramWeight: or(unit), temperature: or(fc.double({ min: 0.001, max: 2, noNaN: true })), tokensPerDraft: or(fc.integer({ min: 1, max: 16 })) }, { requiredKeys: [] })
    .map((s) => ({ kind: 'superposed', ...s })),
  fc.constantFrom({ kind: 'beam' }, null, 'greedy', {}),
);
const request = fc.record({
  prompt: fc.oneof(
    { arbitrary: fc.string({ minLength: 1, maxLength: 40 }), weight: 3 }, { arbitrary: fc.array(fc.integer({ min: 0, max: 2047 }), { minLength: 1, maxLength: 6 }), weight: 2 },
    { arbitrary: fc.oneof(fc.constant(''), fc.array(anyNumber, { maxLength: 6 })), weight: 1 },
  ),
  // always given and small when valid: the default (256 tokens) would measure the machine, not the engine
  maxTokens: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 6 }), weight: 4 }, { arbitrary: anyNumber.filter((n) => typeof n !== 'number' || !(n > 6 && n < 1e6)), weight: 1 }),
  strategy: maybe(strategy),
  stop: maybe(fc.oneof(fc.array(fc.string({ minLength: 1, maxLength: 3 }), { maxLength: 3 }), fc.constantFrom('x', [1], null, ['']))),
  stopAtEos: maybe(fc.oneof(fc.boolean(), fc.constantFrom(0, 'yes'))),
}, { requiredKeys: ['prompt', 'maxTokens'] });

describe('request fuzz on tiny-dense', () => {
  let engine: Engine;
  let before: number[];
  beforeAll(async () => {
    engine = await createEngine({ model: 'public/models/tiny-dense' });
    before = (await engine.complete(PROBE)).tokens;
  });
  afterAll(async () => {
    expect((await engine.complete(PROBE)).tokens).toEqual(before);
    await engine.dispose();
  });

  it('every request gives tokens inside the vocabulary or a typed error, in time', async () => {
    await fc.assert(fc.asyncProperty(request, async (r) => {
      await within(engine.complete(r as GenerateRequest), (result) => {
        expect(result.tokens.every((t) => Number.isInteger(t) && t >= 0 && t < engine.info.vocab)).toBe(true);
        expect(result.tokens.length).toBeLessThanOrEqual(r.maxTokens as number);
      });
    }), { numRuns: 80, seed: 21 });
    console.log(`requests: ${tally.answered} answered, ${tally.refused} refused with typed errors`);
    Object.assign(tally, { answered: 0, refused: 0 });
  }, 300_000);
});

describe('config fuzz through a whole load', () => {
  const files = (dir: string) => ({ config: JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')) as Record<string, unknown>, weights: new Uint8Array(readFileSync(`${dir}/model.safetensors`)) });
  const models = { dense: files('tests/fixtures/models/llama-tied'), moe: files('tests/fixtures/models/mixtral-rand') };
  const fields = ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'head_dim',
    'max_position_embeddings', 'rope_theta', 'rms_norm_eps', 'tie_word_embeddings', 'bos_token_id', 'eos_token_id', 'rope_scaling',
    'num_local_experts', 'num_experts_per_tok', 'sliding_window'];
  const mutation = fc.record({
    model: fc.constantFrom<keyof typeof models>('dense', 'moe'),
    changes: fc.array(fc.tuple(fc.constantFrom(...fields), fc.oneof(anyNumber, fc.constantFrom(undefined, { rope_type: 'linear', factor: 2 }, { rope_type: 'yarn' }))), { maxLength: 3 }),
  });

  it('every config loads and generates in-vocabulary tokens, or gives a typed error, in time', async () => {
    const gpu = await testGpu();
    await fc.assert(fc.asyncProperty(mutation, async ({ model, changes }) => {
      const config: Record<string, unknown> = { ...models[model].config };
      for (const [field, value] of changes) config[field] = value;
      const source = memorySource({ 'config.json': JSON.stringify(config), 'model.safetensors': models[model].weights });
      const run = async () => {
        const runtime = await Runtime.load(gpu, source, { contextLength: 32 });
        try {
          return await runtime.generate({ prompt: [3, 4], maxTokens: 3, stopAtEos: false }, () => undefined);
        } finally {
          runtime.dispose();
        }
      };
      await within(run(), (result) => expect(result.tokens.every((t) => t >= 0 && t < Number(config.vocab_size))).toBe(true));
    }), { numRuns: 80, seed: 21 });
    console.log(`configs: ${tally.answered} loaded and generated, ${tally.refused} refused with typed errors`);
  }, 300_000);
});
