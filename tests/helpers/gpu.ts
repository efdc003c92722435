import type { Gpu } from '../../src/gpu/device';
import { nodeGpu } from '../../src/node/gpu';

/** The test process's GPU (Dawn; SwiftShader when no hardware adapter exists). */
export async function testGpu(): Promise<Gpu> {
  return nodeGpu();
}

/** The same adapter with WebGPU's default limits (16 KiB of workgroup memory, 8 storage buffers per stage, ...). */
export async function defaultLimitsGpu(): Promise<Gpu> {
  return nodeGpu('default');
}
