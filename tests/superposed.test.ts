import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { testGpu } from './helpers/gpu';
import { FIXTURE_MODELS, readFixture } from './helpers/fixtures';
import { directorySource } from '../src/node/source';
import { Runtime } from '../src/runtime/runtime';
import { loadNgramTable, NgramTable } from '../src/model/ngram';
import type { ModelSource } from '../src/model/source';
import { ModelFormatError } from '../src/contract/errors';
import type { DraftView, GenerateEvent, Strategy } from '../src/contract/types';

const TINY_DENSE = 'public/models/tiny-dense';
const NGRAMS = 'public/models/ngrams-bpe2048.bin';

async function load(): Promise<Runtime> {
  return Runtime.load(await testGpu(), directorySource(TINY_DENSE), { contextLength: 256 });
}

async function superposed(runtime: Runtime, prompt: number[], maxTokens: number, strategy: Strategy) {
  const draftEvents: DraftView[][] = [];
  const onEvent = (ev: GenerateEvent) => {
    if (ev.type === 'drafts') draftEvents.push(ev.drafts);
  };
  const result = await runtime.generate({ prompt, maxTokens, stopAtEos: false, strategy }, onEvent);
  return { result, draftEvents };
}

describe('superposed decoding', () => {
  const fixture = readFixture('tests/fixtures/tiny-dense.safetensors');
  const prompt = Array.from(fixture.greedy_prompt);

  it('equals greedy decoding with one draft and n-gram weight 0', async () => {
    const runtime = await load();
    const golden = Array.from(fixture.greedy_tokens).slice(0, 32);
    const { result } = await superposed(runtime, prompt, golden.length, { kind: 'superposed', drafts: 1, ngramWeight: 0 });
    expect(result.tokens).toEqual(golden);
    runtime.dispose();
  });

  it('equals greedy decoding with one draft on Gemma 2 (scaled embedding, soft-capped logits, sliding window)', async () => {
    const dir = `${FIXTURE_MODELS}/gemma2-softcap`;
    const gemma = readFixture(`${dir}/fixture.safetensors`);
    const runtime = await Runtime.load(await testGpu(), directorySource(dir), { contextLength: 256 });
    const golden = Array.from(gemma.greedy_tokens);
    const { result } = await superposed(runtime, Array.from(gemma.greedy_prompt), golden.length, { kind: 'superposed', drafts: 1, ngramWeight: 0 });
    expect(result.tokens).toEqual(golden);
    runtime.dispose();
  });

  it('looks for an n-gram table only when first asked, and says whether one scored the drafts', async () => {
    const asked: string[] = [];
    /** the shipped folder, recording which files are asked for; `hide` makes the n-gram tables absent */
    const recorded = (hide: boolean): ModelSource => {
      const dir = directorySource(TINY_DENSE);
      const isTable = (name: string) => name.includes('ngrams');
      return {
        ...dir,
        exists: async (name) => (asked.push(name), !(hide && isTable(name)) && dir.exists(name)),
        binary: (name) => (asked.push(name), dir.binary(name)),
      };
    };
    const runtime = await Runtime.load(await testGpu(), recorded(false), { contextLength: 256 });
    await runtime.generate({ prompt, maxTokens: 4 }, () => undefined);
    expect(asked.filter((f) => f.includes('ngrams')), 'no probe at load or for greedy').toEqual([]);
    const strategy = { kind: 'superposed', drafts: 2 } as const;
    expect((await superposed(runtime, prompt, 4, strategy)).result.stats.ngrams).toBe('used');
    expect(asked.filter((f) => f.includes('ngrams')).length).toBeGreaterThan(0);
    expect((await superposed(runtime, prompt, 4, { ...strategy, ngramWeight: 0 })).result.stats.ngrams).toBe('off');
    runtime.dispose();
    const without = await Runtime.load(await testGpu(), recorded(true), { contextLength: 256 });
    expect((await superposed(without, prompt, 4, strategy)).result.stats.ngrams).toBe('missing');
    without.dispose();
  });

  it('keeps 3 distinct drafts with exactly one forward pass per step', async () => {
    const runtime = await load();
    const steps = 12;
    const prefillPasses = Math.ceil((prompt.length - 1) / runtime.model.rows);
    const { result, draftEvents } = await superposed(runtime, prompt, steps, { kind: 'superposed', drafts: 3 });
    expect(draftEvents.length).toBe(steps);
    expect(result.stats.forwardPasses - prefillPasses).toBe(steps);
    const drafts = result.drafts!;
    expect(drafts.length).toBe(3);
    expect(new Set(drafts.map((d) => d.tokens.join(','))).size).toBe(3);
    for (const d of drafts) expect(d.tokens.length).toBe(steps);
    expect(drafts.map((d) => d.score)).toEqual([...drafts.map((d) => d.score)].sort((a, b) => b - a));
    expect(result.tokens).toEqual(drafts[0].tokens);
    runtime.dispose();
  });

  it('starts from the top-k tokens of the prompt\'s next-token distribution, scored like a CPU reference', async () => {
    const runtime = await load();
    const table = new NgramTable(readFileSync(NGRAMS).buffer.slice(0) as ArrayBuffer);
    const vocab = runtime.config.vocab;
    const logits = await runtime.logits(prompt);
    const last = logits.subarray((prompt.length - 1) * vocab);
    const top9 = Array.from(last.keys()).sort((a, b) => last[b] - last[a] || a - b).slice(0, 9);
    const temperature = 0.06;
    // p: softmax(logits / T) over the vocabulary, truncated to the top 9 and renormalised
    const z = top9.reduce((s, v) => s + Math.exp((last[v] - last[top9[0]]) / temperature), 0);
    const logP = top9.map((v) => (last[v] - last[top9[0]]) / temperature - Math.log(z));
    const lambdas: Record<number, number> = { 2: 0.01, 3: 0.04, 4: 0.15, 5: 0.18 };
    for (const alpha of [0, 0.54]) {
      const expected = top9.map((v, i) => {
        let q = 0;
        for (const [order, lambda] of Object.entries(lambdas)) q += lambda * (table.lookup(Number(order), prompt).get(v) ?? 0);
        const score = alpha === 0 ? logP[i] : q > 0 ? (1 - alpha) * logP[i] + alpha * Math.log(q) : (1 - alpha) * logP[i] - 200;
        return { token: v, score };
      }).sort((a, b) => b.score - a.score).slice(0, 3);
      const { result } = await superposed(runtime, prompt, 1, { kind: 'superposed', drafts: 3, ngramWeight: alpha });
      expect(result.drafts!.map((d) => d.tokens[0]), `alpha ${alpha}`).toEqual(expected.map((e) => e.token));
      result.drafts!.forEach((d, i) => expect(d.score).toBeCloseTo(expected[i].score, 3));
      if (alpha === 0) expect(expected.map((e) => e.token)).toEqual(top9.slice(0, 3));
    }
    runtime.dispose();
  });
});

