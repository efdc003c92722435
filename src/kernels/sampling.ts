import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from './kernel';

/** Workgroup width of the per-row reductions: narrow on CPU adapters, where wide barriers are slow. */
/** Threads per row for whole-vocabulary row reductions (narrow on CPU adapters, where wide reductions are slow). */
export const rowWidth = (gpu: Gpu) => (gpu.adapter.isSoftware ? 64 : 256);

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

/**
 * probs[r, :] = renormalised softmax(logits[r, :] / temperature) over the top-k entries and then the top-p
 * nucleus (Hugging Face order). topK 0 and topP 1 switch a cut off. Needs temperature > 0 (greedy is argmax).
 */
export function distribution(
  gpu: Gpu,
  step: Step,
  a: { logits: GPUBuffer; rows: number; vocab: number; probs: GPUBuffer; temperature: number; topK: number; topP: number },
): void {
  if (!(a.temperature > 0)) throw new Error(`distribution: temperature ${a.temperature} must be > 0 (use argmax for greedy)`);
  if (!(a.topP > 0 && a.topP <= 1)) throw new Error(`distribution: topP ${a.topP} must be in (0, 1]`);
  const k = kernel(gpu, {
    shader: 'misc/distribution',
    buffers: { logits: 'read', probs: 'rw' },
    params: { vocab: 'u32', temperature: 'f32', topK: 'u32', topP: 'f32' },
    overrides: { WG: rowWidth(gpu) },
  });
  step.dispatch(k, [a.logits, a.probs], { vocab: a.vocab, temperature: a.temperature, topK: a.topK, topP: a.topP }, [a.rows]);
}

/** Threads of the sampling kernel; the CPU replay of its summation order needs the same count. */
export const sampleWidth = (gpu: Gpu): number => rowWidth(gpu);

/** out[outOffset] = inverse-CDF sample of probs row `row` in index order at `uniform` in [0, 1). */
export function sampleFromProbs(
  gpu: Gpu,
  step: Step,
  a: { probs: GPUBuffer; row: number; vocab: number; uniform: number; out: GPUBuffer; outOffset: number },
): void {
  if (!(a.uniform >= 0 && a.uniform < 1)) throw new Error(`sampleFromProbs: uniform ${a.uniform} is not in [0, 1)`);
  const k = kernel(gpu, {
    shader: 'misc/sample',
    buffers: { probs: 'read', out: 'rw' },
    params: { row: 'u32', vocab: 'u32', uniform: 'f32', outOffset: 'u32' },
    overrides: { WG: sampleWidth(gpu) },
  });
  step.dispatch(k, [a.probs, a.out], { row: a.row, vocab: a.vocab, uniform: a.uniform, outOffset: a.outOffset }, [1]);
}
