/**
 * CPU references for ggml's K-quant super-blocks of 256 weights (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K), written from the
 * block layouts (ggml-common.h) and the semantics of ggml's reference quantizers (quantize_row_*_K_ref and their
 * scale searches). Each format has `quantize(x, view)` for one block and `dequantize(view, y)`.
 */
import { f16BitsToF32, f32ToF16Bits } from '../../src/kernels/quantize';

export const f16 = (v: number) => f32ToF16Bits(Float32Array.of(v))[0];
export const fromF16 = (bits: number) => f16BitsToF32(Uint16Array.of(bits))[0];
/** ggml's nearest_int: round half to even (the float magic-number trick). */
const nearestInt = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};
const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

/**
 * make_qkx2_quants: an asymmetric scale and min for levels 0..nmax, weighted least squares over candidate scales
 * (rmin + rdelta * step + nmax) / (max - min), step 0..nstep; the error is squared or, with `mad`, absolute.
 * Returns the scale and the (positive) min; `L` receives the levels.
 */
function scaleAndMin(x: Float32Array, weights: Float64Array, nmax: number, L: Uint8Array, rmin: number, rdelta: number, nstep: number, mad: boolean): { scale: number; min: number } {
  const n = x.length;
  let min = Math.min(0, ...x);
  const max = Math.max(...x);
  if (max === min) {
    L.fill(0);
    return { scale: 0, min: -min };
  }
  let sumW = 0, sumX = 0;
  for (let i = 0; i < n; i++) {
    sumW += weights[i];
    sumX += weights[i] * x[i];
  }
  const level = (v: number, iscale: number, lo: number) => clamp(nearestInt(iscale * (v - lo)), 0, nmax);
  const error = (levels: Uint8Array, scale: number, lo: number) => {
    let e = 0;
    for (let i = 0; i < n; i++) {
      const diff = scale * levels[i] + lo - x[i];
      e += weights[i] * (mad ? Math.abs(diff) : diff * diff);
    }
    return e;
  };
  let iscale = nmax / (max - min);
  let scale = 1 / iscale;
  for (let i = 0; i < n; i++) L[i] = level(x[i], iscale, min);
  let best = error(L, scale, min);
  const aux = new Uint8Array(n);
  for (let step = 0; step <= nstep; step++) {
    iscale = (rmin + rdelta * step + nmax) / (max - min);
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

/** The 6-bit (scale, min) of sub-block j from the 12 packed bytes of Q4_K/Q5_K (ggml's get_scale_min_k4). */
function scaleMinK4(j: number, s: (i: number) => number): [number, number] {
  if (j < 4) return [s(j) & 63, s(j + 4) & 63];
  return [(s(j + 4) & 0xf) | ((s(j - 4) >> 6) << 4), (s(j + 4) >> 4) | ((s(j) >> 6) << 4)];
}

/**
 * Q4_K/Q5_K levels: 8 sub-blocks of 32, each with a scale and min from scaleAndMin (weights av|x| + |x_i|), both
 * quantized to 6 bits against the super-block maxima (d = max scale / 63, dmin = max min / 63) and packed into
 * bytes 4..15, d and dmin at 0 and 2; then levels 0..nmax recomputed from the stored scales.
 */
function scaleMinBlock(x: Float32Array, v: DataView, nmax: number, search: [number, number, number]): Uint8Array {
  const scales: number[] = [];
  const mins: number[] = [];
  const L = new Uint8Array(256);
  for (let j = 0; j < 8; j++) {
    const sub = x.subarray(32 * j, 32 * j + 32);
    const av = Math.sqrt(sub.reduce((a, b) => a + b * b, 0) / 32);
    const r = scaleAndMin(sub, Float64Array.from(sub, (t) => av + Math.abs(t)), nmax, L.subarray(32 * j, 32 * j + 32), ...search, false);
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
    for (let i = 0; i < 32; i++) L[32 * j + i] = clamp(nearestInt((x[32 * j + i] + dmin * m) / ds), 0, nmax);
  }
  return L;
}

/** Weight i of a Q4_K/Q5_K block: d * scale * q - dmin * min of its sub-block (i / 32). */
function scaleMinWeight(v: DataView, i: number, q: number): number {
  const [sc, m] = scaleMinK4(i >> 5, (k) => v.getUint8(4 + k));
  return fromF16(v.getUint16(0, true)) * sc * q - fromF16(v.getUint16(2, true)) * m;
}

// Q4_K, 144 bytes: d, dmin, scales[12], qs[128]: bytes 32c..32c+31 hold sub-block 2c in their low and 2c+1 in their
// high nibbles.
function quantizeQ4_K(x: Float32Array, v: DataView): void {
  const L = scaleMinBlock(x, v, 15, [-1, 0.1, 20]);
  for (let c = 0; c < 4; c++) for (let l = 0; l < 32; l++) v.setUint8(16 + 32 * c + l, L[64 * c + l] | (L[64 * c + 32 + l] << 4));
}

const q4kLevel = (v: DataView, i: number) => (v.getUint8(16 + 32 * (i >> 6) + (i & 31)) >> (4 * ((i >> 5) & 1))) & 0xf;

// Q5_K, 176 bytes: d, dmin, scales[12], qh[32], qs[128]: the low 4 bits as in Q4_K; bit s of qh[l] is the fifth bit
// of weight 32s + l.
function quantizeQ5_K(x: Float32Array, v: DataView): void {
  const L = scaleMinBlock(x, v, 31, [-0.5, 0.1, 15]);
  for (let l = 0; l < 32; l++) {
    let qh = 0;
    for (let s = 0; s < 8; s++) qh |= (L[32 * s + l] >> 4) << s;
    v.setUint8(16 + l, qh);
  }
  for (let c = 0; c < 4; c++) for (let l = 0; l < 32; l++) v.setUint8(48 + 32 * c + l, (L[64 * c + l] & 0xf) | ((L[64 * c + 32 + l] & 0xf) << 4));
}

const q5kLevel = (v: DataView, i: number) =>
  ((v.getUint8(48 + 32 * (i >> 6) + (i & 31)) >> (4 * ((i >> 5) & 1))) & 0xf) | (((v.getUint8(16 + (i & 31)) >> (i >> 5)) & 1) << 4);

/**
 * 2-bit levels of 256 weights in 64 bytes as Q2_K and Q3_K store them: byte 32h + l holds weights 128h + 32r + l
 * (r = 0..3) in bits 2r.
 */
function pack2(L: Uint8Array, v: DataView, at: number): void {
  for (let h = 0; h < 2; h++) for (let l = 0; l < 32; l++) v.setUint8(at + 32 * h + l, L[128 * h + l] | (L[128 * h + l + 32] << 2) | (L[128 * h + l + 64] << 4) | (L[128 * h + l + 96] << 6));
}

const level2 = (v: DataView, at: number, i: number) => (v.getUint8(at + 32 * (i >> 7) + (i & 31)) >> (2 * ((i >> 5) & 3))) & 3;

// Q2_K, 84 bytes: scales[16] (low nibble: scale, high nibble: min of sub-block j of 16), qs[64] (pack2), f16 d, f16
// dmin. Scales and mins from scaleAndMin on levels 0..3 (weights |x_i|, absolute error), 4-bit against the maxima.
function quantizeQ2_K(x: Float32Array, v: DataView): void {
  const L = new Uint8Array(256);
  const scales: number[] = [];
  const mins: number[] = [];
  for (let j = 0; j < 16; j++) {
    const sub = x.subarray(16 * j, 16 * j + 16);
    const r = scaleAndMin(sub, Float64Array.from(sub, Math.abs), 3, L.subarray(16 * j, 16 * j + 16), -0.5, 0.1, 15, true);
    scales.push(r.scale);
    mins.push(r.min);
  }
  const maxScale = Math.max(0, ...scales);
  const maxMin = Math.max(0, ...mins);
  const packed = new Uint8Array(16);
  for (let j = 0; j < 16; j++) {
    if (maxScale > 0) packed[j] = nearestInt((15 / maxScale) * scales[j]);
    if (maxMin > 0) packed[j] |= nearestInt((15 / maxMin) * mins[j]) << 4;
  }
  v.setUint16(80, f16(maxScale > 0 ? maxScale / 15 : 0), true);
  v.setUint16(82, f16(maxMin > 0 ? maxMin / 15 : 0), true);
  packed.forEach((b, j) => v.setUint8(j, b));
  const d = fromF16(v.getUint16(80, true));
  const dmin = fromF16(v.getUint16(82, true));
  for (let j = 0; j < 16; j++) {
    const ds = d * (packed[j] & 0xf);
    if (!ds) continue;
    for (let i = 0; i < 16; i++) L[16 * j + i] = clamp(nearestInt((x[16 * j + i] + dmin * (packed[j] >> 4)) / ds), 0, 3);
  }
  pack2(L, v, 16);
}

function q2kWeight(v: DataView, i: number): number {
  const sc = v.getUint8(i >> 4);
  return fromF16(v.getUint16(80, true)) * (sc & 0xf) * level2(v, 16, i) - fromF16(v.getUint16(82, true)) * (sc >> 4);
}

/**
 * make_q3_quants with rmse: a symmetric scale for levels -nmax..nmax-1 (start -nmax / max), then up to 5 sweeps
 * moving single levels while that raises sumlx² / suml2 (weights x²). `L` receives levels + nmax.
 */
function q3Levels(x: Float32Array, nmax: number, L: Uint8Array): number {
  let max = 0;
  for (const t of x) if (Math.abs(t) > Math.abs(max)) max = t;
  if (Math.abs(max) < 1e-15) {
    L.fill(0);
    return 0;
  }
  const iscale = -nmax / max;
  const l = Array.from(x, (t) => clamp(nearestInt(iscale * t), -nmax, nmax - 1));
  let sumlx = 0, suml2 = 0;
  x.forEach((t, i) => {
    sumlx += t * t * t * l[i];
    suml2 += t * t * l[i] * l[i];
  });
  for (let sweep = 0; sweep < 5; sweep++) {
    let changed = 0;
    x.forEach((t, i) => {
      const w = t * t;
      let slx = sumlx - w * t * l[i];
      if (slx <= 0) return;
      let sl2 = suml2 - w * l[i] * l[i];
      const next = clamp(nearestInt((t * sl2) / slx), -nmax, nmax - 1);
      if (next === l[i]) return;
      slx += w * t * next;
      sl2 += w * next * next;
      if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
        [l[i], sumlx, suml2] = [next, slx, sl2];
        changed++;
      }
    });
    if (!changed) break;
  }
  l.forEach((q, i) => (L[i] = q + nmax));
  return suml2 > 0 ? sumlx / suml2 : 0;
}

/** The 6-bit scale of Q3_K sub-block j: low 4 bits in byte j (j < 8) or the high nibble of j - 8, 2 high bits in byte 8 + j % 4 at 2 (j / 4). */
const q3kScale = (j: number, s: (i: number) => number) => (((j < 8 ? s(j) : s(j - 8) >> 4) & 0xf) | (((s(8 + (j & 3)) >> (2 * (j >> 2))) & 3) << 4)) - 32;

// Q3_K, 110 bytes: hmask[32] (bit s of byte l: weight 32s + l's third bit), qs[64] (pack2), scales[12] (16 6-bit
// scales, stored + 32), f16 d. weight = d * scale * (level - 4).
function quantizeQ3_K(x: Float32Array, v: DataView): void {
  const L = new Uint8Array(256);
  const scales = Array.from({ length: 16 }, (_, j) => q3Levels(x.subarray(16 * j, 16 * j + 16), 4, L.subarray(16 * j, 16 * j + 16)));
  let maxScale = 0;
  for (const s of scales) if (Math.abs(s) > Math.abs(maxScale)) maxScale = s;
  const packed = new Uint8Array(12);
  if (maxScale) {
    const iscale = -32 / maxScale;
    scales.forEach((s, j) => {
      const l = clamp(nearestInt(iscale * s), -32, 31) + 32;
      if (j < 8) packed[j] = l & 0xf;
      else packed[j - 8] |= (l & 0xf) << 4;
      packed[8 + (j & 3)] |= (l >> 4) << (2 * (j >> 2));
    });
    v.setUint16(108, f16(1 / iscale), true);
  } else {
    v.setUint16(108, 0, true);
  }
  packed.forEach((b, i) => v.setUint8(96 + i, b));
  const d = fromF16(v.getUint16(108, true));
  for (let j = 0; j < 16; j++) {
    const ds = d * q3kScale(j, (i) => packed[i]);
    if (!ds) continue;
    for (let i = 0; i < 16; i++) L[16 * j + i] = clamp(nearestInt(x[16 * j + i] / ds), -4, 3) + 4;
  }
  for (let l = 0; l < 32; l++) {
    let h = 0;
    for (let s = 0; s < 8; s++) h |= (L[32 * s + l] >> 2) << s;
    v.setUint8(l, h);
  }
  pack2(L.map((q) => q & 3), v, 32);
}

function q3kWeight(v: DataView, i: number): number {
  const level = level2(v, 32, i) | (((v.getUint8(i & 31) >> (i >> 5)) & 1) << 2);
  return fromF16(v.getUint16(108, true)) * q3kScale(i >> 4, (k) => v.getUint8(96 + k)) * (level - 4);
}

/** make_qx_quants with rmse_type 1: a symmetric scale for levels -nmax..nmax-1, refined over 19 candidates. */
function symmetricScale(x: Float32Array, nmax: number): number {
  let max = 0;
  for (const t of x) if (Math.abs(t) > Math.abs(max)) max = t;
  if (Math.abs(max) < 1e-30) return 0;
  const sums = (iscale: number) => {
    let sumLX = 0, sumL2 = 0;
    for (const t of x) {
      const l = clamp(nearestInt(iscale * t), -nmax, nmax - 1);
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

// Q6_K, 210 bytes: ql[128] (low nibbles), qh[64] (high 2 bits), int8 scales[16] (sub-blocks of 16), f16 d: each half
// h of 128 weights uses ql[64h..], qh[32h..]; its quarter r (weights 32r + l) takes the low (r = 0, 1) or high (r = 2,
// 3) nibble of ql[64h + 32 (r & 1) + l] and bits 2r of qh[32h + l]. weight = d * scale * (level - 32).
function quantizeQ6_K(x: Float32Array, v: DataView): void {
  const scales = Array.from({ length: 16 }, (_, ib) => symmetricScale(x.subarray(16 * ib, 16 * ib + 16), 32));
  let maxScale = 0;
  for (const s of scales) if (Math.abs(s) > Math.abs(maxScale)) maxScale = s;
  if (!maxScale) {
    for (let i = 0; i < 210; i++) v.setUint8(i, 0);
    return;
  }
  const L = new Uint8Array(256).fill(32);
  const iscale = -128 / maxScale;
  v.setUint16(208, f16(1 / iscale), true);
  const d = fromF16(v.getUint16(208, true));
  for (let ib = 0; ib < 16; ib++) {
    const q = Math.min(127, nearestInt(iscale * scales[ib]));
    v.setInt8(192 + ib, q);
    const ds = d * q;
    if (ds) for (let i = 0; i < 16; i++) L[16 * ib + i] = clamp(nearestInt(x[16 * ib + i] / ds), -32, 31) + 32;
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

function q6kWeight(v: DataView, i: number): number {
  const h = i >> 7, r = (i >> 5) & 3, l = i & 31;
  const low = (v.getUint8(64 * h + 32 * (r & 1) + l) >> (4 * (r >> 1))) & 0xf;
  const high = (v.getUint8(128 + 32 * h + l) >> (2 * r)) & 3;
  return fromF16(v.getUint16(208, true)) * v.getInt8(192 + (i >> 4)) * ((low | (high << 4)) - 32);
}

/** Each K format's block quantizer and the value of weight i of a block. */
export const K_QUANTS = {
  q2_k: { quantize: quantizeQ2_K, weight: q2kWeight },
  q3_k: { quantize: quantizeQ3_K, weight: q3kWeight },
  q4_k: { quantize: quantizeQ4_K, weight: (v: DataView, i: number) => scaleMinWeight(v, i, q4kLevel(v, i)) },
  q5_k: { quantize: quantizeQ5_K, weight: (v: DataView, i: number) => scaleMinWeight(v, i, q5kLevel(v, i)) },
  q6_k: { quantize: quantizeQ6_K, weight: q6kWeight },
} as const;
