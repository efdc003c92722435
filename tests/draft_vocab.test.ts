import { describe, expect, it } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import { testGpu } from './helpers/gpu';
import { FIXTURE_MODELS, readFixture } from './helpers/fixtures';
import { modelWithDraftVocab } from './helpers/adapter_models';
import { randomModel } from './helpers/random_model';
import { directorySource } from '../src/node/source';
import { Runtime, type RuntimeOptions } from '../src/runtime/runtime';
import { estimateMemory } from '../src/runtime/load';
import { parseConfig } from '../src/model/config';
import { parameterCount, formatBytes } from '../src/model/weight_plan';
import { rowPieces } from '../src/kernels/tensor';
import { readBuffer, readU32, uploadBuffer } from '../src/gpu/buffers';
import { draftIds, draftProbs } from '../src/kernels/draft_vocab';
import { ParamArena, Step } from '../src/gpu/step';
import { ModelFormatError } from '../src/contract/errors';
import { ExitPolicy, tokensPerLayer } from '../src/decode/exit_policy';
import type { GenerateResult, Strategy } from '../src/contract/types';
import { expectTargetDistribution } from './helpers/rank_chi_square';

const TIED = `${FIXTURE_MODELS}/llama-tied`;
const UNTIED = `${FIXTURE_MODELS}/llama-gqa3`;
const config = (dir: string) => JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
/** 40 distinct ids of a 384-token vocabulary in no order, with a run of consecutive ones (one copy) */
const IDS = [17, 3, 250, 251, 252, 253, 0, 383, 99, ...Array.from({ length: 31 }, (_, i) => 100 + 7 * i)];

async function load(dir: string, options: RuntimeOptions = {}): Promise<Runtime> {
  return Runtime.load(await testGpu(), directorySource(dir), { contextLength: 256, ...options });
}

/** The result, with the accepted drafts (which a draft vocabulary confines to its ids) in `accepted`. */
async function run(runtime: Runtime, prompt: number[], maxTokens: number, strategy: Strategy): Promise<GenerateResult & { accepted: number[] }> {
  const accepted: number[] = [];
  const result = await runtime.generate({ prompt, maxTokens, stopAtEos: false, strategy }, (ev) => {
    if (ev.type === 'tokens') ev.tokens.forEach((t, i) => ev.origins?.[i] === 'accepted' && accepted.push(t));
  });
  return { ...result, accepted };
}

/** logits rows of the head over x rows 0..rows (full head, or the draft head) */
async function headLogits(runtime: Runtime, rows: number, draft: boolean): Promise<Float32Array> {
  const { gpu, model } = runtime;
  const arena = new ParamArena(gpu);
  const step = new Step(gpu, arena);
  model.head(step, rows, 0, undefined, draft);
  step.read(model.act.logits, 0, 4 * rows * (draft ? model.weights.draftVocab!.size : runtime.config.vocab));
  const out = new Float32Array((await step.submit())[0]);
  arena.destroy();
  return out;
}

