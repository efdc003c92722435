// One more generation of the token chosen on the GPU: counts[tokens[index]] += 1 (the frequency and presence penalties' counts).
struct Params { index: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;      // [tokenCapacity] chosen token ids
@group(0) @binding(2) var<storage, read_write> counts: array<u32>; // [vocab]: bit 31 = in the prompt, bits 0-30 = times generated

@compute @workgroup_size(1)
fn main() {
  let t = tokens[params.index];
  counts[t] = counts[t] + 1u;
}
