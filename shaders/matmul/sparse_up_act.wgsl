// Activation-sparse MLP, step 1 (CATS): given the dense gate pre-activations g, neuron i is live when
// |silu(g_i)| > threshold; only live neurons compute their up row: act_i = silu(g_i) * (W_up[i] · x),
// others write 0 and read no weights. W_up rows are contiguous, so a skipped neuron skips a whole row.
#include "common/quant.wgsl"
#include "common/silu.wgsl"

struct Params { n: u32, cols: u32, threshold: f32, x_offset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;                   // [cols] f32 normed input, from x_offset
@group(0) @binding(2) var<storage, read> gate: array<f32>;                // [n] f32 gate pre-activations
@group(0) @binding(3) var<storage, read> w: array<u32>;                   // [n, cols] W_up in FORMAT
@group(0) @binding(4) var<storage, read> scales: array<f32>;              // [n, cols / 32] f32 (q8/q4)
@group(0) @binding(5) var<storage, read_write> act: array<f32>;           // [n] f32 silu(g) * up, 0 where skipped

override FORMAT: u32 = 0u; // 0 f32, 1 f16, 2 q8, 3 q4
override WG: u32 = 64u;
override LANES: u32 = 1u;  // invocations per neuron; divides WG, power of two

var<workgroup> partial: array<f32, WG>;

// dot of W_up row `row`, elements 8c..8c+8, with x
fn dot8(row: u32, c: u32) -> f32 {
  let k = 8u * c;
  let x0 = params.x_offset + k;
  let xl = vec4<f32>(x[x0], x[x0 + 1u], x[x0 + 2u], x[x0 + 3u]);
  let xh = vec4<f32>(x[x0 + 4u], x[x0 + 5u], x[x0 + 6u], x[x0 + 7u]);
  let i = row * params.cols + k;
  switch FORMAT {
    case 0u: {
      let lo = bitcast<vec4<f32>>(vec4<u32>(w[i], w[i + 1u], w[i + 2u], w[i + 3u]));
      let hi = bitcast<vec4<f32>>(vec4<u32>(w[i + 4u], w[i + 5u], w[i + 6u], w[i + 7u]));
      return dot(lo, xl) + dot(hi, xh);
    }
    case 1u: {
      let h = i / 2u;
      return dot(vec4<f32>(unpack2x16float(w[h]), unpack2x16float(w[h + 1u])), xl) + dot(vec4<f32>(unpack2x16float(w[h + 2u]), unpack2x16float(w[h + 3u])), xh);
    }
    case 2u: { return (dot(unpack_q8(w[i / 4u]), xl) + dot(unpack_q8(w[i / 4u + 1u]), xh)) * scales[i / QUANT_BLOCK]; }
    default: {
      let wv = w[i / 8u];
      return (dot(unpack_q4_lo(wv), xl) + dot(unpack_q4_hi(wv), xh)) * scales[i / QUANT_BLOCK];
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
    for (var c = lane; c < params.cols / 8u; c += LANES) { u += dot8(n, c); }
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
