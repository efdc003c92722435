import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, readU32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { applyLogitControls, countToken, IN_PROMPT, logprobs, logprobWords, maskRows, maskWords, type Penalties } from '../../src/kernels/logit_controls';
import { ROW_WIDTHS } from './sampling';
import { runStep } from '../helpers/step';

const f = Math.fround;

/** shaders/misc/logit_controls.wgsl in f32 steps. */
export function logitControlsReference(logits: Float32Array, counts: Uint32Array, bias: Float32Array, mask: Uint32Array | null, p: Penalties): Float32Array {
  return logits.map((x, t) => {
    let z = x;
    const generated = counts[t] & ~IN_PROMPT;
    if (counts[t] !== 0 && p.repetition !== 1) z = z > 0 ? f(z / p.repetition) : f(z * p.repetition);
    if (generated > 0) z = f(f(z - f(generated * p.frequency)) - p.presence);
    z = f(z + bias[t]);
    return mask && !(mask[t >>> 5] & (1 << (t & 31))) ? -Infinity : z;
  });
}

function randomCounts(vocab: number, seed: number): Uint32Array {
  const r = randomFloats(vocab, seed, 1);
  return Uint32Array.from(r, (x) => (x > 0.6 ? IN_PROMPT : 0) | (x < -0.5 ? Math.floor((x + 1) * 8) + 1 : 0));
}

function randomMask(vocab: number, seed: number): Uint32Array {
  const r = randomFloats(vocab, seed, 1);
  const mask = new Uint32Array(Math.ceil(vocab / 32));
  r.forEach((x, t) => { if (x > 0.3 || t === vocab - 1) mask[t >>> 5] |= 1 << (t & 31); });
  return mask;
}

const settings: [number, Penalties, boolean][] = [
  [7, { frequency: 0.5, presence: 0.25, repetition: 1.3 }, true],
  [1000, { frequency: 0, presence: 0, repetition: 1 }, false],
  [2048, { frequency: 1.5, presence: -0.5, repetition: 0.8 }, true],
  [32001, { frequency: -2, presence: 2, repetition: 2 }, false],
];

const controlCases: KernelCase[] = settings.map(([vocab, penalties, masked]) => ({
  name: `logit controls vocab=${vocab} ${JSON.stringify(penalties)} masked=${masked}`,
  browser: vocab === 2048,
  async run(gpu) {
    const rows = 2, row = 1;
    const logits = randomFloats(rows * vocab, vocab, 8);
    const counts = randomCounts(vocab, vocab + 1);
    const bias = randomFloats(vocab, vocab + 2, 3).map((x, i) => (i % 3 === 0 ? x : 0));
    const mask = randomMask(vocab, vocab + 3);
    const buffer = uploadBuffer(gpu, 'logits', logits);
    await runStep(gpu, (step) => applyLogitControls(gpu, step, {
      logits: buffer, row, vocab, counts: uploadBuffer(gpu, 'counts', counts), bias: uploadBuffer(gpu, 'bias', bias),
      mask: uploadBuffer(gpu, 'mask', mask), masked, penalties,
    }));
    const expected = Float32Array.from(logits);
    expected.set(logitControlsReference(logits.subarray(vocab), counts, bias, masked ? mask : null, penalties), vocab);
    // masked entries must be exactly -inf; they compare as 0 so the relative error measures the rest
    const actual = await readF32(gpu, buffer, rows * vocab);
    const finite = (x: number, i: number) => (expected[i] === -Infinity && x === -Infinity ? 0 : x);
    return { actual: actual.map(finite), expected: expected.map(finite), tolerance: 1e-6 };
  },
}));

