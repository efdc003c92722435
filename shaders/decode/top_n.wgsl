// The n largest logits of one row, in descending order (ties: lower index first, as the argmax kernel).
// Each invocation keeps a sorted top-n of its strided slice (in workgroup memory); then n rounds of a workgroup arg-max over the
// invocations' current heads pick the winners. Superposed decoding reads back these n (id, logit) pairs in one copy.
struct Params { vocab: u32, n: u32, logitsRowOffset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;         // [logitsRowOffset + 1, vocab]
@group(0) @binding(2) var<storage, read_write> out: array<u32>;  // [2n] token ids best first, then their logits as f32 bits

override WG: u32 = 64;   // a power of two (tree reduction)
const MAX_N = 16u;       // n <= MAX_N (checked by the wrapper)
const LOWEST = -0x1.fffffep+127f; // lowest finite f32 (a constant -inf does not compile)

var<workgroup> listValue: array<f32, WG * MAX_N>;  // invocation t's sorted list at [t * MAX_N, t * MAX_N + n)
var<workgroup> listIndex: array<u32, WG * MAX_N>;
var<workgroup> headValue: array<f32, WG>;
var<workgroup> headIndex: array<u32, WG>;
var<workgroup> headOwner: array<u32, WG>;

fn beats(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  return v > bv || (v == bv && i < bi);
}

// insert (v, i) into the sorted list starting at `first` (n entries) if it beats the last one
fn insert(first: u32, v: f32, i: u32) {
  let last = first + params.n - 1u;
  if (!beats(v, i, listValue[last], listIndex[last])) { return; }
  var at = last;
  while (at > first && beats(v, i, listValue[at - 1u], listIndex[at - 1u])) {
    listValue[at] = listValue[at - 1u];
    listIndex[at] = listIndex[at - 1u];
    at--;
  }
  listValue[at] = v;
  listIndex[at] = i;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let n = params.n;
  let first = t * MAX_N;
  for (var j = first; j < first + MAX_N; j++) {
    listValue[j] = LOWEST;
    listIndex[j] = 0xffffffffu;
  }
  let base = params.logitsRowOffset * params.vocab;
  for (var i = t; i < params.vocab; i += WG) { insert(first, logits[base + i], i); }
  var head = 0u; // next unused entry of this invocation's list
  for (var r = 0u; r < n; r++) {
    let live = head < n;
    let at = first + min(head, MAX_N - 1u);
    headValue[t] = select(LOWEST, listValue[at], live);
    headIndex[t] = select(0xffffffffu, listIndex[at], live);
    headOwner[t] = t;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
      if (t < stride && beats(headValue[t + stride], headIndex[t + stride], headValue[t], headIndex[t])) {
        headValue[t] = headValue[t + stride];
        headIndex[t] = headIndex[t + stride];
        headOwner[t] = headOwner[t + stride];
      }
      workgroupBarrier();
    }
    let owner = headOwner[0];
    if (t == 0u) {
      out[r] = headIndex[0];
      out[n + r] = bitcast<u32>(headValue[0]);
    }
    workgroupBarrier();
    if (t == owner) { head++; }
  }
}
