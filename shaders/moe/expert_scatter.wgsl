// Counting sort of (token, expert) pairs, part 2: each pair's place in expert order is its expert's first
// row plus the number of earlier pairs routed to the same expert (a stable sort, so the order and hence
// every sum downstream are deterministic). Writes the permutation and its inverse, used to gather.
struct Params { pairs: u32, experts: u32, sorted_at: u32, inverse_at: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;        // [pairs] u32 expert id of pair p
@group(0) @binding(2) var<storage, read_write> plan: array<u32>; // offsets [experts + 1] in; sorted [pairs] at sorted_at and inverse [pairs] at inverse_at out

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = gid.x;
  if (p >= params.pairs) { return; }
  let e = ids[p];
  var rank = 0u;
  for (var q = 0u; q < p; q++) { rank += select(0u, 1u, ids[q] == e); }
  let row = plan[e] + rank;
  plan[params.sorted_at + row] = p;
  plan[params.inverse_at + p] = row;
}
