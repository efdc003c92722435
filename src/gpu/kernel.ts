import type { Gpu } from './device';
import { shaderSource } from './wgsl';

/** How a storage binding is used by the shader: `read` = read-only storage, `rw` = read-write storage. */
export type Access = 'read' | 'rw';
export type ParamType = 'u32' | 'i32' | 'f32';

/**
 * A compute kernel: one WGSL entry point (`main`) in `shaders/<shader>.wgsl`.
 * Binding 0 is always the `params` uniform (fields in the order given, matching the WGSL struct);
 * bindings 1..n are the storage buffers, in `buffers` order.
 */
export interface KernelSpec {
  /** shader file under shaders/, without extension */
  shader: string;
  /** storage bindings 1..n: name -> access (names document the call sites and error messages) */
  buffers: Record<string, Access>;
  /** uniform fields in WGSL struct order */
  params: Record<string, ParamType>;
  /** pipeline-overridable constants (workgroup sizes, tiles): part of the pipeline cache key */
  overrides?: Record<string, number>;
}

export const PARAM_SLOT_BYTES = 256;

export class Kernel {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly bufferNames: string[];
  readonly paramFields: [string, ParamType][];
  private readonly bindGroups = new Map<string, GPUBindGroup>();

  constructor(readonly gpu: Gpu, readonly key: string, readonly spec: KernelSpec) {
    const { device } = gpu;
    this.bufferNames = Object.keys(spec.buffers);
    this.paramFields = Object.entries(spec.params);
    this.layout = device.createBindGroupLayout({
      label: key,
      entries: [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: PARAM_SLOT_BYTES } },
        ...Object.values(spec.buffers).map((access, i) => ({
          binding: i + 1,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: access === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
        })),
      ],
    });
    const module = device.createShaderModule({ label: spec.shader, code: shaderSource(spec.shader) });
    this.pipeline = device.createComputePipeline({
      label: key,
      layout: device.createPipelineLayout({ label: key, bindGroupLayouts: [this.layout] }),
      compute: { module, entryPoint: 'main', constants: spec.overrides ?? {} },
    });
  }

  /** Bind group for (param arena, buffers); cached by buffer identity because activations are reused. */
  bindGroup(paramArena: GPUBuffer, buffers: GPUBuffer[]): GPUBindGroup {
    if (buffers.length !== this.bufferNames.length) {
      throw new Error(`${this.key}: expected ${this.bufferNames.length} buffers (${this.bufferNames.join(', ')}), got ${buffers.length}`);
    }
    const cacheKey = [paramArena, ...buffers].map(bufferId).join(',');
    let group = this.bindGroups.get(cacheKey);
    if (!group) {
      if (this.bindGroups.size > 4096) this.bindGroups.clear();
      group = this.gpu.device.createBindGroup({
        label: this.key,
        layout: this.layout,
        entries: [
          { binding: 0, resource: { buffer: paramArena, size: PARAM_SLOT_BYTES } },
          ...buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } })),
        ],
      });
      this.bindGroups.set(cacheKey, group);
    }
    return group;
  }

  /** Drops the cached bind groups whose key starts with `prefix` (those of one param arena). */
  forgetBindGroups(prefix: string): void {
    for (const key of this.bindGroups.keys()) if (key.startsWith(prefix)) this.bindGroups.delete(key);
  }

  /** Encode params into 32-bit words in struct order. */
  encodeParams(values: Record<string, number>, into: DataView, byteOffset: number): void {
    this.paramFields.forEach(([name, type], i) => {
      const v = values[name];
      if (v === undefined || Number.isNaN(v)) throw new Error(`${this.key}: missing param "${name}"`);
      const at = byteOffset + 4 * i;
      if (type === 'f32') into.setFloat32(at, v, true);
      else if (type === 'i32') into.setInt32(at, v, true);
      else into.setUint32(at, v, true);
    });
  }
}

const ids = new WeakMap<GPUBuffer, number>();
let nextId = 1;
function bufferId(buffer: GPUBuffer): number {
  let id = ids.get(buffer);
  if (id === undefined) ids.set(buffer, (id = nextId++));
  return id;
}

const caches = new WeakMap<GPUDevice, Map<string, Kernel>>();

/** The pipeline cache: one Kernel per (shader, overrides) per device. */
export function kernel(gpu: Gpu, spec: KernelSpec): Kernel {
  let cache = caches.get(gpu.device);
  if (!cache) caches.set(gpu.device, (cache = new Map()));
  const overrides = Object.entries(spec.overrides ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const key = `${spec.shader}${overrides.length ? '{' + overrides.map(([k, v]) => `${k}=${v}`).join(',') + '}' : ''}`;
  let k = cache.get(key);
  if (!k) cache.set(key, (k = new Kernel(gpu, key, spec)));
  return k;
}

/** Drops every cached bind group built on `paramArena` (a disposed runtime's): they would keep its buffers alive. */
export function releaseBindGroups(gpu: Gpu, paramArena: GPUBuffer): void {
  const prefix = `${bufferId(paramArena)},`;
  for (const k of caches.get(gpu.device)?.values() ?? []) k.forgetBindGroups(prefix);
}
