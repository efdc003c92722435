import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { storageBuffer } from '../gpu/buffers';
import { kernel } from '../gpu/kernel';
import type { SplitKKernel } from '../gpu/tuning';
import { ropeTableBuffer, rotationTable, type Rotation } from './rope';

const KV_WRITE_WG = 64;
/** Dimension pairs per ropeKvWrite workgroup (a 64-dim head has 32). */
const ROPE_WG = 32;

/**
 * Where a layer's cache [kvHeads, maxSeq, headDim] keeps position p: slot p (a full cache: every position below
 * maxSeq), or slot p % maxSeq in a ring, the cache of a sliding-window layer, which holds only the last maxSeq
 * positions (at least ringSlots(window, rows of the largest pass)).
 */
interface CacheSlots {
  maxSeq: number;
  ring?: boolean;
}

/**
 * Slots a ring cache needs for a window when passes hold up to `maxRows` rows: a pass writing positions
 * s..s+rows-1 then overwrites only positions before s - window + 1, which neither its rows nor any later one
 * read. So rollback (self-speculative verify) needs nothing more: rejected positions are written again later.
 */
export function ringSlots(window: number, maxRows: number): number {
  return window + maxRows - 1;
}

/** Throws unless `tokens` positions from startPos fit the cache (a ring takes at most maxSeq per pass). */
export function checkWrite(name: string, a: CacheSlots & { startPos: number; tokens: number }): void {
  if (a.ring ? a.tokens > a.maxSeq : a.startPos + a.tokens > a.maxSeq) {
    throw new Error(`${name}: positions ${a.startPos}..${a.startPos + a.tokens - 1} exceed the ${a.ring ? 'ring' : 'cache'} of maxSeq ${a.maxSeq}`);
  }
}

/** Write k, v [tokens, kvHeads, headDim] into the caches [kvHeads, maxSeq, headDim] at positions startPos.. */
export function kvWrite(
  gpu: Gpu,
  step: Step,
  a: CacheSlots & { k: GPUBuffer; v: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer; tokens: number; startPos: number; kvHeads: number; headDim: number },
): void {
  checkWrite('kvWrite', a);
  const k = kernel(gpu, { shader: 'attention/kv_write', overrides: { WG: KV_WRITE_WG, HEAD_DIM: a.headDim } });
  const { tokens, startPos, kvHeads, headDim, maxSeq } = a;
  step.dispatch(k, [a.k, a.v, a.kCache, a.vCache], { tokens, startPos, kvHeads, maxSeq }, [Math.ceil(headDim / KV_WRITE_WG), tokens, kvHeads]);
}

