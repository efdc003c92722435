// Activation-sparse MLP, step 1 (CATS): given the dense gate pre-activations g, neuron i is live when
// |silu(g_i)| > threshold; only live neurons compute their up row: act_i = silu(g_i) * (W_up[i] · x),
// others write 0 and read no weights. W_up rows are contiguous, so a skipped neuron skips a whole row.
#include "common/quant.wgsl"
#include "common/silu.wgsl"

struct Params { n: u32, cols: u32, threshold: f32, x_offset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;             // [cols / 4] f32 normed input, from x_offset / 4
@group(0) @binding(2) var<storage, read> gate: array<f32>;                // [n] f32 gate pre-activations
@group(0) @binding(3) var<storage, read> w: array<vec4<u32>>;             // [n, cols] W_up in FORMAT, 16-byte words
@group(0) @binding(4) var<storage, read> scales: array<f32>;              // [n, cols / 32] f32 (q8/q4)
@group(0) @binding(5) var<storage, read_write> act: array<f32>;           // [n] f32 silu(g) * up, 0 where skipped

override FORMAT: u32 = 0u; // 0 f32, 1 f16, 2 q8, 3 q4
override WG: u32 = 64u;
override LANES: u32 = 1u;  // invocations per neuron; divides WG, power of two
const UNIT = array<u32, 4>(8u, 8u, 16u, 32u); // weights per loop step by FORMAT: two 16-byte words (f32) or one

var<workgroup> partial: array<f32, WG>;

// x[4v..4v+4]
fn xv(v: u32) -> vec4<f32> { return x[params.x_offset / 4u + v]; }

// dot of W_up row `row`, loop step u (elements UNIT·u ..), with x
fn dot_unit(row: u32, u: u32) -> f32 {
  let cols = params.cols;
  switch FORMAT {
    case 0u: {
      let i = row * (cols / 4u) + 2u * u;
      return dot(bitcast<vec4<f32>>(w[i]), xv(2u * u)) + dot(bitcast<vec4<f32>>(w[i + 1u]), xv(2u * u + 1u));
    }
    case 1u: {
      let q = w[row * (cols / 8u) + u];
      return dot(vec4<f32>(unpack2x16float(q.x), unpack2x16float(q.y)), xv(2u * u)) + dot(vec4<f32>(unpack2x16float(q.z), unpack2x16float(q.w)), xv(2u * u + 1u));
    }
    case 2u: {
      let q = w[row * (cols / 16u) + u];
      let v = 4u * u;
      let s = (dot(unpack_q8(q.x), xv(v)) + dot(unpack_q8(q.y), xv(v + 1u))) + (dot(unpack_q8(q.z), xv(v + 2u)) + dot(unpack_q8(q.w), xv(v + 3u)));
      return s * scales[(row * cols + 16u * u) / QUANT_BLOCK];
    }
    default: {
      let q = w[row * (cols / 32u) + u];
      let v = 8u * u;
      let lo = vec4<f32>(dot(unpack_q4_lo(q.x), xv(v)), dot(unpack_q4_lo(q.y), xv(v + 2u)), dot(unpack_q4_lo(q.z), xv(v + 4u)), dot(unpack_q4_lo(q.w), xv(v + 6u)));
      let hi = vec4<f32>(dot(unpack_q4_hi(q.x), xv(v + 1u)), dot(unpack_q4_hi(q.y), xv(v + 3u)), dot(unpack_q4_hi(q.z), xv(v + 5u)), dot(unpack_q4_hi(q.w), xv(v + 7u)));
      let s = lo + hi;
      return ((s.x + s.y) + (s.z + s.w)) * scales[row * (cols / QUANT_BLOCK) + u];
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = (wg.x + wg.y * nwg.x) * (WG / LANES) + lid / LANES;
  let lane = lid % LANES;
  var a = 0.0;
  if (n < params.n) {
    a = silu(gate[n]);
  }
  let live = n < params.n && abs(a) > params.threshold;
  var u = 0.0;
  if (live) {
    for (var t = lane; t < params.cols / UNIT[FORMAT]; t += LANES) { u += dot_unit(n, t); }
  }
  if (LANES > 1u) {
    partial[lid] = u;
    for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
      workgroupBarrier();
      if (lane < stride) { partial[lid] += partial[lid + stride]; }
    }
    workgroupBarrier();
    u = partial[lid];
  }
  if (n < params.n && lane == 0u) { act[n] = select(0.0, a * u, live); }
}
