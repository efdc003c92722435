/**
 * A kernel's contract with its caller, read from the shader itself, so that it is declared once: the WGSL
 * `struct Params` (the uniform at binding 0) gives the params' names, types and byte offsets, packed by name,
 * and the `@group(0) @binding(n) var<storage, ...>` declarations give the storage bindings 1..n, their names
 * and access, from which the bind group layout is built (a binding number the shader skips is a read-only slot
 * it never reads).
 */

export type ParamType = 'u32' | 'i32' | 'f32';
/** How a storage binding is used by the shader: `read` = read-only storage, `rw` = read-write storage. */
export type Access = 'read' | 'rw';

export interface ParamField {
  name: string;
  type: ParamType;
  /** byte offset in the uniform (WGSL layout: 4-byte scalars back to back) */
  offset: number;
}

export interface StorageBinding {
  name: string;
  access: Access;
}

export interface ShaderInterface {
  params: ParamField[];
  /** storage bindings 1..n in binding order */
  buffers: StorageBinding[];
}

const PARAM_TYPES: readonly string[] = ['u32', 'i32', 'f32'];
const STRUCT = /\bstruct\s+Params\s*\{([^}]*)\}/;
const BINDING = /@group\(\s*0\s*\)\s*@binding\(\s*(\d+)\s*\)\s*var\s*<\s*([\w\s,]+?)\s*>\s*(\w+)\s*:\s*([\w<>,\s]+?)\s*;/g;

/** The interface of an expanded WGSL source (includes resolved); `label` names the shader in errors. */
export function shaderInterface(label: string, source: string): ShaderInterface {
  const text = source.replace(/\/\/[^\n]*/g, '');
  const struct = STRUCT.exec(text);
  if (!struct) throw new Error(`${label}: no \`struct Params\` (every kernel takes its params as a uniform struct at binding 0)`);
  const params = struct[1].split(',').map((f) => f.trim()).filter(Boolean).map((field, i) => {
    const [name, type] = field.split(':').map((s) => s.trim());
    if (!PARAM_TYPES.includes(type)) throw new Error(`${label}: Params.${name} is ${type}; params are u32, i32 or f32 scalars`);
    return { name, type: type as ParamType, offset: 4 * i };
  });
  const buffers: StorageBinding[] = [];
  const declared = [...text.matchAll(BINDING)].sort((a, b) => Number(a[1]) - Number(b[1]));
  for (const [, binding, space, name, type] of declared) {
    const n = Number(binding);
    if (n === 0) {
      if (space !== 'uniform' || name !== 'params' || type !== 'Params') throw new Error(`${label}: binding 0 must be \`var<uniform> params: Params\``);
      continue;
    }
    if (n <= buffers.length) throw new Error(`${label}: binding ${n} is declared twice`);
    // a binding the shader skips (its family's layout has it: the linear kernels' RMSNorm weight) is bound read-only, unread
    while (buffers.length + 1 < n) buffers.push({ name: `unused${buffers.length + 1}`, access: 'read' });
    const access = space.replace(/\s/g, '');
    if (access !== 'storage,read' && access !== 'storage,read_write') throw new Error(`${label}: binding ${n} (${name}) is var<${space}>; bindings 1..n are storage buffers`);
    buffers.push({ name, access: access === 'storage,read' ? 'read' : 'rw' });
  }
  return { params, buffers };
}

/**
 * Writes `values` into the uniform at `byteOffset` by field name. Every field must be given, and nothing else:
 * a name the struct lacks, a missing one, a non-integer or out-of-range u32/i32 or a NaN throws.
 */
export function encodeParams(label: string, fields: ParamField[], values: Record<string, number>, into: DataView, byteOffset: number): void {
  let given = 0;
  for (const _ in values) given++;
  if (given !== fields.length) {
    const extra = Object.keys(values).filter((k) => !fields.some((f) => f.name === k));
    if (extra.length) throw new Error(`${label}: unknown param${extra.length > 1 ? 's' : ''} ${extra.map((k) => `"${k}"`).join(', ')} (struct Params has ${fields.map((f) => f.name).join(', ')})`);
  }
  for (const { name, type, offset } of fields) {
    const v = values[name];
    const at = byteOffset + offset;
    if (type === 'f32') {
      if (v === undefined || Number.isNaN(v)) throw new Error(`${label}: missing param "${name}"`);
      into.setFloat32(at, v, true);
      continue;
    }
    if (v === undefined) throw new Error(`${label}: missing param "${name}"`);
    const [lo, hi] = type === 'u32' ? [0, 0xffffffff] : [-0x80000000, 0x7fffffff];
    if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`${label}: param "${name}" = ${v} is not a ${type}`);
    if (type === 'i32') into.setInt32(at, v, true);
    else into.setUint32(at, v, true);
  }
}
