// y[m, n] (+)= x[m, :] · W[n, :] (+ bias[n]) for a few activation rows (decode, speculative verify).
// Each activation row's result depends only on that row: the reduction order is the same whatever `rows`
// is, so a row verified in a batch is bitwise equal to the same row decoded alone.
// One pipeline per weight FORMAT; LANES invocations share one output row (1 = a sequential K loop, fastest
// on CPU adapters; wider lanes with a workgroup reduction on GPUs). Each invocation handles up to MB
// activation rows one after another.
#include "common/quant.wgsl"

struct Params { rows: u32, n: u32, k: u32, x_offset: u32, y_offset: u32, has_bias: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // [rows, k] f32, from x_offset
@group(0) @binding(2) var<storage, read> w: array<u32>;        // [n, k] in FORMAT: f32 bits | f16 pairs [n, k/2] | q8 [n, k/4] | q4 [n, k/8]
@group(0) @binding(3) var<storage, read> scales: array<f32>;   // [n, k/32] f32 (q8/q4; unused otherwise)
@group(0) @binding(4) var<storage, read> bias: array<f32>;     // [n] f32 (unused without has_bias)
@group(0) @binding(5) var<storage, read_write> y: array<f32>;  // [rows, n] f32, from y_offset

override FORMAT: u32 = 0u; // 0 f32, 1 f16, 2 q8, 3 q4
override WG: u32 = 64u;
override LANES: u32 = 1u;  // invocations per output row; divides WG, power of two
const MB = 4u;             // activation rows per invocation (grid z covers the rest)

var<workgroup> partial: array<array<f32, MB>, WG>;

var<private> x_row0: u32; // index in x of element 0 of the first activation row handled here

// dot(w4, x[row r, k..k+4])
fn xdot4(w4: vec4<f32>, r: u32, k: u32) -> f32 {
  let i = x_row0 + r * params.k + k;
  return dot(w4, vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]));
}

fn xat(r: u32, k: u32) -> f32 {
  return x[x_row0 + r * params.k + k];
}

// Each row_<format> returns this lane's share of x[row r] · W[n, :]. Rows loop outside K (weights are
// re-read per row from cache) so every row runs the same code: the bitwise batch invariance above.
fn row_f32(n: u32, lane: u32, r: u32) -> f32 {
  let k = params.k;
  let base = n * k;
  var sum = 0.0;
  for (var g = lane; g < k / 4u; g += LANES) {
    let b = base + 4u * g;
    sum += xdot4(bitcast<vec4<f32>>(vec4<u32>(w[b], w[b + 1u], w[b + 2u], w[b + 3u])), r, 4u * g);
  }
  if (lane == 0u) {
    for (var kk = k & ~3u; kk < k; kk++) { sum += bitcast<f32>(w[base + kk]) * xat(r, kk); }
  }
  return sum;
}

fn row_f16(n: u32, lane: u32, r: u32) -> f32 {
  let k = params.k;
  let base = n * (k / 2u);
  var sum = 0.0;
  for (var g = lane; g < k / 4u; g += LANES) {
    let b = base + 2u * g;
    sum += xdot4(vec4<f32>(unpack2x16float(w[b]), unpack2x16float(w[b + 1u])), r, 4u * g);
  }
  if (lane == 0u && (k & 3u) != 0u) {
    let pair = unpack2x16float(w[base + k / 2u - 1u]);
    sum += pair.x * xat(r, k - 2u) + pair.y * xat(r, k - 1u);
  }
  return sum;
}

fn row_q8(n: u32, lane: u32, r: u32) -> f32 {
  let blocks = params.k / QUANT_BLOCK;
  var sum = 0.0;
  for (var bl = lane; bl < blocks; bl += LANES) {
    let b = (n * blocks + bl) * 8u;
    var block = 0.0;
    for (var j = 0u; j < 8u; j++) { block += xdot4(unpack_q8(w[b + j]), r, bl * QUANT_BLOCK + 4u * j); }
    sum += scales[n * blocks + bl] * block;
  }
  return sum;
}

fn row_q4(n: u32, lane: u32, r: u32) -> f32 {
  let blocks = params.k / QUANT_BLOCK;
  var sum = 0.0;
  for (var bl = lane; bl < blocks; bl += LANES) {
    let b = (n * blocks + bl) * 4u;
    var block = 0.0;
    for (var j = 0u; j < 4u; j++) {
      let word = w[b + j];
      let k = bl * QUANT_BLOCK + 8u * j;
      block += xdot4(unpack_q4_lo(word), r, k) + xdot4(unpack_q4_hi(word), r, k + 4u);
    }
    sum += scales[n * blocks + bl] * block;
  }
  return sum;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = (wg.x + wg.y * nwg.x) * (WG / LANES) + lid / LANES;
  let lane = lid % LANES;
  let m0 = wg.z * MB;
  let row_count = min(MB, params.rows - m0);
  x_row0 = params.x_offset + m0 * params.k;
  let in_range = n < params.n;
  var acc = array<f32, MB>();
  for (var r = 0u; r < row_count && in_range; r++) {
    switch FORMAT {
      case 0u: { acc[r] = row_f32(n, lane, r); }
      case 1u: { acc[r] = row_f16(n, lane, r); }
      case 2u: { acc[r] = row_q8(n, lane, r); }
      default: { acc[r] = row_q4(n, lane, r); }
    }
  }
  if (LANES > 1u) {
    partial[lid] = acc;
    for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
      workgroupBarrier();
      if (lane < stride) {
        for (var r = 0u; r < MB; r++) { partial[lid][r] += partial[lid + stride][r]; }
      }
    }
    workgroupBarrier();
    acc = partial[lid];
  }
  if (!in_range || lane != 0u) { return; }
  for (var r = 0u; r < row_count; r++) {
    var v = acc[r];
    if (params.has_bias != 0u) { v += bias[n]; }
    let i = params.y_offset + (m0 + r) * params.n + n;
    if (params.accumulate != 0u) { v += y[i]; }
    y[i] = v;
  }
}