describe('n-gram table', () => {
  const table = new NgramTable(readFileSync(NGRAMS).buffer.slice(0) as ArrayBuffer);

  it('is found next to the shipped model folder, and skipped where a default place holds something else', async () => {
    expect((await loadNgramTable(directorySource(TINY_DENSE), 2048))?.orders).toEqual([2, 3, 4, 5]);
    expect(await loadNgramTable(directorySource('tests/fixtures/models/llama-gqa3'), 384)).toBeUndefined();
    const html = new TextEncoder().encode('<!doctype html><html></html>');
    const spa: ModelSource = {
      describe: 'spa',
      exists: async () => true,
      text: async () => '',
      binary: async () => ({ size: html.length, stream: async function* () { yield html; } }),
    };
    expect(await loadNgramTable(spa, 2048)).toBeUndefined();
    await expect(loadNgramTable(spa, 2048, 'ngrams.bin')).rejects.toBeInstanceOf(ModelFormatError);
  });

  it('has orders 2..5 for the 2048-token vocabulary', () => {
    expect(table.vocab).toBe(2048);
    expect(table.orders).toEqual([2, 3, 4, 5]);
  });

  it('returns maximum-likelihood continuations that sum to at most 1, most likely first', () => {
    for (const context of [[0], [0, 315], [300, 260, 1489], [12, 315, 268, 261]]) {
      for (const order of table.orders) {
        const next = table.lookup(order, context);
        const probs = [...next.values()];
        expect(probs.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-9);
        for (let i = 1; i < probs.length; i++) expect(probs[i]).toBeLessThanOrEqual(probs[i - 1]);
      }
    }
    expect(table.lookup(2, [0]).size).toBeGreaterThan(10); // every document starts after <|bos|>
    expect(table.lookup(3, [5]).size).toBe(0); // context shorter than the order
  });

  it('keeps every n-gram\'s shorter suffix n-gram (counts >= 2 survive pruning in every lower order)', () => {
    const text = [0, 315, 976, 706, 283, 727, 102, 720, 265, 2045, 300, 283, 296, 870, 314, 48, 342, 969, 300, 260];
    let checked = 0;
    for (let end = 1; end <= text.length; end++) {
      const context = text.slice(0, end);
      for (let order = 5; order >= 3; order--) {
        for (const v of table.lookup(order, context).keys()) {
          expect(table.lookup(order - 1, context).has(v), `order ${order} after ${context.slice(-4)}`).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
  });
});
