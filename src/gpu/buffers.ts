import type { Gpu } from './device';

/** Storage usage for every runtime buffer (a function: GPUBufferUsage exists only once WebGPU is installed). */
const storageUsage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** A zero-filled storage buffer. WebGPU needs sizes that are multiples of 4 and at least 4 bytes. */
export function storageBuffer(gpu: Gpu, label: string, bytes: number): GPUBuffer {
  return gpu.device.createBuffer({ label, size: align4(Math.max(4, bytes)), usage: storageUsage() });
}

/** A storage buffer holding `data` (typed array, copied). */
export function uploadBuffer(gpu: Gpu, label: string, data: ArrayBufferView): GPUBuffer {
  const buffer = gpu.device.createBuffer({ label, size: align4(Math.max(4, data.byteLength)), usage: storageUsage(), mappedAtCreation: true });
  new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  buffer.unmap();
  return buffer;
}

/** Copy `bytes` of a buffer back to the CPU (waits for queued work). Tests and loaders only: decode paths use Step.read. */
export async function readBuffer(gpu: Gpu, buffer: GPUBuffer, bytes = buffer.size, offset = 0): Promise<ArrayBuffer> {
  const staging = gpu.device.createBuffer({ label: 'read', size: align4(bytes), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = gpu.device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, offset, staging, 0, align4(bytes));
  gpu.device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0, bytes);
  staging.destroy();
  return out;
}

export const readF32 = async (gpu: Gpu, buffer: GPUBuffer, count: number) => new Float32Array(await readBuffer(gpu, buffer, 4 * count));
export const readU32 = async (gpu: Gpu, buffer: GPUBuffer, count: number) => new Uint32Array(await readBuffer(gpu, buffer, 4 * count));

export function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

const placeholders = new WeakMap<GPUDevice, GPUBuffer>();

/** A 16-byte storage buffer bound where a kernel's optional input (bias, scales, shared expert) is absent. */
export function unusedBinding(gpu: Gpu): GPUBuffer {
  let buffer = placeholders.get(gpu.device);
  if (!buffer) {
    buffer = gpu.device.createBuffer({ label: 'unused-binding', size: 16, usage: GPUBufferUsage.STORAGE });
    placeholders.set(gpu.device, buffer);
  }
  return buffer;
}

const writablePlaceholders = new WeakMap<GPUDevice, GPUBuffer[]>();

/**
 * The i-th 16-byte storage buffer bound where a kernel's optional read-write binding is absent: one per slot, so
 * no buffer is bound twice in a dispatch (a buffer may not be both read-only and writable in one dispatch).
 */
export function unusedWritableBinding(gpu: Gpu, i: number): GPUBuffer {
  let list = writablePlaceholders.get(gpu.device);
  if (!list) writablePlaceholders.set(gpu.device, (list = []));
  return (list[i] ??= gpu.device.createBuffer({ label: `unused-writable-${i}`, size: 16, usage: GPUBufferUsage.STORAGE }));
}
