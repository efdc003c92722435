import { describe, expect, it } from 'vitest';
import { loadRuntime } from './helpers/runtime';
import { readFixture } from './helpers/fixtures';
import { exitPath, pathTokensPerLayer, sparseLayerFraction, sparsePath, PathAcceptance } from '../src/decode/draft_paths';
import { tokensPerLayer } from '../src/decode/exit_policy';
import type { Strategy } from '../src/contract/types';
import { alphaFromAcceptance, draftCost, project } from '../bench/projection';

/** Sirius: the activation-sparse model drafts, the dense model verifies. */
const fixture = readFixture('tests/fixtures/models/llama-gqa3/fixture.safetensors');
const prompt = Array.from(fixture.greedy_prompt);
const expected = Array.from(fixture.greedy_tokens).slice(0, 40);

describe('sparse (Sirius) drafts', () => {
  it('give the dense model\'s greedy tokens on a random model, pinned or chosen by DEL, with or without an early exit', async () => {
    const runtime = await loadRuntime('tests/fixtures/models/llama-gqa3', { sparsity: { mlp: 0.5 } });
    const settings: Extract<Strategy, { kind: 'self-speculative' }>[] = [
      { kind: 'self-speculative', draftSource: 'sparse', exitLayer: 2, draftLength: 3 },
      { kind: 'self-speculative', draftSource: 'sparse', exitLayer: 1, draftLength: 2 },
      { kind: 'self-speculative', draftSource: 'sparse', exitLayer: 'auto', draftLength: 'auto' },
      { kind: 'self-speculative', exitLayer: 'auto', draftLength: 'auto' },
    ];
    for (const strategy of settings) {
      const result = await runtime.generate({ prompt, maxTokens: expected.length, stopAtEos: false, strategy }, () => undefined);
      expect(result.tokens, JSON.stringify(strategy)).toEqual(expected);
      const s = result.stats;
      const bySource = Object.values(s.acceptanceBySource ?? {});
      expect(bySource.reduce((a, e) => a + e.drafted, 0)).toBe(s.drafted);
      if (strategy.draftSource === 'sparse' && strategy.draftLength !== 'auto') {
        expect(s.acceptanceBySource?.sparse?.drafted).toBeGreaterThan(0);
        expect(s.mlpSparsity, 'the drafts skipped neurons').toBeGreaterThan(0.3);
      }
    }
    // a pass of one row outside self-speculation still skips neurons: the switch was restored
    const greedy = await runtime.generate({ prompt, maxTokens: 8, stopAtEos: false }, () => undefined);
    expect(greedy.stats.mlpSparsity).toBeGreaterThan(0.3);
    runtime.dispose();
  });

  it('refuses a sparse source on a model loaded without sparsity', async () => {
    const runtime = await loadRuntime('tests/fixtures/models/llama-gqa3');
    const strategy: Strategy = { kind: 'self-speculative', draftSource: 'sparse', exitLayer: 2, draftLength: 2 };
    await expect(runtime.generate({ prompt, maxTokens: 4, stopAtEos: false, strategy }, () => undefined)).rejects.toThrow(/sparsity/);
    const after = await runtime.generate({ prompt, maxTokens: 4, stopAtEos: false }, () => undefined);
    expect(after.tokens).toEqual(expected.slice(0, 4));
    runtime.dispose();
  });
});

describe('draft sources in the cost model', () => {
  it('prices an exit source exactly as DEL does, and a sparse one by the weight bytes its passes read', async () => {
    for (const [alpha, e, d, rho] of [[0.5, 2, 3, 0], [0.8, 1, 6, 0.3], [1, 4, 2, 1]]) {
      expect(pathTokensPerLayer(alpha, exitPath(e), d, 8, 1, rho)).toBeCloseTo(tokensPerLayer(alpha, e, d, 8, 1, rho), 12);
    }
    const runtime = await loadRuntime('public/models/tiny-dense');
    const { config } = runtime;
    expect(sparseLayerFraction(config, 0)).toBeCloseTo(1, 12);
    // tiny-dense: attention 196,608 weights per layer, MLP 245,760; at 50% the up and down rows read halve
    expect(sparseLayerFraction(config, 0.5)).toBeCloseTo((196608 + 245760 * (2 / 3)) / (196608 + 245760), 12);
    const sparse = sparsePath(config, 8, 0.5);
    expect(sparse.reusedLayers).toBe(0);
    // perfect sparse drafts: d + 1 tokens for d sparse passes and one full verify
    const acceptance = new PathAcceptance(sparse, 0.9, { rate: 1, trials: 1 });
    const best = acceptance.best(8, 4, 1, 0);
    expect(best.draftLength).toBe(4);
    expect(best.tpl).toBeCloseTo(5 / (4 * (sparse.passLayers + 1) + 9), 12);
    // the bandwidth-bound projection: issue 20's example, exit 2 of tiny-dense (0.35 of a step), alpha 0.52, 2 drafts
    expect(draftCost(config, 'exit', 2)).toBeCloseTo(0.347, 3);
    const example = project({ kind: 'exit', exitLayer: 2, acceptance: 0.52, acceptanceFrom: 'held-out', draftCost: 0.35 }, 2);
    expect(example.tokensPerRound).toBeCloseTo((1 - 0.52 ** 3) / (1 - 0.52), 12);
    expect(example.speedup).toBeCloseTo(example.tokensPerRound / 1.7, 12);
    // per-token alpha back from a measured accepted/drafted fraction
    for (const [alpha, d] of [[0.3, 2], [0.7, 6], [0.95, 4]]) {
      const fraction = (alpha * (1 - alpha ** d)) / (1 - alpha) / d;
      expect(alphaFromAcceptance(fraction, d)).toBeCloseTo(alpha, 9);
    }
    runtime.dispose();
  });
});
