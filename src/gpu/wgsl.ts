/**
 * WGSL sources from `shaders/`, bundled as strings by Vite (browser, Vitest, and the Node build).
 * Files use `#include "common/x.wgsl"` for shared helpers; includes resolve recursively, once each.
 */
import { formatsWgsl } from './formats';

const files = import.meta.glob('../../shaders/**/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

const byName = new Map<string, string>([
  ...Object.entries(files).map(([path, text]): [string, string] => [path.replace(/^.*\/shaders\//, '').replace(/\.wgsl$/, ''), text]),
  ['common/formats', formatsWgsl()], // generated: the weight format codes
]);

const INCLUDE = /^\s*#include\s+"([^"]+)\.wgsl"\s*$/gm;

/**
 * Source of `shaders/<name>.wgsl` with includes expanded, e.g. `shaderSource('matmul/gemv')`; `substitutes` maps an
 * include to another file that takes its place (a variant of a shared part, e.g. another epilogue).
 */
export function shaderSource(name: string, substitutes: Record<string, string> = {}): string {
  return expand(name, new Set(), substitutes);
}

function expand(name: string, seen: Set<string>, substitutes: Record<string, string>): string {
  const text = byName.get(name);
  if (text === undefined) throw new Error(`unknown shader "${name}" (expected shaders/${name}.wgsl)`);
  seen.add(name);
  return text.replace(INCLUDE, (_, included: string) => {
    const dep = substitutes[included] ?? included;
    return seen.has(dep) ? '' : expand(dep, seen, substitutes);
  });
}

export function shaderNames(): string[] {
  return [...byName.keys()].sort();
}
