import { describe, expect, it } from 'vitest';
import { testGpu } from './helpers/gpu';
import { FIXTURE_MODELS, readFixture } from './helpers/fixtures';
import { relativeError } from './helpers/reference';
import { randomDistributions } from './cases/verify';
import { directorySource } from '../src/node/source';
import { Runtime } from '../src/runtime/runtime';
import { readBuffer, readU32, storageBuffer, uploadBuffer } from '../src/gpu/buffers';
import { acceptSampled } from '../src/kernels/verify';
import { ParamArena, Step } from '../src/gpu/step';
import { ExitPolicy, tokensPerLayer } from '../src/decode/exit_policy';
import { Rng } from '../src/decode/rng';
import type { GenerateEvent, GenerateResult, RoundInfo, Strategy } from '../src/contract/types';

async function load(dir: string): Promise<Runtime> {
  return Runtime.load(await testGpu(), directorySource(dir), { contextLength: 256 });
}

async function generate(runtime: Runtime, prompt: number[], maxTokens: number, strategy: Strategy): Promise<{ result: GenerateResult; rounds: RoundInfo[] }> {
  const rounds: RoundInfo[] = [];
  const onEvent = (ev: GenerateEvent) => {
    if (ev.type === 'tokens' && ev.round) rounds.push(ev.round);
  };
  const result = await runtime.generate({ prompt, maxTokens, stopAtEos: false, strategy }, onEvent);
  return { result, rounds };
}

const TINY_DENSE = 'public/models/tiny-dense';

describe('self-speculative greedy is lossless', () => {
  const fixture = readFixture('tests/fixtures/tiny-dense.safetensors');
  const prompt = Array.from(fixture.greedy_prompt);
  const golden = Array.from(fixture.greedy_tokens).slice(0, 40);

  it('on tiny-dense: equals the reference greedy tokens and plain greedy for fixed, Kangaroo and DEL settings', async () => {
    const runtime = await load(TINY_DENSE);
    const plain = await generate(runtime, prompt, golden.length, { kind: 'greedy' });
    const settings: Strategy[] = [
      { kind: 'self-speculative', exitLayer: 4, draftLength: 4 },
      { kind: 'self-speculative', exitLayer: 6, draftLength: 7, confidenceThreshold: 0.6 },
      { kind: 'self-speculative', exitLayer: 'auto', draftLength: 'auto' },
    ];
    for (const strategy of settings) {
      const { result, rounds } = await generate(runtime, prompt, golden.length, strategy);
      expect(result.tokens, JSON.stringify(strategy)).toEqual(golden);
      expect(result.tokens, 'plain greedy').toEqual(plain.result.tokens);
      const s = result.stats;
      expect(s.drafted).toBe(rounds.reduce((a, r) => a + r.drafted, 0));
      expect(s.accepted).toBe(rounds.reduce((a, r) => a + r.accepted, 0));
      expect(Object.values(s.acceptanceByExitLayer!).reduce((a, e) => a + e.drafted, 0)).toBe(s.drafted);
    }
    runtime.dispose();
  });

  // random weights: the first layer alone is a poor draft model (llama-sharded: most drafts rejected)
  for (const [model, maxAcceptance] of [['llama-sharded', 0.5], ['llama-gqa3', 0.9]] as const) {
    it(`on the random-weight ${model}, accepting under ${maxAcceptance * 100}% of the drafts`, async () => {
      const fx = readFixture(`${FIXTURE_MODELS}/${model}/fixture.safetensors`);
      const runtime = await load(`${FIXTURE_MODELS}/${model}`);
      const expected = Array.from(fx.greedy_tokens);
      const { result } = await generate(runtime, Array.from(fx.greedy_prompt), expected.length, { kind: 'self-speculative', exitLayer: 1, draftLength: 3 });
      expect(result.tokens).toEqual(expected);
      expect(result.stats.accepted! / result.stats.drafted!).toBeLessThan(maxAcceptance);
      runtime.dispose();
    });
  }

  it('on the shipped tiny-moe (Mixtral): equals the reference greedy tokens', async () => {
    const fx = readFixture('tests/fixtures/tiny-moe.safetensors');
    const runtime = await load('public/models/tiny-moe');
    const expected = Array.from(fx.greedy_tokens).slice(0, 32);
    const { result } = await generate(runtime, Array.from(fx.greedy_prompt), expected.length, { kind: 'self-speculative', exitLayer: 2, draftLength: 3 });
    expect(result.tokens).toEqual(expected);
    expect(result.stats.drafted).toBeGreaterThan(0);
    runtime.dispose();
  });

  // MoE routing; then sliding windows (crossed after 16 positions), soft-caps, NoPE, q/k norms and LongRoPE through drafts, verify and rollback
  for (const model of ['mixtral-rand', 'qwen2moe-rand', 'qwen3moe-rand', 'mistral-window', 'gemma2-softcap', 'gemma3-local', 'smollm3-nope', 'qwen3-qknorm', 'phi3-longrope']) {
    it(`on ${model}`, async () => {
      const fx = readFixture(`${FIXTURE_MODELS}/${model}/fixture.safetensors`);
      const runtime = await load(`${FIXTURE_MODELS}/${model}`);
      const expected = Array.from(fx.greedy_tokens);
      const { result } = await generate(runtime, Array.from(fx.greedy_prompt), expected.length, { kind: 'self-speculative', exitLayer: 1, draftLength: 3 });
      expect(result.tokens).toEqual(expected);
      runtime.dispose();
    });
  }
});

