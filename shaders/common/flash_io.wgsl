// The flash prefill kernels' interface (attention/flash.wgsl, attention/flash_large_head.wgsl): query row t at
// absolute position startPos + t attends keys window_start(startPos + t)..startPos + t (all earlier keys when
// window is 0); head h reads kv head h / kvGroup.
#include "common/attention_window.wgsl"
#include "common/attention_io.wgsl"

struct Params { tokens: u32, startPos: u32, kvGroup: u32, maxSeq: u32, window: u32 }
// bindings 0-3 (params, q, kCache, vCache): common/attention_io.wgsl
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;   // [tokens, heads, HEAD_DIM / 4]
fn set_out(i: u32, v: vec4<f32>) { out[i] = v; } // common/head_registers.wgsl's output

override WG: u32 = 16;               // query rows per workgroup

// What the invocation of query row gid.x and head gid.y reads (vec4 indices): its q and output row, its kv
// head's cache (slot 0), and its keys keyStart..keyEnd − 1, the first in cache slot slotStart (the next ones
// follow, wrapping at maxSeq in a ring cache). The caller returns first when gid.x >= params.tokens.
struct FlashRow { qBase: u32, kvBase: u32, keyStart: u32, keyEnd: u32, slotStart: u32 }

fn flash_row(gid: vec3<u32>, heads: u32) -> FlashRow {
  let t = gid.x;
  let h = gid.y;
  let pos = params.startPos + t;
  let keyStart = window_start(pos, params.window);
  return FlashRow((t * heads + h) * LANES, (h / params.kvGroup) * params.maxSeq * LANES, keyStart, pos + 1u, cache_slot(keyStart, params.maxSeq));
}
