import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from '../gpu/kernel';
import { grid1d } from './grid';

/** x[r, :] = softmax(x[r, :]) in place for `rows` rows of `cols` f32 (max-subtracted). `wg` overrides the reduction width. */
export function softmaxRows(gpu: Gpu, step: Step, a: { x: GPUBuffer; rows: number; cols: number }, wg = gpu.tuning.rowReduce): void {
  const k = kernel(gpu, { shader: 'misc/softmax', overrides: { WG: wg } });
  step.dispatch(k, [a.x], { cols: a.cols }, grid1d(gpu, a.rows));
}
