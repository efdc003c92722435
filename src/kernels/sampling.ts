import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from './kernel';

/** Workgroup width of the per-row reductions: narrow on CPU adapters, where wide barriers are slow. */
const rowWidth = (gpu: Gpu) => (gpu.adapter.isSoftware ? 64 : 256);

/** out[outOffset + r] = argmax of logits row (logitsRowOffset + r), for r < rows; ties go to the lowest index. */
export function argmax(
  gpu: Gpu,
  step: Step,
  a: { logits: GPUBuffer; rows: number; vocab: number; out: GPUBuffer; outOffset: number; logitsRowOffset?: number },
): void {
  const k = kernel(gpu, {
    shader: 'misc/argmax',
    buffers: { logits: 'read', out: 'rw' },
    params: { vocab: 'u32', outOffset: 'u32', logitsRowOffset: 'u32' },
    overrides: { WG: rowWidth(gpu) },
  });
  step.dispatch(k, [a.logits, a.out], { vocab: a.vocab, outOffset: a.outOffset, logitsRowOffset: a.logitsRowOffset ?? 0 }, [a.rows]);
}
