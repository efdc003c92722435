import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from '../gpu/kernel';

/** Threads per row of the whole-vocabulary row reductions on GPUs. */
export const ROW_WIDTH_GPU = 256;
/**
 * Threads per row of the same reductions on CPU adapters, where every barrier of a wider tree costs more than
 * the longer strided loops (SwiftShader, vocabulary 2048: argmax 3.5x, top-k distribution 3.4x, top-n 7x faster than at 64).
 */
export const ROW_WIDTH_CPU = 4;
export const rowWidth = (gpu: Gpu) => (gpu.adapter.isSoftware ? ROW_WIDTH_CPU : ROW_WIDTH_GPU);

/** out[outOffset + r] = argmax of logits row (logitsRowOffset + r), for r < rows; ties go to the lowest index. */
export function argmax(
  gpu: Gpu,
  step: Step,
  a: { logits: GPUBuffer; rows: number; vocab: number; out: GPUBuffer; outOffset: number; logitsRowOffset?: number },
  width = rowWidth(gpu),
): void {
  const k = kernel(gpu, { shader: 'misc/argmax', overrides: { WG: width } });
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
  width = rowWidth(gpu),
): void {
  if (!(a.temperature > 0)) throw new Error(`distribution: temperature ${a.temperature} must be > 0 (use argmax for greedy)`);
  if (!(a.topP > 0 && a.topP <= 1)) throw new Error(`distribution: topP ${a.topP} must be in (0, 1]`);
  const k = kernel(gpu, { shader: 'misc/distribution', overrides: { WG: width } });
  step.dispatch(k, [a.logits, a.probs], { vocab: a.vocab, temperature: a.temperature, topK: a.topK, topP: a.topP }, [a.rows]);
}

/**
 * out[outOffset] = inverse-CDF sample of probs row `row` in index order at `uniform` in [0, 1). The summation
 * order depends on `width` (the threads' chunks), so a CPU replay needs the same width.
 */
export function sampleFromProbs(
  gpu: Gpu,
  step: Step,
  a: { probs: GPUBuffer; row: number; vocab: number; uniform: number; out: GPUBuffer; outOffset: number },
  width = rowWidth(gpu),
): void {
  if (!(a.uniform >= 0 && a.uniform < 1)) throw new Error(`sampleFromProbs: uniform ${a.uniform} is not in [0, 1)`);
  const k = kernel(gpu, { shader: 'misc/sample', overrides: { WG: width } });
  step.dispatch(k, [a.probs, a.out], { row: a.row, vocab: a.vocab, uniform: a.uniform, outOffset: a.outOffset }, [1]);
}
