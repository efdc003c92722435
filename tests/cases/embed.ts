import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { embed } from '../../src/kernels/embed';
import { dequantize, encodeWeight } from '../../src/kernels/quantize';
import type { WeightFormat } from '../../src/kernels/tensor';
import { runStep } from '../helpers/step';
import { splitWeight } from './linear';

const shapes: [WeightFormat, number, number][] = [['f32', 50, 96], ['f16', 50, 96], ['f16', 7, 2], ['bf16', 50, 96], ['bf16', 7, 2], ['bf16', 5, 6], ['q8', 40, 64], ['q4', 40, 160]];

/** Random values; bf16 ones spread over 2^-126..2^126 (far outside f16's range, so a wrong decode shows). */
function tableValues(format: WeightFormat, n: number, seed: number): Float32Array {
  const w = randomFloats(n, seed, 2);
  if (format === 'bf16') for (let i = 0; i < n; i++) w[i] *= 2 ** (((i * 37) % 253) - 126);
  return w;
}

/** A table split by rows (a big vocabulary's embedding over the buffer limit) gives the unsplit table's rows. */
const splitCases: KernelCase[] = (['bf16', 'q4'] as WeightFormat[]).map((format): KernelCase => ({
  name: `embed ${format} table split by rows (0, 7, 30) == unsplit (bitwise)`,
  async run(gpu) {
    const vocab = 40, hidden = 64;
    const values = tableValues(format, vocab * hidden, 9);
    const { data, scales } = encodeWeight(format, values, vocab, hidden);
    const table = { format, rows: vocab, cols: hidden, data: uploadBuffer(gpu, 'table', data), scales: scales && uploadBuffer(gpu, 'scales', scales), label: 'table' };
    const split = splitWeight(gpu, format, dequantize(format, data, scales, vocab, hidden), vocab, hidden, [0, 7, 30]);
    const ids = uploadBuffer(gpu, 'ids', Uint32Array.from([0, 6, 7, 8, 29, 30, 39, 3, 0]));
    const [whole, pieces] = [storageBuffer(gpu, 'whole', 4 * 9 * hidden), storageBuffer(gpu, 'pieces', 4 * 9 * hidden)];
    await runStep(gpu, (step) => {
      embed(gpu, step, { ids, idsOffset: 0, count: 9, table, out: whole });
      embed(gpu, step, { ids, idsOffset: 0, count: 9, table: split, out: pieces });
    });
    return { actual: await readF32(gpu, pieces, 9 * hidden), expected: await readF32(gpu, whole, 9 * hidden), tolerance: 0 };
  },
}));

/** [format, vocab, hidden, scale] (scale: Gemma's sqrt(hidden) embedding multiplier) */
const scaled: [WeightFormat, number, number, number][] = [...shapes.map(([f, v, h]): [WeightFormat, number, number, number] => [f, v, h, 1]), ['f16', 50, 96, Math.fround(Math.sqrt(96))]];

export const embedCases: KernelCase[] = [...splitCases, ...scaled.map(([format, vocab, hidden, scale]): KernelCase => ({
  name: `embed ${format} vocab=${vocab} hidden=${hidden}${scale === 1 ? '' : ` scale=${scale}`}`,
  browser: format === 'f16' && hidden === 96 && scale === 1,
  async run(gpu) {
    const { data, scales } = encodeWeight(format, tableValues(format, vocab * hidden, vocab + hidden), vocab, hidden);
    const table = dequantize(format, data, scales, vocab, hidden);
    const idsOffset = 2;
    const ids = Uint32Array.from([0, 0, 3, vocab - 1, 0, 5 % vocab, vocab - 1]);
    const count = ids.length - idsOffset;
    const out = storageBuffer(gpu, 'out', 4 * count * hidden);
    await runStep(gpu, (step) => embed(gpu, step, {
      ids: uploadBuffer(gpu, 'ids', ids),
      idsOffset,
      count,
      table: { format, rows: vocab, cols: hidden, data: uploadBuffer(gpu, 'table', data), scales: scales && uploadBuffer(gpu, 'scales', scales), label: 'table' },
      out,
      scale,
    }));
    const expected = new Float32Array(count * hidden);
    for (let t = 0; t < count; t++) expected.set(table.subarray(ids[idsOffset + t] * hidden, (ids[idsOffset + t] + 1) * hidden).map((v) => Math.fround(v * scale)), t * hidden);
    return { actual: await readF32(gpu, out, count * hidden), expected, tolerance: 0 };
  },
}))];
