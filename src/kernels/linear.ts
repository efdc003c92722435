import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { unusedBinding, unusedWritableBinding } from '../gpu/buffers';
import type { GemvShape } from '../gpu/tuning';
import { kernel } from '../gpu/kernel';
import { grid1d } from './grid';
import { ggmlLinear } from './ggml';
import { attentionFusable, checkWrite, fusedAttentionOverrides, type FusedAttention } from './attention';
import { ropeTableBuffer } from './rope';
import type { RopeTable } from './rope_table';
import { FORMAT_ID, isGgmlFormat, rowPieces, type SplitMatrix, type WeightFormat, type WeightMatrix } from './tensor';

/** The gated MLP's activation, by its Hugging Face `hidden_act` name: SwiGLU (silu) or GeGLU (gelu_pytorch_tanh). */
export type GatedActivation = 'silu' | 'gelu_pytorch_tanh';
const ACT_ID: Record<GatedActivation, number> = { silu: 0, gelu_pytorch_tanh: 1 };

/** Most activation rows one invocation of shaders/matmul/gemv.wgsl or gemv_gguf.wgsl handles (their MB_MAX). */
const GEMV_MAX_ROWS_PER_INVOCATION = 8;
/**
 * MB_MAX of shaders/matmul/gemv_blocked.wgsl (CPU adapters, where it also runs prefill): every weight word it
 * loads and decodes serves this many rows; 16 prefills tiny-dense's 128 tokens ~1.25x faster than 8 on
 * SwiftShader, 32 no faster again (bench/results/dispatch_fusion.md).
 */
const BLOCKED_MAX_ROWS_PER_INVOCATION = 16;

/** Rows per gemv invocation (MB) for a batch: the most even split into invocations of at most `most` rows. */
export function gemvRowsPerInvocation(rows: number, most = GEMV_MAX_ROWS_PER_INVOCATION): number {
  return Math.ceil(rows / Math.ceil(rows / most));
}

/** gemm tile: TX x TY invocations, each computing 4 x 4 outputs. */
const GEMM_TILE = { TX: 16, TY: 16 };

export interface LinearArgs {
  /** [rows, w.cols] f32 */
  x: GPUBuffer;
  /** [out, in] any format; a split matrix runs one dispatch per row piece, each writing its columns of y */
  w: WeightMatrix | SplitMatrix;
  /** [rows, w.rows] f32 */
  y: GPUBuffer;
  /** activation rows (tokens), >= 1 */
  rows: number;
  /** [w.rows] f32 */
  bias?: GPUBuffer;
  /** y += x·Wᵀ (+ bias) instead of y = x·Wᵀ (+ bias) */
  accumulate?: boolean;
  /** [rows, w.rows] f32, indexed like y: y = act(gate) ⊙ (x·Wᵀ + bias), the gated MLP's up projection and activation in one dispatch */
  gate?: GPUBuffer;
  /**
   * Split outputs (W = q, k and v stacked by rows): columns [0, split[0]) go to y, the next split[1] to y2, the rest
   * to y3, each part [rows, its width] row-major; no offsets, accumulate or gate. With `append`, RoPE and the KV
   * append run in the epilogue instead (ropeKvWrite's bits): y gets rotated q, y2 and y3 are the k and v caches.
   */
  split?: { widths: [number, number]; y2: GPUBuffer; y3: GPUBuffer; append?: KvAppend };
  /**
   * W = gate and up stacked with their rows interleaved (row 2j gate_j, row 2j + 1 up_j; fuseProjections):
   * y[rows, w.rows / 2] = act(x·gateᵀ) ⊙ x·upᵀ in one dispatch, bitwise the two-projection result. No bias,
   * accumulate, gate, split or row pieces.
   */
  gateUp?: boolean;
  /**
   * Greedy partials instead of outputs (one activation row, gemv only; the LM head of greedy decode): y receives
   * [argmaxPartials(w), 2] f32, each workgroup's best (value, index) (common/argmax_partial.wgsl), for argmaxReduce.
   */
  argmax?: boolean;
  /** act of a gated projection; default silu */
  activation?: GatedActivation;
  /** element offsets into x / y (row-major) */
  xOffset?: number;
  yOffset?: number;
  /** x holds the raw rows of an RMSNorm: y = norm(x) · Wᵀ ..., norm applied as the gemv reads x (only where normFusable) */
  norm?: LinearNorm;
}

/**
 * The attention block's RoPE and cache append in the stacked q/k/v gemv's epilogue (common/linear_pairs_kv.wgsl):
 * row m at position startPos + m; y2 and y3 are the caches [kvHeads, maxSeq, headDim] (a ring wraps positions).
 */
