/**
 * Chat-grade generation on the shipped tiny-dense model: sampling controls and logprobs against a CPU reference
 * applied to full-model logits, prefix reuse of the KV cache across requests, and the OpenAI chat fields.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime/runtime';
import type { GenerateRequest, GenerateResult } from '../src/contract/types';
import { InvalidRequestError } from '../src/contract/errors';
import { IN_PROMPT } from '../src/kernels/logit_controls';
import { loadRuntime } from './helpers/runtime';
import { logitControlsReference, logprobsReference } from './cases/logit_controls';
import { argmaxRows } from './helpers/fixtures';

const MODEL = 'public/models/tiny-dense';

let runtime: Runtime;
beforeAll(async () => {
  runtime = await loadRuntime(MODEL);
});
afterAll(() => runtime?.dispose());

const run = (request: GenerateRequest): Promise<GenerateResult> => runtime.generate(request, () => undefined);

/** Last-row logits of the full model after `ids`. */
async function lastLogits(ids: number[]): Promise<Float32Array> {
  const vocab = runtime.config.vocab;
  const all = await runtime.logits(ids);
  return all.slice(all.length - vocab);
}

describe('sampling controls and logprobs', () => {
  it('greedy with penalties and bias picks the argmax of the CPU reference; logprobs are its log-softmax', async () => {
    const prompt = runtime.tokenize('The old man said that the old man');
    const logitBias = { [prompt[1]]: 2.5, [prompt[2]]: -3 };
    const penalties = { frequency: 0.7, presence: 0.4, repetition: 1.3 };
    const result = await run({
      prompt, maxTokens: 10, stopAtEos: false, frequencyPenalty: penalties.frequency, presencePenalty: penalties.presence,
      repetitionPenalty: penalties.repetition, logitBias, logprobs: true, topLogprobs: 5,
    });
    expect(result.tokens).toHaveLength(10);
    expect(result.logprobs).toHaveLength(10);
    const vocab = runtime.config.vocab;
    const bias = new Float32Array(vocab);
    for (const [id, b] of Object.entries(logitBias)) bias[Number(id)] = b;
    const counts = new Uint32Array(vocab);
    for (const t of prompt) counts[t] = IN_PROMPT;
    for (let i = 0; i < result.tokens.length; i++) {
      const processed = logitControlsReference(await lastLogits([...prompt, ...result.tokens.slice(0, i)]), counts, bias, null, penalties);
      expect(result.tokens[i]).toBe(argmaxRows(processed, vocab)[0]);
      const ref = logprobsReference(processed, result.tokens[i], 5);
      const lp = result.logprobs![i];
      expect(lp.token).toBe(result.tokens[i]);
      expect(Math.abs(lp.logprob - ref.chosen)).toBeLessThan(1e-4);
      expect(lp.top.map((t) => t.token)).toEqual(ref.top.map(([id]) => id));
      lp.top.forEach((t, k) => expect(Math.abs(t.logprob - ref.top[k][1])).toBeLessThan(1e-4));
      counts[result.tokens[i]] += 1;
    }
    // the penalties changed the output
    const plain = await run({ prompt, maxTokens: 10, stopAtEos: false });
    expect(plain.tokens).not.toEqual(result.tokens);
  });

  it('logprobs without controls equal the log-softmax of the model\'s logits; sampled tokens get theirs', async () => {
    const prompt = runtime.tokenize('Once upon a time');
    const result = await run({ prompt, maxTokens: 4, stopAtEos: false, strategy: { kind: 'sample', temperature: 0.9, seed: 7 }, logprobs: true });
    for (let i = 0; i < result.tokens.length; i++) {
      const ref = logprobsReference(await lastLogits([...prompt, ...result.tokens.slice(0, i)]), result.tokens[i], 0);
      expect(Math.abs(result.logprobs![i].logprob - ref.chosen)).toBeLessThan(1e-4);
      expect(result.logprobs![i].top).toEqual([]);
    }
  });

  it('a bias of -100 bans a token, +100 forces one', async () => {
    const prompt = runtime.tokenize('Once upon a time');
    const plain = await run({ prompt, maxTokens: 6, stopAtEos: false });
    const banned = await run({ prompt, maxTokens: 6, stopAtEos: false, logitBias: { [plain.tokens[0]]: -100 } });
    expect(banned.tokens).not.toContain(plain.tokens[0]);
    const forced = await run({ prompt, maxTokens: 3, stopAtEos: false, logitBias: { 42: 100 } });
    expect(forced.tokens).toEqual([42, 42, 42]);
  });

  it('refuses controls with strategies that do not apply them, and bad values, naming the field', async () => {
    const prompt = [5, 6, 7];
    await expect(run({ prompt, strategy: { kind: 'self-speculative' }, frequencyPenalty: 1 })).rejects.toMatchObject({ name: 'InvalidRequestError', details: { field: 'frequencyPenalty' } });
    await expect(run({ prompt, logitBias: { 99999: 1 } })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(run({ prompt, topLogprobs: 3 })).rejects.toMatchObject({ details: { field: 'topLogprobs' } });
    await expect(run({ prompt, logprobs: true, topLogprobs: 21 })).rejects.toMatchObject({ details: { field: 'topLogprobs' } });
    await expect(run({ prompt, presencePenalty: 3 })).rejects.toMatchObject({ details: { field: 'presencePenalty' } });
    expect((await run({ prompt, maxTokens: 2 })).tokens).toHaveLength(2); // still usable
  });
});

describe('KV cache prefix reuse', () => {
  it('three turns prefill only their new tokens and answer as a fresh engine does', async () => {
    const turns = ['Tell me about the sea.', 'And the mountains?', 'Which is older?'].map((t) => runtime.tokenize(t));
    // each turn's prompt is the previous prompt, its answer and the new turn, token for token (as chat templates give)
    const conversation = async (reuse: boolean) => {
      let prompt: number[] = [];
      const results: GenerateResult[] = [];
      for (const turn of turns) {
        prompt = [...prompt, ...(results.at(-1)?.tokens ?? []), ...turn];
        if (!reuse) runtime.resetCache();
        results.push(await run({ prompt, maxTokens: 12, stopAtEos: false }));
      }
      return results;
    };
    runtime.resetCache();
    const warm = await conversation(true);
    const cold = await conversation(false);
    expect(warm.map((r) => r.tokens)).toEqual(cold.map((r) => r.tokens));
    expect(cold.map((r) => r.stats.cachedTokens)).toEqual([0, 0, 0]);
    // the KV cache holds everything but the last answer token (it was chosen, never run through the model)
    expect(warm.map((r) => r.stats.cachedTokens)).toEqual([0, warm[0].stats.prefillTokens + 11, warm[1].stats.prefillTokens + 11]);
  });

  it('chat turns through the template answer as a fresh engine does, reusing at least the earlier prompt', async () => {
    const chat = async (reuse: boolean) => {
      const messages: { role: 'user' | 'assistant'; content: string }[] = [];
      const results: GenerateResult[] = [];
      for (const content of ['Tell me about the sea.', 'And the mountains?', 'Which is older?']) {
        messages.push({ role: 'user', content });
        if (!reuse) runtime.resetCache();
        const result = await run({ prompt: runtime.tokenize(runtime.applyChatTemplate(messages)), maxTokens: 12 });
        results.push(result);
        messages.push({ role: 'assistant', content: result.text });
      }
      return results;
    };
    runtime.resetCache();
    const warm = await chat(true);
    expect(warm.map((r) => r.tokens)).toEqual((await chat(false)).map((r) => r.tokens));
    expect(warm[1].stats.cachedTokens).toBeGreaterThanOrEqual(warm[0].stats.prefillTokens - 1);
    expect(warm[2].stats.cachedTokens).toBeGreaterThanOrEqual(warm[1].stats.prefillTokens - 1);
  });

  it('logits() and other strategies leave the cache consistent', async () => {
    const prompt = runtime.tokenize('The cat sat on the mat and');
    runtime.resetCache();
    const cold = await run({ prompt, maxTokens: 8, stopAtEos: false });
    await runtime.logits([1, 2, 3]);
    const afterLogits = await run({ prompt, maxTokens: 8, stopAtEos: false });
    expect(afterLogits.stats.cachedTokens).toBe(0);
    await run({ prompt: [...prompt, 9, 9], maxTokens: 8, strategy: { kind: 'self-speculative', exitLayer: 1, draftLength: 3 } });
    const again = await run({ prompt, maxTokens: 8, stopAtEos: false });
    expect(again.stats.cachedTokens).toBe(prompt.length - 1);
    expect(again.tokens).toEqual(cold.tokens);
  });
});

describe('chat.completions fields', () => {
  it('n choices, logprobs in OpenAI\'s shape, cached_tokens, and unknown fields refused by name', async () => {
    const { createEngine } = await import('../src/node/index');
    const engine = await createEngine({ model: MODEL, contextLength: 256 });
    try {
      const messages = [{ role: 'user' as const, content: 'Tell me a story.' }];
      const first = await engine.chat.completions.create({ messages, max_tokens: 5, n: 3, temperature: 1, seed: 3, logprobs: true, top_logprobs: 2 });
      expect(first.choices.map((c) => c.index)).toEqual([0, 1, 2]);
      expect(new Set(first.choices.map((c) => c.message.content)).size).toBeGreaterThan(1); // independent samples
      expect(first.usage.completion_tokens).toBe(first.choices.reduce((n, c) => n + c.logprobs!.content.length, 0));
      const entry = first.choices[0].logprobs!.content[0];
      expect(entry.top_logprobs).toHaveLength(2);
      expect(entry.bytes).toEqual(Array.from(new TextEncoder().encode(entry.token)));
      expect(entry.logprob).toBeLessThanOrEqual(0);
      const again = await engine.chat.completions.create({ messages, max_tokens: 5, temperature: 0 });
      expect(again.choices[0].logprobs).toBeNull();
      expect(again.usage.prompt_tokens_details.cached_tokens).toBe(again.usage.prompt_tokens - 1);
      const bad = { messages, max_tokens: 5, user: 'x' } as Parameters<typeof engine.chat.completions.create>[0];
      await expect(engine.chat.completions.create(bad)).rejects.toMatchObject({ name: 'InvalidRequestError', details: { field: 'user' } });
      await expect(engine.chat.completions.create({ messages, n: 17 })).rejects.toMatchObject({ details: { field: 'n' } });
      // null reads as absent; min_p 1 keeps only the top token (sampling = greedy); the strategy extension composes with response_format
      const greedy = await engine.chat.completions.create({ messages, max_tokens: 24, temperature: 0, stop: null, response_format: { type: 'json_object' } });
      const minP = await engine.chat.completions.create({ messages, max_tokens: 24, min_p: 1, seed: 9, response_format: { type: 'json_object' } });
      const speculative = await engine.chat.completions.create({ messages, max_tokens: 24, strategy: { kind: 'self-speculative', exitLayer: 1, draftLength: 3 }, response_format: { type: 'json_object' } });
      expect(minP.choices[0].message.content).toBe(greedy.choices[0].message.content);
      expect(speculative.choices[0].message.content).toBe(greedy.choices[0].message.content);
      await expect(engine.chat.completions.create({ messages, strategy: { kind: 'greedy' }, temperature: 1 })).rejects.toMatchObject({ details: { field: 'temperature' } });
      await expect(engine.chat.completions.create({ messages, min_p: 2 })).rejects.toMatchObject({ details: { field: 'min_p' } });
    } finally {
      await engine.dispose();
    }
  });
});
