// Draft vocabulary (FR-Spec): tokens chosen over the draft head's N logits are ranks; each becomes its token id in
// place: tokens[offset + i] = ids[tokens[offset + i]] for i < count. A rank >= N (argmax's 0xffffffff for
// non-finite logits) stays 0xffffffff.
struct Params { count: u32, offset: u32, size: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;           // [size] token id of each rank
@group(0) @binding(2) var<storage, read_write> tokens: array<u32>;  // [offset + count]

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= params.count) { return; }
  let rank = tokens[params.offset + i];
  tokens[params.offset + i] = select(0xffffffffu, ids[min(rank, params.size - 1u)], rank < params.size);
}
