// Per-invocation registers for one attention head of up to 128 dims (32 vec4s): the row's q and its output
// accumulator o, with the loops over the head written out and indexed by constants only (guarded by LANES, an
// override, so a pipeline keeps only its head size's statements), which keeps the arrays out of memory on CPU
// adapters. On top, one row's online softmax over keys (start_row, then fold_key per key; common/online_softmax.wgsl):
// when a score s exceeds the running max m, the running sum l and o are rescaled by e^(m−s); then p = e^(s−m),
// l += p, o += p·v.
// The includer defines LANES (HEAD_DIM / 4, at most 32; common/attention_io.wgsl) and the vec4 binding out.
#include "common/online_softmax.wgsl"

var<private> qr: array<vec4<f32>, 32>; // the row's q
var<private> o: array<vec4<f32>, 32>;  // Σ p·v, unnormalised

// q of the row whose vectors start at qBase; o, m, l reset
fn start_row(qBase: u32) {
  load_q(qBase);
  clear_o();
  softmax_start();
}

// the key and value whose vectors start at kb
fn fold_key(kb: u32) {
  let w = softmax_fold(attention_score(dot_k(kb)));
  if (w.x != 1.0) { scale_o(w.x); }
  add_v(w.y, kb);
}

fn load_q(base: u32) {
  qr[0] = q[base + 0u];
  if (LANES > 1u) { qr[1] = q[base + 1u]; }
  if (LANES > 2u) { qr[2] = q[base + 2u]; }
  if (LANES > 3u) { qr[3] = q[base + 3u]; }
  if (LANES > 4u) { qr[4] = q[base + 4u]; }
  if (LANES > 5u) { qr[5] = q[base + 5u]; }
  if (LANES > 6u) { qr[6] = q[base + 6u]; }
  if (LANES > 7u) { qr[7] = q[base + 7u]; }
  if (LANES > 8u) { qr[8] = q[base + 8u]; }
  if (LANES > 9u) { qr[9] = q[base + 9u]; }
  if (LANES > 10u) { qr[10] = q[base + 10u]; }
  if (LANES > 11u) { qr[11] = q[base + 11u]; }
  if (LANES > 12u) { qr[12] = q[base + 12u]; }
  if (LANES > 13u) { qr[13] = q[base + 13u]; }
  if (LANES > 14u) { qr[14] = q[base + 14u]; }
  if (LANES > 15u) { qr[15] = q[base + 15u]; }
  if (LANES > 16u) { qr[16] = q[base + 16u]; }
  if (LANES > 17u) { qr[17] = q[base + 17u]; }
  if (LANES > 18u) { qr[18] = q[base + 18u]; }
  if (LANES > 19u) { qr[19] = q[base + 19u]; }
  if (LANES > 20u) { qr[20] = q[base + 20u]; }
  if (LANES > 21u) { qr[21] = q[base + 21u]; }
  if (LANES > 22u) { qr[22] = q[base + 22u]; }
  if (LANES > 23u) { qr[23] = q[base + 23u]; }
  if (LANES > 24u) { qr[24] = q[base + 24u]; }
  if (LANES > 25u) { qr[25] = q[base + 25u]; }
  if (LANES > 26u) { qr[26] = q[base + 26u]; }
  if (LANES > 27u) { qr[27] = q[base + 27u]; }
  if (LANES > 28u) { qr[28] = q[base + 28u]; }
  if (LANES > 29u) { qr[29] = q[base + 29u]; }
  if (LANES > 30u) { qr[30] = q[base + 30u]; }
  if (LANES > 31u) { qr[31] = q[base + 31u]; }
}

