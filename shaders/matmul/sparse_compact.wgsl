// Activation-sparse MLP, step 2: the list of live neurons (act_i != 0) in index order, by a workgroup
// prefix sum over chunks of WG neurons (one workgroup; deterministic order, so sums downstream are too).
// WG = 1 (CPU adapters, where barriers are expensive) is a plain sequential loop.
// live[0] = count of this pass, live[1] += count (running total for stats), then per live neuron k in order
// live[2 + 2k] = its index i and live[3 + 2k] = the bits of act[i] (spmv_active reads both in one place).
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> act: array<f32>;        // [n] f32 activations, 0 = skipped
@group(0) @binding(2) var<storage, read_write> live: array<u32>; // [2 + 2n] u32 count, running total, (index, act bits) pairs

override WG: u32 = 256u;

var<workgroup> scan: array<u32, WG>;
var<workgroup> base: u32;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  if (WG == 1u) {
    var count = 0u;
    for (var i = 0u; i < params.n; i++) {
      if (act[i] != 0.0) {
        live[2u + 2u * count] = i;
        live[3u + 2u * count] = bitcast<u32>(act[i]);
        count++;
      }
    }
    live[0] = count;
    live[1] += count;
    return;
  }
  for (var start = 0u; start < params.n; start += WG) {
    let i = start + lid;
    var flag = 0u;
    if (i < params.n && act[i] != 0.0) { flag = 1u; }
    scan[lid] = flag;
    for (var offset = 1u; offset < WG; offset *= 2u) {
      workgroupBarrier();
      var before = 0u;
      if (lid >= offset) { before = scan[lid - offset]; }
      workgroupBarrier();
      scan[lid] += before;
    }
    workgroupBarrier();
    if (flag == 1u) {
      let k = base + scan[lid] - 1u;
      live[2u + 2u * k] = i;
      live[3u + 2u * k] = bitcast<u32>(act[i]);
    }
    workgroupBarrier();
    if (lid == WG - 1u) { base += scan[lid]; }
  }
  workgroupBarrier();
  if (lid == 0u) {
    live[0] = base;
    live[1] += base;
  }
}