export interface KvAppend {
  headDim: number;
  startPos: number;
  maxSeq: number;
  ring?: boolean;
  /** the rotation; null for a NoPE layer (k appended as it is) */
  table: RopeTable | null;
  /**
   * The row's decode attention in the same dispatch (attention/qkv_decode.wgsl, one workgroup per kv head; one row
   * on the blocked gemv, where attentionFusable): y receives the attention output [heads, headDim] instead of q.
   */
  attention?: FusedAttention;
}

/** Storage buffers the q/k/v epilogue with the KV append binds: one more than WebGPU's default limit of 8. */
const KV_APPEND_BINDINGS = 9;

/** Whether the device takes the KV append in the q/k/v gemv's epilogue (else ropeKvWrite runs after it). */
export function kvAppendFits(gpu: Gpu): boolean {
  return gpu.device.limits.maxStorageBuffersPerShaderStage >= KV_APPEND_BINDINGS;
}

/**
 * An RMSNorm folded into a linear kernel's prologue: norm(x) = (weightOffset + weight) · x / sqrt(mean(x²) + eps),
 * bitwise what rmsNorm() writes at reduction width `wg` (default: the adapter's, as rmsNorm's).
 */
export interface LinearNorm {
  /** [w.cols] f32 */
  weight: GPUBuffer;
  eps: number;
  weightOffset: number;
  wg?: number;
}

/** k must be a multiple of these: gemv's 16-byte weight words per format, the blocked kernel's 8-weight steps. */
const GEMV_K_MULTIPLE: Record<WeightFormat, number> = { f32: 4, f16: 8, bf16: 8, q8: 32, q4: 32 };
const BLOCKED_K_MULTIPLE: Record<WeightFormat, number> = { f32: 8, f16: 8, bf16: 8, q8: 32, q4: 32 };
/**
 * Invocations per workgroup of the fused q/k/v + attention kernel (attention/qkv_decode.wgsl): one SIMD group of
 * SwiftShader, which runs a workgroup on one thread, so more invocations add no parallelism but make each of its
 * barriers a switch between SIMD groups (64 measured 0.69-0.86x the separate kernels' decode, 4 about 1.0-1.2x).
 */
const FUSED_WG = 4;
/** Outputs per invocation of the blocked kernel (OUTPUTS in shaders/matmul/gemv_blocked.wgsl). */
const BLOCKED_OUTPUTS = 4;

/**
 * The kernel linear() runs: gemv up to `shape.maxRows` rows when x and W are 16-byte aligned (gemv reads
 * them as 16-byte vectors, so rows of x and W must start on 16-byte boundaries), else the tiled matmul.
 */
export function linearKernel(w: { cols: number; format: WeightFormat }, rows: number, xOffset: number, shape: GemvShape): 'gemv' | 'gemm' {
  const multiple = (shape.lanes === 1 ? BLOCKED_K_MULTIPLE : GEMV_K_MULTIPLE)[w.format];
  const aligned = w.cols % multiple === 0 && xOffset % 4 === 0;
  return rows <= shape.maxRows && aligned ? 'gemv' : 'gemm';
}

/**
 * Whether linear() can take `norm` for this weight and batch: the gemv kernels read x through the norm; the
 * matmul and the GGUF kernels do not (the caller normalises x first, with rmsNorm). normPays says whether it should.
 */
export function normFusable(w: WeightMatrix | SplitMatrix, rows: number, xOffset: number, shape: GemvShape): boolean {
  return !isGgmlFormat(w.format) && linearKernel({ cols: w.cols, format: w.format as WeightFormat }, rows, xOffset, shape) === 'gemv';
}

/** Whether a caller should fold the norm into this weight's gemv: it can, and the tuning's shape says it pays. */
export function normPays(w: WeightMatrix | SplitMatrix, rows: number, xOffset: number, shape: GemvShape): boolean {
  return normFusable(w, rows, xOffset, shape) && w.rows * w.cols <= (shape.normMaxWeights ?? Infinity);
}

/** Whether the stacked q/k/v gemv of `rows` rows can run the rows' decode attention too (KvAppend.attention). */
export function decodeAttentionFits(gpu: Gpu, w: WeightMatrix | SplitMatrix, rows: number, a: { headDim: number; group: number; startPos: number; window?: number }, shape: GemvShape): boolean {
  return rows === 1 && shape.lanes === 1 && normFusable(w, rows, 0, shape) && kvAppendFits(gpu) && attentionFusable(gpu, a.headDim, a.group, a.startPos, a.window);
}

