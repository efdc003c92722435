import { describe, expect, it } from 'vitest';
import { ExitPolicy } from '../src/decode/exit_policy';
import { RowCostCalibration } from '../src/decode/row_cost';

/**
 * DEL's draft-length choice with the measured calibration, driven as SelfSpeculative drives it (choose, probe,
 * record; a draft length not run before only on probes) on synthetic pass costs: a plain step costs `step` ms, a
 * draft through exit l costs `draft(l)`, a verify of d drafts `verify(l, d)`; the first round of each draft length
 * compiles pipelines for `compileMs` more.
 * Acceptance is the known rate (the prior), drafts accepted in a fixed pattern. Returns the ms spent per token
 * over a plain step's, the ms spent compiling, and the share of the last 200 tokens emitted by drafting rounds.
 */
function simulate(o: { step: number; draft: (l: number) => number; verify: (l: number, d: number) => number; alpha: number; prior: number; compileMs: number; tokens?: number }) {
  const layers = 8, tokens = o.tokens ?? 600, burst = 4;
  const policy = new ExitPolicy(layers, 8, 1, { rate: o.alpha, trials: 100 }, 1, o.prior);
  const calibration = new RowCostCalibration(o.prior);
  const compiled = new Set([0]); // plain steps compiled theirs as greedy does
  let ms = 0, compileMs = 0, emitted = 0, draws = 0;
  const late: boolean[] = [];
  while (emitted < tokens) {
    policy.rowCost = calibration.rowCost;
    const probe = calibration.probeDue();
    let choice = policy.choose(undefined, undefined, 0, (_s, d) => compiled.has(d));
    if (probe) {
      // only probes compile: the cost model's best if new, else the alternative to the choice
      const best = policy.choose();
      choice = !compiled.has(best.draftLength) ? best : choice.draftLength === 0 ? policy.choose(undefined, undefined, 1) : { exitLayer: choice.exitLayer, draftLength: 0 };
    }
    const d = choice.draftLength;
    const compiles = !compiled.has(d);
    compiled.add(d);
    let accepted = 0;
    while (accepted < d && ((draws++ * 0.618034) % 1) < o.alpha) accepted++; // a fixed low-discrepancy pattern with rate alpha
    const out = d === 0 ? burst : accepted + 1;
    const roundMs = (d === 0 ? burst * o.step : d * o.draft(choice.exitLayer) + o.verify(choice.exitLayer, d)) + (compiles ? o.compileMs : 0);
    calibration.record(d, roundMs, out, probe, compiles);
    ms += roundMs;
    if (compiles) compileMs += o.compileMs;
    emitted += out;
    for (let i = 0; i < out; i++) late.push(d > 0);
  }
  return { vsGreedy: ms / (emitted * o.step), compileMs, draftShare: late.slice(-200).filter(Boolean).length / 200 };
}

// a layer or the head: 1/9 of a step of tiny-dense (8 layers + head)
const part = (n: number) => (30 * n) / 9;
/** a CPU adapter: every verified row costs about a row's step; drafts at ~55% acceptance never pay */
const compute = { step: 30, draft: (l: number) => part(l + 0.2), verify: (l: number, d: number) => part(l + (9 - l) * (1 + 0.9 * d)), alpha: 0.55, compileMs: 600 };
/** a bandwidth-bound GPU: a (d+1)-row verify costs about one step; drafts at 80% acceptance pay */
const bandwidth = { step: 30, draft: (l: number) => part(l + 0.2), verify: (_l: number, d: number) => 30 * (1 + 0.03 * d), alpha: 0.8, compileMs: 600 };

describe('measured draft-length calibration (synthetic pass costs)', () => {
  it('settles on plain greedy steps where drafts do not pay, from either prior, exploring at a small cost', () => {
    for (const prior of [1, 0.1]) {
      const run = simulate({ ...compute, prior });
      expect(run.draftShare).toBeLessThan(0.05);
      expect(run.compileMs).toBe(600); // one probe shape (a 1-draft round), compiled once
      expect(run.vsGreedy - run.compileMs / (600 * compute.step)).toBeLessThan(1.03); // the probes' rounds: under 3%
    }
  });

  it('settles on drafting where drafts pay, from either prior', () => {
    for (const prior of [1, 0.1]) {
      const run = simulate({ ...bandwidth, prior });
      expect(run.draftShare).toBeGreaterThan(0.8);
      expect(run.vsGreedy).toBeLessThan(0.8);
    }
  });

  it('chooses only allowed draft lengths, and plain steps always', () => {
    const policy = new ExitPolicy(8, 8, 1, { rate: 0.95, trials: 100 }, 1, 0);
    expect(policy.choose().draftLength).toBeGreaterThan(2);
    expect(policy.choose(undefined, undefined, 0, (_s, d) => d <= 2).draftLength).toBe(2);
    expect(policy.choose(undefined, undefined, 0, () => false).draftLength).toBe(0);
  });

  it('leaves a round that compiled pipelines out of the timings', () => {
    const calibration = new RowCostCalibration(0.5);
    calibration.record(0, 120, 4, false); // plain: 30 ms per token
    calibration.record(1, 800, 2, true, true); // a probe, mostly compilation: no sample
    expect(calibration.speculationLoses).toBe(false);
    expect(calibration.rowCost).toBe(0.5);
    calibration.record(1, 100, 2, false); // 50 ms per token: slower
    expect(calibration.speculationLoses).toBe(true);
    expect(calibration.rowCost).toBe(0.75);
  });
});
