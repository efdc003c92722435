import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestGpu, type Gpu, type LimitsRequest } from '../gpu/device';
import { WebGPUUnavailableError } from '../contract/errors';

/** Debian's Chromium ships SwiftShader, a CPU Vulkan driver: the fallback when no GPU driver exists. */
const SWIFTSHADER_ICD = ['/usr/lib/chromium/vk_swiftshader_icd.json', '/usr/lib/chromium-browser/vk_swiftshader_icd.json'];

const cached = new Map<LimitsRequest, Promise<Gpu>>();
/** Dawn frees a GPU instance once it is garbage collected, even while its device is in use: keep them alive. */
const instances: GPU[] = [];

/**
 * WebGPU in Node through Dawn (the `webgpu` package), one shared device per `limits` kind. Prefers a hardware
 * adapter; falls back to SwiftShader. `WEBGPU_INFER_ADAPTER=swiftshader` forces the fallback.
 */
export function nodeGpu(limits: LimitsRequest = 'adapter'): Promise<Gpu> {
  let gpu = cached.get(limits);
  if (!gpu) {
    gpu = acquire(limits).then(
      (acquired) => {
        void acquired.lost.then(() => cached.delete(limits)); // the next caller gets a fresh device
        return acquired;
      },
      (e) => {
        cached.delete(limits);
        throw e;
      },
    );
    cached.set(limits, gpu);
  }
  return gpu;
}

async function acquire(limits: LimitsRequest): Promise<Gpu> {
  const webgpu = await import('webgpu').catch((e) => {
    throw new WebGPUUnavailableError(`the "webgpu" package (Dawn for Node) could not be loaded: ${e}`);
  });
  Object.assign(globalThis, webgpu.globals);
  quietVulkan();
  const forceSoftware = process.env.WEBGPU_INFER_ADAPTER === 'swiftshader';
  if (!forceSoftware && !process.env.VK_ICD_FILENAMES && hasVulkanDriver() && hasGpuDevice()) {
    const gpu = keep(webgpu.create([]));
    const adapter = await gpu.requestAdapter();
    if (adapter && !/swiftshader|llvmpipe/i.test(`${adapter.info.description} ${adapter.info.device}`)) return requestGpu(gpu, 'high-performance', limits);
  }
  const icd = SWIFTSHADER_ICD.find(existsSync);
  if (!icd && !process.env.VK_ICD_FILENAMES) {
    throw new WebGPUUnavailableError('No GPU adapter and no SwiftShader Vulkan driver found (install Debian\'s "chromium" and "libvulkan1").');
  }
  process.env.VK_ICD_FILENAMES ??= icd;
  return requestGpu(keep(webgpu.create([])), 'high-performance', limits);
}

/** Any installed Vulkan driver manifest (a hardware GPU's, usually); without one only SwiftShader can work. */
function hasVulkanDriver(): boolean {
  return ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'].some((dir) => existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.json')));
}

/**
 * A GPU shows up as a device node (/dev/dri/renderD*, /dev/nvidia*). Without one, probing the installed Vulkan
 * drivers finds nothing and fills the terminal with the loader's and Dawn's complaints: go to SwiftShader directly.
 */
function hasGpuDevice(): boolean {
  const nodes = (dir: string, prefix: string) => existsSync(dir) && readdirSync(dir).some((f) => f.startsWith(prefix));
  return nodes('/dev/dri', 'renderD') || nodes('/dev', 'nvidia');
}

/** Vulkan's window-system code complains without an XDG_RUNTIME_DIR (containers, CI, ssh): give it a private one. */
function quietVulkan(): void {
  if (process.env.XDG_RUNTIME_DIR) return;
  const dir = join(tmpdir(), `webgpu-infer-runtime-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}

function keep(gpu: GPU): GPU {
  instances.push(gpu);
  return gpu;
}
