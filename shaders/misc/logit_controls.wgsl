// Sampling controls on one row of logits, in place, before argmax, the sampling distribution and logprobs:
//   repetition penalty (Hugging Face / llama.cpp): a token seen in the prompt or the output has its logit divided
//     by `repetition` when positive, multiplied by it when negative;
//   frequency and presence penalties (OpenAI): minus count * frequency, minus presence once generated at all;
//   additive bias (logit_bias); then the constraint mask: a token whose bit is clear gets -inf.
struct Params { vocab: u32, row: u32, frequency: f32, presence: f32, repetition: f32, masked: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>; // [rows, vocab]; row `row` is changed
@group(0) @binding(2) var<storage, read> counts: array<u32>;       // [vocab]: bit 31 = in the prompt, bits 0-30 = times generated
@group(0) @binding(3) var<storage, read> bias: array<f32>;         // [vocab]
@group(0) @binding(4) var<storage, read> mask: array<u32>;         // [ceil(vocab / 32)]: bit t % 32 of word t / 32 = token t allowed

override WG: u32 = 64;

// -inf bits, read at run time (a constant -inf does not compile)
var<private> NEG_INF_BITS: u32 = 0xff800000u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let t = gid.x + gid.y * groups.x * WG;
  if (t >= params.vocab) { return; }
  let i = params.row * params.vocab + t;
  var z = logits[i];
  let c = counts[t];
  let generated = f32(c & 0x7fffffffu);
  if (c != 0u && params.repetition != 1.0) { z = select(z * params.repetition, z / params.repetition, z > 0.0); }
  if (generated > 0.0) { z = z - generated * params.frequency - params.presence; }
  z = z + bias[t];
  if (params.masked != 0u && (mask[t / 32u] & (1u << (t % 32u))) == 0u) { z = bitcast<f32>(NEG_INF_BITS); }
  logits[i] = z;
}
