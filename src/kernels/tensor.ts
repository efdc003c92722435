import { UnsupportedModelError } from '../contract/errors';
import { isGgmlFormat, type MatrixFormat, type WeightFormat } from '../gpu/formats';

/** The weight formats and their codes live in src/gpu/formats.ts, the one map of them. */
export { FORMAT_ID, GGML_BLOCKS, is16Bit, isGgmlFormat, QUANT_BLOCK, type GgmlFormat, type MatrixFormat, type WeightFormat } from '../gpu/formats';

/** A linear layer's weight in Hugging Face layout: y = x · Wᵀ with W [rows = out, cols = in]. */
export interface WeightMatrix {
  format: MatrixFormat;
  rows: number;
  cols: number;
  data: GPUBuffer;
  /** q8/q4 only: f32 [rows, cols / 32] */
  scales?: GPUBuffer;
  label: string;
}

/**
 * A weight larger than one storage binding (embeddings and LM heads of big vocabularies), split by rows: piece i
 * holds rows [rowStart, rowStart + w.rows) as a WeightMatrix of its own. linear, embed and superposeEmbed take it.
 */
export interface SplitMatrix {
  format: MatrixFormat;
  rows: number;
  cols: number;
  label: string;
  pieces: { rowStart: number; w: WeightMatrix }[];
}

/** A matrix as its row pieces (one piece when it is not split). */
export function rowPieces(m: WeightMatrix | SplitMatrix): { rowStart: number; w: WeightMatrix }[] {
  return 'pieces' in m ? m.pieces : [{ rowStart: 0, w: m }];
}

/** The matrix's format for kernels that read only the dense formats (a GGUF block format is refused by name). */
export function denseFormat(m: Pick<WeightMatrix, 'format' | 'label'>, kernels: string): WeightFormat {
  if (isGgmlFormat(m.format)) throw new UnsupportedModelError(`${m.label}: the ${kernels} do not read GGUF ${m.format.toUpperCase()} blocks`, { tensor: m.label });
  return m.format;
}