/** gemv workgroups over `outputs` rows of W in the shape. */
function gemvGroups(outputs: number, shape: GemvShape): number {
  return Math.ceil(outputs / (shape.lanes === 1 ? shape.wg * BLOCKED_OUTPUTS : shape.wg / shape.lanes));
}

/** Whether linear() can store greedy partials for W (the gemv kernels can; the matmul and the GGUF kernels cannot). */
export function argmaxFusable(w: WeightMatrix | SplitMatrix, shape: GemvShape): boolean {
  return normFusable(w, 1, 0, shape);
}

/** The greedy partials linear()'s argmax stores for W: one per gemv workgroup of each row piece. */
export function argmaxPartials(w: WeightMatrix | SplitMatrix, shape: GemvShape): number {
  return rowPieces(w).reduce((n, p) => n + gemvGroups(p.w.rows, shape), 0);
}

/**
 * y = x · Wᵀ (+ bias), Hugging Face layout, optionally gated (y = act(gate) ⊙ ...). Up to `gemv.maxRows` rows run the gemv kernel when x and W are
 * 16-byte aligned (model shapes are), else the register-tiled matmul, as do more rows. Both compute each
 * output as one sequential sum per row, so a row's bits do not depend on `rows`. `gemv` overrides the
 * adapter's gemv shape (tests cover every shape on one adapter).
 */
export function linear(gpu: Gpu, step: Step, a: LinearArgs, gemv: GemvShape = gpu.tuning.gemv): void {
  checkArgs(gpu, a, gemv);
  const pieces = rowPieces(a.w);
  if (pieces.length > 1 && a.bias) throw new Error(`linear ${a.w.label}: a split weight takes no bias`);
  let groups = 0; // greedy partials of the pieces before
  for (const { rowStart, w } of pieces) {
    linearPiece(gpu, step, a, w, (a.yOffset ?? 0) + rowStart, gemv, groups);
    groups += gemvGroups(w.rows, gemv);
  }
}

/** Throws on arguments the kernels cannot take together (each epilogue has its own preconditions). */
function checkArgs(gpu: Gpu, a: LinearArgs, gemv: GemvShape): void {
  if (a.rows < 1) throw new Error(`linear ${a.w.label}: rows must be >= 1, got ${a.rows}`);
  if (a.split && (a.gate || a.accumulate || a.xOffset || a.yOffset || 'pieces' in a.w)) throw new Error(`linear ${a.w.label}: split outputs take no gate, accumulate, offsets or row pieces`);
  if (a.gateUp && (isGgmlFormat(a.w.format) || a.gate || a.split || a.bias || a.accumulate || 'pieces' in a.w || a.w.rows % 2 !== 0)) throw new Error(`linear ${a.w.label}: stacked gate/up takes a dense format, an even row count and no bias, accumulate, gate, split or row pieces`);
  if ((a.gateUp || a.split?.append) && gemv.lanes > 1 && (gemv.wg / gemv.lanes) % 2 !== 0) throw new Error(`linear ${a.w.label}: paired outputs need an even number of outputs per gemv workgroup (wg ${gemv.wg}, lanes ${gemv.lanes})`);
  const append = a.split?.append;
  if (append) {
    if (!kvAppendFits(gpu)) throw new Error(`linear ${a.w.label}: the KV append needs ${KV_APPEND_BINDINGS} storage buffers per stage, the device takes ${gpu.device.limits.maxStorageBuffersPerShaderStage}`);
    if (isGgmlFormat(a.w.format) || append.headDim % 2 !== 0 || (append.table?.rotaryDim ?? 0) > append.headDim) throw new Error(`linear ${a.w.label}: KV append of head ${append.headDim} with rotary dims ${append.table?.rotaryDim}`);
    checkWrite(`linear ${a.w.label}`, { ...append, tokens: a.rows });
    const group = a.split!.widths[0] / a.split!.widths[1];
    if (append.attention && !decodeAttentionFits(gpu, a.w, a.rows, { ...append, group, window: append.attention.window }, gemv)) throw new Error(`linear ${a.w.label}: attention in the q/k/v gemv needs one row on the blocked gemv, a head of at most 128 and its key tiles in workgroup memory (head ${append.headDim}, ${group} q heads per kv head, position ${append.startPos})`);
  }
  if (a.norm && !normFusable(a.w, a.rows, a.xOffset ?? 0, gemv)) throw new Error(`linear ${a.w.label}: an RMSNorm prologue needs the gemv kernel (${a.rows} rows, ${a.w.format}, x offset ${a.xOffset ?? 0})`);
  if (a.argmax && (a.rows !== 1 || a.gate || a.split || a.gateUp || a.accumulate || !argmaxFusable(a.w, gemv) || a.w.rows >= 2 ** 24)) throw new Error(`linear ${a.w.label}: greedy partials need one row on the gemv kernel, no gate, split or accumulate, and under 2^24 outputs`);
}

