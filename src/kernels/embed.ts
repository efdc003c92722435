import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from '../gpu/kernel';
import { ggmlEmbed } from './ggml';
import { FORMAT_ID, isGgmlFormat, rowPieces, type SplitMatrix, type WeightMatrix } from './tensor';

const WG = 64;

/** out[t, :] = table[ids[idsOffset + t], :] · scale for t < count, as f32 (scale default 1). A split table runs one dispatch per row piece. */
export function embed(gpu: Gpu, step: Step, a: { ids: GPUBuffer; idsOffset: number; count: number; table: WeightMatrix | SplitMatrix; out: GPUBuffer; scale?: number }): void {
  for (const { rowStart, w: table } of rowPieces(a.table)) {
    if (isGgmlFormat(table.format)) {
      ggmlEmbed(gpu, step, { ...a, table, rowStart }, table.format);
      continue;
    }
    if ((table.format === 'q8' || table.format === 'q4') && !table.scales) throw new Error(`embed: ${table.label} is ${table.format} but has no scales`);
    const k = kernel(gpu, { shader: 'misc/embed', overrides: { WG, FORMAT: FORMAT_ID[table.format], SCALE: a.scale ?? 1 } });
    // f32/f16 tables have no scales; the shader never reads that binding, so the table stands in for it
    const scales = table.scales ?? table.data;
    const params = { idsOffset: a.idsOffset, count: a.count, cols: table.cols, rowStart, tableRows: table.rows };
    step.dispatch(k, [a.ids, table.data, scales, a.out], params, [Math.ceil(table.cols / WG), a.count]);
  }
}
