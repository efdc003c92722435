import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * src/ is built in floors; every import runs downhill (or stays on its floor).
 * browser and node are two platforms on the top floor and never import each other.
 */
const FLOORS: string[][] = [
  ['browser', 'node'],
  ['client'],
  ['runtime'],
  ['decode'],
  ['model'],
  ['kernels'],
  ['gpu'],
  ['contract'],
];
const SRC = path.resolve(__dirname, '../src');
const floorOf = (folder: string) => FLOORS.findIndex((f) => f.includes(folder));

/** Relative specifiers of static imports/exports, dynamic imports and `new URL(..., import.meta.url)`. */
export function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [/\bfrom\s*['"](\.[^'"]+)['"]/g, /\bimport\s*\(\s*['"](\.[^'"]+)['"]/g, /new URL\(\s*['"](\.[^'"]+)['"]/g, /^\s*import\s*['"](\.[^'"]+)['"]/gm];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(m[1]);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
}

/** "from -> to" for every import that climbs a floor or crosses between platforms. */
function uphillImports(): string[] {
  const bad: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = path.relative(SRC, file).split(path.sep)[0];
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const target = path.relative(SRC, path.resolve(path.dirname(file), spec));
      if (target.startsWith('..')) continue; // shaders/ and other assets outside src/
      const to = target.split(path.sep)[0];
      if (to === from) continue;
      const [a, b] = [floorOf(from), floorOf(to)];
      if (a < 0 || b < 0 || b <= a) bad.push(`${path.relative(SRC, file)} -> ${spec}`);
    }
  }
  return bad;
}

describe('layering', () => {
  it('every folder of src/ is on a floor', () => {
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.filter((f) => floorOf(f) < 0)).toEqual([]);
  });

  it('every import in src/ runs downhill', () => {
    expect(uphillImports()).toEqual([]);
  });

  it('finds the kinds of import it checks', () => {
    const text = `import { a } from '../model/x';\nexport * from "../gpu/y";\nconst m = await import('../runtime/z');\n` +
      `new Worker(new URL('./worker.ts', import.meta.url));\nimport './side';`;
    expect(specifiers(text).sort()).toEqual(['../gpu/y', '../model/x', '../runtime/z', './side', './worker.ts']);
  });
});