describe('draft vocabulary checkpoints', () => {
  it('parse draft_vocab_size and refuse bad sizes naming the field; the ids count as memory, not parameters', () => {
    const parsed = parseConfig({ ...config(TIED), self_speculative: { draft_vocab_size: 40 } });
    expect(parsed.selfSpeculative).toEqual({ adapterFile: 'adapter.safetensors', adapters: [], draftVocabSize: 40 });
    for (const value of [0, 385, 1.5, '40']) {
      const error = (() => {
        try {
          parseConfig({ ...config(TIED), self_speculative: { draft_vocab_size: value } });
        } catch (e) {
          return e;
        }
      })();
      expect(error, JSON.stringify(value)).toBeInstanceOf(ModelFormatError);
      expect((error as ModelFormatError).details.field).toBe('self_speculative.draft_vocab_size');
    }
    expect(() => parseConfig({ ...config(TIED), self_speculative: {} })).toThrow(/neither adapters nor draft_vocab_size/);
    const plain = parseConfig(config(TIED));
    expect(parameterCount(parsed)).toBe(parameterCount(plain));
    const f16Head = formatBytes('f16', 40, 64);
    expect(estimateMemory(parsed, { contextLength: 64 }).gpuWeights - estimateMemory(plain, { contextLength: 64 }).gpuWeights).toBe(4 * 40 + f16Head.data + 4 * 384);
  });

  it('refuse ids that repeat, fall outside the vocabulary, or have the wrong dtype or length (typed, naming the tensor); load good ones', async () => {
    const i32 = (values: number[]) => ({ dtype: 'I32', shape: [values.length], data: new Uint8Array(Int32Array.from(values).buffer) });
    const bad = [
      ['repeat', i32([5, 6, 5]), 3, /entry 2 \(5\) appears twice/],
      ['outside', i32([5, 384]), 2, /entry 1 \(384\) is not a token id/],
      ['negative', i32([-1, 2]), 2, /entry 0 \(-1\) is not a token id/],
      ['dtype', { dtype: 'F32', shape: [2], data: new Uint8Array(new Float32Array([1, 2]).buffer) }, 2, /dtype F32; token ids must be I32/],
      ['length', i32([1, 2, 3]), 2, /shape \[3\] but config\.json implies \[2\]/],
    ] as const;
    for (const [name, tensor, size, message] of bad) {
      const error = await load(modelWithDraftVocab(TIED, `draft-vocab-bad-${name}`, { ...tensor, shape: [...tensor.shape] }, size)).catch((e) => e);
      expect(error, name).toBeInstanceOf(ModelFormatError);
      expect(error.message, name).toMatch(message);
      expect(error.details.tensor, name).toBe('draft_vocab.ids');
    }
    const runtime = await load(modelWithDraftVocab(TIED, 'draft-vocab-tied', IDS));
    const plain = await load(TIED);
    expect(runtime.info.draftVocabSize).toBe(IDS.length);
    const prompt = [0, 5, 9];
    await expect(run(runtime, prompt, 4, { kind: 'self-speculative', draftVocab: 'no' as unknown as boolean })).rejects.toMatchObject({ details: { field: 'strategy.draftVocab' } });
    const golden = (await run(runtime, prompt, 8, { kind: 'greedy' })).tokens; // still usable
    expect((await run(runtime, prompt, 8, { kind: 'self-speculative', exitLayer: 1, draftLength: 2, draftVocab: false })).tokens).toEqual(golden);
    expect(runtime.info.draftAdapters).toBeUndefined();
    const headRows = formatBytes(runtime.weights.lmHead.format, IDS.length, 64);
    expect(runtime.weights.bytes - plain.weights.bytes).toBe(4 * IDS.length + headRows.data + headRows.scales + 4 * 384);
    expect(estimateMemory(runtime.config, { contextLength: 256 }).gpuWeights - estimateMemory(plain.config, { contextLength: 256 }).gpuWeights).toBe(runtime.weights.bytes - plain.weights.bytes);
    runtime.dispose();
    plain.dispose();
  });
});

describe('the gathered draft head', () => {
  for (const [name, dir, options] of [['f16 tied embedding', TIED, {}], ['q8 untied LM head (scales gathered too)', UNTIED, { quantize: 'q8' }]] as const) {
    it(`holds the LM head's rows in rank order and gives the full head's logits at those ids (${name})`, async () => {
      const runtime = await load(modelWithDraftVocab(dir, `draft-vocab-${options.quantize ?? 'f16'}`, IDS), options);
      const { gpu, weights, config: c } = runtime;
      const draft = weights.draftVocab!;
      const full = rowPieces(weights.lmHead)[0].w;
      expect(draft.head.format).toBe(full.format);
      const row = formatBytes(full.format, 1, c.hidden);
      // CPU reference: the rows ids[j] of the loaded head, byte for byte
      for (const field of ['data', 'scales'] as const) {
        const bytes = row[field];
        if (!bytes) continue;
        const all = new Uint8Array(await readBuffer(gpu, full[field]!, c.vocab * bytes));
        const gathered = new Uint8Array(await readBuffer(gpu, draft.head[field]!, IDS.length * bytes));
        const expected = new Uint8Array(IDS.length * bytes);
        IDS.forEach((id, j) => expected.set(all.subarray(id * bytes, (id + 1) * bytes), j * bytes));
        expect(Buffer.from(gathered).equals(Buffer.from(expected)), field).toBe(true);
      }
      expect(Array.from(new Uint32Array(await readBuffer(gpu, draft.ids, 4 * IDS.length)))).toEqual(IDS);
      const rank = new Uint32Array(await readBuffer(gpu, draft.rank, 4 * c.vocab));
      expect(Array.from(rank).filter((r) => r < IDS.length).length).toBe(IDS.length);
      IDS.forEach((id, j) => expect(rank[id]).toBe(j));
      // logits over some hidden rows: the draft head's row j is the full head's column ids[j], bitwise
      const rows = 3;
      gpu.device.queue.writeBuffer(runtime.model.act.x, 0, Float32Array.from({ length: rows * c.hidden }, (_, i) => Math.sin(i * 0.37)));
      const [fullLogits, draftLogits] = [await headLogits(runtime, rows, false), await headLogits(runtime, rows, true)];
      for (let r = 0; r < rows; r++) IDS.forEach((id, j) => expect(draftLogits[r * IDS.length + j]).toBe(fullLogits[r * c.vocab + id]));
      runtime.dispose();
    });
  }
});