describe('self-speculative rounds', () => {
  const prompt = [0, 1268, 340, 1331, 260, 580, 46];

  // on a software adapter DEL starts from ρ = 1 (drafting never pays in the cost model), so most rounds are plain;
  // every 16th round still drafts to measure whether speculation has become faster
  it('runs plain rounds (no drafts) under DEL with automatic draft length, and probes drafting', async () => {
    const runtime = await load(TINY_DENSE);
    const plain = await generate(runtime, prompt, 40, { kind: 'greedy' });
    runtime.resetCache(); // a cold prefill, as plain's: the pass count below compares the two
    const events: { origins: string[]; round: RoundInfo }[] = [];
    const result = await runtime.generate({ prompt, maxTokens: 40, stopAtEos: false, strategy: { kind: 'self-speculative', exitLayer: 'auto', draftLength: 'auto' } }, (ev) => {
      if (ev.type === 'tokens' && ev.round) events.push({ origins: ev.origins!, round: ev.round });
    });
    expect(result.tokens).toEqual(plain.result.tokens);
    const plainRounds = events.filter((e) => e.round.drafted === 0);
    const draftRounds = events.filter((e) => e.round.drafted > 0);
    expect(plainRounds.length).toBeGreaterThan(0);
    expect(draftRounds.length).toBeGreaterThan(0);
    for (const e of plainRounds) expect(e.origins).toEqual(['plain']);
    for (const e of plainRounds) expect(e.round.accepted).toBe(0);
    expect(result.stats.drafted).toBe(draftRounds.reduce((a, e) => a + e.round.drafted, 0));
    expect(result.stats.accepted).toBe(draftRounds.reduce((a, e) => a + e.round.accepted, 0));
    // a round runs one pass per draft plus the verify pass; the prefill passes are the same as plain greedy's
    const prefillPasses = plain.result.stats.forwardPasses - plain.result.tokens.length;
    expect(result.stats.forwardPasses - prefillPasses).toBe(events.reduce((a, e) => a + e.round.drafted + 1, 0));
    expect(Object.values(result.stats.acceptanceByExitLayer!).every((e) => e.drafted > 0)).toBe(true);
    // DEL's reasoning is reported: every token under the verdict of its round, and the last round's decision
    const byOrigin = (plainOnly: boolean) => events.filter((e) => (e.round.drafted === 0) === plainOnly).reduce((a, e) => a + e.origins.length, 0);
    // tiny-dense ships Kangaroo adapters: `adapter` counts the draft rounds' tokens that drafted with one
    const byAdapter = events.filter((e) => e.round.drafted > 0 && e.round.adapter).reduce((a, e) => a + e.origins.length, 0);
    expect(result.stats.tokensByVerdict).toEqual({ draft: byOrigin(false), plain: byOrigin(true), adapter: byAdapter });
    const decision = result.stats.delDecision!;
    expect(decision.acceptance).toHaveLength(runtime.config.layers + 1);
    expect(decision.rowCost).toBeGreaterThanOrEqual(0);
    expect(decision.rowCost).toBeLessThanOrEqual(1);
    expect(decision.bestDraft.draftLength).toBeGreaterThan(0);
    runtime.dispose();
  });

  it('accepts every draft when drafting with all layers', async () => {
    const runtime = await load(TINY_DENSE);
    const { result, rounds } = await generate(runtime, prompt, 20, { kind: 'self-speculative', exitLayer: 8, draftLength: 4 });
    expect(result.stats.drafted).toBeGreaterThan(0);
    expect(result.stats.accepted).toBe(result.stats.drafted);
    expect(rounds.every((r) => r.accepted === r.drafted)).toBe(true);
    runtime.dispose();
  });

  // threshold 1 (the API's maximum) stops after every draft: a top-1 probability reaches 1.0 in f32 only when
  // every other logit is ~25 below the top, which this model never produces
  it('drafts the full length with confidence threshold 0 and one token with threshold 1', async () => {
    const runtime = await load(TINY_DENSE);
    const maxTokens = 21;
    const never = await generate(runtime, prompt, maxTokens, { kind: 'self-speculative', exitLayer: 3, draftLength: 4, confidenceThreshold: 0 });
    // every round drafts 4, except where fewer tokens remain (a round emits at most drafts + 1)
    let emitted = 0;
    for (const r of never.rounds) {
      expect(r.drafted).toBe(Math.min(4, maxTokens - emitted - 1));
      emitted += r.accepted + 1;
    }
    const always = await generate(runtime, prompt, maxTokens, { kind: 'self-speculative', exitLayer: 3, draftLength: 4, confidenceThreshold: 1 });
    expect(always.rounds.length).toBeGreaterThan(0);
    emitted = 0;
    for (const r of always.rounds) {
      expect(r.drafted).toBe(Math.min(1, maxTokens - emitted - 1));
      emitted += r.accepted + 1;
    }
    expect(always.result.tokens).toEqual(never.result.tokens);
    runtime.dispose();
  });

  it('leaves the early layers\' KV equal to a fresh prefill of the accepted tokens', async () => {
    const runtime = await load(TINY_DENSE);
    const exitLayer = 4;
    const { result } = await generate(runtime, prompt, 16, { kind: 'self-speculative', exitLayer, draftLength: 5 });
    const { kv } = runtime.model;
    const length = kv.length;
    expect(length).toBe(prompt.length + result.tokens.length - 1);
    const { kvHeads, headDim, maxSeq } = kv;
    const snapshot = async () => Promise.all(Array.from({ length: exitLayer }, async (_, l) =>
      [new Float32Array(await readBuffer(runtime.gpu, kv.keys[l])), new Float32Array(await readBuffer(runtime.gpu, kv.values[l]))]));
    const afterRounds = await snapshot();
    await runtime.logits([...prompt, ...result.tokens].slice(0, length));
    const fresh = await snapshot();
    for (let l = 0; l < exitLayer; l++) {
      for (let kvIndex = 0; kvIndex < 2; kvIndex++) {
        let worst = 0;
        for (let h = 0; h < kvHeads; h++) {
          for (let i = h * maxSeq * headDim; i < (h * maxSeq + length) * headDim; i++) worst = Math.max(worst, Math.abs(afterRounds[l][kvIndex][i] - fresh[l][kvIndex][i]));
        }
        expect(worst, `layer ${l} ${kvIndex ? 'values' : 'keys'}`).toBeLessThan(1e-3);
      }
    }
    runtime.dispose();
  });

  it('gives the same per-row logits from a k+1-row verify pass as from k+1 single-token steps (bitwise)', async () => {
    const runtime = await load(TINY_DENSE);
    const { model, gpu } = runtime;
    const arena = new ParamArena(gpu);
    const vocab = runtime.config.vocab;
    const block = [580, 46, 12, 315, 268];
    const start = 4;
    const run = async (record: (step: Step) => void, rows: number) => {
      const step = new Step(gpu, arena);
      record(step);
      step.read(model.act.logits, 0, 4 * rows * vocab);
      return new Float32Array((await step.submit())[0]);
    };
    const prefill = async () => {
      gpu.device.queue.writeBuffer(model.act.ids, 0, Uint32Array.from(prompt.slice(0, start)));
      await run((s) => { model.embed(s, model.act.ids, 0, start); model.layers(s, start, 0); }, 1);
    };
    await prefill();
    gpu.device.queue.writeBuffer(model.act.ids, 0, Uint32Array.from(block));
    const together = await run((s) => { model.embed(s, model.act.ids, 0, block.length); model.layers(s, block.length, start); model.head(s, block.length); }, block.length);
    await prefill();
    gpu.device.queue.writeBuffer(model.act.ids, 0, Uint32Array.from(block));
    for (let i = 0; i < block.length; i++) {
      const single = await run((s) => { model.embed(s, model.act.ids, i, 1); model.layers(s, 1, start + i); model.head(s, 1); }, 1);
      expect(Array.from(single), `row ${i}`).toEqual(Array.from(together.subarray(i * vocab, (i + 1) * vocab)));
    }
    runtime.dispose();
  });

  it('drafts from the same early-exit logits as the LayerSkip reference (first E layers + final norm + head)', async () => {
    const runtime = await load(TINY_DENSE);
    const { model, gpu } = runtime;
    const fixture = readFixture('tests/fixtures/tiny-dense.safetensors');
    const ids = Array.from(fixture.prompt_len7);
    const exitLogits = fixture.exit_logits_len7; // [layers, 7, vocab]: logits after the first l + 1 layers
    const vocab = runtime.config.vocab;
    const arena = new ParamArena(gpu);
    for (const exitLayer of [1, 4, 8]) {
      gpu.device.queue.writeBuffer(model.act.ids, 0, Uint32Array.from(ids));
      const step = new Step(gpu, arena);
      model.embed(step, model.act.ids, 0, ids.length);
      model.layers(step, ids.length, 0, 0, exitLayer);
      model.head(step, ids.length);
      step.read(model.act.logits, 0, 4 * ids.length * vocab);
      const logits = new Float32Array((await step.submit())[0]);
      const expected = exitLogits.subarray((exitLayer - 1) * ids.length * vocab, exitLayer * ids.length * vocab);
      expect(relativeError(logits, expected), `exit layer ${exitLayer}`).toBeLessThan(2e-3);
    }
    runtime.dispose();
  });

  it('is reproducible for a seed when sampling', async () => {
    const runtime = await load(TINY_DENSE);
    const sampled = (seed: number) => generate(runtime, prompt, 16, { kind: 'self-speculative', exitLayer: 5, draftLength: 3, sampling: { temperature: 1, topK: 40, seed } });
    const [a, b, c] = [await sampled(3), await sampled(3), await sampled(4)];
    expect(a.result.tokens).toEqual(b.result.tokens);
    expect(c.result.tokens).not.toEqual(a.result.tokens);
    expect(a.result.stats.drafted).toBeGreaterThan(0);
    runtime.dispose();
  });
});

