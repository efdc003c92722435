// y[m, n] (+)= x[m, :] · W[n, :] (+ bias[n]), optionally gated: silu(gate[m, n]) · (...), for a few activation
// rows (decode, speculative verify) on GPUs; CPU adapters run gemv_blocked.wgsl.
// Each activation row's result depends only on that row: the reduction order is the same whatever `rows`
// is, so a row verified in a batch is bitwise equal to the same row decoded alone.
// One pipeline per weight FORMAT and MB; LANES invocations share one output row and reduce their partial sums
// in workgroup memory. Each invocation handles MB activation rows: one row (decode) runs row_<format>; a batch
// (verify) runs rows_<format>, which loads and decodes each weight word once for all MB rows. Both apply the
// same float operations in the same order to a row.
// x and W are read as 16-byte vectors and summed into four independent accumulators, so the caller guarantees
// 16-byte alignment: k % 4 == 0 (k % 8 == 0 for f16/bf16, k % 32 == 0 for q8/q4) and x_offset % 4 == 0 (src/kernels/linear.ts).
// NORM: x is read through an RMSNorm (common/norm_prologue.wgsl), bitwise as if misc/rmsnorm.wgsl had written it.
// ARGMAX: the workgroup stores its greedy partial instead of its outputs (common/argmax_partial.wgsl).
#include "common/quant.wgsl"
#include "common/linear_io.wgsl"

@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;  // [rows, k/4] f32, from x_offset/4
@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;  // [n, k] in FORMAT, 16-byte words: f32 bits [n, k/4] | f16/bf16 pairs [n, k/8] | q8 [n, k/16] | q4 [n, k/32]

override FORMAT: u32 = 0u; // FORMAT_* (common/formats)
override WG: u32 = 64u;
override LANES: u32 = 64u; // invocations per output row (> 1); divides WG, power of two
override MB: u32 = 1u;     // activation rows per invocation, 1..MB_MAX (grid z covers the rest)
const MB_MAX = 8u;
var<workgroup> partial: array<f32, WG * MB>; // [WG][MB] lane partials for the reduction

var<private> x_row0: u32; // index in x (vec4s) of element 0 of the first activation row handled here

#include "common/norm_prologue.wgsl"
#include "common/argmax_partial.wgsl"

// x[row r, 4j..4j+4], normalised under NORM
fn xv(r: u32, j: u32) -> vec4<f32> {
  return normed(x[x_row0 + r * (params.k / 4u) + j], r, j);
}

// Elements 0..3 and 4..7 of eight f16 or bf16 values (by FORMAT) in one 16-byte word.
fn f16_lo(q: vec4<u32>) -> vec4<f32> { return vec4<f32>(unpack_16(q.x), unpack_16(q.y)); }
fn f16_hi(q: vec4<u32>) -> vec4<f32> { return vec4<f32>(unpack_16(q.z), unpack_16(q.w)); }

// One 16-byte word of decoded weights per lane of the result, against x[row r] from vector j: the unit of work
// both paths share, so a row's operations are the same in both.
fn dot4(w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>, r: u32, j: u32) -> vec4<f32> {
  return vec4<f32>(dot(w0, xv(r, j)), dot(w1, xv(r, j + 1u)), dot(w2, xv(r, j + 2u)), dot(w3, xv(r, j + 3u)));
}
// q8 block (32 weights in two words) and q4 block (32 weights in one word) against x[row r] from vector j,
// before the block scale.
fn q8_block(a: vec4<u32>, b: vec4<u32>, r: u32, j: u32) -> f32 {
  let v = dot4(unpack_q8(a.x), unpack_q8(a.y), unpack_q8(a.z), unpack_q8(a.w), r, j)
        + dot4(unpack_q8(b.x), unpack_q8(b.y), unpack_q8(b.z), unpack_q8(b.w), r, j + 4u);
  return (v.x + v.y) + (v.z + v.w);
}
fn q4_block(q: vec4<u32>, r: u32, j: u32) -> f32 {
  // word i holds elements 8i..8i+3 (low nibbles, x vector j + 2i) and 8i+4..8i+7 (high nibbles, j + 2i + 1)
  let lo = vec4<f32>(dot(unpack_q4_lo(q.x), xv(r, j)), dot(unpack_q4_lo(q.y), xv(r, j + 2u)), dot(unpack_q4_lo(q.z), xv(r, j + 4u)), dot(unpack_q4_lo(q.w), xv(r, j + 6u)));
  let hi = vec4<f32>(dot(unpack_q4_hi(q.x), xv(r, j + 1u)), dot(unpack_q4_hi(q.y), xv(r, j + 3u)), dot(unpack_q4_hi(q.z), xv(r, j + 5u)), dot(unpack_q4_hi(q.w), xv(r, j + 7u)));
  let v = lo + hi;
  return (v.x + v.y) + (v.z + v.w);
}

