// Activation-sparse MLP, step 1 (CATS): given the dense gate pre-activations g, neuron i is live when
// |silu(g_i)| > max(threshold, 0) (a neuron whose silu is exactly 0 adds nothing, whatever the threshold). This lists the live neurons in index order, by a workgroup prefix sum over chunks
// of WG neurons (one workgroup; deterministic order, so sums downstream are too). WG = 1 (CPU adapters, where
// barriers are expensive) is a plain sequential loop.
// live[0] = (count of this pass, running total += count for stats), then per live neuron k in order
// live[1 + k] = (its index i, the bits of silu(g_i)); sparse_up_act turns the second into the activation.
#include "common/silu.wgsl"

struct Params { n: u32, threshold: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> gate: array<f32>;              // [n] f32 gate pre-activations
@group(0) @binding(2) var<storage, read_write> live: array<vec2<u32>>;  // [1 + n] (count, running total), then (index, silu(g) bits)

override WG: u32 = 256u;

var<workgroup> scan: array<u32, WG>;
var<workgroup> base: u32;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let cut = max(params.threshold, 0.0);
  if (WG == 1u) {
    var count = 0u;
    for (var i = 0u; i < params.n; i++) {
      let a = silu(gate[i]);
      if (abs(a) > cut) {
        live[1u + count] = vec2<u32>(i, bitcast<u32>(a));
        count++;
      }
    }
    live[0] = vec2<u32>(count, live[0].y + count);
    return;
  }
  for (var start = 0u; start < params.n; start += WG) {
    let i = start + lid;
    var a = 0.0;
    var flag = 0u;
    if (i < params.n) {
      a = silu(gate[i]);
      flag = select(0u, 1u, abs(a) > cut);
    }
    scan[lid] = flag;
    for (var offset = 1u; offset < WG; offset *= 2u) {
      workgroupBarrier();
      var before = 0u;
      if (lid >= offset) { before = scan[lid - offset]; }
      workgroupBarrier();
      scan[lid] += before;
    }
    workgroupBarrier();
    if (flag == 1u) { live[base + scan[lid]] = vec2<u32>(i, bitcast<u32>(a)); } // 1 + (rank among live - 1)
    workgroupBarrier();
    if (lid == WG - 1u) { base += scan[lid]; }
  }
  workgroupBarrier();
  if (lid == 0u) { live[0] = vec2<u32>(base, live[0].y + base); }
}
