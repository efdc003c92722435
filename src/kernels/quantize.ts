import { QUANT_BLOCK, type WeightFormat } from './tensor';

/**
 * CPU-side conversions for the model loader, and the CPU reference dequantiser used by tests.
 * Quantisation is symmetric per block of 32 along cols:
 * - q8: scale = absmax / 127, q = round(w / scale) in [-127, 127], stored as int8 bytes
 * - q4: scale = absmax / 7,   q = round(w / scale) in [-7, 7],     stored as nibble q + 8
 * An all-zero block gets scale 0 (every value decodes to 0).
 */

/** f16 or bf16 bit patterns -> pairs in u32 (element 2i in the low half). An odd length pads the last high half with 0. */
export function packF16(bits: Uint16Array): Uint32Array {
  const out = new Uint32Array(Math.ceil(bits.length / 2));
  for (let i = 0; i < out.length; i++) {
    const lo = bits[2 * i];
    const hi = 2 * i + 1 < bits.length ? bits[2 * i + 1] : 0;
    out[i] = (lo | (hi << 16)) >>> 0;
  }
  return out;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** f32 -> f16 bit patterns, round-to-nearest-even; overflow -> ±Inf, NaN stays NaN, tiny values -> subnormals/±0. */
export function f32ToF16Bits(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    f32Scratch[0] = x[i];
    const f = u32Scratch[0];
    const sign = (f >>> 16) & 0x8000;
    const exp = (f >>> 23) & 0xff;
    const mant = f & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      // subnormal half (or zero): shift the full 24-bit significand, rounding to nearest even
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      const sig = mant | 0x800000;
      const shift = 14 - e;
      let h = sig >>> shift;
      const rem = sig & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && (h & 1))) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++; // a carry into the exponent is the correct rounding (up to Inf)
    out[i] = sign | h;
  }
  return out;
}

export function f16BitsToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) out[i] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) out[i] = mant ? NaN : sign * Infinity;
    else out[i] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return out;
}

/** bf16 bit patterns -> f32, exactly (a bf16 is the top half of an f32). */
export function bf16ToF32(bits: Uint16Array): Float32Array {
  const words = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) words[i] = bits[i] << 16;
  return new Float32Array(words.buffer);
}

/** f32 -> bf16 bit patterns, round-to-nearest-even; NaN stays NaN. */
export function f32ToBf16Bits(x: Float32Array): Uint16Array {
  const words = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const f = words[i];
    const nan = (f & 0x7fffffff) > 0x7f800000;
    out[i] = nan ? (f >>> 16) | 0x40 : (f + 0x7fff + ((f >>> 16) & 1)) >>> 16;
  }
  return out;
}

function checkQuantShape(w: Float32Array, rows: number, cols: number): void {
  if (cols % QUANT_BLOCK !== 0) throw new Error(`quantize: cols ${cols} is not a multiple of ${QUANT_BLOCK}`);
  if (w.length !== rows * cols) throw new Error(`quantize: ${w.length} values for [${rows}, ${cols}]`);
}

function blockScales(w: Float32Array, rows: number, cols: number, qmax: number): Float32Array {
  const blocks = cols / QUANT_BLOCK;
  const scales = new Float32Array(rows * blocks);
  for (let b = 0; b < rows * blocks; b++) {
    let absmax = 0;
    const base = b * QUANT_BLOCK;
    for (let j = 0; j < QUANT_BLOCK; j++) absmax = Math.max(absmax, Math.abs(w[base + j]));
    scales[b] = absmax / qmax;
  }
  return scales;
}

function quantValue(v: number, scale: number, qmax: number): number {
  if (scale === 0) return 0;
  return Math.max(-qmax, Math.min(qmax, Math.round(v / scale)));
}

/** [rows, cols] f32 -> q8 (see top of file); cols % 32 == 0. */
export function quantizeQ8(w: Float32Array, rows: number, cols: number): { data: Uint32Array; scales: Float32Array } {
  checkQuantShape(w, rows, cols);
  const scales = blockScales(w, rows, cols, 127);
  const bytes = new Int8Array(rows * cols);
  for (let i = 0; i < bytes.length; i++) bytes[i] = quantValue(w[i], scales[Math.floor(i / QUANT_BLOCK)], 127);
  return { data: new Uint32Array(bytes.buffer), scales };
}

/** [rows, cols] f32 -> q4 (see top of file); cols % 32 == 0. */
export function quantizeQ4(w: Float32Array, rows: number, cols: number): { data: Uint32Array; scales: Float32Array } {
  checkQuantShape(w, rows, cols);
  const scales = blockScales(w, rows, cols, 7);
  const data = new Uint32Array((rows * cols) / 8);
  for (let i = 0; i < rows * cols; i++) {
    const nibble = quantValue(w[i], scales[Math.floor(i / QUANT_BLOCK)], 7) + 8;
    data[i >>> 3] |= nibble << (4 * (i & 7));
  }
  return { data, scales };
}

/** [rows, cols] f32 -> storage in `format` (16-bit formats rounded to nearest even; q8/q4 as above). */
export function encodeWeight(format: WeightFormat, values: Float32Array, rows: number, cols: number): { data: Uint32Array; scales?: Float32Array } {
  switch (format) {
    case 'f32': return { data: new Uint32Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)) };
    case 'f16': return { data: packF16(f32ToF16Bits(values)) };
    case 'bf16': return { data: packF16(f32ToBf16Bits(values)) };
    case 'q8': return quantizeQ8(values, rows, cols);
    case 'q4': return quantizeQ4(values, rows, cols);
  }
}

/** CPU reference: any stored format -> [rows, cols] f32. */
export function dequantize(
  format: WeightFormat,
  data: Uint32Array,
  scales: Float32Array | undefined,
  rows: number,
  cols: number,
): Float32Array {
  const n = rows * cols;
  if (format === 'f32') return new Float32Array(data.buffer, data.byteOffset, n).slice();
  if (format === 'f16') return f16BitsToF32(new Uint16Array(data.buffer, data.byteOffset, n));
  if (format === 'bf16') return bf16ToF32(new Uint16Array(data.buffer, data.byteOffset, n));
  if (!scales) throw new Error(`dequantize: ${format} needs scales`);
  const out = new Float32Array(n);
  if (format === 'q8') {
    const bytes = new Int8Array(data.buffer, data.byteOffset, n);
    for (let i = 0; i < n; i++) out[i] = bytes[i] * scales[Math.floor(i / QUANT_BLOCK)];
  } else {
    for (let i = 0; i < n; i++) {
      const nibble = (data[i >>> 3] >>> (4 * (i & 7))) & 0xf;
      out[i] = (nibble - 8) * scales[Math.floor(i / QUANT_BLOCK)];
    }
  }
  return out;
}
