// y[m, n] (+)= x[m, :] · W[n, :] (+ bias[n]) for a few activation rows (decode, speculative verify).
// Each activation row's result depends only on that row: the reduction order is the same whatever `rows`
// is, so a row verified in a batch is bitwise equal to the same row decoded alone.
// One pipeline per weight FORMAT; LANES invocations share one output row (1 = a sequential K loop, fastest
// on CPU adapters; wider lanes with a workgroup reduction on GPUs). Each invocation handles up to MB
// activation rows one after another.
// x and W are read as 16-byte vectors (a quarter of the loads and bounds checks of scalar reads; ~1.7x on
// SwiftShader) and summed into four independent accumulators, so the caller guarantees 16-byte alignment:
// k % 4 == 0 (k % 8 == 0 for f16, k % 32 == 0 for q8/q4) and x_offset % 4 == 0 (src/kernels/linear.ts).
#include "common/quant.wgsl"

struct Params { rows: u32, n: u32, k: u32, x_offset: u32, y_offset: u32, has_bias: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;  // [rows, k/4] f32, from x_offset/4
@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;  // [n, k] in FORMAT, 16-byte words: f32 bits [n, k/4] | f16 pairs [n, k/8] | q8 [n, k/16] | q4 [n, k/32]
@group(0) @binding(3) var<storage, read> scales: array<f32>;   // [n, k/32] f32 (q8/q4; unused otherwise)
@group(0) @binding(4) var<storage, read> bias: array<f32>;     // [n] f32 (unused without has_bias)
@group(0) @binding(5) var<storage, read_write> y: array<f32>;  // [rows, n] f32, from y_offset

override FORMAT: u32 = 0u; // 0 f32, 1 f16, 2 q8, 3 q4
override WG: u32 = 64u;
override LANES: u32 = 1u;  // invocations per output row; divides WG, power of two
const MB = 4u;             // activation rows per invocation (grid z covers the rest)
// Lane partials for the workgroup reduction; one slot when LANES is 1, because SwiftShader unrolls the
// zero-initialisation of workgroup arrays at pipeline creation (cost grows with their size).
override PARTIAL_SLOTS: u32 = select(1u, WG, LANES > 1u);

var<workgroup> partial: array<array<f32, MB>, PARTIAL_SLOTS>;

var<private> x_row0: u32; // index in x (vec4s) of element 0 of the first activation row handled here

// x[row r, 4j..4j+4]
fn xv(r: u32, j: u32) -> vec4<f32> {
  return x[x_row0 + r * (params.k / 4u) + j];
}

// Elements 0..3 and 4..7 of eight f16 values in one 16-byte word.
fn f16_lo(q: vec4<u32>) -> vec4<f32> { return vec4<f32>(unpack2x16float(q.x), unpack2x16float(q.y)); }
fn f16_hi(q: vec4<u32>) -> vec4<f32> { return vec4<f32>(unpack2x16float(q.z), unpack2x16float(q.w)); }

// Each row_<format> returns this lane's share of x[row r] · W[n, :]. Rows loop outside K (weights are
// re-read per row from cache) so every row runs the same code: the bitwise batch invariance above.
fn row_f32(n: u32, lane: u32, r: u32) -> f32 {
  let k4 = params.k / 4u;
  let base = n * k4;
  var s = vec4<f32>(0.0);
  for (var g = lane; g < k4 / 4u; g += LANES) {
    let b = base + 4u * g;
    let j = 4u * g;
    s += vec4<f32>(dot(bitcast<vec4<f32>>(w[b]), xv(r, j)), dot(bitcast<vec4<f32>>(w[b + 1u]), xv(r, j + 1u)),
                   dot(bitcast<vec4<f32>>(w[b + 2u]), xv(r, j + 2u)), dot(bitcast<vec4<f32>>(w[b + 3u]), xv(r, j + 3u)));
  }
  if (lane == 0u) {
    for (var j = k4 & ~3u; j < k4; j++) { s.x += dot(bitcast<vec4<f32>>(w[base + j]), xv(r, j)); }
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
    let j = 4u * g;
    s += vec4<f32>(dot(f16_lo(a), xv(r, j)), dot(f16_hi(a), xv(r, j + 1u)), dot(f16_lo(b), xv(r, j + 2u)), dot(f16_hi(b), xv(r, j + 3u)));
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
    let a = w[(n * blocks + bl) * 2u];
    let b = w[(n * blocks + bl) * 2u + 1u];
    let j = bl * 8u;
    let lo = vec4<f32>(dot(unpack_q8(a.x), xv(r, j)), dot(unpack_q8(a.y), xv(r, j + 1u)), dot(unpack_q8(a.z), xv(r, j + 2u)), dot(unpack_q8(a.w), xv(r, j + 3u)));
    let hi = vec4<f32>(dot(unpack_q8(b.x), xv(r, j + 4u)), dot(unpack_q8(b.y), xv(r, j + 5u)), dot(unpack_q8(b.z), xv(r, j + 6u)), dot(unpack_q8(b.w), xv(r, j + 7u)));
    let block = lo + hi;
    sum += scales[n * blocks + bl] * ((block.x + block.y) + (block.z + block.w));
  }
  return sum;
}

fn row_q4(n: u32, lane: u32, r: u32) -> f32 {
  let blocks = params.k / QUANT_BLOCK;
  var sum = 0.0;
  for (var bl = lane; bl < blocks; bl += LANES) {
    let q = w[n * blocks + bl];
    let j = bl * 8u;
    let lo = vec4<f32>(dot(unpack_q4_lo(q.x), xv(r, j)), dot(unpack_q4_lo(q.y), xv(r, j + 2u)), dot(unpack_q4_lo(q.z), xv(r, j + 4u)), dot(unpack_q4_lo(q.w), xv(r, j + 6u)));
    let hi = vec4<f32>(dot(unpack_q4_hi(q.x), xv(r, j + 1u)), dot(unpack_q4_hi(q.y), xv(r, j + 3u)), dot(unpack_q4_hi(q.z), xv(r, j + 5u)), dot(unpack_q4_hi(q.w), xv(r, j + 7u)));
    let block = lo + hi;
    sum += scales[n * blocks + bl] * ((block.x + block.y) + (block.z + block.w));
  }
  return sum;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = (wg.x + wg.y * nwg.x) * (WG / LANES) + lid / LANES;
  let lane = lid % LANES;
  let m0 = wg.z * MB;
  let row_count = min(MB, params.rows - m0);
  x_row0 = (params.x_offset + m0 * params.k) / 4u;
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
