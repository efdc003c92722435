// y[m, n] (+)= x[m, :] · W[n, :] (+ bias[n]), optionally gated: silu(gate[m, n]) · (...), on CPU adapters.
// A register block: each invocation computes 4 consecutive outputs (the lanes of one vec4 accumulator) for MB
// activation rows (one accumulator each), walking K 8 weights at a time. Every x load serves 4 outputs and every
// weight load/decode serves MB rows: on SwiftShader each storage load is a per-lane gather and costs more than
// the arithmetic, so this runs a single f16 row ~1.4x (f32 ~1.7x) and 8 rows ~2x faster than one output per
// invocation.
// A row's result depends only on that row (the same operations in the same order whatever MB and whichever
// outputs share its invocation), so a row verified in a batch is bitwise equal to the same row decoded alone.
// Weights are read as one 16-byte word per row per load (cheaper than four 4-byte loads on SwiftShader) and the
// row accumulators are indexed by constants (guarded by MB, an override) so they stay in registers.
// The caller guarantees k % 8 == 0 (k % 32 == 0 for q8/q4) and x_offset % 4 == 0 (src/kernels/linear.ts).
#include "common/quant.wgsl"
#include "common/linear_io.wgsl"

@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;  // [rows, k/4] f32, from x_offset/4
@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;  // [n, k] in FORMAT, 16-byte words: f32 bits [n, k/4] | f16 pairs [n, k/8] | q8 [n, k/16] | q4 [n, k/32]

override FORMAT: u32 = 0u; // 0 f32, 1 f16, 2 q8, 3 q4
override WG: u32 = 64u;
override MB: u32 = 1u;     // activation rows per invocation, 1..MB_MAX (grid z covers the rest)
const MB_MAX = 8u;
const OUTPUTS = 4u;        // outputs per invocation: the lanes of a vec4
const BITS = array<u32, 4>(32u, 16u, 8u, 4u); // bits per weight by FORMAT (q8/q4 scales live in `scales`)

// Scales of the 4 rows' blocks holding 16-byte words i (a block of 32 weights spans 2 q8 words, 1 q4 word).
fn block_scales(i: vec4<u32>) -> vec4<f32> {
  let words_per_block = QUANT_BLOCK * BITS[FORMAT] / 128u;
  let b = i / words_per_block;
  return vec4<f32>(scales[b.x], scales[b.y], scales[b.z], scales[b.w]);
}

// Eight consecutive weights of one output row, decoded to f32 (q8/q4 times their block scale).
struct Weights8 { lo: vec4<f32>, hi: vec4<f32> }

fn f32_8(lo: vec4<u32>, hi: vec4<u32>) -> Weights8 { return Weights8(bitcast<vec4<f32>>(lo), bitcast<vec4<f32>>(hi)); }
fn f16_8(q: vec4<u32>) -> Weights8 {
  return Weights8(vec4<f32>(unpack2x16float(q.x), unpack2x16float(q.y)), vec4<f32>(unpack2x16float(q.z), unpack2x16float(q.w)));
}
// Step `part` (a constant) of a q8 word (u32s 2·part, 2·part + 1) or a q4 word (u32 part), times the block scale.
fn quant8(q: vec4<u32>, part: u32, scale: f32) -> Weights8 {
  if (FORMAT == 2u) {
    let pair = select(q.xy, q.zw, part == 1u);
    return Weights8(scale * unpack_q8(pair.x), scale * unpack_q8(pair.y));
  }
  let word = q[part];
  return Weights8(scale * unpack_q4_lo(word), scale * unpack_q4_hi(word));
}

var<private> x_row0: u32; // index in x (vec4s) of element 0 of the first activation row handled here
var<private> s: array<vec4<f32>, MB_MAX>; // [row] running sums of the 4 outputs

// Contribution of weights 8j..8j+7 of the 4 outputs to activation row r.
fn block_dot(w0: Weights8, w1: Weights8, w2: Weights8, w3: Weights8, r: u32, j: u32) -> vec4<f32> {
  let i = x_row0 + r * (params.k / 4u) + 2u * j;
  let xlo = x[i];
  let xhi = x[i + 1u];
  return vec4<f32>(dot(w0.lo, xlo) + dot(w0.hi, xhi), dot(w1.lo, xlo) + dot(w1.hi, xhi),
                   dot(w2.lo, xlo) + dot(w2.hi, xhi), dot(w3.lo, xlo) + dot(w3.hi, xhi));
}

