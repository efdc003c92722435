/**
 * Kernel shapes tuned per kind of device: one profile for CPU adapters (SwiftShader, lavapipe), where barriers
 * and workgroup memory are slow and a SIMD group has 4 lanes, one for GPUs. requestGpu chooses the profile once
 * (Gpu.tuning) and the kernel wrappers read it from there; tests pass either profile's values explicitly.
 */

/** Activation rows up to which the gemv kernel runs on every adapter (its per-row results do not depend on `rows`). */
export const GEMV_MAX_ROWS = 16;

/**
 * gemv workgroup shape: `lanes` invocations reduce one output row, `wg / lanes` output rows per workgroup;
 * `lanes: 1` is the register-blocked kernel (4 outputs per invocation, sequential K loop).
 * `maxRows`: activation rows up to which linear() takes gemv rather than the tiled matmul.
 */
export interface GemvShape {
  wg: number;
  lanes: number;
  maxRows: number;
}

/**
 * The split-K attention partial kernels: 'lanes' spreads a key tile over HEAD_DIM / 4 invocations; 'serial' gives
 * each invocation a tile, q and the output in registers (heads up to 128 only).
 */
export type SplitKKernel = 'lanes' | 'serial';

export interface Tuning {
  kind: 'cpu' | 'gpu';
  /**
   * CPU: the register-blocked gemv (shaders/matmul/gemv_blocked.wgsl: wide reductions and workgroup memory are
   * slow there) for any number of rows: its row batches run several times faster there than the workgroup-memory
   * tiles of the matmul (barriers are expensive in software). GPU: K split over 64 lanes and reduced in workgroup
   * memory, 4 output rows per workgroup, and batches of more than GEMV_MAX_ROWS rows tiled.
   */
  gemv: GemvShape;
  /**
   * Invocations per row reduction (rmsnorm, softmax): 64 on GPUs; 4 on CPU adapters, one SIMD group of
   * SwiftShader, where a two-level tree beats both a single invocation (2-3x) and wider trees (rmsnorm of 1-64 rows of 256).
   */
  rowReduce: number;
  /**
   * Threads per row of the whole-vocabulary reductions (argmax, distribution, sample, top-n, acceptance, logprobs):
   * 256 on GPUs; 4 on CPU adapters, where every barrier of a wider tree costs more than the longer strided loops
   * (SwiftShader, vocabulary 2048: argmax 3.5x, top-k distribution 3.4x, top-n 7x faster than at 64).
   */
  vocabRow: number;
  /** Split-K partial kernel where the head fits it: 'serial' is 1.4-2.2x faster on CPU adapters. */
  splitK: SplitKKernel;
  /** Grouped expert GEMM tile: TX x TY invocations with 4 x 4 outputs each. */
  expertGemm: { TX: number; TY: number };
  /**
   * Live neurons per spmv_active workgroup: 64 on GPUs (split-K parallelism), 256 on CPU adapters, where fewer
   * chunks mean fewer partial sums to store and add (the down projection at 50% live runs ~15% faster than with 64).
   */
  spmvChunk: number;
  /** Prior of the self-speculative policy's row-cost factor ρ (a verify row's cost in decode steps) before it is measured. */
  verifyRowCost: number;
}

export const TUNINGS: Record<Tuning['kind'], Tuning> = {
  cpu: {
    kind: 'cpu',
    gemv: { wg: 64, lanes: 1, maxRows: Infinity },
    rowReduce: 4,
    vocabRow: 4,
    splitK: 'serial',
    expertGemm: { TX: 16, TY: 4 },
    spmvChunk: 256,
    verifyRowCost: 1,
  },
  gpu: {
    kind: 'gpu',
    gemv: { wg: 256, lanes: 64, maxRows: GEMV_MAX_ROWS },
    rowReduce: 64,
    vocabRow: 256,
    splitK: 'lanes',
    expertGemm: { TX: 16, TY: 8 },
    spmvChunk: 64,
    verifyRowCost: 0.1,
  },
};

/** The profile of an adapter. */
export function tuningFor(adapter: { isSoftware: boolean }): Tuning {
  return TUNINGS[adapter.isSoftware ? 'cpu' : 'gpu'];
}
