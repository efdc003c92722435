import type { Gpu } from '../../src/gpu/device';
import { nodeGpu } from '../../src/node/gpu';

/** The test process's GPU (Dawn; SwiftShader when no hardware adapter exists). */
export async function testGpu(): Promise<Gpu> {
  return nodeGpu();
}
