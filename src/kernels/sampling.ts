import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from '../gpu/kernel';

/** out[outOffset + r] = argmax of logits row (logitsRowOffset + r), for r < rows; ties go to the lowest index. */
export function argmax(
  gpu: Gpu,
  step: Step,
  a: { logits: GPUBuffer; rows: number; vocab: number; out: GPUBuffer; outOffset: number; logitsRowOffset?: number },
  width = gpu.tuning.vocabRow,
): void {
  const k = kernel(gpu, { shader: 'misc/argmax', overrides: { WG: width } });
  step.dispatch(k, [a.logits, a.out], { vocab: a.vocab, outOffset: a.outOffset, logitsRowOffset: a.logitsRowOffset ?? 0 }, [a.rows]);
}

/**
 * out[outOffset] = the token of linear()'s greedy partials [groups, 2] (the LM-head gemv with `argmax`): argmax's
 * token for the logits the gemv would have stored, ties to the lowest index, 0xffffffff for non-finite logits.
 */
export function argmaxReduce(gpu: Gpu, step: Step, a: { partials: GPUBuffer; groups: number; out: GPUBuffer; outOffset: number }, width = gpu.tuning.vocabRow): void {
  const k = kernel(gpu, { shader: 'misc/argmax_partials', overrides: { WG: width } });
  step.dispatch(k, [a.partials, a.out], { groups: a.groups, outOffset: a.outOffset }, [1]);
}

/**
 * probs[r, :] = renormalised softmax(logits[r, :] / temperature) over the top-k entries, then the top-p
 * nucleus, then the entries of at least minP times the top probability (Hugging Face order). topK 0, topP 1 and
 * minP 0 switch a cut off. Needs temperature > 0 (greedy is argmax).
 */
export function distribution(
  gpu: Gpu,
  step: Step,
  a: { logits: GPUBuffer; rows: number; vocab: number; probs: GPUBuffer; temperature: number; topK: number; topP: number; minP?: number },
  width = gpu.tuning.vocabRow,
): void {
  const minP = a.minP ?? 0;
  if (!(minP >= 0 && minP <= 1)) throw new Error(`distribution: minP ${minP} must be in [0, 1]`);
  if (!(a.temperature > 0)) throw new Error(`distribution: temperature ${a.temperature} must be > 0 (use argmax for greedy)`);
  if (!(a.topP > 0 && a.topP <= 1)) throw new Error(`distribution: topP ${a.topP} must be in (0, 1]`);
  const k = kernel(gpu, { shader: 'misc/distribution', overrides: { WG: width } });
  step.dispatch(k, [a.logits, a.probs], { vocab: a.vocab, temperature: a.temperature, topK: a.topK, topP: a.topP, minP }, [a.rows]);
}

/**
 * out[outOffset] = inverse-CDF sample of probs row `row` in index order at `uniform` in [0, 1). The summation
 * order depends on `width` (the threads' chunks), so a CPU replay needs the same width.
 */
export function sampleFromProbs(
  gpu: Gpu,
  step: Step,
  a: { probs: GPUBuffer; row: number; vocab: number; uniform: number; out: GPUBuffer; outOffset: number },
  width = gpu.tuning.vocabRow,
): void {
  if (!(a.uniform >= 0 && a.uniform < 1)) throw new Error(`sampleFromProbs: uniform ${a.uniform} is not in [0, 1)`);
  const k = kernel(gpu, { shader: 'misc/sample', overrides: { WG: width } });
  step.dispatch(k, [a.probs, a.out], { row: a.row, vocab: a.vocab, uniform: a.uniform, outOffset: a.outOffset }, [1]);
}
