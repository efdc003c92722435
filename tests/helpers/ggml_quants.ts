/**
 * CPU references for the GGUF block formats, written from ggml's block layouts (ggml-common.h) and the
 * semantics of its reference quantizers (quantize_row_*_ref): quantize to the exact bytes a GGUF file holds,
 * and dequantize those bytes back to f32. Used to make GGUF files and as the kernels' reference.
 */
import { f16BitsToF32, f32ToF16Bits } from '../../src/kernels/quantize';
import { GGML_BLOCKS, type GgmlFormat } from '../../src/kernels/tensor';

const f16 = (v: number) => f32ToF16Bits(Float32Array.of(v))[0];
const fromF16 = (bits: number) => f16BitsToF32(Uint16Array.of(bits))[0];
/** ggml's nearest_int: round half to even (the float magic-number trick). */
const nearestInt = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** Rows of `cols` weights -> the bytes of their blocks, rows back to back. */
export function quantizeGgml(format: GgmlFormat, w: Float32Array, rows: number, cols: number): Uint8Array {
  const { elements, bytes } = GGML_BLOCKS[format];
  if (cols % elements !== 0) throw new Error(`${format}: ${cols} columns are not whole blocks of ${elements}`);
  const blocks = (rows * cols) / elements;
  const out = new Uint8Array(blocks * bytes);
  const block = { q8_0: blockQ8_0, q4_k: blockQ4_K, q6_k: blockQ6_K, q4_0: blockQ4_0, q5_0: blockQ5_0 }[format];
  for (let b = 0; b < blocks; b++) block(w.subarray(b * elements, (b + 1) * elements), new DataView(out.buffer, b * bytes, bytes));
  return out;
}

/** Block bytes -> f32 weights. */
export function dequantizeGgml(format: GgmlFormat, data: Uint8Array, count: number): Float32Array {
  const { elements, bytes } = GGML_BLOCKS[format];
  const out = new Float32Array(count);
  const block = { q8_0: dequantQ8_0, q4_k: dequantQ4_K, q6_k: dequantQ6_K, q4_0: dequantQ4_0, q5_0: dequantQ5_0 }[format];
  for (let b = 0; b < count / elements; b++) block(new DataView(data.buffer, data.byteOffset + b * bytes, bytes), out.subarray(b * elements, (b + 1) * elements));
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

function dequantQ8_0(v: DataView, y: Float32Array): void {
  const d = fromF16(v.getUint16(0, true));
  for (let i = 0; i < 32; i++) y[i] = d * v.getInt8(2 + i);
}

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

function dequantQ4_0(v: DataView, y: Float32Array): void {
  const d = fromF16(v.getUint16(0, true));
  for (let i = 0; i < 16; i++) {
    y[i] = d * ((v.getUint8(2 + i) & 0xf) - 8);
    y[16 + i] = d * ((v.getUint8(2 + i) >> 4) - 8);
  }
}

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

function dequantQ5_0(v: DataView, y: Float32Array): void {
  const d = fromF16(v.getUint16(0, true));
  const qh = v.getUint32(2, true);
  for (let i = 0; i < 32; i++) {
    const nibble = i < 16 ? v.getUint8(6 + i) & 0xf : v.getUint8(6 + i - 16) >> 4;
    y[i] = d * ((nibble | (((qh >>> i) & 1) << 4)) - 16);
  }
}

/**
 * make_qkx2_quants: an asymmetric scale and min for n values in 0..nmax, weighted least squares over a
 * search of 20 candidate scales around nmax / (max - min). Returns the scale; `L` receives the levels.
 */
function scaleAndMin(x: Float32Array, weights: Float64Array, nmax: number, L: Uint8Array): { scale: number; min: number } {
  const n = x.length;
  let min = Math.min(...x);
  const max = Math.max(...x);
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0);
    return { scale: 0, min: -min };
  }
  let sumW = 0, sumX = 0;
  for (let i = 0; i < n; i++) {
    sumW += weights[i];
    sumX += weights[i] * x[i];
  }
  const level = (v: number, iscale: number, lo: number) => Math.max(0, Math.min(nmax, nearestInt(iscale * (v - lo))));
  const error = (levels: Uint8Array, scale: number, lo: number) => {
    let e = 0;
    for (let i = 0; i < n; i++) e += weights[i] * (scale * levels[i] + lo - x[i]) ** 2;
    return e;
  };
  let iscale = nmax / (max - min);
  let scale = 1 / iscale;
  for (let i = 0; i < n; i++) L[i] = level(x[i], iscale, min);
  let best = error(L, scale, min);
  const aux = new Uint8Array(n);
  for (let step = 0; step <= 20; step++) {
    iscale = (-1 + 0.1 * step + nmax) / (max - min);
    let sumL = 0, sumL2 = 0, sumXL = 0;
    for (let i = 0; i < n; i++) {
      aux[i] = level(x[i], iscale, min);
      sumL += weights[i] * aux[i];
      sumL2 += weights[i] * aux[i] * aux[i];
      sumXL += weights[i] * aux[i] * x[i];
    }
    const D = sumW * sumL2 - sumL * sumL;
    if (D <= 0) continue;
    let thisScale = (sumW * sumXL - sumX * sumL) / D;
    let thisMin = (sumL2 * sumX - sumL * sumXL) / D;
    if (thisMin > 0) {
      thisMin = 0;
      thisScale = sumXL / sumL2;
    }
    const e = error(aux, thisScale, thisMin);
    if (e < best) {
      L.set(aux);
      best = e;
      scale = thisScale;
      min = thisMin;
    }
  }
  return { scale, min: -min };
}