fn w_f32(i: u32) -> vec4<f32> { return bitcast<vec4<f32>>(w[i]); }

// Each row_<format> returns this lane's share of x[row r] · W[n, :] (one row, registers only).
fn row_f32(n: u32, lane: u32, r: u32) -> f32 {
  let k4 = params.k / 4u;
  let base = n * k4;
  var s = vec4<f32>(0.0);
  for (var g = lane; g < k4 / 4u; g += LANES) {
    let b = base + 4u * g;
    s += dot4(w_f32(b), w_f32(b + 1u), w_f32(b + 2u), w_f32(b + 3u), r, 4u * g);
  }
  if (lane == 0u) {
    for (var j = k4 & ~3u; j < k4; j++) { s.x += dot(w_f32(base + j), xv(r, j)); }
  }
  return (s.x + s.y) + (s.z + s.w);
}

fn row_f16(n: u32, lane: u32, r: u32) -> f32 {
  let k8 = params.k / 8u;
  let base = n * k8;
  var s = vec4<f32>(0.0);
  for (var g = lane; g < k8 / 2u; g += LANES) {
    let a = w[base + 2u * g];
    let b = w[base + 2u * g + 1u];
    s += dot4(f16_lo(a), f16_hi(a), f16_lo(b), f16_hi(b), r, 4u * g);
  }
  if (lane == 0u && (k8 & 1u) != 0u) {
    let a = w[base + k8 - 1u];
    let j = 2u * (k8 - 1u);
    s.x += dot(f16_lo(a), xv(r, j));
    s.y += dot(f16_hi(a), xv(r, j + 1u));
  }
  return (s.x + s.y) + (s.z + s.w);
}

fn row_q8(n: u32, lane: u32, r: u32) -> f32 {
  let blocks = params.k / QUANT_BLOCK;
  var sum = 0.0;
  for (var bl = lane; bl < blocks; bl += LANES) {
    let i = n * blocks + bl;
    sum += scales[i] * q8_block(w[2u * i], w[2u * i + 1u], r, bl * 8u);
  }
  return sum;
}

fn row_q4(n: u32, lane: u32, r: u32) -> f32 {
  let blocks = params.k / QUANT_BLOCK;
  var sum = 0.0;
  for (var bl = lane; bl < blocks; bl += LANES) {
    let i = n * blocks + bl;
    sum += scales[i] * q4_block(w[i], r, bl * 8u);
  }
  return sum;
}

// Each rows_<format> returns this lane's shares for the MB rows: the K loop outside, rows inside, each weight
// word loaded (and, for f16, decoded) once. Per row the operations are those of row_<format>.
fn rows_f32(n: u32, lane: u32) -> array<f32, MB_MAX> {
  let k4 = params.k / 4u;
  let base = n * k4;
  var s = array<vec4<f32>, MB_MAX>();
  for (var g = lane; g < k4 / 4u; g += LANES) {
    let b = base + 4u * g;
    let w0 = w_f32(b);
    let w1 = w_f32(b + 1u);
    let w2 = w_f32(b + 2u);
    let w3 = w_f32(b + 3u);
    for (var r = 0u; r < MB; r++) { s[r] += dot4(w0, w1, w2, w3, r, 4u * g); }
  }
  if (lane == 0u) {
    for (var j = k4 & ~3u; j < k4; j++) {
      let wj = w_f32(base + j);
      for (var r = 0u; r < MB; r++) { s[r].x += dot(wj, xv(r, j)); }
    }
  }
  return horizontal_sums(s);
}

fn rows_f16(n: u32, lane: u32) -> array<f32, MB_MAX> {
  let k8 = params.k / 8u;
  let base = n * k8;
  var s = array<vec4<f32>, MB_MAX>();
  for (var g = lane; g < k8 / 2u; g += LANES) {
    let a = w[base + 2u * g];
    let b = w[base + 2u * g + 1u];
    let a0 = f16_lo(a);
    let a1 = f16_hi(a);
    let b0 = f16_lo(b);
    let b1 = f16_hi(b);
    for (var r = 0u; r < MB; r++) { s[r] += dot4(a0, a1, b0, b1, r, 4u * g); }
  }
  if (lane == 0u && (k8 & 1u) != 0u) {
    let a = w[base + k8 - 1u];
    let a0 = f16_lo(a);
    let a1 = f16_hi(a);
    let j = 2u * (k8 - 1u);
    for (var r = 0u; r < MB; r++) {
      s[r].x += dot(a0, xv(r, j));
      s[r].y += dot(a1, xv(r, j + 1u));
    }
  }
  return horizontal_sums(s);
}