describe('rejection-sampling acceptance', () => {
  it('emits tokens distributed as the target p for a deliberately bad q (chi-square)', async () => {
    const gpu = await testGpu();
    const vocab = 6, k = 2, trials = 8000, perStep = 2000;
    const p = randomDistributions(k + 1, vocab, 11);
    // q puts most mass where p has little: most drafts are rejected and the residual does the work
    const q = new Float32Array(k * vocab);
    for (let i = 0; i < k; i++) {
      const row = p.subarray(i * vocab, (i + 1) * vocab);
      const raw = Array.from(row, (x) => 1 / (x + 0.05));
      const sum = raw.reduce((a, b) => a + b, 0);
      raw.forEach((x, v) => (q[i * vocab + v] = x / sum));
    }
    const rng = new Rng(99);
    const drawFrom = (row: Float32Array) => {
      const u = rng.next();
      let c = 0;
      for (let v = 0; v < row.length; v++) if ((c += row[v]) > u) return v;
      return row.length - 1;
    };
    const drafts = new Uint32Array(trials * k);
    const uniforms = new Float32Array(trials * (k + 1));
    for (let t = 0; t < trials; t++) {
      for (let i = 0; i < k; i++) drafts[t * k + i] = drawFrom(q.subarray(i * vocab, (i + 1) * vocab));
      for (let i = 0; i <= k; i++) uniforms[t * (k + 1) + i] = rng.next();
    }
    const pBuffer = uploadBuffer(gpu, 'p', p), qBuffer = uploadBuffer(gpu, 'q', q);
    const tokens = uploadBuffer(gpu, 'drafts', drafts), uniformBuffer = uploadBuffer(gpu, 'uniforms', uniforms);
    const out = storageBuffer(gpu, 'out', 4 * trials * (k + 2));
    const arena = new ParamArena(gpu);
    for (let first = 0; first < trials; first += perStep) {
      const step = new Step(gpu, arena);
      for (let t = first; t < first + perStep; t++) {
        acceptSampled(gpu, step, { p: pBuffer, q: qBuffer, tokens, draftsOffset: t * k, drafts: k, vocab, uniforms: uniformBuffer, uniformsOffset: t * (k + 1), out, outOffset: t * (k + 2) });
      }
      await step.submit();
    }
    const words = await readU32(gpu, out, trials * (k + 2));
    // the first emitted token must follow p_0; the second (when a round emits two) p_1, since the toy target ignores context
    const first = new Array(vocab).fill(0);
    const second = new Array(vocab).fill(0);
    let rejectedFirst = 0;
    for (let t = 0; t < trials; t++) {
      const row = words.subarray(t * (k + 2), (t + 1) * (k + 2));
      const n = row[0];
      first[row[1]]++;
      if (n >= 1) second[row[2]]++;
      if (n === 0) rejectedFirst++;
    }
    expect(rejectedFirst / trials).toBeGreaterThan(0.3);
    const chiSquare = (counts: number[], probs: Float32Array) => {
      const total = counts.reduce((a, b) => a + b, 0);
      return counts.reduce((s, c, v) => s + (probs[v] > 0 ? (c - total * probs[v]) ** 2 / (total * probs[v]) : c > 0 ? Infinity : 0), 0);
    };
    const dof = (probs: Float32Array) => probs.filter((x) => x > 0).length - 1;
    // 99.9% quantiles of chi-square with up to 5 degrees of freedom
    const critical = [0, 10.83, 13.82, 16.27, 18.47, 20.52];
    expect(chiSquare(first, p.subarray(0, vocab))).toBeLessThan(critical[dof(p.subarray(0, vocab))]);
    expect(chiSquare(second, p.subarray(vocab, 2 * vocab))).toBeLessThan(critical[dof(p.subarray(vocab, 2 * vocab))]);
    // the draft distribution itself is far from p: the test can tell them apart
    const draftCounts = new Array(vocab).fill(0);
    for (let t = 0; t < trials; t++) draftCounts[drafts[t * k]]++;
    expect(chiSquare(draftCounts, p.subarray(0, vocab))).toBeGreaterThan(critical[5] * 10);
  });
});

