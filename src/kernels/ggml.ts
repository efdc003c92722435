/** Linear layers and embedding lookups over weights in GGUF block formats (shaders/matmul/gemv_gguf.wgsl, misc/embed_gguf.wgsl). */
import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from '../gpu/kernel';
import { grid1d } from './grid';
import { gemvRowsPerInvocation } from './linear';
import { GGML_BLOCKS, type GgmlFormat, type WeightMatrix } from './tensor';

const WG = 64;
/** Outputs per invocation of the gemv (OUTPUTS in shaders/matmul/gemv_gguf.wgsl). */
const OUTPUTS = 4;

function checkBlocks(w: WeightMatrix, format: GgmlFormat, what: string): void {
  const { elements } = GGML_BLOCKS[format];
  if (w.cols % elements !== 0) throw new Error(`${what} ${w.label}: ${format} rows of ${w.cols} are not whole blocks of ${elements}`);
}

/** linear()'s parameters and bindings for one weight piece (src/kernels/linear.ts, common/linear_io.wgsl). */
export interface GgmlLinearArgs {
  w: WeightMatrix;
  format: GgmlFormat;
  params: { rows: number; n: number; k: number; x_offset: number; y_offset: number; y_stride: number; has_bias: number; accumulate: number; gated: number };
  /** x, w, scales (unused), bias, y, gate, normWeight (unused), y3 (common/linear_io.wgsl) */
  buffers: GPUBuffer[];
  /** the gated activation's ACT and the split outputs' overrides */
  overrides: Record<string, number>;
}

/** linear() for a GGUF block-format W: 4 outputs per invocation, up to 8 activation rows each, any number of rows. */
export function ggmlLinear(gpu: Gpu, step: Step, { w, format, params, buffers, overrides }: GgmlLinearArgs): void {
  checkBlocks(w, format, 'linear');
  if (params.x_offset % 4 !== 0) throw new Error(`linear ${w.label}: x offset ${params.x_offset} is not a multiple of 4`);
  const mb = gemvRowsPerInvocation(params.rows);
  const k = kernel(gpu, { shader: 'matmul/gemv_gguf', overrides: { GGML: GGML_BLOCKS[format].code, WG, MB: mb, ...overrides } });
  const [gx, gy = 1] = grid1d(gpu, Math.ceil(w.rows / OUTPUTS / WG));
  step.dispatch(k, buffers, params, [gx, gy, Math.ceil(params.rows / mb)]);
}

/** embed() for one row piece (rows rowStart.. of the whole table) in a GGUF block format: out[t, :] = row ids[idsOffset + t], decoded. */
export function ggmlEmbed(gpu: Gpu, step: Step, a: { ids: GPUBuffer; idsOffset: number; count: number; table: WeightMatrix; rowStart: number; out: GPUBuffer }, format: GgmlFormat): void {
  checkBlocks(a.table, format, 'embed');
  const k = kernel(gpu, { shader: 'misc/embed_gguf', overrides: { WG, GGML: GGML_BLOCKS[format].code } });
  const params = { idsOffset: a.idsOffset, count: a.count, cols: a.table.cols, rowStart: a.rowStart, tableRows: a.table.rows };
  step.dispatch(k, [a.ids, a.table.data, a.out], params, [Math.ceil(a.table.cols / 8 / WG), a.count]);
}
