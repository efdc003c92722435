// Per-invocation registers for one attention head of up to 128 dims (32 vec4s): the row's q and its output
// accumulator o, with the loops over the head written out and indexed by constants only (guarded by LANES, an
// override, so a pipeline keeps only its head size's statements), which keeps the arrays out of memory on CPU
// adapters. On top, one row's online softmax over keys (start_row, then fold_key per key; common/online_softmax.wgsl):
// when a score s exceeds the running max m, the running sum l and o are rescaled by e^(m−s); then p = e^(s−m),
// l += p, o += p·v.
// The includer defines LANES (HEAD_DIM / 4, at most 32) and the vec4 accessors q_vec(i), k_vec(i), v_vec(i) (vector i
// of the q rows and the k and v caches; common/attention_io.wgsl) and set_out(i, v) (vector i of the output).
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
  qr[0] = q_vec(base + 0u);
  if (LANES > 1u) { qr[1] = q_vec(base + 1u); }
  if (LANES > 2u) { qr[2] = q_vec(base + 2u); }
  if (LANES > 3u) { qr[3] = q_vec(base + 3u); }
  if (LANES > 4u) { qr[4] = q_vec(base + 4u); }
  if (LANES > 5u) { qr[5] = q_vec(base + 5u); }
  if (LANES > 6u) { qr[6] = q_vec(base + 6u); }
  if (LANES > 7u) { qr[7] = q_vec(base + 7u); }
  if (LANES > 8u) { qr[8] = q_vec(base + 8u); }
  if (LANES > 9u) { qr[9] = q_vec(base + 9u); }
  if (LANES > 10u) { qr[10] = q_vec(base + 10u); }
  if (LANES > 11u) { qr[11] = q_vec(base + 11u); }
  if (LANES > 12u) { qr[12] = q_vec(base + 12u); }
  if (LANES > 13u) { qr[13] = q_vec(base + 13u); }
  if (LANES > 14u) { qr[14] = q_vec(base + 14u); }
  if (LANES > 15u) { qr[15] = q_vec(base + 15u); }
  if (LANES > 16u) { qr[16] = q_vec(base + 16u); }
  if (LANES > 17u) { qr[17] = q_vec(base + 17u); }
  if (LANES > 18u) { qr[18] = q_vec(base + 18u); }
  if (LANES > 19u) { qr[19] = q_vec(base + 19u); }
  if (LANES > 20u) { qr[20] = q_vec(base + 20u); }
  if (LANES > 21u) { qr[21] = q_vec(base + 21u); }
  if (LANES > 22u) { qr[22] = q_vec(base + 22u); }
  if (LANES > 23u) { qr[23] = q_vec(base + 23u); }
  if (LANES > 24u) { qr[24] = q_vec(base + 24u); }
  if (LANES > 25u) { qr[25] = q_vec(base + 25u); }
  if (LANES > 26u) { qr[26] = q_vec(base + 26u); }
  if (LANES > 27u) { qr[27] = q_vec(base + 27u); }
  if (LANES > 28u) { qr[28] = q_vec(base + 28u); }
  if (LANES > 29u) { qr[29] = q_vec(base + 29u); }
  if (LANES > 30u) { qr[30] = q_vec(base + 30u); }
  if (LANES > 31u) { qr[31] = q_vec(base + 31u); }
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
  d += qr[0] * k_vec(kb + 0u);
  if (LANES > 1u) { d += qr[1] * k_vec(kb + 1u); }
  if (LANES > 2u) { d += qr[2] * k_vec(kb + 2u); }
  if (LANES > 3u) { d += qr[3] * k_vec(kb + 3u); }
  if (LANES > 4u) { d += qr[4] * k_vec(kb + 4u); }
  if (LANES > 5u) { d += qr[5] * k_vec(kb + 5u); }
  if (LANES > 6u) { d += qr[6] * k_vec(kb + 6u); }
  if (LANES > 7u) { d += qr[7] * k_vec(kb + 7u); }
  if (LANES > 8u) { d += qr[8] * k_vec(kb + 8u); }
  if (LANES > 9u) { d += qr[9] * k_vec(kb + 9u); }
  if (LANES > 10u) { d += qr[10] * k_vec(kb + 10u); }
  if (LANES > 11u) { d += qr[11] * k_vec(kb + 11u); }
  if (LANES > 12u) { d += qr[12] * k_vec(kb + 12u); }
  if (LANES > 13u) { d += qr[13] * k_vec(kb + 13u); }
  if (LANES > 14u) { d += qr[14] * k_vec(kb + 14u); }
  if (LANES > 15u) { d += qr[15] * k_vec(kb + 15u); }
  if (LANES > 16u) { d += qr[16] * k_vec(kb + 16u); }
  if (LANES > 17u) { d += qr[17] * k_vec(kb + 17u); }
  if (LANES > 18u) { d += qr[18] * k_vec(kb + 18u); }
  if (LANES > 19u) { d += qr[19] * k_vec(kb + 19u); }
  if (LANES > 20u) { d += qr[20] * k_vec(kb + 20u); }
  if (LANES > 21u) { d += qr[21] * k_vec(kb + 21u); }
  if (LANES > 22u) { d += qr[22] * k_vec(kb + 22u); }
  if (LANES > 23u) { d += qr[23] * k_vec(kb + 23u); }
  if (LANES > 24u) { d += qr[24] * k_vec(kb + 24u); }
  if (LANES > 25u) { d += qr[25] * k_vec(kb + 25u); }
  if (LANES > 26u) { d += qr[26] * k_vec(kb + 26u); }
  if (LANES > 27u) { d += qr[27] * k_vec(kb + 27u); }
  if (LANES > 28u) { d += qr[28] * k_vec(kb + 28u); }
  if (LANES > 29u) { d += qr[29] * k_vec(kb + 29u); }
  if (LANES > 30u) { d += qr[30] * k_vec(kb + 30u); }
  if (LANES > 31u) { d += qr[31] * k_vec(kb + 31u); }
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
  o[0] += p * v_vec(vb + 0u);
  if (LANES > 1u) { o[1] += p * v_vec(vb + 1u); }
  if (LANES > 2u) { o[2] += p * v_vec(vb + 2u); }
  if (LANES > 3u) { o[3] += p * v_vec(vb + 3u); }
  if (LANES > 4u) { o[4] += p * v_vec(vb + 4u); }
  if (LANES > 5u) { o[5] += p * v_vec(vb + 5u); }
  if (LANES > 6u) { o[6] += p * v_vec(vb + 6u); }
  if (LANES > 7u) { o[7] += p * v_vec(vb + 7u); }
  if (LANES > 8u) { o[8] += p * v_vec(vb + 8u); }
  if (LANES > 9u) { o[9] += p * v_vec(vb + 9u); }
  if (LANES > 10u) { o[10] += p * v_vec(vb + 10u); }
  if (LANES > 11u) { o[11] += p * v_vec(vb + 11u); }
  if (LANES > 12u) { o[12] += p * v_vec(vb + 12u); }
  if (LANES > 13u) { o[13] += p * v_vec(vb + 13u); }
  if (LANES > 14u) { o[14] += p * v_vec(vb + 14u); }
  if (LANES > 15u) { o[15] += p * v_vec(vb + 15u); }
  if (LANES > 16u) { o[16] += p * v_vec(vb + 16u); }
  if (LANES > 17u) { o[17] += p * v_vec(vb + 17u); }
  if (LANES > 18u) { o[18] += p * v_vec(vb + 18u); }
  if (LANES > 19u) { o[19] += p * v_vec(vb + 19u); }
  if (LANES > 20u) { o[20] += p * v_vec(vb + 20u); }
  if (LANES > 21u) { o[21] += p * v_vec(vb + 21u); }
  if (LANES > 22u) { o[22] += p * v_vec(vb + 22u); }
  if (LANES > 23u) { o[23] += p * v_vec(vb + 23u); }
  if (LANES > 24u) { o[24] += p * v_vec(vb + 24u); }
  if (LANES > 25u) { o[25] += p * v_vec(vb + 25u); }
  if (LANES > 26u) { o[26] += p * v_vec(vb + 26u); }
  if (LANES > 27u) { o[27] += p * v_vec(vb + 27u); }
  if (LANES > 28u) { o[28] += p * v_vec(vb + 28u); }
  if (LANES > 29u) { o[29] += p * v_vec(vb + 29u); }
  if (LANES > 30u) { o[30] += p * v_vec(vb + 30u); }
  if (LANES > 31u) { o[31] += p * v_vec(vb + 31u); }
}

