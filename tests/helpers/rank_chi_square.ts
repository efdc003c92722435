import { expect } from 'vitest';
import type { Runtime } from '../../src/runtime/runtime';

/**
 * Whether sampled tokens follow the model's distribution: at every generated position of `sequence` (rows firstRow..
 * of `logits`, [positions, vocab], the logits before each next token), the rank of the token that came next, counted
 * in buckets (ranks 0 .. buckets - 2 and the rest), against each bucket's expected count under softmax(logits).
 * Returns Pearson's statistic (buckets - 1 degrees of freedom) and the smallest expected count.
 */
export function rankChiSquare(logits: Float32Array, vocab: number, sequence: number[], firstRow: number, buckets = 5): { chiSquare: number; minExpected: number } {
  const observed = new Array(buckets).fill(0), expected = new Array(buckets).fill(0);
  for (let t = firstRow; t < sequence.length - 1; t++) {
    const row = logits.subarray(t * vocab, (t + 1) * vocab);
    const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a]);
    const weights = order.map((v) => Math.exp(row[v] - row[order[0]]));
    const total = weights.reduce((a, b) => a + b, 0);
    weights.forEach((w, rank) => (expected[Math.min(rank, buckets - 1)] += w / total));
    observed[Math.min(order.indexOf(sequence[t + 1]), buckets - 1)]++;
  }
  const chiSquare = observed.reduce((sum, o, b) => sum + (o - expected[b]) ** 2 / expected[b], 0);
  return { chiSquare, minExpected: Math.min(...expected) };
}

/**
 * Asserts that `generated` (sampled after `prompt`) follows the runtime's own distribution: the full model's logits
 * at every generated position (one pass over the whole sequence), ranks 0-3 and the rest, Pearson's statistic under
 * the 99.9% quantile of 4 degrees of freedom, every bucket expecting more than 5 tokens.
 */
export async function expectTargetDistribution(runtime: Runtime, prompt: number[], generated: number[]): Promise<void> {
  const sequence = [...prompt, ...generated];
  const logits = await runtime.logits(sequence.slice(0, -1));
  const { chiSquare, minExpected } = rankChiSquare(logits, runtime.config.vocab, sequence, prompt.length - 1);
  expect(minExpected).toBeGreaterThan(5);
  expect(chiSquare).toBeLessThan(18.47);
}
