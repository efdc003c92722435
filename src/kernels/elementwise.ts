import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from '../gpu/kernel';
import { grid1d } from './grid';

const WG = 64;

/** acc[0..n) += b[0..n) */
export function addInPlace(gpu: Gpu, step: Step, acc: GPUBuffer, b: GPUBuffer, n: number): void {
  const k = kernel(gpu, { shader: 'misc/add', overrides: { WG } });
  step.dispatch(k, [b, acc], { n }, grid1d(gpu, Math.ceil(n / WG)));
}

/** x[offset + i] = tanh(x[offset + i] / cap) · cap for i < n, in place (Gemma 2's final_logit_softcapping over logits). */
export function softcapInPlace(gpu: Gpu, step: Step, a: { x: GPUBuffer; n: number; cap: number; offset?: number }): void {
  if (!(a.cap > 0)) throw new Error(`softcapInPlace: cap must be > 0, got ${a.cap}`);
  const k = kernel(gpu, { shader: 'misc/softcap', overrides: { WG } });
  step.dispatch(k, [a.x], { n: a.n, offset: a.offset ?? 0, cap: a.cap }, grid1d(gpu, Math.ceil(a.n / WG)));
}
