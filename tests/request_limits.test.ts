/**
 * One owner for request limits: the validator, from what the engine can run on its device (EngineInfo). Limits
 * themselves run; one past them is an InvalidRequestError naming the field, never a RangeError later or a silent
 * clamp. Then fuzzing: chat-grade options (formats, strategies, logprobs, penalties, min_p, n) through generate and
 * chat.completions give a correct answer or a typed error.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferError } from '../src/contract/errors';
import type { ChatCompletion, ChatCompletionRequest, Engine, GenerateRequest, GenerateResult, ResponseFormat } from '../src/contract/types';
import { compileFormat } from '../src/decode/constraints';
import { createEngine } from '../src/node/index';
import { SCHEMAS } from './helpers/json_schemas';
import { GRAMMARS, REGEXES } from './helpers/grammars';

/** True when `text` is a prefix the format allows, and (complete) a whole sentence of it. */
function allowed(format: ResponseFormat | undefined, text: string, complete: boolean): boolean {
  const compiled = compileFormat(format);
  if (!compiled) return true;
  let s: unknown = compiled.start;
  for (const c of text) s = s === undefined ? undefined : compiled.automaton.feed(s, c);
  return s !== undefined && (!complete || compiled.automaton.accepting(s));
}

/** A correct answer, or a typed error; anything else fails the property. */
async function answerOrTyped<T>(work: Promise<T>, check: (value: T) => void): Promise<'answered' | 'refused'> {
  try {
    check(await work);
    return 'answered';
  } catch (e) {
    if (!(e instanceof InferError)) throw e;
    return 'refused';
  }
}

const hostile = fc.constantFrom<unknown>(-1, 1e9, NaN, Infinity, '1', null, [], {});
const or = <T>(plausible: fc.Arbitrary<T>) => fc.option(fc.oneof({ arbitrary: plausible as fc.Arbitrary<unknown>, weight: 12 }, { arbitrary: hostile, weight: 1 }), { nil: undefined, freq: 2 });
const format = fc.oneof(
  fc.constantFrom<unknown>({ type: 'text' }, { type: 'json_object' }, { type: 'regex', regex: '(' }, { type: 'grammar', grammar: 'root ::= missing' }, { type: 'xml' }, 'json'),
  fc.constantFrom(...Object.keys(SCHEMAS)).map((name) => ({ type: 'json_schema', json_schema: { name, schema: SCHEMAS[name] } })),
  fc.constantFrom(...Object.values(GRAMMARS), ...Object.values(REGEXES)).map((c) => c.format),
);
const strategy = fc.oneof(
  fc.constant({ kind: 'greedy' }),
  fc.record({ temperature: or(fc.double({ min: 0, max: 2, noNaN: true })), minP: or(fc.double({ min: 0, max: 1.2, noNaN: true })), seed: or(fc.nat()) }, { requiredKeys: [] }).map((s) => ({ kind: 'sample', ...s })),
  fc.record({ exitLayer: or(fc.integer({ min: 0, max: 5 })), draftLength: or(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant('auto'))) }, { requiredKeys: [] }).map((s) => ({ kind: 'self-speculative', ...s })),
  fc.record({ drafts: or(fc.integer({ min: 0, max: 20 })), tokensPerDraft: or(fc.integer({ min: 0, max: 40 })) }, { requiredKeys: [] }).map((s) => ({ kind: 'superposed', ...s })),
);

