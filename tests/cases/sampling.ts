import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, readU32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { argmax, distribution, sampleFromProbs } from '../../src/kernels/sampling';
import { TUNINGS } from '../../src/gpu/tuning';
import { runStep } from '../helpers/step';

function argmaxReference(logits: Float32Array, row: number, vocab: number): number {
  let best = 0;
  for (let i = 1; i < vocab; i++) if (logits[row * vocab + i] > logits[row * vocab + best]) best = i;
  return best;
}

/** Logits with planted ties: row r repeats its maximum at several indices. */
function tiedLogits(rows: number, vocab: number, seed: number): Float32Array {
  const logits = randomFloats(rows * vocab, seed, 10);
  for (let r = 0; r < rows; r++) {
    const top = 20 + r;
    for (const i of [vocab - 1, (r * 37) % vocab, Math.floor(vocab / 2)]) logits[r * vocab + i] = top;
  }
  return logits;
}

const argmaxShapes: [number, number][] = [[1, 1], [3, 7], [2, 2048], [2, 32000], [1, 151_936]];

/** Every row-reduction kernel runs at the CPU adapters' and the GPUs' workgroup width. */
export const ROW_WIDTHS = [TUNINGS.cpu.vocabRow, TUNINGS.gpu.vocabRow];

const argmaxCases: KernelCase[] = ROW_WIDTHS.flatMap((width) => argmaxShapes.map(([rows, vocab]) => ({
  name: `argmax rows=${rows} vocab=${vocab} width=${width} with ties`,
  browser: vocab === 2048 && width === TUNINGS.cpu.vocabRow,
  async run(gpu) {
    const rowOffset = 1, outOffset = 2;
    const logits = tiedLogits(rows + rowOffset, vocab, vocab);
    const out = storageBuffer(gpu, 'out', 4 * (rows + outOffset));
    await runStep(gpu, (step) => argmax(gpu, step, { logits: uploadBuffer(gpu, 'logits', logits), rows, vocab, out, outOffset, logitsRowOffset: rowOffset }, width));
    const expected = Array.from({ length: rows }, (_, r) => argmaxReference(logits, r + rowOffset, vocab));
    return { actual: (await readU32(gpu, out, rows + outOffset)).slice(outOffset), expected, tolerance: 0 };
  },
})));

const NO_TOKEN = 0xffffffff;

const nonFiniteCases: KernelCase[] = ROW_WIDTHS.map((width) => ({
  name: `argmax gives no token (0xffffffff) for a row with NaN or +infinity; -infinity is an ordinary logit, width=${width}`,
  async run(gpu) {
    const vocab = 100;
    const rows = [[37, NaN], [5, Infinity], [0, -Infinity]] as const;
    const logits = randomFloats(rows.length * vocab, 3, 1);
    rows.forEach(([at, value], r) => (logits[r * vocab + at] = value));
    const out = storageBuffer(gpu, 'out', 4 * rows.length);
    await runStep(gpu, (step) => argmax(gpu, step, { logits: uploadBuffer(gpu, 'logits', logits), rows: rows.length, vocab, out, outOffset: 0 }, width));
    return { actual: await readU32(gpu, out, rows.length), expected: [NO_TOKEN, NO_TOKEN, argmaxReference(logits, 2, vocab)], tolerance: 0 };
  },
}));