/** Each row its own mask (a speculative round's positions), at a vocabulary that is not a multiple of 32 and one past the workgroup grid. */
const maskRowsCases: KernelCase[] = [[3, 37, 1], [5, 2048, 0], [2, 151_936, 2]].map(([rows, vocab, firstMask]) => ({
  name: `mask rows rows=${rows} vocab=${vocab} firstMask=${firstMask}`,
  browser: vocab === 2048,
  async run(gpu) {
    const logits = randomFloats(rows * vocab, vocab + rows, 5);
    const masks = new Uint32Array((firstMask + rows) * maskWords(vocab));
    for (let m = 0; m < firstMask + rows; m++) masks.set(randomMask(vocab, vocab + 7 * m), m * maskWords(vocab));
    const buffer = uploadBuffer(gpu, 'logits', logits);
    await runStep(gpu, (step) => maskRows(gpu, step, { logits: buffer, rows, vocab, masks: uploadBuffer(gpu, 'masks', masks), firstMask }));
    const expected = logits.map((x, i) => {
      const r = Math.floor(i / vocab), t = i % vocab;
      return masks[(firstMask + r) * maskWords(vocab) + (t >>> 5)] & (1 << (t & 31)) ? x : -Infinity;
    });
    const actual = await readF32(gpu, buffer, rows * vocab);
    const finite = (x: number, i: number) => (expected[i] === -Infinity && x === -Infinity ? 0 : x);
    return { actual: actual.map(finite), expected: expected.map(finite), tolerance: 0 };
  },
}));

const countCase: KernelCase = {
  name: 'count token: counts[tokens[index]] += 1 keeps the prompt bit',
  async run(gpu) {
    const counts = uploadBuffer(gpu, 'counts', Uint32Array.from([IN_PROMPT, 0, 3, IN_PROMPT | 1]));
    const tokens = uploadBuffer(gpu, 'tokens', Uint32Array.from([0, 3, 2, 3]));
    await runStep(gpu, (step) => { for (let index = 0; index < 4; index++) countToken(gpu, step, { tokens, index, counts }); });
    return { actual: await readU32(gpu, counts, 4), expected: [(IN_PROMPT | 1) >>> 0, 0, 4, (IN_PROMPT | 3) >>> 0], tolerance: 0 };
  },
};

/** log-softmax in f64, and the top entries in (value descending, id ascending) order. */
export function logprobsReference(row: Float32Array, chosen: number, top: number): { chosen: number; top: [number, number][] } {
  let m = -Infinity;
  for (const x of row) m = Math.max(m, x);
  let s = 0;
  for (const x of row) s += Math.exp(x - m);
  const logZ = m + Math.log(s);
  const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a] || a - b).slice(0, top);
  return { chosen: row[chosen] - logZ, top: order.map((i) => [i, row[i] - logZ]) };
}

const logprobShapes: [number, number][] = [[5, 3], [1000, 20], [2048, 5], [32000, 20], [151_936, 4]];

const logprobCases: KernelCase[] = ROW_WIDTHS.flatMap((width) => logprobShapes.map(([vocab, top]) => ({
  name: `logprobs vocab=${vocab} top=${top} width=${width} with ties`,
  browser: vocab === 2048 && width === ROW_WIDTHS[0],
  async run(gpu) {
    const rows = 2, row = 1, outOffset = 3, tokenIndex = 2, chosen = vocab - 2;
    const logits = randomFloats(rows * vocab, vocab + top, 6);
    logits[vocab + 1] = logits[vocab + vocab - 1] = 9; // a tie at the top: the lower id comes first
    const out = storageBuffer(gpu, 'out', 4 * (outOffset + logprobWords(top)));
    await runStep(gpu, (step) => logprobs(gpu, step, {
      logits: uploadBuffer(gpu, 'logits', logits), row, vocab, tokens: uploadBuffer(gpu, 'tokens', Uint32Array.from([0, 0, chosen])),
      tokenIndex, top, out, outOffset,
    }, width));
    const words = (await readU32(gpu, out, outOffset + logprobWords(top))).slice(outOffset);
    const asF32 = (w: number) => new Float32Array(Uint32Array.of(w).buffer)[0];
    const ref = logprobsReference(logits.subarray(vocab), chosen, top);
    const ids = Array.from({ length: top }, (_, k) => words[1 + 2 * k]);
    if (ids.join() !== ref.top.map(([i]) => i).join()) return { actual: ids, expected: ref.top.map(([i]) => i), tolerance: 0 };
    // absolute error in logprob: compared as values next to 1 so relativeError reads it as absolute
    const actual = [asF32(words[0]), ...ids.map((_, k) => asF32(words[2 + 2 * k]))];
    const expected = [ref.chosen, ...ref.top.map(([, lp]) => lp)];
    return { actual: actual.map((x, i) => x - expected[i] + 1), expected: expected.map(() => 1), tolerance: 1e-5 };
  },
})));

export const logitControlCases: KernelCase[] = [...controlCases, ...maskRowsCases, countCase, ...logprobCases];
