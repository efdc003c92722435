/**
 * CPU references for the GGUF block formats, written from ggml's block layouts (ggml-common.h) and the
 * semantics of its reference quantizers (quantize_row_*_ref): quantize to the exact bytes a GGUF file holds,
 * and dequantize those bytes back to f32. Used to make GGUF files and as the kernels' reference. This file holds
 * the blocks of 32 weights; kquants.ts the K-quant super-blocks of 256.
 */
import { GGML_BLOCKS, type GgmlFormat } from '../../src/kernels/tensor';
import { f16, fromF16, K_QUANTS } from './kquants';

/** One block's quantizer (block weights -> its bytes) and the value of weight i of a block. */
interface BlockQuant {
  quantize(x: Float32Array, v: DataView): void;
  weight(v: DataView, i: number): number;
}

/** Rows of `cols` weights -> the bytes of their blocks, rows back to back. */
export function quantizeGgml(format: GgmlFormat, w: Float32Array, rows: number, cols: number): Uint8Array {
  const { elements, bytes } = GGML_BLOCKS[format];
  if (cols % elements !== 0) throw new Error(`${format}: ${cols} columns are not whole blocks of ${elements}`);
  const blocks = (rows * cols) / elements;
  const out = new Uint8Array(blocks * bytes);
  for (let b = 0; b < blocks; b++) QUANTS[format].quantize(w.subarray(b * elements, (b + 1) * elements), new DataView(out.buffer, b * bytes, bytes));
  return out;
}

/** Block bytes -> f32 weights. */
export function dequantizeGgml(format: GgmlFormat, data: Uint8Array, count: number): Float32Array {
  const { elements, bytes } = GGML_BLOCKS[format];
  const out = new Float32Array(count);
  const { weight } = QUANTS[format];
  for (let b = 0; b < count / elements; b++) {
    const v = new DataView(data.buffer, data.byteOffset + b * bytes, bytes);
    for (let i = 0; i < elements; i++) out[b * elements + i] = weight(v, i);
  }
  return out;
}

// Q8_0: d = max|x| / 127 (stored as f16), q = round(x / d).
function blockQ8_0(x: Float32Array, v: DataView): void {
  const amax = x.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
  const d = amax / 127;
  const id = d ? 1 / d : 0;
  v.setUint16(0, f16(d), true);
  for (let i = 0; i < 32; i++) v.setInt8(2 + i, Math.round(Math.fround(x[i] * id)));
}

const q8_0Weight = (v: DataView, i: number) => fromF16(v.getUint16(0, true)) * v.getInt8(2 + i);

/** The value of largest magnitude, with its sign. */
const signedMax = (x: Float32Array) => x.reduce((m, v) => (Math.abs(v) > Math.abs(m) ? v : m), 0);

// Q4_0: d = max / -8 (the signed value of largest magnitude maps to level 0), q = min(15, trunc(x / d + 8.5)); weight
// i < 16 in the low nibble of byte i, 16 + i in its high nibble.
function blockQ4_0(x: Float32Array, v: DataView): void {
  const d = signedMax(x) / -8;
  const id = d ? 1 / d : 0;
  v.setUint16(0, f16(d), true);
  const q = (t: number) => Math.min(15, Math.trunc(Math.fround(t * id) + 8.5));
  for (let i = 0; i < 16; i++) v.setUint8(2 + i, q(x[i]) | (q(x[16 + i]) << 4));
}

/** The nibble of weight i of a block of 32 whose 16 bytes of nibbles start at `at`: low nibbles for i < 16, then high. */
const nibble = (v: DataView, at: number, i: number) => (v.getUint8(at + (i & 15)) >> (4 * (i >> 4))) & 0xf;

const q4_0Weight = (v: DataView, i: number) => fromF16(v.getUint16(0, true)) * (nibble(v, 2, i) - 8);

// Q4_1, 20 bytes: f16 d, f16 m (the block's minimum), qs[16] as in Q4_0; d = (max - min) / 15,
// q = min(15, trunc((x - min) / d + 0.5)); weight = d * q + m.
function blockQ4_1(x: Float32Array, v: DataView): void {
  const min = Math.min(...x);
  const d = (Math.max(...x) - min) / 15;
  const id = d ? 1 / d : 0;
  v.setUint16(0, f16(d), true);
  v.setUint16(2, f16(min), true);
  const q = (t: number) => Math.min(15, Math.trunc(Math.fround(Math.fround(t - min) * id) + 0.5));
  for (let i = 0; i < 16; i++) v.setUint8(4 + i, q(x[i]) | (q(x[16 + i]) << 4));
}

const q4_1Weight = (v: DataView, i: number) => fromF16(v.getUint16(0, true)) * nibble(v, 4, i) + fromF16(v.getUint16(2, true));

