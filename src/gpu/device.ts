import { DeviceLostError, WebGPUUnavailableError } from '../contract/errors';
import { tuningFor, type Tuning } from './tuning';

/** What the runtime knows about the adapter it runs on. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
  /** true for CPU implementations (SwiftShader, lavapipe): tune for them, trust ratios not absolutes. */
  isSoftware: boolean;
  features: string[];
  limits: Record<string, number>;
}

export interface Gpu {
  device: GPUDevice;
  adapter: AdapterSummary;
  /** the kernel shapes for this kind of adapter, chosen once here */
  tuning: Tuning;
  hasF16: boolean;
  hasSubgroups: boolean;
  hasTimestamps: boolean;
  /** Resolves (never rejects) when the device is lost; the reason is a DeviceLostError. */
  lost: Promise<DeviceLostError>;
}

const WANTED_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
] as const;

/**
 * Which limits the device gets: 'adapter', the adapter's maxima of the limits the runtime uses (the runtime's
 * choice); 'default', WebGPU's guaranteed defaults, which every implementation offers (the kernel tests run
 * there too, so every kernel configuration is known to fit any adapter).
 */
export type LimitsRequest = 'adapter' | 'default';

export async function requestGpu(gpu: GPU | undefined, powerPreference: GPUPowerPreference = 'high-performance', limits: LimitsRequest = 'adapter'): Promise<Gpu> {
  if (!gpu) throw new WebGPUUnavailableError('WebGPU is not available here (navigator.gpu is missing; a secure context and a WebGPU-capable browser are required).');
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) throw new WebGPUUnavailableError('No WebGPU adapter was found.');
  const features = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  if (limits === 'adapter') for (const name of WANTED_LIMITS) requiredLimits[name] = (adapter.limits as unknown as Record<string, number>)[name];
  const device = await adapter.requestDevice({ label: 'webgpu-infer', requiredFeatures: features, requiredLimits });
  const deviceLimits = Object.fromEntries(WANTED_LIMITS.map((name) => [name, (device.limits as unknown as Record<string, number>)[name]]));
  const info = adapter.info;
  const description = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim();
  const summary: AdapterSummary = {
    vendor: info.vendor,
    architecture: info.architecture,
    description,
    isSoftware: /swiftshader|llvmpipe|lavapipe|software|cpu/i.test(description) || info.vendor === 'google' && info.architecture === '',
    features: [...device.features].sort(),
    limits: deviceLimits,
  };
  const lost = device.lost.then((info) => new DeviceLostError(`GPU device lost (${info.reason}): ${info.message}`, { reason: info.reason }));
  return {
    device,
    adapter: summary,
    tuning: tuningFor(summary),
    hasF16: device.features.has('shader-f16'),
    hasSubgroups: device.features.has('subgroups'),
    hasTimestamps: device.features.has('timestamp-query'),
    lost,
  };
}
