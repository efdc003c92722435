import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from './kernel';
import { grid1d } from './grid';

const WG = 64;

/** out[i] = silu(gate[i]) * up[i] for i < n; `out` must not alias `gate` or `up`. */
export function swiglu(gpu: Gpu, step: Step, a: { gate: GPUBuffer; up: GPUBuffer; out: GPUBuffer; n: number }): void {
  const k = kernel(gpu, { shader: 'misc/swiglu', buffers: { gate: 'read', up: 'read', out: 'rw' }, params: { n: 'u32' }, overrides: { WG } });
  step.dispatch(k, [a.gate, a.up, a.out], { n: a.n }, grid1d(gpu, Math.ceil(a.n / WG)));
}
