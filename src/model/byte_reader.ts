import { ModelFormatError } from '../contract/errors';
import { throwIfAborted } from './source';

/**
 * Sequential reads of exact byte counts from a chunk stream. Holds at most one pending chunk
 * plus the bytes asked for, so a file is never buffered whole.
 */
export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private pending: Uint8Array = new Uint8Array(0);
  /** Bytes consumed so far. */
  position = 0;

  constructor(stream: AsyncIterable<Uint8Array>, readonly file: string, private readonly signal?: AbortSignal) {
    this.iterator = stream[Symbol.asyncIterator]();
  }

  /** Exactly `n` bytes; a stream that ends first is a truncated file. */
  async read(n: number): Promise<Uint8Array> {
    if (this.pending.byteLength >= n) return this.take(n);
    const out = new Uint8Array(n);
    let filled = 0;
    for await (const part of this.chunks(n)) {
      out.set(part, filled);
      filled += part.byteLength;
    }
    return out;
  }

  /** `n` bytes as consecutive views of the incoming chunks (no copy). */
  async *chunks(n: number): AsyncIterable<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (this.pending.byteLength === 0) await this.pull(left);
      const part = this.take(Math.min(left, this.pending.byteLength));
      left -= part.byteLength;
      yield part;
    }
  }

  /** Consumes `n` bytes without keeping them. */
  async skip(n: number): Promise<void> {
    for await (const part of this.chunks(n)) void part;
  }

  /** The stream must end here: bytes past what the header describes make the file malformed. */
  async expectEnd(): Promise<void> {
    let extra = this.pending.byteLength;
    while (extra === 0) {
      const next = await this.iterator.next();
      if (next.done) return;
      extra = next.value.byteLength; // empty chunks are allowed
    }
    throw new ModelFormatError(`${this.file} holds more bytes than its header describes (it goes on past byte ${this.position})`, { file: this.file });
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }

  private take(n: number): Uint8Array {
    const part = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    this.position += n;
    return part;
  }

  private async pull(wanted: number): Promise<void> {
    throwIfAborted(this.signal, `reading ${this.file}`);
    const next = await this.iterator.next();
    if (next.done) {
      throw new ModelFormatError(`${this.file} is truncated: it ends at byte ${this.position}, ${wanted} more bytes were expected`, { file: this.file });
    }
    // a plain view: Node Buffers' slice() would alias instead of copy
    this.pending = new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength);
  }
}