fn rows_q8(n: u32, lane: u32) -> array<f32, MB_MAX> {
  let blocks = params.k / QUANT_BLOCK;
  var sum = array<f32, MB_MAX>();
  for (var bl = lane; bl < blocks; bl += LANES) {
    let i = n * blocks + bl;
    let a = w[2u * i];
    let b = w[2u * i + 1u];
    for (var r = 0u; r < MB; r++) { sum[r] += scales[i] * q8_block(a, b, r, bl * 8u); }
  }
  return sum;
}

fn rows_q4(n: u32, lane: u32) -> array<f32, MB_MAX> {
  let blocks = params.k / QUANT_BLOCK;
  var sum = array<f32, MB_MAX>();
  for (var bl = lane; bl < blocks; bl += LANES) {
    let i = n * blocks + bl;
    let q = w[i];
    for (var r = 0u; r < MB; r++) { sum[r] += scales[i] * q4_block(q, r, bl * 8u); }
  }
  return sum;
}

fn horizontal_sums(s: array<vec4<f32>, MB_MAX>) -> array<f32, MB_MAX> {
  var out = array<f32, MB_MAX>();
  for (var r = 0u; r < MB; r++) { out[r] = (s[r].x + s[r].y) + (s[r].z + s[r].w); }
  return out;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = (wg.x + wg.y * nwg.x) * (WG / LANES) + lid / LANES;
  let lane = lid % LANES;
  // Rows [m0, m0 + MB); the last group starts early enough to end at `rows` (the caller keeps MB <= rows)
  // and stores only the rows no earlier group stored, so no invocation reads past the activations.
  let m0 = min(wg.z * MB, params.rows - MB);
  let first_stored = wg.z * MB - m0;
  x_row0 = (params.x_offset + m0 * params.k) / 4u;
  if (NORM) { norm_prologue(lid, x_row0); }
  let in_range = n < params.n;
  var acc = array<f32, MB_MAX>();
  if (in_range) {
    let row = weight_row(n);
    if (MB == 1u) {
      switch FORMAT {
        case FORMAT_F32: { acc[0] = row_f32(row, lane, 0u); }
        case FORMAT_F16, FORMAT_BF16: { acc[0] = row_f16(row, lane, 0u); }
        case FORMAT_Q8: { acc[0] = row_q8(row, lane, 0u); }
        default: { acc[0] = row_q4(row, lane, 0u); }
      }
    } else {
      switch FORMAT {
        case FORMAT_F32: { acc = rows_f32(row, lane); }
        case FORMAT_F16, FORMAT_BF16: { acc = rows_f16(row, lane); }
        case FORMAT_Q8: { acc = rows_q8(row, lane); }
        default: { acc = rows_q4(row, lane); }
      }
    }
  }
  for (var r = 0u; r < MB; r++) { partial[lid * MB + r] = acc[r]; }
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lane < stride) {
      for (var r = 0u; r < MB; r++) { partial[lid * MB + r] += partial[(lid + stride) * MB + r]; }
    }
  }
  workgroupBarrier();
  for (var r = 0u; r < MB; r++) { acc[r] = partial[lid * MB + r]; }
  if (ARGMAX) {
    var best = vec2<u32>(0u, ARGMAX_NONE);
    if (in_range && lane == 0u) { best = argmax_candidate(n, acc[0]); }
    let group = wg.x + wg.y * nwg.x;
    argmax_partial(lid, group, group * (WG / LANES), best, WG / LANES, LANES);
    return;
  }
  if (!in_range || lane != 0u) { return; }
  if (PAIRED) {
    // WG / LANES is even, so n and n + 1 (its pair, when n is even) share the workgroup: the next LANES
    // invocations reduced it into partial
    if (n % 2u == 0u) {
      for (var r = first_stored; r < MB; r++) { store_pair(m0 + r, n, acc[r], partial[(lid + LANES) * MB + r]); }
    }
    return;
  }
  for (var r = first_stored; r < MB; r++) { store_output(m0 + r, n, acc[r]); }
}
