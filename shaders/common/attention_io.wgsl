// The bindings and head geometry every attention kernel over the KV cache shares (split-K partials, flash):
// the includer declares `struct Params` (the uniform at binding 0) and its bindings from 4 on.
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;           // [tokens, heads, HEAD_DIM / 4]
@group(0) @binding(2) var<storage, read> kCache: array<vec4<f32>>;      // [kvHeads, maxSeq, HEAD_DIM / 4]
@group(0) @binding(3) var<storage, read> vCache: array<vec4<f32>>;      // [kvHeads, maxSeq, HEAD_DIM / 4]

override HEAD_DIM: u32;              // a multiple of 4 (at most 128 for the register kernels)
override LANES: u32 = HEAD_DIM / 4u; // vec4s per head

// vector i of q and of the caches (the accessors common/head_registers.wgsl reads through)
fn q_vec(i: u32) -> vec4<f32> { return q[i]; }
fn k_vec(i: u32) -> vec4<f32> { return kCache[i]; }
fn v_vec(i: u32) -> vec4<f32> { return vCache[i]; }