// s[r] += the contribution of weights 8j..8j+7 for each of the MB rows (constant indices keep s in registers).
fn accumulate(w0: Weights8, w1: Weights8, w2: Weights8, w3: Weights8, j: u32) {
  s[0] += block_dot(w0, w1, w2, w3, 0u, j);
  if (MB > 1u) { s[1] += block_dot(w0, w1, w2, w3, 1u, j); }
  if (MB > 2u) { s[2] += block_dot(w0, w1, w2, w3, 2u, j); }
  if (MB > 3u) { s[3] += block_dot(w0, w1, w2, w3, 3u, j); }
  if (MB > 4u) { s[4] += block_dot(w0, w1, w2, w3, 4u, j); }
  if (MB > 5u) { s[5] += block_dot(w0, w1, w2, w3, 5u, j); }
  if (MB > 6u) { s[6] += block_dot(w0, w1, w2, w3, 6u, j); }
  if (MB > 7u) { s[7] += block_dot(w0, w1, w2, w3, 7u, j); }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n0 = (gid.x + wg.y * nwg.x * WG) * OUTPUTS;
  if (n0 >= params.n) { return; }
  // Rows [m0, m0 + MB); the last group starts early enough to end at `rows` (the caller keeps MB <= rows)
  // and stores only the rows no earlier group stored, so no invocation reads past the activations.
  let m0 = min(wg.z * MB, params.rows - MB);
  let first_stored = wg.z * MB - m0;
  x_row0 = (params.x_offset + m0 * params.k) / 4u;
  // outputs past n read the last row (their sums are not stored)
  let last = params.n - 1u;
  let r1 = min(n0 + 1u, last);
  let r2 = min(n0 + 2u, last);
  let r3 = min(n0 + 3u, last);
  // one 16-byte word of each of the 4 weight rows per step: f32 4 weights (two words per step), f16 8, q8 16, q4 32
  let words = params.k * BITS[FORMAT] / 128u; // per weight row
  let rows = vec4<u32>(n0, r1, r2, r3) * words;
  switch FORMAT {
    case 0u: {
      for (var j = 0u; j < words / 2u; j++) {
        let i = rows + 2u * j;
        accumulate(f32_8(w[i.x], w[i.x + 1u]), f32_8(w[i.y], w[i.y + 1u]), f32_8(w[i.z], w[i.z + 1u]), f32_8(w[i.w], w[i.w + 1u]), j);
      }
    }
    case 1u: {
      for (var j = 0u; j < words; j++) {
        let i = rows + j;
        accumulate(f16_8(w[i.x]), f16_8(w[i.y]), f16_8(w[i.z]), f16_8(w[i.w]), j);
      }
    }
    default: {
      // q8: a word holds 2 steps of 8 weights, q4: 4 steps, all inside one block of 32 (one scale per row)
      for (var j = 0u; j < words; j++) {
        let i = rows + j;
        let q0 = w[i.x]; let q1 = w[i.y]; let q2 = w[i.z]; let q3 = w[i.w];
        let sc = block_scales(i);
        let steps = 128u / (8u * BITS[FORMAT]);
        accumulate(quant8(q0, 0u, sc.x), quant8(q1, 0u, sc.y), quant8(q2, 0u, sc.z), quant8(q3, 0u, sc.w), steps * j);
        accumulate(quant8(q0, 1u, sc.x), quant8(q1, 1u, sc.y), quant8(q2, 1u, sc.z), quant8(q3, 1u, sc.w), steps * j + 1u);
        if (FORMAT == 3u) {
          accumulate(quant8(q0, 2u, sc.x), quant8(q1, 2u, sc.y), quant8(q2, 2u, sc.z), quant8(q3, 2u, sc.w), steps * j + 2u);
          accumulate(quant8(q0, 3u, sc.x), quant8(q1, 3u, sc.y), quant8(q2, 3u, sc.z), quant8(q3, 3u, sc.w), steps * j + 3u);
        }
      }
    }
  }
  for (var r = first_stored; r < MB; r++) {
    for (var o = 0u; o < min(OUTPUTS, params.n - n0); o++) { store_output(m0 + r, n0 + o, s[r][o]); }
  }
}