/** The 6-bit (scale, min) of sub-block j from the 12 packed bytes (ggml's get_scale_min_k4). */
function scaleMinK4(j: number, s: (i: number) => number): [number, number] {
  if (j < 4) return [s(j) & 63, s(j + 4) & 63];
  return [(s(j + 4) & 0xf) | ((s(j - 4) >> 6) << 4), (s(j + 4) >> 4) | ((s(j) >> 6) << 4)];
}

// Q4_K: 8 sub-blocks of 32, each with a scale and min from scaleAndMin (weights av|x| + |x_i|), both quantized to
// 6 bits against super-block maxima (d = max scale / 63, dmin = max min / 63), then levels 0..15 recomputed.
function blockQ4_K(x: Float32Array, v: DataView): void {
  const scales: number[] = [];
  const mins: number[] = [];
  const L = new Uint8Array(256);
  for (let j = 0; j < 8; j++) {
    const sub = x.subarray(32 * j, 32 * j + 32);
    const av = Math.sqrt(sub.reduce((a, b) => a + b * b, 0) / 32);
    const weights = Float64Array.from(sub, (t) => av + Math.abs(t));
    const r = scaleAndMin(sub, weights, 15, L.subarray(32 * j, 32 * j + 32));
    scales.push(r.scale);
    mins.push(r.min);
  }
  const maxScale = Math.max(0, ...scales);
  const maxMin = Math.max(0, ...mins);
  const invScale = maxScale > 0 ? 63 / maxScale : 0;
  const invMin = maxMin > 0 ? 63 / maxMin : 0;
  const packed = new Uint8Array(12);
  for (let j = 0; j < 8; j++) {
    const ls = Math.min(63, nearestInt(invScale * scales[j]));
    const lm = Math.min(63, nearestInt(invMin * mins[j]));
    if (j < 4) {
      packed[j] = ls;
      packed[j + 4] = lm;
    } else {
      packed[j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
      packed[j - 4] |= (ls >> 4) << 6;
      packed[j] |= (lm >> 4) << 6;
    }
  }
  v.setUint16(0, f16(maxScale / 63), true);
  v.setUint16(2, f16(maxMin / 63), true);
  packed.forEach((b, i) => v.setUint8(4 + i, b));
  const d = fromF16(v.getUint16(0, true));
  const dmin = fromF16(v.getUint16(2, true));
  for (let j = 0; j < 8; j++) {
    const [sc, m] = scaleMinK4(j, (i) => packed[i]);
    const ds = d * sc;
    if (!ds) continue;
    const dm = dmin * m;
    for (let i = 0; i < 32; i++) L[32 * j + i] = Math.max(0, Math.min(15, nearestInt((x[32 * j + i] + dm) / ds)));
  }
  for (let c = 0; c < 4; c++) for (let l = 0; l < 32; l++) v.setUint8(16 + 32 * c + l, L[64 * c + l] | (L[64 * c + 32 + l] << 4));
}

function dequantQ4_K(v: DataView, y: Float32Array): void {
  const d = fromF16(v.getUint16(0, true));
  const dmin = fromF16(v.getUint16(2, true));
  const s = (i: number) => v.getUint8(4 + i);
  for (let c = 0; c < 4; c++) {
    const [sc0, m0] = scaleMinK4(2 * c, s);
    const [sc1, m1] = scaleMinK4(2 * c + 1, s);
    for (let l = 0; l < 32; l++) {
      const q = v.getUint8(16 + 32 * c + l);
      y[64 * c + l] = d * sc0 * (q & 0xf) - dmin * m0;
      y[64 * c + 32 + l] = d * sc1 * (q >> 4) - dmin * m1;
    }
  }
}

/** make_qx_quants with rmse_type 1: a symmetric scale for levels -nmax..nmax-1, refined over 19 candidates. */
function symmetricScale(x: Float32Array, nmax: number): number {
  let max = 0;
  for (const t of x) if (Math.abs(t) > Math.abs(max)) max = t;
  if (Math.abs(max) < 1e-30) return 0;
  const sums = (iscale: number) => {
    let sumLX = 0, sumL2 = 0;
    for (const t of x) {
      const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * t)));
      sumLX += t * t * t * l;
      sumL2 += t * t * l * l;
    }
    return { sumLX, sumL2 };
  };
  let { sumLX, sumL2 } = sums(-nmax / max);
  let scale = sumL2 ? sumLX / sumL2 : 0;
  let best = scale * sumLX;
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    ({ sumLX, sumL2 } = sums(-(nmax + 0.1 * is) / max));
    if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
      scale = sumLX / sumL2;
      best = scale * sumLX;
    }
  }
  return scale;
}

