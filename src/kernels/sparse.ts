import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { uploadBuffer } from '../gpu/buffers';
import { kernel } from '../gpu/kernel';
import { TUNINGS, type GemvShape } from '../gpu/tuning';
import { grid1d } from './grid';
import { denseFormat, FORMAT_ID, type WeightMatrix } from './tensor';
import { unusedBinding } from '../gpu/buffers';


export interface SparseUpArgs {
  x: GPUBuffer; // [cols] f32 normed input (one token)
  /** element offset into x, a multiple of 4 */
  xOffset?: number;
  gate: GPUBuffer; // [neurons] f32 gate pre-activations
  up: WeightMatrix; // [neurons, cols]
  /** [1 + neurons] u32 pairs scratch (liveListBytes), out: (live count of the pass, running total of live neurons for stats), then (index, activation bits) per live neuron in index order */
  live: GPUBuffer;
  /** neuron i is live when |silu(gate_i)| > max(threshold, 0) (a negative threshold keeps every neuron whose activation can be nonzero) */
  threshold: number;
}

/** Live-list entries per sparse_up_act invocation group (ROWS in shaders/matmul/sparse_up_act.wgsl). */
const UP_ROWS = 4;

/**
 * CATS step 1: list the live neurons (|silu(gate)| > max(threshold, 0), index order) with their silu(gate), by a
 * workgroup prefix sum (a sequential loop with the CPU adapters' one-lane shape: barriers are expensive there).
 */
export function compactLive(gpu: Gpu, step: Step, a: Pick<SparseUpArgs, 'gate' | 'live' | 'threshold'> & { neurons: number }, shape: GemvShape = gpu.tuning.gemv): void {
  const compact = kernel(gpu, { shader: 'matmul/sparse_compact', overrides: { WG: shape.lanes > 1 ? 256 : 1 } });
  step.dispatch(compact, [a.gate, a.live], { n: a.neurons, threshold: a.threshold }, [1]);
}

/**
 * CATS steps 1-2: compactLive, then act_i = silu(gate_i) · (W_up[i] · x) for the listed neurons only, 4 per
 * invocation group sharing x loads.
 */
export function sparseUpAct(gpu: Gpu, step: Step, a: SparseUpArgs, shape: GemvShape = gpu.tuning.gemv): void {
  const { up } = a;
  if (up.cols % 8 !== 0) throw new Error(`sparse up ${up.label}: cols ${up.cols} must be a multiple of 8`);
  if ((a.xOffset ?? 0) % 4 !== 0) throw new Error(`sparse up ${up.label}: x offset ${a.xOffset} must be a multiple of 4 (x is read as vec4s)`);
  compactLive(gpu, step, { ...a, neurons: up.rows }, shape);
  const { wg, lanes } = shape;
  const k = kernel(gpu, {
    shader: 'matmul/sparse_up_act',
    overrides: { FORMAT: FORMAT_ID[denseFormat(up, 'activation-sparse kernels')], WG: wg, LANES: lanes },
  });
  const buffers = [a.x, a.live, up.data, up.scales ?? unusedBinding(gpu)];
  step.dispatch(k, buffers, { cols: up.cols, x_offset: a.xOffset ?? 0 }, grid1d(gpu, Math.ceil(up.rows / UP_ROWS / (wg / lanes))));
}

export interface SparseDownArgs {
  /** the list sparseUpAct wrote */
  live: GPUBuffer;
  /** [sparseChunks(neurons), hidden] f32 scratch: per-chunk sums */
  partial: GPUBuffer;
  downT: WeightMatrix; // [neurons, hidden]: W_down transposed
  y: GPUBuffer; // [hidden] f32
  accumulate?: boolean;
  yOffset?: number;
}

/** Outputs per spmv_active invocation (OUTPUTS in shaders/matmul/spmv_active.wgsl). */
const SPMV_OUTPUTS = 32;

/** The smallest chunk of live neurons per spmv_active workgroup (Tuning.spmvChunk) of any adapter. */
const MIN_CHUNK = Math.min(...Object.values(TUNINGS).map((t) => t.spmvChunk));

/** Bytes of the live-neuron list for a layer of `neurons` (SparseUpArgs.live). */
export const liveListBytes = (neurons: number) => 4 * (2 + 2 * neurons);

/** Chunks of the partial-sum scratch for a layer of `neurons` (all live at worst, on any adapter). */
export const sparseChunks = (neurons: number) => Math.ceil(neurons / MIN_CHUNK);

