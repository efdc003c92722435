import type { Gpu } from '../gpu/device';
import type { Grid } from '../gpu/step';

/**
 * Spread `workgroups` over x and y when x alone would exceed the per-dimension limit.
 * Shaders recover the linear index as `wg.x + wg.y * num_workgroups.x`.
 */
export function grid1d(gpu: Gpu, workgroups: number): Grid {
  const max = gpu.adapter.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  if (workgroups <= max) return [workgroups, 1];
  const y = Math.ceil(workgroups / max);
  return [Math.ceil(workgroups / y), y];
}