/** y[:, yOffset .. yOffset + w.rows) of a y whose rows are a.w.rows wide; greedy partials from slot `groups`. */
function linearPiece(gpu: Gpu, step: Step, a: LinearArgs, w: WeightMatrix, yOffset: number, gemv: GemvShape, groups: number): void {
  const { rows, norm, split } = a;
  if ((w.format === 'q8' || w.format === 'q4') && !w.scales) throw new Error(`linear ${w.label}: ${w.format} weight without scales`);
  const params = {
    rows, n: w.rows, k: w.cols,
    x_offset: a.xOffset ?? 0, y_offset: yOffset, y_stride: a.argmax ? groups : a.gateUp ? a.w.rows / 2 : a.w.rows,
    has_bias: a.bias ? 1 : 0, accumulate: a.accumulate ? 1 : 0, gated: a.gate ? 1 : 0,
    start_pos: split?.append?.startPos ?? 0, cache_slots: split?.append?.maxSeq ?? 0,
  };
  const unused = unusedBinding(gpu);
  const buffers = [
    a.x, w.data, w.scales ?? unused, a.bias ?? unused, a.y, split?.y2 ?? a.gate ?? unusedWritableBinding(gpu, 0),
    norm?.weight ?? unused, split?.y3 ?? unusedWritableBinding(gpu, 1),
  ];
  const ACT = ACT_ID[a.activation ?? 'silu'];
  const SPLIT: Record<string, number> = split ? { SPLIT_A: split.widths[0], SPLIT_B: split.widths[1] } : a.gateUp ? { GATE_UP: 1 } : {};
  const append = split?.append;
  const includes = append ? { 'common/linear_pairs': 'common/linear_pairs_kv' } : undefined;
  if (append) {
    const { table, headDim } = append;
    buffers.push(table ? ropeTableBuffer(gpu, table) : unused);
    Object.assign(SPLIT, { HEAD_DIM: headDim, ROT_HALF: (table?.rotaryDim ?? 0) / 2, ATTN_FACTOR: table?.attentionFactor ?? 1 });
  }
  if (isGgmlFormat(w.format)) return ggmlLinear(gpu, step, { w, format: w.format, params, buffers, overrides: { ACT, ...SPLIT } });
  const NORM: Record<string, number> = norm ? { NORM: 1, NORM_WG: norm.wg ?? gpu.tuning.rowReduce, NORM_EPS: norm.eps, WEIGHT_OFFSET: norm.weightOffset } : {};
  const GREEDY: Record<string, number> = a.argmax ? { ARGMAX: 1 } : {};
  const format = FORMAT_ID[w.format];
  if (append?.attention) {
    const k = kernel(gpu, { shader: 'attention/qkv_decode', overrides: { FORMAT: format, WG: Math.max(FUSED_WG, NORM.NORM_WG ?? 1), ACT, ...NORM, ...SPLIT, ...fusedAttentionOverrides(gpu, append.attention, append.headDim, split!.widths[0] / split!.widths[1], append.startPos) }, includes });
    step.dispatch(k, buffers, params, [split!.widths[1] / append.headDim, 1, 1]);
  } else if (linearKernel({ cols: w.cols, format: w.format }, rows, params.x_offset, gemv) === 'gemv') {
    const { wg, lanes } = gemv;
    const mb = gemvRowsPerInvocation(rows, lanes === 1 ? BLOCKED_MAX_ROWS_PER_INVOCATION : GEMV_MAX_ROWS_PER_INVOCATION);
    const k = lanes === 1
      ? kernel(gpu, { shader: 'matmul/gemv_blocked', overrides: { FORMAT: format, WG: wg, MB: mb, ACT, ...NORM, ...SPLIT, ...GREEDY }, includes })
      : kernel(gpu, { shader: 'matmul/gemv', overrides: { FORMAT: format, WG: wg, LANES: lanes, MB: mb, ACT, ...NORM, ...SPLIT, ...GREEDY }, includes });
    const [gx, gy = 1] = grid1d(gpu, gemvGroups(w.rows, gemv));
    step.dispatch(k, buffers, params, [gx, gy, Math.ceil(rows / mb)]);
  } else {
    const { TX, TY } = GEMM_TILE;
    const k = kernel(gpu, { shader: 'matmul/gemm_tiled', overrides: { FORMAT: format, TX, TY, ACT, ...SPLIT }, includes });
    step.dispatch(k, buffers, params, [Math.ceil(w.rows / (4 * TX)), Math.ceil(rows / (4 * TY))]);
  }
}