// Q5_0: d = max / -16, q = min(31, trunc(x / d + 16.5)): low 4 bits as in Q4_0, fifth bit of weight i in bit i of qh.
function blockQ5_0(x: Float32Array, v: DataView): void {
  const d = signedMax(x) / -16;
  const id = d ? 1 / d : 0;
  v.setUint16(0, f16(d), true);
  const q = Array.from(x, (t) => Math.min(31, Math.trunc(Math.fround(t * id) + 16.5)));
  let qh = 0;
  q.forEach((level, i) => (qh |= ((level >> 4) & 1) << i));
  v.setUint32(2, qh >>> 0, true);
  for (let i = 0; i < 16; i++) v.setUint8(6 + i, (q[i] & 0xf) | ((q[16 + i] & 0xf) << 4));
}

/** The 5-bit level of weight i of a Q5_0/Q5_1 block with qh at `at` and the nibbles after it. */
const level5 = (v: DataView, at: number, i: number) => nibble(v, at + 4, i) | (((v.getUint32(at, true) >>> i) & 1) << 4);

const q5_0Weight = (v: DataView, i: number) => fromF16(v.getUint16(0, true)) * (level5(v, 2, i) - 16);

// Q5_1, 24 bytes: f16 d, f16 m, u32 qh, qs[16] as in Q5_0; d = (max - min) / 31, q = trunc((x - min) / d + 0.5);
// weight = d * q + m.
function blockQ5_1(x: Float32Array, v: DataView): void {
  const min = Math.min(...x);
  const d = (Math.max(...x) - min) / 31;
  const id = d ? 1 / d : 0;
  v.setUint16(0, f16(d), true);
  v.setUint16(2, f16(min), true);
  const q = Array.from(x, (t) => Math.trunc(Math.fround(Math.fround(t - min) * id) + 0.5) & 31);
  let qh = 0;
  q.forEach((level, i) => (qh |= (level >> 4) << i));
  v.setUint32(4, qh >>> 0, true);
  for (let i = 0; i < 16; i++) v.setUint8(8 + i, (q[i] & 0xf) | ((q[16 + i] & 0xf) << 4));
}

const q5_1Weight = (v: DataView, i: number) => fromF16(v.getUint16(0, true)) * level5(v, 4, i) + fromF16(v.getUint16(2, true));

/** IQ4_NL's 16 non-linear levels (kvalues_iq4nl). */
const IQ4_NL_VALUES = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** best_index_int8: the index of the level nearest to t (the lower one on a tie). */
function nearestLevel(t: number): number {
  const values = IQ4_NL_VALUES;
  if (t <= values[0]) return 0;
  if (t >= values[15]) return 15;
  let lo = 0, hi = 15;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (t < values[mid]) hi = mid;
    else lo = mid;
  }
  return t - values[hi - 1] < values[hi] - t ? hi - 1 : hi;
}

// IQ4_NL, 18 bytes: f16 d, qs[16] as in Q4_0 indexing IQ4_NL_VALUES; weight = d * value. The scale: weighted (x²)
// least squares over the levels nearest to x / d for d = -max / 127 and 15 candidates (k - 127) / max, k = -7..7;
// the levels then recomputed with the chosen d.
function blockIQ4_NL(x: Float32Array, v: DataView): void {
  let max = 0;
  for (const t of x) if (Math.abs(t) > Math.abs(max)) max = t;
  let d = 0;
  if (Math.abs(max) >= 1e-15) {
    const fit = (id: number) => {
      let sumqx = 0, sumq2 = 0;
      for (const t of x) {
        const q = IQ4_NL_VALUES[nearestLevel(id * t)];
        sumqx += t * t * q * t;
        sumq2 += t * t * q * q;
      }
      return { sumqx, sumq2 };
    };
    let { sumqx, sumq2 } = fit(1 / (-max / IQ4_NL_VALUES[0]));
    d = sumq2 > 0 ? sumqx / sumq2 : 0;
    let best = d * sumqx;
    for (let k = -7; k <= 7; k++) {
      ({ sumqx, sumq2 } = fit((k + IQ4_NL_VALUES[0]) / max));
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        d = sumqx / sumq2;
        best = d * sumqx;
      }
    }
  }
  v.setUint16(0, f16(d), true);
  const id = d ? 1 / d : 0;
  for (let i = 0; i < 16; i++) v.setUint8(2 + i, nearestLevel(id * x[i]) | (nearestLevel(id * x[16 + i]) << 4));
}

const iq4_nlWeight = (v: DataView, i: number) => fromF16(v.getUint16(0, true)) * IQ4_NL_VALUES[nibble(v, 2, i)];

const QUANTS: Record<GgmlFormat, BlockQuant> = {
  q8_0: { quantize: blockQ8_0, weight: q8_0Weight },
  q4_0: { quantize: blockQ4_0, weight: q4_0Weight },
  q4_1: { quantize: blockQ4_1, weight: q4_1Weight },
  q5_0: { quantize: blockQ5_0, weight: q5_0Weight },
  q5_1: { quantize: blockQ5_1, weight: q5_1Weight },
  iq4_nl: { quantize: blockIQ4_NL, weight: iq4_nlWeight },
  ...K_QUANTS,
};
