// Draft vocabulary (FR-Spec): a draft distribution over the N ranked tokens spread over the whole vocabulary, for
// rejection sampling against the target: out[outOffset + t] = probs[rank[t]] for tokens in the draft vocabulary,
// 0 for the others (rank[t] == size).
struct Params { vocab: u32, size: u32, outOffset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> rank: array<u32>;        // [vocab] rank of each token, size outside
@group(0) @binding(2) var<storage, read> probs: array<f32>;       // [size] the draft's distribution in rank order
@group(0) @binding(3) var<storage, read_write> out: array<f32>;   // [outOffset + vocab]

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= params.vocab) { return; }
  let r = rank[t];
  out[params.outOffset + t] = select(0.0, probs[min(r, params.size - 1u)], r < params.size);
}
