// Constraint masks on `rows` rows of logits, in place: row r keeps its logits where bit t % 32 of word
// (firstMask + r) * words + t / 32 of `masks` is set, and gets -inf elsewhere (each row its own position's mask).
struct Params { vocab: u32, rows: u32, firstMask: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>; // [rows, vocab]
@group(0) @binding(2) var<storage, read> masks: array<u32>;        // [masks, ceil(vocab / 32)]

override WG: u32 = 64;

// -inf bits, read at run time (a constant -inf does not compile)
var<private> NEG_INF_BITS: u32 = 0xff800000u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= params.rows * params.vocab) { return; }
  let r = i / params.vocab;
  let t = i % params.vocab;
  let words = (params.vocab + 31u) / 32u;
  if ((masks[(params.firstMask + r) * words + t / 32u] & (1u << (t % 32u))) == 0u) { logits[i] = bitcast<f32>(NEG_INF_BITS); }
}
