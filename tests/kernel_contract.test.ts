import { describe, expect, it } from 'vitest';
import { FORMAT_ID, formatsWgsl, GGML_BLOCKS, isGgmlFormat } from '../src/gpu/formats';
import { encodeParams, shaderInterface } from '../src/gpu/shader_interface';
import { GGML_TYPES } from '../src/model/gguf/types';
import { shaderNames, shaderSource } from '../src/gpu/wgsl';

// A kernel's params and bindings are declared once, by its shader; callers pass params by name.
const kernels = shaderNames().filter((name) => !name.startsWith('common/'));

describe('kernel contract', () => {
  it.each(kernels)('%s declares a params struct and storage bindings 1..n', (name) => {
    const { params, buffers } = shaderInterface(name, shaderSource(name));
    expect(params.length).toBeGreaterThan(0);
    expect(new Set(params.map((f) => f.name)).size).toBe(params.length);
    expect(buffers.length).toBeGreaterThan(0);
  });

  it('reads names, types, offsets and access, whatever order the bindings are written in', () => {
    const wgsl = `
      struct Params { rows: u32, // rows of x
        shift: i32, scale: f32 }
      @group(0) @binding(2) var<storage, read_write> y: array<f32>; // [rows]
      @group(0) @binding(0) var<uniform> params: Params;
      @group(0) @binding(1) var<storage, read> x: array<vec4<f32>>; // [rows, 4]
      @group(0) @binding(4) var<storage, read_write> z: array<f32>; // binding 3 skipped
      // @group(0) @binding(5) var<storage, read> commented: array<f32>;`;
    expect(shaderInterface('t', wgsl)).toEqual({
      params: [{ name: 'rows', type: 'u32', offset: 0 }, { name: 'shift', type: 'i32', offset: 4 }, { name: 'scale', type: 'f32', offset: 8 }],
      buffers: [{ name: 'x', access: 'read' }, { name: 'y', access: 'rw' }, { name: 'unused3', access: 'read' }, { name: 'z', access: 'rw' }],
    });
  });

  it('refuses a shader whose contract it cannot pack', () => {
    const bind = '@group(0) @binding(0) var<uniform> params: Params;';
    expect(() => shaderInterface('t', `@group(0) @binding(1) var<storage, read> x: array<f32>;`)).toThrow(/no `struct Params`/);
    expect(() => shaderInterface('t', `struct Params { v: vec2<u32> } ${bind}`)).toThrow(/Params.v is vec2<u32>/);
    expect(() => shaderInterface('t', `struct Params { n: u32 } ${bind} @group(0) @binding(1) var<storage, read> x: array<f32>; @group(0) @binding(1) var<storage, read> y: array<f32>;`)).toThrow(/binding 1 is declared twice/);
    expect(() => shaderInterface('t', `struct Params { n: u32 } @group(0) @binding(0) var<storage, read> params: Params;`)).toThrow(/binding 0 must be/);
  });

  describe('params packed by name', () => {
    const { params } = shaderInterface('attention/decode_reduce', shaderSource('attention/decode_reduce'));
    const view = new DataView(new ArrayBuffer(64));
    const values = { startPos: 7, heads: 4, tiles: 3, window: 0, firstTile: 1 };

    it('puts each value at its field, in any key order', () => {
      encodeParams('k', params, { firstTile: 1, window: 0, tiles: 3, heads: 4, startPos: 7 }, view, 16);
      expect([0, 1, 2, 3, 4].map((i) => view.getUint32(16 + 4 * i, true))).toEqual([7, 4, 3, 0, 1]);
    });

    it('throws on a missing, unknown or mistyped param', () => {
      const { window: _, ...missing } = values;
      expect(() => encodeParams('k', params, missing, view, 0)).toThrow('k: missing param "window"');
      expect(() => encodeParams('k', params, { ...values, kvGroup: 2 }, view, 0)).toThrow('k: unknown param "kvGroup"');
      const { tiles: __, ...renamed } = values;
      expect(() => encodeParams('k', params, { ...renamed, tile: 3 }, view, 0)).toThrow('k: missing param "tiles"');
      expect(() => encodeParams('k', params, { ...values, heads: -1 }, view, 0)).toThrow('"heads" = -1 is not a u32');
      expect(() => encodeParams('k', params, { ...values, heads: 1.5 }, view, 0)).toThrow('"heads" = 1.5 is not a u32');
    });
  });

  describe('one weight-format map', () => {
    it('the shaders name the codes from it', () => {
      const wgsl = formatsWgsl();
      for (const [name, code] of Object.entries(FORMAT_ID)) expect(wgsl).toContain(`const FORMAT_${name.toUpperCase()}: u32 = ${code}u;`);
      for (const [name, { code }] of Object.entries(GGML_BLOCKS)) expect(wgsl).toContain(`const GGML_${name.toUpperCase()}: u32 = ${code}u;`);
      const bytes = Object.values(GGML_BLOCKS).sort((a, b) => a.code - b.code).map((b) => `${b.bytes}u`);
      expect(wgsl).toContain(`const GGML_BLOCK_BYTES = array<u32, ${bytes.length}>(${bytes.join(', ')});`);
      // no shader spells a code as a number
      const literal = (text: string) => /\b(FORMAT|GGML) == \d/.test(text) || [...text.matchAll(/switch (FORMAT|GGML) \{([^]*?)default/g)].some((m) => /case \d/.test(m[2]));
      expect(shaderNames().filter((n) => literal(shaderSource(n)))).toEqual([]);
    });

    it('GGUF tensor types kept as blocks have the geometry of the map', () => {
      for (const t of GGML_TYPES.filter((t) => isGgmlFormat(t.stored))) {
        const { elements, bytes } = GGML_BLOCKS[t.stored as keyof typeof GGML_BLOCKS];
        expect([t.name, t.blockElements, t.blockBytes]).toEqual([t.name, elements, bytes]);
      }
    });
  });
});