// Q6_K: 16 sub-blocks of 16 with a symmetric scale each, quantized to int8 against the largest (d = -max / 128),
// then levels -32..31 recomputed and stored +32 as 4 low bits (ql) and 2 high bits (qh).
function blockQ6_K(x: Float32Array, v: DataView): void {
  const scales = Array.from({ length: 16 }, (_, ib) => symmetricScale(x.subarray(16 * ib, 16 * ib + 16), 32));
  let maxScale = 0;
  for (const s of scales) if (Math.abs(s) > Math.abs(maxScale)) maxScale = s;
  const L = new Uint8Array(256);
  if (!maxScale) {
    for (let i = 0; i < 210; i++) v.setUint8(i, 0);
  } else {
    const iscale = -128 / maxScale;
    v.setUint16(208, f16(1 / iscale), true);
    const d = fromF16(v.getUint16(208, true));
    for (let ib = 0; ib < 16; ib++) {
      const q = Math.min(127, nearestInt(iscale * scales[ib]));
      v.setInt8(192 + ib, q);
      const ds = d * q;
      for (let i = 0; i < 16; i++) L[16 * ib + i] = ds ? Math.max(-32, Math.min(31, nearestInt(x[16 * ib + i] / ds))) + 32 : 32;
    }
  }
  for (let h = 0; h < 2; h++) {
    for (let l = 0; l < 32; l++) {
      const q = [0, 1, 2, 3].map((r) => L[128 * h + 32 * r + l]);
      v.setUint8(64 * h + l, (q[0] & 0xf) | ((q[2] & 0xf) << 4));
      v.setUint8(64 * h + 32 + l, (q[1] & 0xf) | ((q[3] & 0xf) << 4));
      v.setUint8(128 + 32 * h + l, (q[0] >> 4) | ((q[1] >> 4) << 2) | ((q[2] >> 4) << 4) | ((q[3] >> 4) << 6));
    }
  }
}

function dequantQ6_K(v: DataView, y: Float32Array): void {
  const d = fromF16(v.getUint16(208, true));
  for (let h = 0; h < 2; h++) {
    for (let l = 0; l < 32; l++) {
      const ql0 = v.getUint8(64 * h + l), ql1 = v.getUint8(64 * h + 32 + l), qh = v.getUint8(128 + 32 * h + l);
      const q = [(ql0 & 0xf) | ((qh & 3) << 4), (ql1 & 0xf) | (((qh >> 2) & 3) << 4), (ql0 >> 4) | (((qh >> 4) & 3) << 4), (ql1 >> 4) | (((qh >> 6) & 3) << 4)];
      for (let r = 0; r < 4; r++) y[128 * h + 32 * r + l] = d * v.getInt8(192 + 8 * h + 2 * r + (l >> 4)) * (q[r] - 32);
    }
  }
}