/** Hugging Face's warpers, literally: temperature, top-k (keep scores >= k-th), top-p (sorted cumsum), min-p (p >= minP * top p), softmax. */
function distributionReference(logits: Float32Array, vocab: number, temperature: number, topK: number, topP: number, minP = 0): Float64Array {
  const z = Array.from(logits, (x) => Math.fround(x / temperature));
  if (topK > 0 && topK < vocab) {
    const kth = [...z].sort((a, b) => b - a)[topK - 1];
    for (let i = 0; i < vocab; i++) if (z[i] < kth) z[i] = -Infinity;
  }
  const softmax = (v: number[]) => {
    const m = Math.max(...v);
    const e = v.map((x) => Math.exp(x - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  };
  if (topP < 1) {
    const p = softmax(z);
    const ascending = z.map((_, i) => i).sort((a, b) => z[a] - z[b]);
    let cum = 0;
    for (let r = 0; r < vocab - 1; r++) { // the top entry is always kept
      cum += p[ascending[r]];
      if (cum <= 1 - topP) z[ascending[r]] = -Infinity;
    }
  }
  if (minP > 0) {
    const p = softmax(z);
    const top = Math.max(...p);
    for (let i = 0; i < vocab; i++) if (p[i] < minP * top) z[i] = -Infinity;
  }
  return Float64Array.from(softmax(z));
}

const distributionSettings: [number, number, number, number, number?][] = [
  // vocab, temperature, topK, topP, minP
  [1000, 1, 0, 1], [1000, 0.7, 40, 1], [1000, 1.3, 0, 0.9], [32000, 0.8, 50, 0.95], [32000, 1, 0, 0.5], [500, 1, 1, 1], [7, 2, 3, 0.8],
  // a nucleus goal that rounds to 0 in f32 still keeps the top entry
  [1000, 1, 0, 1e-45], [1000, 0.5, 10, Number.MIN_VALUE],
  // min-p alone, after top-k and top-p, at the extremes (1 keeps only the top entry and its ties)
  [1000, 1, 0, 1, 0.05], [32000, 0.7, 100, 0.9, 0.1], [7, 2, 0, 1, 0.5], [1000, 1, 0, 1, 1], [2048, 1.5, 0, 1, 1e-6],
];

const distributionCases: KernelCase[] = ROW_WIDTHS.flatMap((width) => distributionSettings.map(([vocab, temperature, topK, topP, minP = 0]) => ({
  name: `distribution vocab=${vocab} T=${temperature} topK=${topK} topP=${topP} minP=${minP} width=${width}`,
  browser: vocab === 1000 && topK === 40 && width === TUNINGS.cpu.vocabRow,
  async run(gpu) {
    const rows = 2;
    const logits = randomFloats(rows * vocab, vocab + topK, 6);
    const probs = storageBuffer(gpu, 'probs', 4 * rows * vocab);
    await runStep(gpu, (step) => distribution(gpu, step, { logits: uploadBuffer(gpu, 'logits', logits), rows, vocab, probs, temperature, topK, topP, minP }, width));
    const expected = new Float64Array(rows * vocab);
    for (let r = 0; r < rows; r++) expected.set(distributionReference(logits.subarray(r * vocab, (r + 1) * vocab), vocab, temperature, topK, topP, minP), r * vocab);
    return { actual: await readF32(gpu, probs, rows * vocab), expected, tolerance: 1e-5 };
  },
})));

const topKTiesCases: KernelCase[] = ROW_WIDTHS.map((width) => ({
  name: `distribution keeps every tie at the k-th value, width=${width}`,
  async run(gpu) {
    const vocab = 64;
    const logits = Float32Array.from({ length: vocab }, (_, i) => (i * 7) % 5); // values 0..4, 12-13 of each
    const probs = storageBuffer(gpu, 'probs', 4 * vocab);
    await runStep(gpu, (step) => distribution(gpu, step, { logits: uploadBuffer(gpu, 'logits', logits), rows: 1, vocab, probs, temperature: 1, topK: 20, topP: 1 }, width));
    return { actual: await readF32(gpu, probs, vocab), expected: distributionReference(logits, vocab, 1, 20, 1), tolerance: 1e-6 };
  },
}));

/** CPU replay of the sampling kernel's summation order (see shaders/misc/sample.wgsl). */
function sampleReference(p: Float32Array, uniform: number, width: number): number {
  const f = Math.fround;
  const chunk = Math.ceil(p.length / width);
  const sums = Array.from({ length: width }, (_, j) => {
    let s = 0;
    for (let i = Math.min(p.length, j * chunk); i < Math.min(p.length, (j + 1) * chunk); i++) s = f(s + p[i]);
    return s;
  });
  let total = 0;
  const prefix = sums.map((s) => { const at = total; total = f(total + s); return at; });
  const target = f(f(uniform) * total);
  for (let j = 0; j < width; j++) {
    let cum = prefix[j];
    for (let i = Math.min(p.length, j * chunk); i < Math.min(p.length, (j + 1) * chunk); i++) {
      cum = f(cum + p[i]);
      if (p[i] > 0 && cum > target) return i;
    }
  }
  for (let i = p.length - 1; i > 0; i--) if (p[i] > 0) return i;
  return 0;
}

/** Uniforms from a seeded generator, plus the edges 0 and just below 1. */
function uniforms(n: number, seed: number): number[] {
  return [0, 1 - 2 ** -24, ...Array.from(randomFloats(n - 2, seed), (x) => (x + 1) / 2)];
}

async function sampleMany(gpu: Parameters<KernelCase['run']>[0], p: Float32Array, us: number[], width = TUNINGS.cpu.vocabRow): Promise<Uint32Array> {
  const probs = uploadBuffer(gpu, 'probs', p);
  const out = storageBuffer(gpu, 'out', 4 * us.length);
  await runStep(gpu, (step) => us.forEach((uniform, i) => sampleFromProbs(gpu, step, { probs, row: 0, vocab: p.length, uniform, out, outOffset: i }, width)));
  return readU32(gpu, out, us.length);
}

/** A distribution with zeros, a spike and a long tail. */
function sparseProbs(vocab: number): Float32Array {
  const w = Array.from(randomFloats(vocab, vocab), (x) => (x > 0.3 ? x * x : 0));
  w[Math.floor(vocab / 3)] = 5;
  const s = w.reduce((a, b) => a + b, 0);
  return Float32Array.from(w, (x) => x / s);
}

const sampleCases: KernelCase[] = ROW_WIDTHS.flatMap((width) => [1, 10, 1000, 32000].map((vocab) => ({
  name: `sampleFromProbs equals the CPU inverse CDF, vocab=${vocab} width=${width}`,
  browser: vocab === 1000 && width === TUNINGS.cpu.vocabRow,
  async run(gpu) {
    const p = vocab === 1 ? Float32Array.of(1) : sparseProbs(vocab);
    const us = uniforms(200, vocab);
    return { actual: await sampleMany(gpu, p, us, width), expected: us.map((u) => sampleReference(p, u, width)), tolerance: 0 };
  },
})));

const histogramCase: KernelCase = {
  name: 'sampleFromProbs frequencies match the probabilities (4000 draws)',
  async run(gpu) {
    const p = sparseProbs(12);
    const picks = await sampleMany(gpu, p, uniforms(4000, 99));
    const freq = new Float64Array(p.length);
    for (const i of picks) freq[i] += 1 / picks.length;
    return { actual: freq, expected: p, tolerance: 0.03 }; // about 4 standard deviations at p = 0.5
  },
};

export const samplingCases: KernelCase[] = [...argmaxCases, ...nonFiniteCases, ...distributionCases, ...topKTiesCases, ...sampleCases, histogramCase];