fn clear_o() {
  o[0] = vec4(0.0);
  if (LANES > 1u) { o[1] = vec4(0.0); }
  if (LANES > 2u) { o[2] = vec4(0.0); }
  if (LANES > 3u) { o[3] = vec4(0.0); }
  if (LANES > 4u) { o[4] = vec4(0.0); }
  if (LANES > 5u) { o[5] = vec4(0.0); }
  if (LANES > 6u) { o[6] = vec4(0.0); }
  if (LANES > 7u) { o[7] = vec4(0.0); }
  if (LANES > 8u) { o[8] = vec4(0.0); }
  if (LANES > 9u) { o[9] = vec4(0.0); }
  if (LANES > 10u) { o[10] = vec4(0.0); }
  if (LANES > 11u) { o[11] = vec4(0.0); }
  if (LANES > 12u) { o[12] = vec4(0.0); }
  if (LANES > 13u) { o[13] = vec4(0.0); }
  if (LANES > 14u) { o[14] = vec4(0.0); }
  if (LANES > 15u) { o[15] = vec4(0.0); }
  if (LANES > 16u) { o[16] = vec4(0.0); }
  if (LANES > 17u) { o[17] = vec4(0.0); }
  if (LANES > 18u) { o[18] = vec4(0.0); }
  if (LANES > 19u) { o[19] = vec4(0.0); }
  if (LANES > 20u) { o[20] = vec4(0.0); }
  if (LANES > 21u) { o[21] = vec4(0.0); }
  if (LANES > 22u) { o[22] = vec4(0.0); }
  if (LANES > 23u) { o[23] = vec4(0.0); }
  if (LANES > 24u) { o[24] = vec4(0.0); }
  if (LANES > 25u) { o[25] = vec4(0.0); }
  if (LANES > 26u) { o[26] = vec4(0.0); }
  if (LANES > 27u) { o[27] = vec4(0.0); }
  if (LANES > 28u) { o[28] = vec4(0.0); }
  if (LANES > 29u) { o[29] = vec4(0.0); }
  if (LANES > 30u) { o[30] = vec4(0.0); }
  if (LANES > 31u) { o[31] = vec4(0.0); }
}

// q·k per vec4 lane, for the key whose vectors start at kb
fn dot_k(kb: u32) -> vec4<f32> {
  var d = vec4(0.0);
  d += qr[0] * kCache[kb + 0u];
  if (LANES > 1u) { d += qr[1] * kCache[kb + 1u]; }
  if (LANES > 2u) { d += qr[2] * kCache[kb + 2u]; }
  if (LANES > 3u) { d += qr[3] * kCache[kb + 3u]; }
  if (LANES > 4u) { d += qr[4] * kCache[kb + 4u]; }
  if (LANES > 5u) { d += qr[5] * kCache[kb + 5u]; }
  if (LANES > 6u) { d += qr[6] * kCache[kb + 6u]; }
  if (LANES > 7u) { d += qr[7] * kCache[kb + 7u]; }
  if (LANES > 8u) { d += qr[8] * kCache[kb + 8u]; }
  if (LANES > 9u) { d += qr[9] * kCache[kb + 9u]; }
  if (LANES > 10u) { d += qr[10] * kCache[kb + 10u]; }
  if (LANES > 11u) { d += qr[11] * kCache[kb + 11u]; }
  if (LANES > 12u) { d += qr[12] * kCache[kb + 12u]; }
  if (LANES > 13u) { d += qr[13] * kCache[kb + 13u]; }
  if (LANES > 14u) { d += qr[14] * kCache[kb + 14u]; }
  if (LANES > 15u) { d += qr[15] * kCache[kb + 15u]; }
  if (LANES > 16u) { d += qr[16] * kCache[kb + 16u]; }
  if (LANES > 17u) { d += qr[17] * kCache[kb + 17u]; }
  if (LANES > 18u) { d += qr[18] * kCache[kb + 18u]; }
  if (LANES > 19u) { d += qr[19] * kCache[kb + 19u]; }
  if (LANES > 20u) { d += qr[20] * kCache[kb + 20u]; }
  if (LANES > 21u) { d += qr[21] * kCache[kb + 21u]; }
  if (LANES > 22u) { d += qr[22] * kCache[kb + 22u]; }
  if (LANES > 23u) { d += qr[23] * kCache[kb + 23u]; }
  if (LANES > 24u) { d += qr[24] * kCache[kb + 24u]; }
  if (LANES > 25u) { d += qr[25] * kCache[kb + 25u]; }
  if (LANES > 26u) { d += qr[26] * kCache[kb + 26u]; }
  if (LANES > 27u) { d += qr[27] * kCache[kb + 27u]; }
  if (LANES > 28u) { d += qr[28] * kCache[kb + 28u]; }
  if (LANES > 29u) { d += qr[29] * kCache[kb + 29u]; }
  if (LANES > 30u) { d += qr[30] * kCache[kb + 30u]; }
  if (LANES > 31u) { d += qr[31] * kCache[kb + 31u]; }
  return d;
}

