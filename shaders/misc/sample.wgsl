// Inverse-CDF sampling of one row of probabilities in index order: the first index whose running sum
// exceeds uniform · total. The summation order is fixed so a CPU replay gives the same index: thread j sums
// its contiguous chunk [j·chunk, (j+1)·chunk) in order; chunk sums are prefixed in order; each thread then
// walks its chunk from its prefix. The lowest crossing at a nonzero entry wins; if rounding leaves no crossing, the last
// nonzero entry is taken. Probabilities summing to NaN or infinity give 0xffffffff (no token): non-finite logits.
struct Params { row: u32, vocab: u32, uniform: f32, outOffset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;     // [rows, vocab], any non-negative scale
@group(0) @binding(2) var<storage, read_write> out: array<u32>; // [outOffset + 1] token id

override WG: u32 = 64;

var<workgroup> prefix: array<f32, WG>;
var<workgroup> total: f32;
var<workgroup> first: atomic<u32>;
var<workgroup> lastNonzero: atomic<u32>; // index + 1; 0 = none

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lidv: vec3<u32>) {
  let lid = lidv.x;
  let base = params.row * params.vocab;
  let chunk = (params.vocab + WG - 1u) / WG;
  let begin = min(params.vocab, lid * chunk);
  let end = min(params.vocab, begin + chunk);
  if (lid == 0u) {
    atomicStore(&first, 0xffffffffu);
    atomicStore(&lastNonzero, 0u);
  }
  var s = 0.0;
  for (var i = begin; i < end; i++) { s += probs[base + i]; }
  prefix[lid] = s;
  workgroupBarrier();
  if (lid == 0u) {
    var running = 0.0;
    for (var j = 0u; j < WG; j++) {
      let chunkSum = prefix[j];
      prefix[j] = running;
      running += chunkSum;
    }
    total = running;
  }
  workgroupBarrier();
  let goal = params.uniform * total;
  var cum = prefix[lid];
  for (var i = begin; i < end; i++) {
    let p = probs[base + i];
    cum += p;
    if (p > 0.0 && cum > goal) { // a zero entry is never picked, even where rounding puts the prefix past goal
      atomicMin(&first, i);
      break;
    }
  }
  // the loop may stop early; the last nonzero entry of a chunk that never crossed is still recorded
  for (var i = end; i > begin; i--) {
    if (probs[base + i - 1u] > 0.0) {
      atomicMax(&lastNonzero, i);
      break;
    }
  }
  workgroupBarrier();
  if (lid == 0u) {
    let pick = atomicLoad(&first);
    let fallback = max(atomicLoad(&lastNonzero), 1u) - 1u;
    let finite = (bitcast<u32>(total) & 0x7f800000u) != 0x7f800000u;
    out[params.outOffset] = select(0xffffffffu, select(pick, fallback, pick == 0xffffffffu), finite);
  }
}
