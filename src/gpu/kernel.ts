import type { Gpu } from './device';
import { encodeParams, shaderInterface, type ParamField, type StorageBinding } from './shader_interface';
import { shaderSource } from './wgsl';

/**
 * A compute kernel: one WGSL entry point (`main`) in `shaders/<shader>.wgsl`. The shader declares its contract
 * (src/gpu/shader_interface.ts): binding 0 is the `params` uniform, a `struct Params` of u32/i32/f32 fields packed
 * by name; bindings 1..n are the storage buffers, passed to dispatches in binding order.
 */
export interface KernelSpec {
  /** shader file under shaders/, without extension */
  shader: string;
  /** pipeline-overridable constants (workgroup sizes, tiles): part of the pipeline cache key */
  overrides?: Record<string, number>;
  /** includes replaced by variants (shaderSource's substitutes): part of the pipeline cache key */
  includes?: Record<string, string>;
}

export const PARAM_SLOT_BYTES = 256;

export class Kernel {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly buffers: StorageBinding[];
  readonly params: ParamField[];
  private readonly bindGroups = new Map<string, GPUBindGroup>();

  constructor(readonly gpu: Gpu, readonly key: string, readonly spec: KernelSpec) {
    const { device } = gpu;
    const code = shaderSource(spec.shader, spec.includes);
    ({ params: this.params, buffers: this.buffers } = shaderInterface(spec.shader, code));
    this.layout = device.createBindGroupLayout({
      label: key,
      entries: [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: PARAM_SLOT_BYTES } },
        ...this.buffers.map(({ access }, i) => ({
          binding: i + 1,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: access === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
        })),
      ],
    });
    const module = device.createShaderModule({ label: spec.shader, code });
    this.pipeline = device.createComputePipeline({
      label: key,
      layout: device.createPipelineLayout({ label: key, bindGroupLayouts: [this.layout] }),
      compute: { module, entryPoint: 'main', constants: spec.overrides ?? {} },
    });
  }

  /** Bind group for (param arena, buffers); cached by buffer identity because activations are reused. */
  bindGroup(paramArena: GPUBuffer, buffers: GPUBuffer[]): GPUBindGroup {
    if (buffers.length !== this.buffers.length) {
      throw new Error(`${this.key}: expected ${this.buffers.length} buffers (${this.buffers.map((b) => b.name).join(', ')}), got ${buffers.length}`);
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

  /** Writes params into the uniform slot at byteOffset, by name (struct Params of the shader). */
  encodeParams(values: Record<string, number>, into: DataView, byteOffset: number): void {
    encodeParams(this.key, this.params, values, into, byteOffset);
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
  const includes = Object.entries(spec.includes ?? {}).map(([from, to]) => `[${from}=>${to}]`).join('');
  const key = `${spec.shader}${includes}${overrides.length ? '{' + overrides.map(([k, v]) => `${k}=${v}`).join(',') + '}' : ''}`;
  let k = cache.get(key);
  if (!k) cache.set(key, (k = new Kernel(gpu, key, spec)));
  return k;
}

/** How many pipelines the device's cache holds: a pass that raises it compiled some (slow on CPU adapters). */
export function pipelineCount(gpu: Gpu): number {
  return caches.get(gpu.device)?.size ?? 0;
}

/** Drops every cached bind group built on `paramArena` (a disposed runtime's): they would keep its buffers alive. */
export function releaseBindGroups(gpu: Gpu, paramArena: GPUBuffer): void {
  const prefix = `${bufferId(paramArena)},`;
  for (const k of caches.get(gpu.device)?.values() ?? []) k.forgetBindGroups(prefix);
}