describe('request limits and chat-grade option fuzz on tiny-dense', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createEngine({ model: 'public/models/tiny-dense' });
  });
  afterAll(async () => engine?.dispose());

  it('the limits run; one past them is refused by name (superposed tokensPerDraft 32, draftLength 40)', async () => {
    const max = engine.info.maxDraftLength;
    const refused = (request: GenerateRequest, field: string) => expect(engine.complete(request)).rejects.toMatchObject({ name: 'InvalidRequestError', details: { field } });
    await refused({ prompt: 'x', maxTokens: 3, strategy: { kind: 'superposed', tokensPerDraft: 32 } }, 'strategy.tokensPerDraft');
    await refused({ prompt: 'x', maxTokens: 3, strategy: { kind: 'self-speculative', draftLength: 40 } }, 'strategy.draftLength');
    await refused({ prompt: 'x', maxTokens: 3, strategy: { kind: 'self-speculative', draftLength: max + 1 } }, 'strategy.draftLength');
    await refused({ prompt: 'x', maxTokens: 3, strategy: { kind: 'sample', minP: 1.5 } }, 'strategy.minP');
    await expect(engine.chat.completions.create({ messages: [{ role: 'user', content: 'x' }], strategy: { kind: 'self-speculative', draftLength: 40 } }))
      .rejects.toMatchObject({ details: { field: 'strategy.draftLength' } });
    const greedy = await engine.complete({ prompt: 'Once upon', maxTokens: 2 * max, stopAtEos: false });
    const longest = await engine.complete({ prompt: 'Once upon', maxTokens: 2 * max, stopAtEos: false, strategy: { kind: 'self-speculative', exitLayer: 1, draftLength: max } });
    expect(longest.tokens).toEqual(greedy.tokens);
    const widest = await engine.complete({ prompt: 'Once upon', maxTokens: 3, strategy: { kind: 'superposed', drafts: 16, tokensPerDraft: 16 } });
    expect(widest.tokens.length).toBeGreaterThan(0);
  });

  it('generate: fuzzed formats, strategies and controls give a correct answer or a typed error', async () => {
    const tally = { answered: 0, refused: 0 };
    const request = fc.record({
      maxTokens: fc.integer({ min: 1, max: 8 }), strategy: fc.option(strategy, { nil: undefined }), responseFormat: fc.option(format, { nil: undefined }),
      logprobs: or(fc.boolean()), topLogprobs: or(fc.integer({ min: 0, max: 22 })), frequencyPenalty: or(fc.double({ min: -2.5, max: 2.5, noNaN: true })),
      logitBias: or(fc.dictionary(fc.constantFrom('0', '5', '99999', '-1'), fc.integer({ min: -120, max: 120 }), { maxKeys: 2 })),
    }, { requiredKeys: ['maxTokens'] });
    await fc.assert(fc.asyncProperty(request, async (r) => {
      const outcome = await answerOrTyped(engine.complete({ prompt: 'JSON:', ...r } as GenerateRequest), (result: GenerateResult) => {
        expect(result.tokens.every((t) => t >= 0 && t < engine.info.vocab)).toBe(true);
        expect(result.tokens.length).toBeLessThanOrEqual(r.maxTokens);
        expect(allowed(r.responseFormat as ResponseFormat, result.text, result.finishReason === 'eos'), result.text).toBe(true);
        if (r.logprobs === true) expect(result.logprobs).toHaveLength(result.tokens.length);
      });
      tally[outcome]++;
    }), { numRuns: 60, seed: 16 });
    expect(tally.answered).toBeGreaterThan(10);
    expect(tally.refused).toBeGreaterThan(5);
  }, 300_000);

  it('chat.completions: fuzzed fields give OpenAI-shaped answers or a typed error', async () => {
    const request = fc.record({
      max_tokens: fc.integer({ min: 1, max: 6 }), n: or(fc.integer({ min: 1, max: 3 })), temperature: or(fc.constantFrom(0, 0.7, 3)), min_p: or(fc.constantFrom(0, 0.2, 1)),
      response_format: fc.option(format, { nil: undefined }), strategy: fc.option(strategy, { nil: undefined }), logprobs: or(fc.boolean()), stream: fc.boolean(),
    }, { requiredKeys: ['max_tokens', 'stream'] });
    await fc.assert(fc.asyncProperty(request, async (r) => {
      const run = async (): Promise<ChatCompletion> => {
        const body = { messages: [{ role: 'user' as const, content: 'A JSON answer:' }], ...r } as ChatCompletionRequest;
        if (!r.stream) return engine.chat.completions.create({ ...body, stream: false });
        const text = new Map<number, string>();
        let finish = new Map<number, string | null>();
        for await (const c of await engine.chat.completions.create({ ...body, stream: true })) {
          for (const ch of c.choices) {
            text.set(ch.index, (text.get(ch.index) ?? '') + (ch.delta.content ?? ''));
            if (ch.finish_reason) finish = finish.set(ch.index, ch.finish_reason);
          }
        }
        return { choices: [...text].map(([index, content]) => ({ index, message: { role: 'assistant', content, refusal: null }, finish_reason: finish.get(index), logprobs: null })) } as ChatCompletion;
      };
      await answerOrTyped(run(), (completion) => {
        expect(completion.choices).toHaveLength(typeof r.n === 'number' ? r.n : 1);
        for (const choice of completion.choices) {
          expect(['stop', 'length']).toContain(choice.finish_reason);
          expect(allowed(r.response_format as ResponseFormat, choice.message.content ?? '', choice.finish_reason === 'stop')).toBe(true);
        }
      });
    }), { numRuns: 25, seed: 16 });
  }, 300_000);
});
