/** Human-readable numbers for sizes, rates and durations. */

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

export function bytesPerSecond(n: number, ms: number): string {
  return ms > 0 ? `${bytes((n * 1000) / ms)}/s` : '–';
}

/** tokens per second, or NaN when nothing was timed */
export function tokensPerSecond(tokens: number, ms: number): number {
  return ms > 0 && tokens > 0 ? (tokens * 1000) / ms : NaN;
}

export function rate(value: number, unit = 'tok/s'): string {
  return Number.isFinite(value) ? `${value.toFixed(value < 10 ? 2 : 1)} ${unit}`.trimEnd() : '–';
}

export function ms(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(value < 10 ? 2 : 1)} ms` : '–';
}

export function percent(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(0)}%` : '–';
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}
