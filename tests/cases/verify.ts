import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, readU32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { acceptGreedy, acceptSampled, draftConfidence } from '../../src/kernels/verify';
import { TUNINGS } from '../../src/gpu/tuning';
import { ROW_WIDTHS } from './sampling';
import { runStep } from '../helpers/step';

/** CPU reference of greedy acceptance: [n, d_1..d_n, targets[n]]. */
function greedyReference(drafts: number[], targets: number[]): number[] {
  let n = 0;
  while (n < drafts.length && drafts[n] === targets[n]) n++;
  return [n, ...drafts.slice(0, n), targets[n]];
}

const greedyScenarios: [string, number[], number[]][] = [
  ['all accepted (bonus)', [5, 6, 7], [5, 6, 7, 9]],
  ['first rejected', [5, 6, 7], [4, 6, 7, 9]],
  ['middle rejected', [5, 6, 7, 8], [5, 6, 2, 8, 1]],
  ['no drafts', [], [3]],
];

const greedyCases: KernelCase[] = greedyScenarios.map(([label, drafts, targets]) => ({
  name: `acceptGreedy ${label}`,
  browser: true,
  async run(gpu) {
    const draftsOffset = 1, outOffset = 2;
    const tokens = uploadBuffer(gpu, 'tokens', Uint32Array.from([99, ...drafts, 0]));
    const out = storageBuffer(gpu, 'out', 4 * (outOffset + drafts.length + 2));
    await runStep(gpu, (step) => acceptGreedy(gpu, step, {
      tokens, draftsOffset, drafts: drafts.length, targets: uploadBuffer(gpu, 'targets', Uint32Array.from(targets)), out, outOffset,
    }));
    const expected = greedyReference(drafts, targets);
    return { actual: (await readU32(gpu, out, outOffset + expected.length)).slice(outOffset), expected, tolerance: 0 };
  },
}));

/** Random distributions [rows, vocab] with some exact zeros (top-k style truncation). */
export function randomDistributions(rows: number, vocab: number, seed: number): Float32Array {
  const raw = randomFloats(rows * vocab, seed, 1);
  const out = new Float32Array(rows * vocab);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let v = 0; v < vocab; v++) {
      const x = raw[r * vocab + v];
      const m = x < -0.6 ? 0 : Math.exp(3 * x);
      out[r * vocab + v] = m;
      sum += m;
    }
    for (let v = 0; v < vocab; v++) out[r * vocab + v] /= sum;
  }
  return out;
}

/** CPU reference of rejection-sampling acceptance (same inverse-CDF convention: first token whose cumulative mass exceeds u·total). */
export function sampledReference(p: Float32Array, q: Float32Array, drafts: number[], uniforms: number[], vocab: number): number[] {
  const k = drafts.length;
  let n = 0;
  while (n < k && uniforms[n] * q[n * vocab + drafts[n]] < p[n * vocab + drafts[n]]) n++;
  const mass = (v: number, subtract: boolean) => (subtract ? Math.max(0, p[n * vocab + v] - q[n * vocab + v]) : p[n * vocab + v]);
  let subtract = n < k;
  let total = 0;
  for (let v = 0; v < vocab; v++) total += mass(v, subtract);
  if (!(total > 0)) {
    subtract = false;
    total = 0;
    for (let v = 0; v < vocab; v++) total += mass(v, false);
  }
  const goal = uniforms[k] * total;
  let cumulative = 0;
  let drawn = -1;
  for (let v = 0; v < vocab; v++) {
    const m = mass(v, subtract);
    if (m > 0) {
      drawn = v;
      if (cumulative + m > goal) break;
      cumulative += m;
    }
  }
  return [n, ...drafts.slice(0, n), drawn];
}

const sampledShapes: [number, number, number][] = [[3, 50, 1], [4, 2048, 2], [0, 300, 3], [2, 7, 4]];

const sampledCases: KernelCase[] = ROW_WIDTHS.flatMap((width) => sampledShapes.flatMap(([k, vocab, seed]) => [0, 1, 2, 3].map((trial) => ({
  name: `acceptSampled k=${k} vocab=${vocab} width=${width} trial ${trial}`,
  browser: vocab === 50 && trial === 0 && width === TUNINGS.cpu.vocabRow,
  async run(gpu) {
    const p = randomDistributions(k + 1, vocab, 100 * seed + trial);
    // q is p for the first drafts of trial 0 (always accepted), an unrelated distribution otherwise
    const q = trial === 0 ? p.slice(0, k * vocab) : randomDistributions(Math.max(1, k), vocab, 7000 + 100 * seed + trial);
    const uniforms = Array.from(randomFloats(k + 1, 31 * seed + trial, 0.5)).map((x) => x + 0.5);
    const drafts = Array.from({ length: k }, (_, i) => {
      let best = 0; // the draft's most likely token: mostly accepted; trial 3 drafts the least likely instead
      for (let v = 1; v < vocab; v++) {
        const better = trial === 3 ? q[i * vocab + v] < q[i * vocab + best] && q[i * vocab + v] > 0 : q[i * vocab + v] > q[i * vocab + best];
        if (better) best = v;
      }
      return best;
    });
    const draftsOffset = 1, uniformsOffset = 3, outOffset = 2;
    const out = storageBuffer(gpu, 'out', 4 * (outOffset + k + 2));
    await runStep(gpu, (step) => acceptSampled(gpu, step, {
      p: uploadBuffer(gpu, 'p', p), q: uploadBuffer(gpu, 'q', q), vocab,
      tokens: uploadBuffer(gpu, 'tokens', Uint32Array.from([0, ...drafts])), draftsOffset, drafts: k,
      uniforms: uploadBuffer(gpu, 'uniforms', Float32Array.from([0, 0, 0, ...uniforms])), uniformsOffset,
      out, outOffset,
    }, width));
    const expected = sampledReference(p, q, drafts, Array.from(Float32Array.from(uniforms)), vocab);
    return { actual: (await readU32(gpu, out, outOffset + expected.length)).slice(outOffset), expected, tolerance: 0 };
  },
}))));

const confidenceCases: KernelCase[] = ROW_WIDTHS.flatMap((width) => [[1, 2048], [3, 384], [2, 5]].map(([rows, vocab]) => ({
  name: `draftConfidence rows=${rows} vocab=${vocab} width=${width}`,
  browser: vocab === 384 && width === TUNINGS.cpu.vocabRow,
  async run(gpu) {
    const logits = randomFloats(rows * vocab, rows + vocab, 8);
    const outOffset = 1;
    const out = storageBuffer(gpu, 'out', 4 * (outOffset + rows));
    await runStep(gpu, (step) => draftConfidence(gpu, step, { logits: uploadBuffer(gpu, 'logits', logits), rows, vocab, out, outOffset }, width));
    const expected = Array.from({ length: rows }, (_, r) => {
      const row = logits.subarray(r * vocab, (r + 1) * vocab);
      const top = Math.max(...row);
      return 1 / row.reduce((s, l) => s + Math.exp(l - top), 0);
    });
    return { actual: (await readF32(gpu, out, outOffset + rows)).slice(outOffset), expected, tolerance: 1e-5 };
  },
})));

export const verifyCases: KernelCase[] = [...greedyCases, ...sampledCases, ...confidenceCases];