describe('draft vocabulary kernels', () => {
  it('map ranks to ids (0xffffffff and ranks past N to none) and spread a distribution over the vocabulary, as the CPU does (awkward sizes)', async () => {
    const gpu = await testGpu();
    const vocab = 1000, size = 37; // neither a multiple of the workgroup
    const ids = Array.from({ length: size }, (_, j) => (j * 389 + 11) % vocab);
    const rankTable = new Uint32Array(vocab).fill(size);
    ids.forEach((id, j) => (rankTable[id] = j));
    const tables = { size, ids: uploadBuffer(gpu, 'ids', Uint32Array.from(ids)), rank: uploadBuffer(gpu, 'rank', rankTable) };
    const chosen = Uint32Array.from([9, 0, 36, 0xffffffff, 37, 5, 21]);
    const tokens = uploadBuffer(gpu, 'tokens', Uint32Array.from([7, 7, ...chosen]));
    const probs = uploadBuffer(gpu, 'probs', Float32Array.from({ length: size }, (_, j) => (j + 1) / ((size * (size + 1)) / 2)));
    const out = uploadBuffer(gpu, 'out', new Float32Array(3 + vocab).fill(-1));
    const arena = new ParamArena(gpu);
    const step = new Step(gpu, arena);
    draftIds(gpu, step, { tables, tokens, offset: 2, count: chosen.length });
    draftProbs(gpu, step, { tables, probs, out, outOffset: 3, vocab });
    await step.submit();
    const none = 0xffffffff;
    expect(Array.from(await readU32(gpu, tokens, 2 + chosen.length))).toEqual([7, 7, ...Array.from(chosen, (r) => (r < size ? ids[r] : none))]);
    const spread = new Float32Array(await readBuffer(gpu, out, 4 * (3 + vocab)));
    expect(Array.from(spread.subarray(0, 3))).toEqual([-1, -1, -1]);
    for (let t = 0; t < vocab; t++) expect(spread[3 + t]).toBe(rankTable[t] < size ? Math.fround((rankTable[t] + 1) / ((size * (size + 1)) / 2)) : 0);
    arena.destroy();
  });
});

