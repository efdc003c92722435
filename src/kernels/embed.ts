import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from '../gpu/kernel';
import { ggmlEmbed } from './ggml';
import { isGgmlFormat, type WeightFormat, type WeightMatrix } from './tensor';

const WG = 64;
const FORMAT_CODE: Record<WeightFormat, number> = { f32: 0, f16: 1, q8: 2, q4: 3 };

/** out[t, :] = table[ids[idsOffset + t], :] for t < count, as f32. */
export function embed(gpu: Gpu, step: Step, a: { ids: GPUBuffer; idsOffset: number; count: number; table: WeightMatrix; out: GPUBuffer }): void {
  const { table } = a;
  if (isGgmlFormat(table.format)) return ggmlEmbed(gpu, step, a, table.format);
  if ((table.format === 'q8' || table.format === 'q4') && !table.scales) throw new Error(`embed: ${table.label} is ${table.format} but has no scales`);
  const k = kernel(gpu, {
    shader: 'misc/embed',
    buffers: { ids: 'read', table: 'read', scales: 'read', out: 'rw' },
    params: { idsOffset: 'u32', count: 'u32', cols: 'u32' },
    overrides: { WG, FORMAT: FORMAT_CODE[table.format] },
  });
  // f32/f16 tables have no scales; the shader never reads that binding, so the table stands in for it
  const scales = table.scales ?? table.data;
  step.dispatch(k, [a.ids, table.data, scales, a.out], { idsOffset: a.idsOffset, count: a.count, cols: table.cols }, [Math.ceil(table.cols / WG), a.count]);
}
