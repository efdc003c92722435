/**
 * Lifecycle races: dispose() or reload() while a long generation runs stops it between steps and resolves
 * within a bounded time; the reloaded (or a new) engine then gives the same greedy tokens.
 */
import { describe, expect, it } from 'vitest';
import type { Engine, GenerateEvent, GenerateRequest, GenerateResult } from '../src/contract/types';
import { InvalidRequestError } from '../src/contract/errors';
import { createEngine } from '../src/node/index';

const MODEL = 'public/models/tiny-dense';
const PROBE: GenerateRequest = { prompt: 'Once upon a time', maxTokens: 8, stopAtEos: false };
const LONG: GenerateRequest = { prompt: 'The little robot', maxTokens: 1000, stopAtEos: false };
/** The target on this machine; one decode step of tiny-dense takes ~20 ms. */
const BOUND_MS = 1000;

/** Starts a long generation; resolves once its first tokens arrived, with a promise of its final result. */
async function startLong(engine: Engine): Promise<{ result: Promise<GenerateResult> }> {
  const events = engine.generate(LONG)[Symbol.asyncIterator]();
  let first: IteratorResult<GenerateEvent>;
  do first = await events.next(); while (!first.done && first.value.type !== 'tokens');
  const result = (async () => {
    for (;;) {
      const { value, done } = await events.next();
      if (done) throw new Error('the stream ended without done');
      if (value.type === 'done') return value.result;
    }
  })();
  return { result };
}

describe('lifecycle during a generation', () => {
  it('dispose() stops a 1000-token generation between steps and resolves within the bound', async () => {
    const engine = await createEngine({ model: MODEL });
    const expected = (await engine.complete(PROBE)).tokens;
    const { result } = await startLong(engine);
    const queued = engine.complete(PROBE);
    const started = performance.now();
    await engine.dispose();
    const ms = performance.now() - started;
    const [aborted, queuedResult] = await Promise.all([result, queued]);
    console.log(`dispose() during a 1000-token generation resolved in ${ms.toFixed(0)} ms after ${aborted.tokens.length} tokens`);
    expect(aborted).toMatchObject({ aborted: true, finishReason: 'aborted' });
    expect(aborted.tokens.length).toBeLessThan(LONG.maxTokens!);
    expect(queuedResult.aborted, 'a request queued behind it never starts').toBe(true);
    expect(ms).toBeLessThan(BOUND_MS);
    await expect(engine.complete(PROBE)).rejects.toBeInstanceOf(InvalidRequestError);

    const fresh = await createEngine({ model: MODEL });
    expect((await fresh.complete(PROBE)).tokens).toEqual(expected);
    await fresh.dispose();
  });

  it('reload() during a generation aborts it within the bound; the reloaded engine answers the same', async () => {
    const engine = await createEngine({ model: MODEL });
    try {
      const expected = (await engine.complete(PROBE)).tokens;
      const { result } = await startLong(engine);
      const started = performance.now();
      const reloaded = engine.reload();
      const aborted = await result;
      const ms = performance.now() - started;
      console.log(`reload() ended a 1000-token generation in ${ms.toFixed(0)} ms after ${aborted.tokens.length} tokens`);
      expect(aborted).toMatchObject({ aborted: true, finishReason: 'aborted' });
      expect(ms).toBeLessThan(BOUND_MS);
      await reloaded;
      expect((await engine.complete(PROBE)).tokens).toEqual(expected);
    } finally {
      await engine.dispose();
    }
  });
});