/** The attention block's geometry: `tokens` query rows at positions startPos.. over one layer's KV cache. */
interface AttentionBlock extends CacheSlots {
  kCache: GPUBuffer;  // [kvHeads, maxSeq, headDim]
  vCache: GPUBuffer;  // [kvHeads, maxSeq, headDim]
  tokens: number;
  startPos: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

export interface RopeKvWriteArgs extends AttentionBlock, Omit<Rotation, 'table'> {
  q: GPUBuffer;       // [tokens, heads, headDim], rotated in place
  k: GPUBuffer;       // [tokens, kvHeads, headDim], read (the cache receives the rotated keys)
  v: GPUBuffer;       // [tokens, kvHeads, headDim]
  /** the rotation (ropeTable: scaling types, partial rotary, attention factor); null for a NoPE layer (SmolLM3) */
  table?: Rotation['table'] | null;
}

/**
 * rope(q) in place, and the cache append of rope(k) and v at positions startPos..: one dispatch instead of
 * rope, rope and kvWrite, with the same bits. A NoPE layer (table null) appends k and v as they are.
 */
export function ropeKvWrite(gpu: Gpu, step: Step, a: RopeKvWriteArgs): void {
  const { tokens, startPos, heads, kvHeads, headDim, maxSeq } = a;
  if (headDim % 2 !== 0) throw new Error(`ropeKvWrite: headDim ${headDim} is odd`);
  checkWrite('ropeKvWrite', a);
  if (a.table === null) return kvWrite(gpu, step, a);
  const table = rotationTable(headDim, { theta: a.theta, scaling: a.scaling, table: a.table });
  if (table.rotaryDim > headDim) throw new Error(`ropeKvWrite: rotaryDim ${table.rotaryDim} exceeds headDim ${headDim}`);
  const k = kernel(gpu, {
    shader: 'attention/rope_kv_write',
    overrides: { WG: ROPE_WG, HEAD_DIM: headDim, ROT_HALF: table.rotaryDim / 2, ATTN_FACTOR: table.attentionFactor },
  });
  const buffers = [ropeTableBuffer(gpu, table), a.q, a.k, a.v, a.kCache, a.vCache];
  step.dispatch(k, buffers, { tokens, heads, kvHeads, startPos, maxSeq }, [Math.ceil(headDim / 2 / ROPE_WG), tokens]);
}

/** Rows up to which attention takes the split-K path (decode, verify blocks); longer inputs take the flash path. */
export const SPLIT_K_MAX_TOKENS = 16;
/** Largest head the register kernels (flash, serial split-K) hold: 4 × their register arrays' length (common/head_registers.wgsl). */
const REGISTER_HEAD_DIM = 128;

/** Keys per tile of the split-K partial kernels (src/gpu/tuning.ts), fixed per kernel because a row's bits depend on where its tiles start. */
export const SPLIT_K_TILE: Record<SplitKKernel, number> = { lanes: 64, serial: 32 };
/** (head, tile) pairs per workgroup of the serial kernel: one SIMD group of SwiftShader. */
const SERIAL_WG = 4;

/** The adapter's split-K partial kernel for a head size. */
export function splitKKernel(gpu: Gpu, headDim: number): SplitKKernel {
  return headDim <= REGISTER_HEAD_DIM ? gpu.tuning.splitK : 'lanes';
}

/** The caches hold valid keys and values at the positions the rows see (0..startPos+tokens-1 without a window). */
export interface AttentionArgs extends AttentionBlock {
  q: GPUBuffer;       // [tokens, heads, headDim], already rotated
  out: GPUBuffer;     // [tokens, heads, headDim]
  /** scores are q·k · scale; default 1/sqrt(headDim) (Gemma: query_pre_attn_scalar ** -0.5) */
  scale?: number;
  /** scores soft-capped to tanh(s / softcap) · softcap before the softmax (Gemma 2's attn_logit_softcapping); 0 or absent = none */
  softcap?: number;
  /** sliding window: a row at position p sees keys max(0, p - window + 1)..p; 0 or absent = every earlier key */
  window?: number;
  /** overrides the adapter's split-K kernel (tests run both on one adapter) */
  splitK?: SplitKKernel;
}

/**
 * Causal attention at an offset: query t (position startPos + t) attends keys windowStart(startPos + t)..startPos + t
 * (0.. without a window); head h reads kv head floor(h / (heads / kvHeads)). Keys before a row's window are
 * never read, and split-K tiles wholly before the block's first window are never dispatched. Up to
 * SPLIT_K_MAX_TOKENS rows use split-K, whose per-row result is bitwise independent of the row count (verify
 * passes rely on it); longer inputs use the flash kernel.
 */
export function attention(gpu: Gpu, step: Step, a: AttentionArgs): void {
  if (a.heads % a.kvHeads !== 0) throw new Error(`attention: heads ${a.heads} is not a multiple of kvHeads ${a.kvHeads}`);
  if (a.window !== undefined && !(Number.isInteger(a.window) && a.window >= 0)) throw new Error(`attention: window must be a non-negative integer, got ${a.window}`);
  if (a.softcap !== undefined && !(a.softcap >= 0)) throw new Error(`attention: softcap must be >= 0, got ${a.softcap}`);
  if (a.headDim % 4 !== 0) throw new Error(`attention: headDim ${a.headDim} is not a multiple of 4`);
  if (!a.ring) checkWrite('attention', a);
  else if (!a.window || a.maxSeq < ringSlots(a.window, a.tokens)) {
    throw new Error(`attention: a ring cache of ${a.maxSeq} slots needs a window and at least ringSlots(window ${a.window ?? 0}, ${a.tokens} rows) slots`);
  }
  if (a.tokens <= SPLIT_K_MAX_TOKENS) splitK(gpu, step, a);
  else flash(gpu, step, a);
}

/** The first key a row at `pos` sees (common/attention_window.wgsl). */
export function windowStart(pos: number, window = 0): number {
  return window > 0 ? Math.max(0, pos + 1 - window) : 0;
}

interface Scratch { partO: GPUBuffer; partML: GPUBuffer; floats: number; parts: number }
const scratches = new WeakMap<Gpu, Scratch>();

/** Split-K partials for `parts` (row, head, tile) triples, grown on demand and shared by every layer. */
function splitKScratch(gpu: Gpu, parts: number, headDim: number): Scratch {
  let s = scratches.get(gpu);
  if (!s || s.parts < parts || s.floats < parts * headDim) {
    const grown = Math.max(parts, 2 * (s?.parts ?? 0));
    const floats = Math.max(grown * headDim, s?.floats ?? 0);
    s = { partO: storageBuffer(gpu, 'attention-partials', 4 * floats), partML: storageBuffer(gpu, 'attention-partial-stats', 4 * 2 * grown), floats, parts: grown };
    scratches.set(gpu, s);
  }
  return s;
}

/** The score overrides every attention kernel takes: SCALE and SOFTCAP. */
function scoreOverrides(a: Pick<AttentionArgs, 'scale' | 'softcap' | 'headDim'>): { SCALE: number; SOFTCAP: number } {
  return { SCALE: a.scale ?? 1 / Math.sqrt(a.headDim), SOFTCAP: a.softcap ?? 0 };
}

/** Split-K tiles of `tile` keys for rows startPos.. : from the one holding the first row's first key to the one holding the last row's own key. */
function splitKTiles(startPos: number, tokens: number, window: number, tile: number): { firstTile: number; tiles: number } {
  const firstTile = Math.floor(windowStart(startPos, window) / tile);
  return { firstTile, tiles: Math.floor((startPos + tokens - 1) / tile) + 1 - firstTile };
}

/** A decode row's attention as the q/k/v gemv runs it in its own dispatch (attention/qkv_decode.wgsl): attention()'s score and window. */
export type FusedAttention = Pick<AttentionArgs, 'scale' | 'softcap' | 'window'>;

/** Workgroup memory the fused kernel uses beside its tiles (the RMSNorm prologue's sums, the gemv's argmax scratch). */
const FUSED_RESERVED_BYTES = 2048;

/**
 * Most key tiles a row takes through the fused kernel. Its workgroup per kv head folds all of them on one worker
 * thread, where the separate kernels spread the tiles over many workgroups: on tiny-dense (SwiftShader, Node,
 * bench/context.ts) decode after a 128-token prompt (5 tiles) measured as fast fused as apart, after 512 (17 tiles)
 * 0.8x, so longer contexts keep the separate passes.
 */
const FUSED_MAX_TILES = 8;

/**
 * Key tiles per head the fused kernel's workgroup memory holds for a row at startPos: the row's tiles rounded up to
 * a power of two (a few pipelines), or 0 where they are more than FUSED_MAX_TILES or `group` heads' partials (head
 * vectors plus max and sum) do not fit.
 */
function fusedTiles(gpu: Gpu, headDim: number, group: number, startPos: number, window: number): number {
  const tiles = splitKTiles(startPos, 1, window, SPLIT_K_TILE.serial).tiles;
  if (tiles > FUSED_MAX_TILES) return 0;
  const slots = 2 ** Math.ceil(Math.log2(tiles));
  const bytes = group * slots * (4 * headDim + 8) + FUSED_RESERVED_BYTES;
  return bytes <= gpu.device.limits.maxComputeWorkgroupStorageSize ? slots : 0;
}

/**
 * Whether one row at startPos can take its attention inside the q/k/v gemv on this adapter (`group` q heads per kv
 * head): the serial split-K kernel's partials and reduce (heads up to 128), whose bits the fused kernel reproduces,
 * with the row's tiles in workgroup memory.
 */
export function attentionFusable(gpu: Gpu, headDim: number, group: number, startPos: number, window = 0): boolean {
  return splitKKernel(gpu, headDim) === 'serial' && headDim % 4 === 0 && fusedTiles(gpu, headDim, group, startPos, window) > 0;
}

/** The fused kernel's attention overrides (attention/qkv_decode.wgsl). */
export function fusedAttentionOverrides(gpu: Gpu, a: FusedAttention, headDim: number, group: number, startPos: number): Record<string, number> {
  const window = a.window ?? 0;
  return { TILE: SPLIT_K_TILE.serial, WINDOW: window, MAX_TILES: fusedTiles(gpu, headDim, group, startPos, window), ...scoreOverrides({ ...a, headDim }) };
}

function splitK(gpu: Gpu, step: Step, a: AttentionArgs): void {
  const score = scoreOverrides(a);
  const variant = a.splitK ?? splitKKernel(gpu, a.headDim);
  if (variant === 'serial' && a.headDim > REGISTER_HEAD_DIM) throw new Error(`attention: the serial split-K kernel holds heads up to ${REGISTER_HEAD_DIM}, got ${a.headDim}`);
  const TILE = SPLIT_K_TILE[variant];
  const window = a.window ?? 0;
  const { firstTile, tiles } = splitKTiles(a.startPos, a.tokens, window, TILE);
  const { partO, partML } = splitKScratch(gpu, a.tokens * a.heads * tiles, a.headDim);
  const params = { startPos: a.startPos, heads: a.heads, kvGroup: a.heads / a.kvHeads, maxSeq: a.maxSeq, window, firstTile };
  // every row in one tile (a short context): the partial pass writes the output, and no reduce runs
  const direct = tiles === 1;
  const buffers = [a.q, a.kCache, a.vCache, direct ? a.out : partO, partML];
  if (variant === 'serial') {
    const partial = kernel(gpu, {
      shader: 'attention/decode_partial_serial',
      overrides: { WG: SERIAL_WG, TILE, HEAD_DIM: a.headDim, DIRECT: direct ? 1 : 0, ...score },
    });
    step.dispatch(partial, buffers, { ...params, tiles }, [Math.ceil((a.heads * tiles) / SERIAL_WG), a.tokens]);
  } else {
    const partial = kernel(gpu, { shader: 'attention/decode_partial', overrides: { TILE, HEAD_DIM: a.headDim, DIRECT: direct ? 1 : 0, ...score } });
    step.dispatch(partial, buffers, params, [tiles, a.heads, a.tokens]);
  }
  if (direct) return;
  const reduce = kernel(gpu, { shader: 'attention/decode_reduce', overrides: { TILE, HEAD_DIM: a.headDim } });
  step.dispatch(reduce, [partO, partML, a.out], { startPos: a.startPos, heads: a.heads, tiles, window, firstTile }, [a.heads, a.tokens]);
}

/** Query rows per flash workgroup (one invocation per row; the kernel uses no workgroup memory). */
const FLASH_WG = 16;

function flash(gpu: Gpu, step: Step, a: AttentionArgs): void {
  const k = kernel(gpu, {
    shader: a.headDim <= REGISTER_HEAD_DIM ? 'attention/flash' : 'attention/flash_large_head',
    overrides: { WG: FLASH_WG, HEAD_DIM: a.headDim, ...scoreOverrides(a) },
  });
  const params = { tokens: a.tokens, startPos: a.startPos, kvGroup: a.heads / a.kvHeads, maxSeq: a.maxSeq, window: a.window ?? 0 };
  step.dispatch(k, [a.q, a.kCache, a.vCache, a.out], params, [Math.ceil(a.tokens / FLASH_WG), a.heads]);
}
