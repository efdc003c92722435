import { ModelFormatError } from '../contract/errors';
import type { ModelSource } from './source';

/** One order of the table: n-grams (prefix of n−1 tokens, next token) with their counts. */
interface NgramSection {
  order: number;
  /** [prefixCount, order−1] sorted lexicographically */
  prefixes: Uint16Array;
  /** [prefixCount] occurrences of each prefix followed by any token (before pruning) */
  totals: Uint32Array;
  /** [prefixCount + 1] entries of prefix p are [offsets[p], offsets[p+1]) */
  offsets: Uint32Array;
  /** [entries] next-token ids */
  next: Uint16Array;
  /** [entries] n-gram counts */
  counts: Uint32Array;
}

const MAGIC = 0x4d52474e; // "NGRM" little-endian

/**
 * The shipped n-gram table (format: public/models/NGRAMS.md): unsmoothed maximum-likelihood
 * P_n(v | last n−1 tokens) for a few orders, read in place from one buffer.
 */
export class NgramTable {
  private readonly sections = new Map<number, NgramSection>();
  readonly vocab: number;

  constructor(bytes: ArrayBuffer, readonly describe = 'n-gram table') {
    const view = new DataView(bytes);
    const fail = (why: string) => new ModelFormatError(`${describe}: ${why}`, { file: describe });
    if (bytes.byteLength < 16 || view.getUint32(0, true) !== MAGIC) throw fail('not an NGRM n-gram table');
    if (view.getUint32(4, true) !== 1) throw fail(`unsupported version ${view.getUint32(4, true)}`);
    this.vocab = view.getUint32(8, true);
    const count = view.getUint32(12, true);
    if (16 + 16 * count > bytes.byteLength) throw fail('truncated directory');
    for (let s = 0; s < count; s++) {
      const [order, prefixCount, entries, offset] = [0, 4, 8, 12].map((o) => view.getUint32(16 + 16 * s + o, true));
      let at = offset;
      const take = <T>(make: (at: number, n: number) => T, n: number, bytesPer: number): T => {
        if (at + n * bytesPer > bytes.byteLength) throw fail(`order ${order} section is truncated`);
        const out = make(at, n);
        at += Math.ceil((n * bytesPer) / 4) * 4;
        return out;
      };
      const u16 = (a: number, n: number) => new Uint16Array(bytes, a, n);
      const u32 = (a: number, n: number) => new Uint32Array(bytes, a, n);
      if (order < 2 || offset % 4 !== 0) throw fail(`bad directory entry for order ${order}`);
      this.sections.set(order, {
        order,
        prefixes: take(u16, prefixCount * (order - 1), 2),
        totals: take(u32, prefixCount, 4),
        offsets: take(u32, prefixCount + 1, 4),
        next: take(u16, entries, 2),
        counts: take(u32, entries, 4),
      });
    }
  }

  get orders(): number[] {
    return [...this.sections.keys()].sort((a, b) => a - b);
  }

  /**
   * P_n(· | last n−1 tokens of context) as a map token -> probability; empty when the order is absent,
   * the context is shorter than n−1 tokens, or the prefix was never seen.
   */
  lookup(order: number, context: readonly number[]): Map<number, number> {
    const out = new Map<number, number>();
    const found = this.entries(order, context);
    if (!found) return out;
    const { s, p } = found;
    for (let i = s.offsets[p]; i < s.offsets[p + 1]; i++) out.set(s.next[i], s.counts[i] / s.totals[p]);
    return out;
  }

  /** P_n(v | last n−1 tokens of context) for each v of `tokens` (0 where unseen), in one pass over the prefix's entries. */
  probabilities(order: number, context: readonly number[], tokens: readonly number[]): number[] {
    const out = tokens.map(() => 0);
    const found = this.entries(order, context);
    if (!found) return out;
    const { s, p } = found;
    const index = new Map(tokens.map((t, i) => [t, i]));
    for (let i = s.offsets[p]; i < s.offsets[p + 1]; i++) {
      const at = index.get(s.next[i]);
      if (at !== undefined) out[at] = s.counts[i] / s.totals[p];
    }
    return out;
  }

  /** The section and prefix index holding the continuations of context's last n−1 tokens, if any. */
  private entries(order: number, context: readonly number[]): { s: NgramSection; p: number } | null {
    const s = this.sections.get(order);
    const width = order - 1;
    if (!s || context.length < width) return null;
    const p = this.findPrefix(s, context.slice(context.length - width));
    return p < 0 ? null : { s, p };
  }

  /** Binary search of the sorted prefixes; -1 when absent. */
  private findPrefix(s: NgramSection, key: number[]): number {
    const width = key.length;
    const compare = (p: number) => {
      for (let j = 0; j < width; j++) {
        const d = s.prefixes[p * width + j] - key[j];
        if (d !== 0) return d;
      }
      return 0;
    };
    let lo = 0;
    let hi = s.totals.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(mid) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo < s.totals.length && compare(lo) === 0 ? lo : -1;
  }
}

/**
 * The n-gram table for a model folder: `name` (relative to the folder) when given, else `ngrams.bin` in the
 * folder, else the shipped table for the model's vocabulary size next to the folder (`../ngrams-bpe<vocab>.bin`).
 * A named file must be a table for the model's vocabulary; the default places are skipped when they hold
 * anything else (a web server may answer a missing file with an HTML page). Undefined when none is found.
 */
export async function loadNgramTable(source: ModelSource, vocab: number, name?: string): Promise<NgramTable | undefined> {
  if (name) return checkVocab(await readTable(source, name), vocab, name);
  for (const file of ['ngrams.bin', `../ngrams-bpe${vocab}.bin`]) {
    if (!(await source.exists(file))) continue;
    const table = await readTable(source, file).catch((e: unknown) => {
      if (e instanceof ModelFormatError) return undefined;
      throw e;
    });
    if (table?.vocab === vocab) return table;
  }
  return undefined;
}

async function readTable(source: ModelSource, file: string): Promise<NgramTable> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of (await source.binary(file)).stream()) chunks.push(chunk);
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return new NgramTable(bytes.buffer, `${source.describe}/${file}`);
}

function checkVocab(table: NgramTable, vocab: number, file: string): NgramTable {
  if (table.vocab !== vocab) throw new ModelFormatError(`${file}: n-gram table is for vocabulary ${table.vocab}, the model has ${vocab}`, { file });
  return table;
}