// out[base..] = o / divisor
fn store_o(base: u32, divisor: f32) {
  set_out(base + 0u, o[0] / divisor);
  if (LANES > 1u) { set_out(base + 1u, o[1] / divisor); }
  if (LANES > 2u) { set_out(base + 2u, o[2] / divisor); }
  if (LANES > 3u) { set_out(base + 3u, o[3] / divisor); }
  if (LANES > 4u) { set_out(base + 4u, o[4] / divisor); }
  if (LANES > 5u) { set_out(base + 5u, o[5] / divisor); }
  if (LANES > 6u) { set_out(base + 6u, o[6] / divisor); }
  if (LANES > 7u) { set_out(base + 7u, o[7] / divisor); }
  if (LANES > 8u) { set_out(base + 8u, o[8] / divisor); }
  if (LANES > 9u) { set_out(base + 9u, o[9] / divisor); }
  if (LANES > 10u) { set_out(base + 10u, o[10] / divisor); }
  if (LANES > 11u) { set_out(base + 11u, o[11] / divisor); }
  if (LANES > 12u) { set_out(base + 12u, o[12] / divisor); }
  if (LANES > 13u) { set_out(base + 13u, o[13] / divisor); }
  if (LANES > 14u) { set_out(base + 14u, o[14] / divisor); }
  if (LANES > 15u) { set_out(base + 15u, o[15] / divisor); }
  if (LANES > 16u) { set_out(base + 16u, o[16] / divisor); }
  if (LANES > 17u) { set_out(base + 17u, o[17] / divisor); }
  if (LANES > 18u) { set_out(base + 18u, o[18] / divisor); }
  if (LANES > 19u) { set_out(base + 19u, o[19] / divisor); }
  if (LANES > 20u) { set_out(base + 20u, o[20] / divisor); }
  if (LANES > 21u) { set_out(base + 21u, o[21] / divisor); }
  if (LANES > 22u) { set_out(base + 22u, o[22] / divisor); }
  if (LANES > 23u) { set_out(base + 23u, o[23] / divisor); }
  if (LANES > 24u) { set_out(base + 24u, o[24] / divisor); }
  if (LANES > 25u) { set_out(base + 25u, o[25] / divisor); }
  if (LANES > 26u) { set_out(base + 26u, o[26] / divisor); }
  if (LANES > 27u) { set_out(base + 27u, o[27] / divisor); }
  if (LANES > 28u) { set_out(base + 28u, o[28] / divisor); }
  if (LANES > 29u) { set_out(base + 29u, o[29] / divisor); }
  if (LANES > 30u) { set_out(base + 30u, o[30] / divisor); }
  if (LANES > 31u) { set_out(base + 31u, o[31] / divisor); }
}
