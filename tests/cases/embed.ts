import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { embed } from '../../src/kernels/embed';
import { dequantize, f32ToF16Bits, packF16, quantizeQ4, quantizeQ8 } from '../../src/kernels/quantize';
import type { WeightFormat } from '../../src/kernels/tensor';
import { runStep } from '../helpers/step';

function encodeTable(format: WeightFormat, w: Float32Array, rows: number, cols: number): { data: Uint32Array; scales?: Float32Array } {
  if (format === 'f32') return { data: new Uint32Array(w.buffer.slice(0)) };
  if (format === 'f16') return { data: packF16(f32ToF16Bits(w)) };
  return format === 'q8' ? quantizeQ8(w, rows, cols) : quantizeQ4(w, rows, cols);
}

/** [format, vocab, hidden, scale] (scale: Gemma's sqrt(hidden) embedding multiplier) */
const shapes: [WeightFormat, number, number, number][] = [['f32', 50, 96, 1], ['f16', 50, 96, 1], ['f16', 7, 2, 1], ['q8', 40, 64, 1], ['q4', 40, 160, 1], ['f16', 50, 96, Math.fround(Math.sqrt(96))]];

export const embedCases: KernelCase[] = shapes.map(([format, vocab, hidden, scale]) => ({
  name: `embed ${format} vocab=${vocab} hidden=${hidden}${scale === 1 ? '' : ` scale=${scale}`}`,
  browser: format === 'f16' && hidden === 96 && scale === 1,
  async run(gpu) {
    const w = randomFloats(vocab * hidden, vocab + hidden, 2);
    const { data, scales } = encodeTable(format, w, vocab, hidden);
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
}));
