import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { uploadBuffer } from '../gpu/buffers';
import { kernel } from '../gpu/kernel';
import { ropeTable, type RopeScaling, type RopeTable } from './rope_table';

export type { RopeScaling, RopeTable } from './rope_table';

const WG = 64;

/** inv_freq for a full-head rotation (ropeTable's invFreq; kept for callers that need only the frequencies). */
export function ropeInvFreq(headDim: number, theta: number, scaling?: RopeScaling): Float32Array {
  return ropeTable({ headDim, theta, scaling }).invFreq;
}

/** How a RoPE call names its rotation: a table (ropeTable), or rope_theta and scaling for a full-head table. */
export interface Rotation {
  theta?: number;
  scaling?: RopeScaling;
  /** takes precedence over theta and scaling */
  table?: RopeTable;
}

const tablesByKey = new Map<string, RopeTable>();
const tableBuffers = new WeakMap<Gpu, WeakMap<RopeTable, GPUBuffer>>();

/** The table a rotation names; theta/scaling tables are built once per (headDim, theta, scaling). */
export function rotationTable(headDim: number, r: Rotation): RopeTable {
  if (r.table) return r.table;
  if (r.theta === undefined) throw new Error('rope: a rotation needs a table or theta');
  const key = JSON.stringify([headDim, r.theta, r.scaling ?? null]);
  let table = tablesByKey.get(key);
  if (!table) tablesByKey.set(key, (table = ropeTable({ headDim, theta: r.theta, scaling: r.scaling })));
  return table;
}

/** The table's invFreq on the GPU, uploaded once per (GPU, table). */
export function ropeTableBuffer(gpu: Gpu, table: RopeTable): GPUBuffer {
  let cache = tableBuffers.get(gpu);
  if (!cache) tableBuffers.set(gpu, (cache = new WeakMap()));
  let buffer = cache.get(table);
  if (!buffer) cache.set(table, (buffer = uploadBuffer(gpu, `rope-inv-freq ${table.rotaryDim}`, table.invFreq)));
  return buffer;
}

/**
 * Rotate x [tokens, heads, headDim] in place; token t sits at position startPos + t. A partial rotary table
 * rotates the first rotaryDim dims of each head and leaves the rest.
 */
export function rope(gpu: Gpu, step: Step, a: Rotation & { x: GPUBuffer; tokens: number; heads: number; headDim: number; startPos: number }): void {
  if (a.headDim % 2 !== 0) throw new Error(`rope: headDim ${a.headDim} is odd`);
  const table = rotationTable(a.headDim, a);
  if (table.rotaryDim > a.headDim) throw new Error(`rope: rotaryDim ${table.rotaryDim} exceeds headDim ${a.headDim}`);
  const k = kernel(gpu, { shader: 'misc/rope', overrides: { WG, ATTN_FACTOR: table.attentionFactor } });
  const rotHalf = table.rotaryDim / 2;
  step.dispatch(k, [ropeTableBuffer(gpu, table), a.x], { tokens: a.tokens, heads: a.heads, headDim: a.headDim, startPos: a.startPos, rotHalf }, [Math.ceil(rotHalf / WG), a.tokens, a.heads]);
}
