import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { parseHeaderJson, parseHeaderLength } from '../../src/model/safetensors';
import { withHeader } from './safetensors_writer';

/**
 * BF16 checkpoints whose weights are a pure function of a seed, written exactly as
 * tools/train/published_widths.py computes them (see its docstring for the formula):
 *   h = fmix32(i + fmix32(seed ^ (t + 1) * 0x9E3779B9)), value = centre + scale * (2 * (h >>> (32 - bits)) - (2^bits - 1)) / 2^bits
 * The fixture's metadata lists every tensor as [name, shape, centre, scale, bits] in index order t.
 */
type SeededTensor = [name: string, shape: number[], centre: number, scale: number, bits: number];

function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** bf16 bits of one tensor [numel] (every value is exact in bf16 by construction). */
function seededBf16(seed: number, t: number, numel: number, centre: number, scale: number, bits: number): Uint16Array {
  const levels = 1 << bits;
  const f32 = new Float32Array(levels);
  for (let k = 0; k < levels; k++) f32[k] = centre + (scale * (2 * k - (levels - 1))) / levels;
  const table = new Uint16Array(levels);
  const words = new Uint32Array(f32.buffer);
  for (let k = 0; k < levels; k++) {
    if (words[k] & 0xffff) throw new Error(`seeded value ${f32[k]} is not exact in bf16`);
    table[k] = words[k] >>> 16;
  }
  const key = fmix32((seed ^ Math.imul(t + 1, 0x9e3779b9)) >>> 0);
  const out = new Uint16Array(numel);
  const shift = 32 - bits;
  for (let i = 0; i < numel; i++) out[i] = table[fmix32((i + key) >>> 0) >>> shift];
  return out;
}

/** Reads the seed and tensor list from a fixture's safetensors metadata. */
function seededSpec(fixturePath: string): { seed: number; tensors: SeededTensor[] } {
  const bytes = new Uint8Array(readFileSync(fixturePath));
  const n = parseHeaderLength(bytes.subarray(0, 8), bytes.length, fixturePath);
  const { metadata } = parseHeaderJson(bytes.subarray(8, 8 + n), bytes.length, fixturePath);
  return { seed: Number(metadata.seed), tensors: JSON.parse(metadata.tensors) as SeededTensor[] };
}

/** Writes config.json + model.safetensors (BF16) for a published-widths fixture folder into `outDir`. */
export function writeSeededModel(fixtureDir: string, outDir: string): void {
  const { seed, tensors } = seededSpec(`${fixtureDir}/fixture.safetensors`);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(`${outDir}/config.json`, readFileSync(`${fixtureDir}/config.json`));
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of tensors) {
    const bytes = 2 * shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const fd = openSync(`${outDir}/model.safetensors`, 'w');
  try {
    writeSync(fd, withHeader(JSON.stringify(header)));
    tensors.forEach(([, shape, centre, scale, bits], t) => {
      const data = seededBf16(seed, t, shape.reduce((a, b) => a * b, 1), centre, scale, bits);
      writeSync(fd, new Uint8Array(data.buffer));
    });
  } finally {
    closeSync(fd);
  }
}