fn scale_o(f: f32) {
  o[0] *= f;
  if (LANES > 1u) { o[1] *= f; }
  if (LANES > 2u) { o[2] *= f; }
  if (LANES > 3u) { o[3] *= f; }
  if (LANES > 4u) { o[4] *= f; }
  if (LANES > 5u) { o[5] *= f; }
  if (LANES > 6u) { o[6] *= f; }
  if (LANES > 7u) { o[7] *= f; }
  if (LANES > 8u) { o[8] *= f; }
  if (LANES > 9u) { o[9] *= f; }
  if (LANES > 10u) { o[10] *= f; }
  if (LANES > 11u) { o[11] *= f; }
  if (LANES > 12u) { o[12] *= f; }
  if (LANES > 13u) { o[13] *= f; }
  if (LANES > 14u) { o[14] *= f; }
  if (LANES > 15u) { o[15] *= f; }
  if (LANES > 16u) { o[16] *= f; }
  if (LANES > 17u) { o[17] *= f; }
  if (LANES > 18u) { o[18] *= f; }
  if (LANES > 19u) { o[19] *= f; }
  if (LANES > 20u) { o[20] *= f; }
  if (LANES > 21u) { o[21] *= f; }
  if (LANES > 22u) { o[22] *= f; }
  if (LANES > 23u) { o[23] *= f; }
  if (LANES > 24u) { o[24] *= f; }
  if (LANES > 25u) { o[25] *= f; }
  if (LANES > 26u) { o[26] *= f; }
  if (LANES > 27u) { o[27] *= f; }
  if (LANES > 28u) { o[28] *= f; }
  if (LANES > 29u) { o[29] *= f; }
  if (LANES > 30u) { o[30] *= f; }
  if (LANES > 31u) { o[31] *= f; }
}

// o += p · v for the value whose vectors start at vb
fn add_v(p: f32, vb: u32) {
  o[0] += p * vCache[vb + 0u];
  if (LANES > 1u) { o[1] += p * vCache[vb + 1u]; }
  if (LANES > 2u) { o[2] += p * vCache[vb + 2u]; }
  if (LANES > 3u) { o[3] += p * vCache[vb + 3u]; }
  if (LANES > 4u) { o[4] += p * vCache[vb + 4u]; }
  if (LANES > 5u) { o[5] += p * vCache[vb + 5u]; }
  if (LANES > 6u) { o[6] += p * vCache[vb + 6u]; }
  if (LANES > 7u) { o[7] += p * vCache[vb + 7u]; }
  if (LANES > 8u) { o[8] += p * vCache[vb + 8u]; }
  if (LANES > 9u) { o[9] += p * vCache[vb + 9u]; }
  if (LANES > 10u) { o[10] += p * vCache[vb + 10u]; }
  if (LANES > 11u) { o[11] += p * vCache[vb + 11u]; }
  if (LANES > 12u) { o[12] += p * vCache[vb + 12u]; }
  if (LANES > 13u) { o[13] += p * vCache[vb + 13u]; }
  if (LANES > 14u) { o[14] += p * vCache[vb + 14u]; }
  if (LANES > 15u) { o[15] += p * vCache[vb + 15u]; }
  if (LANES > 16u) { o[16] += p * vCache[vb + 16u]; }
  if (LANES > 17u) { o[17] += p * vCache[vb + 17u]; }
  if (LANES > 18u) { o[18] += p * vCache[vb + 18u]; }
  if (LANES > 19u) { o[19] += p * vCache[vb + 19u]; }
  if (LANES > 20u) { o[20] += p * vCache[vb + 20u]; }
  if (LANES > 21u) { o[21] += p * vCache[vb + 21u]; }
  if (LANES > 22u) { o[22] += p * vCache[vb + 22u]; }
  if (LANES > 23u) { o[23] += p * vCache[vb + 23u]; }
  if (LANES > 24u) { o[24] += p * vCache[vb + 24u]; }
  if (LANES > 25u) { o[25] += p * vCache[vb + 25u]; }
  if (LANES > 26u) { o[26] += p * vCache[vb + 26u]; }
  if (LANES > 27u) { o[27] += p * vCache[vb + 27u]; }
  if (LANES > 28u) { o[28] += p * vCache[vb + 28u]; }
  if (LANES > 29u) { o[29] += p * vCache[vb + 29u]; }
  if (LANES > 30u) { o[30] += p * vCache[vb + 30u]; }
  if (LANES > 31u) { o[31] += p * vCache[vb + 31u]; }
}

