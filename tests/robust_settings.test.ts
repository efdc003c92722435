/**
 * Settings that pass validation must work: temperature 0 and tiny temperatures or topP take the greedy limit,
 * every limit the validator accepts runs, and odd inputs (array holes, URLs, named pipes) get typed errors or work.
 * After each hostile case the engine gives the same greedy tokens as before.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, GenerateRequest, Strategy } from '../src/contract/types';
import { InvalidRequestError, ModelFormatError } from '../src/contract/errors';
import { parseConfig } from '../src/model/config';
import { createEngine } from '../src/node/index';
import { startStaticServer } from './helpers/static_server';

const MODEL = 'public/models/tiny-dense';
const PROMPT = 'Once upon a time';
const TINY = [0, 1e-45, Number.MIN_VALUE, 1e-300, 1e-25];

let engine: Engine;
let greedy: number[];
const run = async (strategy: Strategy, maxTokens = 10) =>
  (await engine.complete({ prompt: PROMPT, maxTokens, stopAtEos: false, strategy })).tokens;

beforeAll(async () => {
  engine = await createEngine({ model: MODEL });
  greedy = await run({ kind: 'greedy' });
});
afterAll(async () => {
  // every hostile case above left the engine answering exactly as before
  expect(await run({ kind: 'greedy' })).toEqual(greedy);
  await engine?.dispose();
});

describe('extreme sampling settings', () => {
  it('temperature 0 and tiny temperatures give the greedy tokens (sample, sampled self-speculation)', async () => {
    for (const temperature of TINY) {
      expect(await run({ kind: 'sample', temperature, seed: 3 }), `sample T=${temperature}`).toEqual(greedy);
      const sampling = { temperature, seed: 3 };
      expect(await run({ kind: 'self-speculative', exitLayer: 2, draftLength: 3, sampling }), `self-speculative T=${temperature}`).toEqual(greedy);
    }
  });

  it('a tiny topP keeps the top token (greedy), never an empty nucleus', async () => {
    for (const topP of [1e-45, Number.MIN_VALUE, 1e-300, 1e-10]) {
      expect(await run({ kind: 'sample', temperature: 1, topP, seed: 5 }), `topP=${topP}`).toEqual(greedy);
      const sampling = { temperature: 0.7, topP, seed: 5 };
      expect(await run({ kind: 'self-speculative', exitLayer: 1, draftLength: 2, sampling }), `self-speculative topP=${topP}`).toEqual(greedy);
    }
  });

  it('superposed decoding at tiny temperatures is greedy with one draft and no n-grams', async () => {
    for (const temperature of [1e-45, Number.MIN_VALUE, 1e-300]) {
      expect(await run({ kind: 'superposed', drafts: 1, ngramWeight: 0, temperature }), `T=${temperature}`).toEqual(greedy);
    }
    const wide = await run({ kind: 'superposed', drafts: 3, temperature: Number.MIN_VALUE });
    expect(wide.length).toBe(10);
  });

  it('chat with temperature 0 or a tiny temperature answers the greedy reply', async () => {
    const messages = [{ role: 'user' as const, content: 'Tell me a story.' }];
    const replies = [];
    for (const temperature of [0, 1e-45, Number.MIN_VALUE]) {
      replies.push((await engine.chat.completions.create({ messages, max_tokens: 8, temperature })).choices[0].message.content);
    }
    expect(new Set(replies).size).toBe(1);
    expect(replies[0]?.length).toBeGreaterThan(0);
  });

  it('the largest accepted temperature samples valid tokens; huge values are refused', async () => {
    const tokens = await run({ kind: 'sample', temperature: 100, seed: 9 });
    expect(tokens.every((t) => Number.isInteger(t) && t >= 0 && t < engine.info.vocab)).toBe(true);
    const refused: Strategy[] = [
      { kind: 'sample', temperature: 1e300 }, { kind: 'sample', topP: 1e300 }, { kind: 'sample', temperature: Infinity },
      { kind: 'self-speculative', sampling: { temperature: 1e300 } }, { kind: 'superposed', temperature: 1e300 },
    ];
    for (const strategy of refused) await expect(run(strategy), JSON.stringify(strategy)).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it('tokensPerDraft and drafts: every accepted value runs, the next one is refused', async () => {
    expect(await run({ kind: 'superposed', tokensPerDraft: 16, drafts: 16 }, 3)).toHaveLength(3);
    for (const strategy of [{ tokensPerDraft: 17 }, { tokensPerDraft: 64 }, { drafts: 17 }]) {
      const error = await run({ kind: 'superposed', ...strategy }).catch((e: unknown) => e);
      expect(error, JSON.stringify(strategy)).toBeInstanceOf(InvalidRequestError);
      expect((error as Error).message).toMatch(/\[1, 16\]/);
    }
  });
});

describe('odd inputs', () => {
  it('logits() refuses array holes instead of reading them as token 0', async () => {
    // eslint-disable-next-line no-sparse-arrays
    const holed = [5, , 7] as number[];
    await expect(engine.logits(holed)).rejects.toBeInstanceOf(InvalidRequestError);
    const request: GenerateRequest = { prompt: holed };
    await expect(engine.complete(request)).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it('a MoE config with more experts per token than experts is refused at load', () => {
    const config = { architectures: ['MixtralForCausalLM'], vocab_size: 64, hidden_size: 32, intermediate_size: 32, num_hidden_layers: 1,
      num_attention_heads: 2, num_key_value_heads: 1, hidden_act: 'silu', num_local_experts: 4, num_experts_per_tok: 5 };
    expect(() => parseConfig(config)).toThrow(ModelFormatError);
    expect(() => parseConfig(config)).toThrow(/num_experts_per_tok.*5 exceeds the 4 experts/);
    expect(parseConfig({ ...config, num_experts_per_tok: 4 }).moe?.expertsPerToken).toBe(4);
  });

  it('a named pipe as config.json is refused at once (no hang)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fifo-model-'));
    try {
      execFileSync('mkfifo', [join(dir, 'config.json')]);
      const started = performance.now();
      const error = await createEngine({ model: dir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelFormatError);
      expect((error as Error).message).toMatch(/config\.json.*not a regular file/);
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the Node engine loads an http URL and answers as from the folder', async () => {
    const server = await startStaticServer('public/models');
    try {
      const remote = await createEngine({ model: `${server.url}/tiny-dense/` });
      expect((await remote.complete({ prompt: PROMPT, maxTokens: 10, stopAtEos: false })).tokens).toEqual(greedy);
      await remote.dispose();
    } finally {
      await server.close();
    }
  });
});