/**
 * CATS steps 3-4: sum act_i · W_downᵀ[i] over chunks of the listed live neurons, reading only their rows, then
 * y (+)= the chunk sums in order. `chunk` overrides the adapter's chunk size (a multiple of 64; tests run both).
 */
export function spmvActive(gpu: Gpu, step: Step, a: SparseDownArgs, chunk = gpu.tuning.spmvChunk): void {
  const { downT } = a;
  const neurons = downT.rows, hidden = downT.cols;
  if (hidden % SPMV_OUTPUTS !== 0) throw new Error(`sparse down ${downT.label}: hidden ${hidden} must be a multiple of ${SPMV_OUTPUTS}`);
  if (chunk % MIN_CHUNK !== 0) throw new Error(`sparse down: chunk ${chunk} must be a multiple of ${MIN_CHUNK}`);
  const WG = 64;
  const spmv = kernel(gpu, {
    shader: 'matmul/spmv_active',
    overrides: { FORMAT: FORMAT_ID[denseFormat(downT, 'activation-sparse kernels')], WG, CHUNK: chunk },
  });
  const buffers = [a.live, downT.data, downT.scales ?? unusedBinding(gpu), a.partial];
  step.dispatch(spmv, buffers, { neurons, n: hidden }, [Math.ceil(hidden / SPMV_OUTPUTS / WG), Math.ceil(neurons / chunk)]);
  const reduce = kernel(gpu, { shader: 'matmul/sparse_reduce', overrides: { WG } });
  const params = { n: hidden, chunk, accumulate: a.accumulate ? 1 : 0, y_offset: a.yOffset ?? 0 };
  step.dispatch(reduce, [a.live, a.partial, a.y], params, grid1d(gpu, Math.ceil(hidden / WG)));
}

/** A block-sparse (BSR) f32 matrix [rows, cols] in B x B blocks; all-zero blocks are not stored. */
export interface BsrMatrix {
  rows: number;
  cols: number;
  block: number;
  blocks: number; // stored blocks
  rowPtr: GPUBuffer; // [rows / block + 1] u32
  colIdx: GPUBuffer; // [blocks] u32
  values: GPUBuffer; // [blocks, block, block] f32
}

/** CPU: the BSR form of a dense [rows, cols] matrix (rows and cols multiples of `block`). */
export function toBsr(dense: Float32Array, rows: number, cols: number, block: number): { rowPtr: Uint32Array; colIdx: Uint32Array; values: Float32Array } {
  if (rows % block !== 0 || cols % block !== 0) throw new Error(`BSR: [${rows}, ${cols}] is not a multiple of block ${block}`);
  const rowPtr = new Uint32Array(rows / block + 1);
  const colIdx: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < rows / block; r++) {
    for (let c = 0; c < cols / block; c++) {
      const tile: number[] = [];
      for (let i = 0; i < block; i++) for (let j = 0; j < block; j++) tile.push(dense[(r * block + i) * cols + c * block + j]);
      if (tile.every((v) => v === 0)) continue;
      colIdx.push(c);
      values.push(...tile);
    }
    rowPtr[r + 1] = colIdx.length;
  }
  return { rowPtr, colIdx: Uint32Array.from(colIdx), values: Float32Array.from(values) };
}

export function uploadBsr(gpu: Gpu, dense: Float32Array, rows: number, cols: number, block: number, label = 'bsr'): BsrMatrix {
  const { rowPtr, colIdx, values } = toBsr(dense, rows, cols, block);
  return {
    rows, cols, block, blocks: colIdx.length,
    rowPtr: uploadBuffer(gpu, `${label}.rowPtr`, rowPtr),
    colIdx: uploadBuffer(gpu, `${label}.colIdx`, colIdx),
    values: uploadBuffer(gpu, `${label}.values`, values),
  };
}

export interface BsrMatmulArgs {
  x: GPUBuffer; // [rows, w.cols] f32
  w: BsrMatrix; // [out, in]
  y: GPUBuffer; // [rows, w.rows] f32
  rows: number;
  accumulate?: boolean;
}

/** y (+)= x · Wᵀ with W block-sparse. */
export function bsrMatmul(gpu: Gpu, step: Step, a: BsrMatmulArgs): void {
  const WG = 64;
  const k = kernel(gpu, { shader: 'matmul/spmm_block', overrides: { WG } });
  const { w } = a;
  const params = { rows: a.rows, n: w.rows, k: w.cols, block: w.block, accumulate: a.accumulate ? 1 : 0 };
  step.dispatch(k, [a.x, w.rowPtr, w.colIdx, w.values, a.y], params, [Math.ceil(w.rows / WG), a.rows]);
}
