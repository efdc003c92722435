import { describe, expect, it } from 'vitest';
import { kernelSuites } from './cases';
import { defaultLimitsGpu, testGpu } from './helpers/gpu';
import { relativeError } from './helpers/reference';

// Every case runs twice: on the device with the adapter's limits (what the runtime requests) and on one with
// WebGPU's default limits, which every implementation offers: kernel configurations chosen for GPUs (wider
// workgroups, more workgroup memory) must fit there too.
it('the default-limits device has WebGPU\'s default limits', async () => {
  expect((await defaultLimitsGpu()).adapter.limits).toMatchObject({ maxComputeWorkgroupStorageSize: 16384, maxStorageBuffersPerShaderStage: 8, maxStorageBufferBindingSize: 134217728 });
});

for (const [label, gpu] of [['', testGpu], ['default limits: ', defaultLimitsGpu]] as const) {
  for (const [suite, cases] of Object.entries(kernelSuites)) {
    describe(`${label}${suite}`, () => {
      for (const c of cases) {
        it(c.name, async () => {
          const { actual, expected, tolerance } = await c.run(await gpu());
          if (tolerance === 0) expect(Array.from(actual)).toEqual(Array.from(expected));
          else expect(relativeError(actual, expected)).toBeLessThanOrEqual(tolerance);
        });
      }
    });
  }
}