describe('DEL exit policy', () => {
  it('picks the TPL argmax of a brute-force grid search for synthetic acceptance rates', () => {
    const layers = 8, maxDraft = 6;
    const tables = [[0.2, 0.3, 0.5, 0.6, 0.8, 0.9, 0.97], [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9], [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.99], [0.5, 0.55, 0.6, 0.62, 0.79, 0.78, 0.93]];
    const choices = new Set<string>();
    for (const headCost of [0, 1]) {
      for (const rowCost of [0, 0.3, 1]) {
        for (const alphas of tables) {
          const policy = new ExitPolicy(layers, maxDraft, 0, { rate: 0, trials: 0 }, headCost, rowCost);
          alphas.forEach((a, i) => policy.observe(i + 1, a * 1000, 1000));
          let best = { tpl: -1, exitLayer: 0, draftLength: 0 };
          for (let l = 1; l < layers; l++) {
            for (let d = 0; d <= maxDraft; d++) {
              const a = alphas[l - 1];
              let expected = 0;
              for (let i = 0; i <= d; i++) expected += a ** i; // 1 + α + ... + α^d accepted-or-bonus tokens
              // d drafts through l layers + head; verify: the last token through l layers, d + 1 rows through the rest + head
              const layersRun = d * (l + headCost) + l + (layers - l + headCost) * (1 + rowCost * d);
              const tpl = expected / layersRun;
              if (tpl > best.tpl + 1e-12) best = { tpl, exitLayer: l, draftLength: d };
            }
          }
          expect(policy.choose(), JSON.stringify({ headCost, rowCost, alphas })).toEqual({ exitLayer: best.exitLayer, draftLength: best.draftLength });
          expect(tokensPerLayer(alphas[best.exitLayer - 1], best.exitLayer, best.draftLength, layers, headCost, rowCost)).toBeCloseTo(best.tpl, 12);
          choices.add(best.draftLength === 0 ? 'plain' : 'draft');
        }
      }
    }
    expect(choices, 'the grid covers both plain and drafting optima').toEqual(new Set(['plain', 'draft']));
  });

  it('knows when no acceptance rate could make drafting win (then plain rounds skip shadow tokens)', () => {
    for (const headCost of [0, 1]) {
      // ρ = 1: d drafts cost at least d plain steps more than they can save, even if all are accepted
      expect(new ExitPolicy(8, 8, 0.9, undefined, headCost, 1).draftingCanWin()).toBe(false);
      expect(new ExitPolicy(8, 8, 0.9, undefined, headCost, 0).draftingCanWin()).toBe(true);
      expect(new ExitPolicy(8, 8, 0.9, undefined, headCost, 0.5).draftingCanWin(2)).toBe(true);
    }
    // a draft from the last layer costs as much as the step it saves
    expect(new ExitPolicy(8, 8, 0.9, undefined, 1, 0).draftingCanWin(8)).toBe(false);
  });

  it('decodes plainly with poor drafts on a compute-bound adapter and drafts with good ones on a bandwidth-bound one', () => {
    const layers = 8;
    const poor = new ExitPolicy(layers, 8, 0, { rate: 0, trials: 0 }, 1, 1);
    [0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7].forEach((a, i) => poor.observe(i + 1, a * 100, 100));
    expect(poor.choose().draftLength).toBe(0);
    expect(tokensPerLayer(0.7, 7, 0, layers, 1, 1)).toBeCloseTo(1 / (layers + 1), 12); // a plain step
    const good = new ExitPolicy(layers, 8, 0, { rate: 0, trials: 0 }, 1, 0);
    for (let l = 1; l < layers; l++) good.observe(l, 95, 100);
    expect(good.choose().draftLength).toBeGreaterThan(1);
    expect(good.choose(undefined, undefined, 1).draftLength).toBeGreaterThan(0);
    // the draft length pinned: never plain
    expect(poor.choose(undefined, 3).draftLength).toBe(3);
    // the reasons: the best drafting round gains nothing over a plain step for the poor drafts, much for the good
    const why = poor.explain();
    expect(why.bestDraft.gain).toBeLessThan(1);
    expect(why.draftingCannotWin).toBe(true);
    expect(why.acceptance.slice(1, 8).map((a) => +a.toFixed(2))).toEqual([0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7]);
    const { exitLayer, draftLength } = good.choose(undefined, undefined, 1);
    expect(good.explain()).toMatchObject({ bestDraft: { exitLayer, draftLength }, rowCost: 0, draftingCannotWin: false });
    expect(good.explain().bestDraft.gain).toBeGreaterThan(1.5);
  });

  it('tracks acceptance with decayed counts and honours pinned coordinates', () => {
    const policy = new ExitPolicy(8, 4, 0.5, { rate: 0.5, trials: 2 });
    expect(policy.rate(3)).toBe(0.5);
    policy.observe(3, 4, 4);
    expect(policy.rate(3)).toBeCloseTo((0.5 * 1 + 4) / (0.5 * 2 + 4));
    expect(policy.choose(5).exitLayer).toBe(5);
    expect(policy.choose(undefined, 2).draftLength).toBe(2);
  });
});
