// Greedy verification of k drafts (one invocation). targets[i] = argmax of verify row i, the target's token
// after [pending, d_1..d_i]. n = number of leading drafts with d_i == targets[i-1]; the round emits
// d_1..d_n and then targets[n] (the correction, or the bonus token when n == k).
// out = [n, d_1..d_n, targets[n]].
struct Params { drafts: u32, draftsOffset: u32, outOffset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;     // [draftsOffset + drafts] draft ids d_1..d_k
@group(0) @binding(2) var<storage, read> targets: array<u32>;    // [drafts + 1] argmax of each verify row
@group(0) @binding(3) var<storage, read_write> out: array<u32>;  // [outOffset + drafts + 2]

@compute @workgroup_size(1)
fn main() {
  let k = params.drafts;
  var n = 0u;
  while (n < k && tokens[params.draftsOffset + n] == targets[n]) {
    out[params.outOffset + 1u + n] = targets[n];
    n++;
  }
  out[params.outOffset] = n;
  out[params.outOffset + 1u + n] = targets[n];
}
