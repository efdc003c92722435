import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readU32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { argmax } from '../../src/kernels/sampling';
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

const argmaxCases: KernelCase[] = argmaxShapes.map(([rows, vocab]) => ({
  name: `argmax rows=${rows} vocab=${vocab} with ties`,
  browser: vocab === 2048,
  async run(gpu) {
    const rowOffset = 1, outOffset = 2;
    const logits = tiedLogits(rows + rowOffset, vocab, vocab);
    const out = storageBuffer(gpu, 'out', 4 * (rows + outOffset));
    await runStep(gpu, (step) => argmax(gpu, step, { logits: uploadBuffer(gpu, 'logits', logits), rows, vocab, out, outOffset, logitsRowOffset: rowOffset }));
    const expected = Array.from({ length: rows }, (_, r) => argmaxReference(logits, r + rowOffset, vocab));
    return { actual: (await readU32(gpu, out, rows + outOffset)).slice(outOffset), expected, tolerance: 0 };
  },
}));

export const samplingCases: KernelCase[] = [...argmaxCases];
