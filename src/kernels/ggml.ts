/** Linear layers and embedding lookups over weights in GGUF block formats (shaders/matmul/gemv_gguf.wgsl, misc/embed_gguf.wgsl). */
import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { unusedBinding } from '../gpu/buffers';
import { kernel } from '../gpu/kernel';
import { grid1d } from './grid';
import { gemvRowsPerInvocation, type LinearArgs } from './linear';
import { GGML_BLOCKS, type GgmlFormat, type WeightMatrix } from './tensor';

/** GGML override of the shaders, by format. */
const GGML_ID: Record<GgmlFormat, number> = { q8_0: 0, q4_k: 1, q6_k: 2 };
const WG = 64;

function checkBlocks(w: WeightMatrix, format: GgmlFormat, what: string): void {
  const { elements } = GGML_BLOCKS[format];
  if (w.cols % elements !== 0) throw new Error(`${what} ${w.label}: ${format} rows of ${w.cols} are not whole blocks of ${elements}`);
}

/** linear() for a GGUF block-format W: one invocation per output, up to 8 activation rows each, any number of rows. */
export function ggmlLinear(gpu: Gpu, step: Step, a: LinearArgs, format: GgmlFormat): void {
  const { w, rows } = a;
  checkBlocks(w, format, 'linear');
  const xOffset = a.xOffset ?? 0;
  if (xOffset % 4 !== 0) throw new Error(`linear ${w.label}: x offset ${xOffset} is not a multiple of 4`);
  const params = {
    rows, n: w.rows, k: w.cols, x_offset: xOffset, y_offset: a.yOffset ?? 0,
    has_bias: a.bias ? 1 : 0, accumulate: a.accumulate ? 1 : 0, gated: a.gate ? 1 : 0,
  };
  const unused = unusedBinding(gpu);
  const mb = gemvRowsPerInvocation(rows);
  const k = kernel(gpu, {
    shader: 'matmul/gemv_gguf',
    buffers: { x: 'read', w: 'read', scales: 'read', bias: 'read', y: 'rw', gate: 'read' },
    params: { rows: 'u32', n: 'u32', k: 'u32', x_offset: 'u32', y_offset: 'u32', has_bias: 'u32', accumulate: 'u32', gated: 'u32' },
    overrides: { GGML: GGML_ID[format], WG, MB: mb },
  });
  const [gx, gy = 1] = grid1d(gpu, Math.ceil(w.rows / WG));
  step.dispatch(k, [a.x, w.data, unused, a.bias ?? unused, a.y, a.gate ?? unused], params, [gx, gy, Math.ceil(rows / mb)]);
}

/** embed() for a GGUF block-format table: out[t, :] = row ids[idsOffset + t], decoded. */
export function ggmlEmbed(gpu: Gpu, step: Step, a: { ids: GPUBuffer; idsOffset: number; count: number; table: WeightMatrix; out: GPUBuffer }, format: GgmlFormat): void {
  checkBlocks(a.table, format, 'embed');
  const k = kernel(gpu, {
    shader: 'misc/embed_gguf',
    buffers: { ids: 'read', table: 'read', out: 'rw' },
    params: { idsOffset: 'u32', count: 'u32', cols: 'u32' },
    overrides: { WG, GGML: GGML_ID[format] },
  });
  step.dispatch(k, [a.ids, a.table.data, a.out], { idsOffset: a.idsOffset, count: a.count, cols: a.table.cols }, [Math.ceil(a.table.cols / 8 / WG), a.count]);
}