// out[base..] = o / divisor
fn store_o(base: u32, divisor: f32) {
  out[base + 0u] = o[0] / divisor;
  if (LANES > 1u) { out[base + 1u] = o[1] / divisor; }
  if (LANES > 2u) { out[base + 2u] = o[2] / divisor; }
  if (LANES > 3u) { out[base + 3u] = o[3] / divisor; }
  if (LANES > 4u) { out[base + 4u] = o[4] / divisor; }
  if (LANES > 5u) { out[base + 5u] = o[5] / divisor; }
  if (LANES > 6u) { out[base + 6u] = o[6] / divisor; }
  if (LANES > 7u) { out[base + 7u] = o[7] / divisor; }
  if (LANES > 8u) { out[base + 8u] = o[8] / divisor; }
  if (LANES > 9u) { out[base + 9u] = o[9] / divisor; }
  if (LANES > 10u) { out[base + 10u] = o[10] / divisor; }
  if (LANES > 11u) { out[base + 11u] = o[11] / divisor; }
  if (LANES > 12u) { out[base + 12u] = o[12] / divisor; }
  if (LANES > 13u) { out[base + 13u] = o[13] / divisor; }
  if (LANES > 14u) { out[base + 14u] = o[14] / divisor; }
  if (LANES > 15u) { out[base + 15u] = o[15] / divisor; }
  if (LANES > 16u) { out[base + 16u] = o[16] / divisor; }
  if (LANES > 17u) { out[base + 17u] = o[17] / divisor; }
  if (LANES > 18u) { out[base + 18u] = o[18] / divisor; }
  if (LANES > 19u) { out[base + 19u] = o[19] / divisor; }
  if (LANES > 20u) { out[base + 20u] = o[20] / divisor; }
  if (LANES > 21u) { out[base + 21u] = o[21] / divisor; }
  if (LANES > 22u) { out[base + 22u] = o[22] / divisor; }
  if (LANES > 23u) { out[base + 23u] = o[23] / divisor; }
  if (LANES > 24u) { out[base + 24u] = o[24] / divisor; }
  if (LANES > 25u) { out[base + 25u] = o[25] / divisor; }
  if (LANES > 26u) { out[base + 26u] = o[26] / divisor; }
  if (LANES > 27u) { out[base + 27u] = o[27] / divisor; }
  if (LANES > 28u) { out[base + 28u] = o[28] / divisor; }
  if (LANES > 29u) { out[base + 29u] = o[29] / divisor; }
  if (LANES > 30u) { out[base + 30u] = o[30] / divisor; }
  if (LANES > 31u) { out[base + 31u] = o[31] / divisor; }
}