describe('self-speculative decoding with a draft vocabulary is lossless', () => {
  it('on tiny-dense and tiny-moe (shipped draft vocabularies): greedy equals the reference tokens from exits, adapters and DEL', async () => {
    for (const [name, length] of [['tiny-dense', 40], ['tiny-moe', 24]] as const) {
      const fx = readFixture(`tests/fixtures/${name}.safetensors`);
      const expected = Array.from(fx.greedy_tokens).slice(0, length);
      const runtime = await load(`public/models/${name}`);
      expect(runtime.info.draftVocabSize, name).toBeGreaterThan(0);
      const strategies: Extract<Strategy, { kind: 'self-speculative' }>[] = [
        { kind: 'self-speculative', exitLayer: 1, draftLength: 3, draftSource: 'exit' },
        { kind: 'self-speculative', exitLayer: 2, draftLength: 3, draftSource: 'adapter' },
        { kind: 'self-speculative', exitLayer: 'auto', draftLength: 'auto' },
      ];
      for (const strategy of strategies) {
        const result = await run(runtime, Array.from(fx.greedy_prompt), expected.length, strategy);
        expect(result.tokens, `${name} ${JSON.stringify(strategy)}`).toEqual(expected);
        if (strategy.exitLayer !== 'auto') expect(result.accepted.length, name).toBeGreaterThan(0);
      }
      runtime.dispose();
    }
  });

  it('on a random model with 40 of 2048 tokens (most targets outside): exit, DEL, confidence stop and sparse drafts equal plain greedy', async () => {
    const prompt = [0, 5, 77, 300, 12];
    const base = randomModel();
    const plain = await load(base);
    const golden = (await run(plain, prompt, 24, { kind: 'greedy' })).tokens; // the dense model's: sparse drafts are verified densely
    plain.dispose();
    // half of the tokens greedy emits (drafts can be accepted), the other half left out (their targets lie outside)
    const emitted = [...new Set(golden)];
    const ids = [...new Set([...emitted.filter((_, i) => i % 2 === 0), ...IDS.map((id) => (id * 5) % 2048)])].slice(0, 40);
    const dir = modelWithDraftVocab(base, 'draft-vocab-random', ids);
    let accepted = 0;
    for (const options of [{}, { sparsity: { mlp: 0.5 } }] as RuntimeOptions[]) {
      const runtime = await load(dir, options);
      const strategies: Strategy[] = options.sparsity
        ? [{ kind: 'self-speculative', exitLayer: 2, draftLength: 3, draftSource: 'sparse' }]
        : [
            { kind: 'self-speculative', exitLayer: 1, draftLength: 3 },
            { kind: 'self-speculative', exitLayer: 1, draftLength: 4, confidenceThreshold: 0.01 },
            { kind: 'self-speculative', exitLayer: 'auto', draftLength: 'auto' },
          ];
      for (const strategy of strategies) {
        const result = await run(runtime, prompt, 24, strategy);
        expect(result.tokens, JSON.stringify(strategy)).toEqual(golden);
        expect(result.accepted.every((t) => ids.includes(t)), JSON.stringify(strategy)).toBe(true);
        accepted += result.accepted.length;
      }
      runtime.dispose();
    }
    expect(accepted).toBeGreaterThan(0);
    expect(golden.some((t) => !ids.includes(t))).toBe(true);
    rmSync(base, { recursive: true, force: true });
  });

  // one long sampled generation with a draft vocabulary of 40 of 384 tokens: drafts outside it have q = 0, so those
  // tokens come only from the residual; each emitted token's rank under the target distribution must follow it
  it('keeps the target distribution when sampling (chi-square over rank buckets), with tokens outside the draft vocabulary emitted', async () => {
    const runtime = await load(modelWithDraftVocab(TIED, 'draft-vocab-sampled', IDS));
    const tied = readFixture(`${TIED}/fixture.safetensors`);
    const prompt = Array.from(tied.greedy_prompt);
    const result = await run(runtime, prompt, 160, { kind: 'self-speculative', exitLayer: 1, draftLength: 2, sampling: { temperature: 1, seed: 5 } });
    expect(result.stats.accepted).toBeGreaterThan(0);
    expect(result.tokens.some((t) => !IDS.includes(t))).toBe(true);
    await expectTargetDistribution(runtime, prompt, result.tokens);
    runtime.dispose();
  });
});

describe('DEL with a draft vocabulary', () => {
  it("charges a draft's head h·N/vocab and the verify's head h", () => {
    const headFraction = 0.25;
    const policy = new ExitPolicy(8, 4, 0, { rate: 0, trials: 0 }, 1.2, 0, { plain: true, adapters: [{ exitLayer: 2, cost: 0.3 }], headFraction });
    expect(policy.draftHeadCost).toBeCloseTo(0.3, 12);
    // 1 draft from exit 2 with its adapter: 2 + 0.3 + 1.2·0.25 for the draft, 2 + (6 + 1.2) for the verify
    expect(tokensPerLayer(1, 2, 1, 8, 1.2, 0, 0.3, policy.draftHeadCost)).toBeCloseTo(2 / (2 + 0.3 + 0.3 + 2 + 6 + 1.2), 12);
    policy.observe(2, 700, 1000, true);
    for (let l = 1; l < 8; l++) policy.observe(l, 100 * l, 1000);
    let best = { tpl: -1, exitLayer: 0, draftLength: 0, adapter: false };
    for (const [exitLayer, alpha, extra, adapter] of [...Array.from({ length: 7 }, (_, i) => [i + 1, 0.1 * (i + 1), 0, false] as const), [2, 0.7, 0.3, true] as const]) {
      for (let d = 0; d <= 4; d++) {
        const tpl = tokensPerLayer(alpha, exitLayer, d, 8, 1.2, 0, extra, 0.3);
        if (tpl > best.tpl + 1e-12) best = { tpl, exitLayer, draftLength: d, adapter };
      }
    }
    const choice = policy.choose();
    expect({ ...choice, adapter: choice.adapter ?? false }).toEqual({ exitLayer: best.exitLayer, draftLength: best.draftLength, adapter: best.adapter });
  });
});
