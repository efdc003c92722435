import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { bf16ToF32, dequantize, f16BitsToF32, f32ToF16Bits, packF16, quantizeQ4, quantizeQ8 } from '../../src/kernels/quantize';

/** CPU conversions (the loader's): exact where the math is exact, bounded by half a step where it rounds. */
function cpuCase(name: string, compute: () => { actual: ArrayLike<number>; expected: ArrayLike<number>; tolerance: number }): KernelCase {
  return { name, async run() { return compute(); } };
}

const allHalves = () => Uint16Array.from({ length: 0x10000 }, (_, i) => i);

export const quantizeCases: KernelCase[] = [
  cpuCase('f16 bits -> f32 -> f16 bits round-trips every non-NaN pattern', () => {
    const bits = allHalves().filter((h) => (h & 0x7c00) !== 0x7c00 || (h & 0x3ff) === 0);
    return { actual: f32ToF16Bits(f16BitsToF32(bits)), expected: bits, tolerance: 0 };
  }),
  cpuCase('f32 -> f16 rounds to nearest even, overflows to Inf, keeps subnormals', () => {
    const x = new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65520, -1e6, 2 ** -25, 2 ** -25 * 1.5, -(2 ** -24), 0.1]);
    return { actual: f32ToF16Bits(x), expected: [0x3c00, 0x3c02, 0x7bff, 0x7c00, 0xfc00, 0x0000, 0x0001, 0x8001, 0x2e66], tolerance: 0 };
  }),
  cpuCase('bf16 -> f32 is the high half', () => ({
    actual: bf16ToF32(new Uint16Array([0x3f80, 0xc040, 0x0001, 0x7f80])),
    expected: [1, -3, 2 ** -133, Infinity],
    tolerance: 0,
  })),
  cpuCase('packF16 puts element 2i in the low half', () => ({
    actual: packF16(new Uint16Array([0x1111, 0x2222, 0x3333])),
    expected: [0x22221111, 0x00003333],
    tolerance: 0,
  })),
  ...(['q8', 'q4'] as const).map((format) => cpuCase(`${format} dequantize(quantize(w)) within half a step per block`, () => {
    const rows = 7, cols = 96;
    const w = randomFloats(rows * cols, 3);
    w.fill(0, 32, 64); // an all-zero block decodes to zeros
    const { data, scales } = (format === 'q8' ? quantizeQ8 : quantizeQ4)(w, rows, cols);
    const back = dequantize(format, data, scales, rows, cols);
    const clamped = back.map((v, i) => (Math.abs(v - w[i]) <= scales[Math.floor(i / 32)] / 2 + 1e-7 ? w[i] : v));
    return { actual: clamped, expected: w, tolerance: 0 };
  })),
];
