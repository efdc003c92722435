import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, readU32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { superposeEmbed, topN, TOP_N_MAX_WIDTH } from '../../src/kernels/superpose';
import { TUNINGS } from '../../src/gpu/tuning';
import { dequantize, encodeWeight } from '../../src/kernels/quantize';
import type { WeightFormat } from '../../src/kernels/tensor';
import { runStep } from '../helpers/step';
import { splitWeight } from './linear';

/** [ids, weights]: 3 drafts, two of which end in the same token (their weights merge). */
const superpositions: [number[], number[]][] = [
  [[4, 9, 4], [0.5, 0.3, 0.2]],
  [[7], [1]],
];

/** [format, vocab, hidden, row starts of a table split by rows (over the buffer limit)] */
const embedShapes: [WeightFormat, number, number, number[]?][] = [
  ['f32', 50, 96], ['f16', 50, 96], ['bf16', 50, 96], ['bf16', 10, 6], ['q8', 40, 64], ['q4', 40, 160], ['bf16', 50, 96, [0, 5, 8]], ['q8', 40, 64, [0, 20]],
];

const embedCases: KernelCase[] = embedShapes.flatMap(([format, vocab, hidden, starts]) => superpositions.map(([ids, weights]): KernelCase => ({
  name: `superposeEmbed ${format} vocab=${vocab} hidden=${hidden} drafts=${ids.length}${starts ? ` split at ${starts.join(', ')}` : ''}`,
  browser: format === 'f16' && ids.length === 3,
  async run(gpu) {
    const w = randomFloats(vocab * hidden, 3 * vocab + hidden, 2);
    const { data, scales } = encodeWeight(format, w, vocab, hidden);
    const table = dequantize(format, data, scales, vocab, hidden);
    const out = storageBuffer(gpu, 'out', 4 * hidden);
    await runStep(gpu, (step) => superposeEmbed(gpu, step, {
      ids: uploadBuffer(gpu, 'ids', Uint32Array.from(ids)),
      weights: uploadBuffer(gpu, 'weights', Float32Array.from(weights)),
      count: ids.length,
      table: starts
        ? splitWeight(gpu, format, table, vocab, hidden, starts)
        : { format, rows: vocab, cols: hidden, data: uploadBuffer(gpu, 'table', data), scales: scales && uploadBuffer(gpu, 'scales', scales), label: 'table' },
      out,
    }));
    // CPU Σ_v w_v E[v]: the vocab-sized weight vector (scatter-add over drafts) times the table
    const vocabWeights = new Float64Array(vocab);
    ids.forEach((id, j) => (vocabWeights[id] += weights[j]));
    const expected = new Float64Array(hidden);
    for (let v = 0; v < vocab; v++) for (let c = 0; c < hidden; c++) expected[c] += vocabWeights[v] * table[v * hidden + c];
    // one draft of weight 1 is exactly its embedding row
    return { actual: await readF32(gpu, out, hidden), expected, tolerance: ids.length === 1 ? 0 : 1e-6 };
  },
})));

function topNReference(logits: Float32Array, n: number): number[] {
  return Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b).slice(0, n);
}

const topNShapes: [number, number][] = [[2048, 9], [37, 16], [32_000, 9], [5, 5], [384, 1]];

const topNCases: KernelCase[] = [TUNINGS.cpu.vocabRow, TOP_N_MAX_WIDTH].flatMap((width) => topNShapes.map(([vocab, n]) => ({
  name: `topN vocab=${vocab} n=${n} width=${width} with ties`,
  browser: vocab === 2048 && width === TUNINGS.cpu.vocabRow,
  async run(gpu) {
    const rowOffset = 1;
    const logits = randomFloats((rowOffset + 1) * vocab, vocab + n, 10);
    const row = logits.subarray(rowOffset * vocab);
    for (const i of [vocab - 1, Math.floor(vocab / 3), Math.floor(vocab / 2)]) row[i] = 12; // planted ties at the top
    if (vocab > 40) row[7] = row[8] = row[9] = 11;
    const out = storageBuffer(gpu, 'out', 8 * n);
    await runStep(gpu, (step) => topN(gpu, step, { logits: uploadBuffer(gpu, 'logits', logits), vocab, n, out, logitsRowOffset: rowOffset }, width));
    const ids = topNReference(row, n);
    const words = await readU32(gpu, out, 2 * n);
    const actual = [...words.subarray(0, n), ...new Float32Array(words.buffer, 4 * n, n)];
    return { actual, expected: [...ids, ...ids.map((i) => row[i])], tolerance: 0 };
  },
})));

export const superposeCases: KernelCase[] = [...embedCases, ...topNCases];
