import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from '../gpu/kernel';
import { grid1d } from './grid';

const WG = 64;

/** acc[0..n) += b[0..n) */
export function addInPlace(gpu: Gpu, step: Step, acc: GPUBuffer, b: GPUBuffer, n: number): void {
  const k = kernel(gpu, { shader: 'misc/add', buffers: { b: 'read', acc: 'rw' }, params: { n: 'u32' }, overrides: { WG } });
  step.dispatch(k, [b, acc], { n }, grid1d(gpu, Math.ceil(n / WG)));
}
