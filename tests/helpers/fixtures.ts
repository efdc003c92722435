import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { parseHeaderJson, parseHeaderLength } from '../../src/model/safetensors';

/** Reference tensors written by tools/train (F32 / I32), read with the project's own header parser. */
export function readFixture(path: string): Record<string, Float32Array | Int32Array> {
  const bytes = new Uint8Array(readFileSync(path));
  const n = parseHeaderLength(bytes.subarray(0, 8), bytes.length, path);
  const header = parseHeaderJson(bytes.subarray(8, 8 + n), bytes.length, path);
  const out: Record<string, Float32Array | Int32Array> = {};
  for (const t of header.tensors) {
    const copy = bytes.slice(t.start, t.end).buffer;
    if (t.dtype === 'F32') out[t.name] = new Float32Array(copy);
    else if (t.dtype === 'I32') out[t.name] = new Int32Array(copy);
    else throw new Error(`${path}: fixture tensor ${t.name} has dtype ${t.dtype}`);
  }
  return out;
}

export const FIXTURE_MODELS = 'tests/fixtures/models';

/** Names of the random-weight fixture models (each a directory with config.json + fixture.safetensors). */
export function fixtureModels(filter: (config: { architectures: string[] }) => boolean = () => true): string[] {
  return readdirSync(FIXTURE_MODELS)
    .filter((d) => existsSync(`${FIXTURE_MODELS}/${d}/fixture.safetensors`))
    .filter((d) => filter(JSON.parse(readFileSync(`${FIXTURE_MODELS}/${d}/config.json`, 'utf8'))))
    .sort();
}

export const isMoe = (c: { architectures: string[] }) => /Mixtral|Moe/i.test(c.architectures[0]);

/** The greedy-decoding target: argmax per row of [rows, vocab] logits. */
export function argmaxRows(logits: ArrayLike<number>, vocab: number): number[] {
  const rows = logits.length / vocab;
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let j = 1; j < vocab; j++) if (logits[r * vocab + j] > logits[r * vocab + best]) best = j;
    return best;
  });
}
