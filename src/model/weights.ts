import type { Gpu } from '../gpu/device';
import { ModelFormatError, ResourceLimitError, UnsupportedModelError } from '../contract/errors';
import { align4 } from '../gpu/buffers';
import { bf16ToF32, encodeWeight, f16BitsToF32 } from '../kernels/quantize';
import { isGgmlFormat, type MatrixFormat, type SplitMatrix, type WeightMatrix } from '../kernels/tensor';
import { openCheckpoint, type OpenCheckpoint } from './checkpoint';
import type { ModelConfig } from './config';
import { rotateHalfRows } from './gguf/tensors';
import type { StoredDtype, TensorInfo } from './safetensors';
import type { ModelSource } from './source';
import { checkDraftIds, gatherDraftVocab, type DraftVocabWeights } from './draft_vocab';
import { formatBytes, plannedFormat, planWeights, rowsOf, type Destination, type Quantize, type WeightPlan } from './weight_plan';

export { estimateWeightBytes, type Quantize } from './weight_plan';

export interface LayerWeights {
  inputNorm: GPUBuffer; // [hidden] f32, before attention
  mlpNorm: GPUBuffer; // [hidden] f32, before the MLP
  attnOutNorm?: GPUBuffer; // [hidden] f32, on the attention output ('sandwich' norms)
  mlpOutNorm?: GPUBuffer; // [hidden] f32, on the MLP output ('sandwich' norms)
  /** q, k, v and their biases as loaded; absent once stacked into qkv (fuseProjections) */
  q?: WeightMatrix; // [heads*headDim, hidden]
  k?: WeightMatrix; // [kvHeads*headDim, hidden]
  v?: WeightMatrix; // [kvHeads*headDim, hidden]
  qBias?: GPUBuffer; // [heads*headDim] f32
  kBias?: GPUBuffer; // [kvHeads*headDim] f32
  vBias?: GPUBuffer; // [kvHeads*headDim] f32
  /** q, k and v stacked by rows: w [q + 2·kv, hidden], bias [q + 2·kv] f32; widths: the q and k row counts */
  qkv?: { w: WeightMatrix; bias?: GPUBuffer; widths: [number, number] };
  o: WeightMatrix; // [hidden, heads*headDim]
  qNorm?: GPUBuffer; // [headDim] f32, per-head RMSNorm of queries
  kNorm?: GPUBuffer; // [headDim] f32, per-head RMSNorm of keys
  /**
   * Dense layers: gate/up [intermediate, hidden], down [hidden, intermediate]; or, once stacked (fuseProjections),
   * gateUp [2·intermediate, hidden] with gate_j at row 2j and up_j at row 2j + 1 in place of gate and up.
   */
  mlp?: { gate?: WeightMatrix; up?: WeightMatrix; gateUp?: WeightMatrix; down: WeightMatrix };
  /**
   * Sparse layers (E experts of intermediate I, stacked in expert order). Under an expert budget the
   * GPU matrices hold R resident slots (experts 0..R-1 after loading) and `offloaded` holds all E experts.
   */
  moe?: {
    router: WeightMatrix; // [E, hidden]
    gate: WeightMatrix; // [E*I, hidden], or [R*I, hidden] with a budget
    up: WeightMatrix; // [E*I, hidden], or [R*I, hidden] with a budget
    down: WeightMatrix; // [E*hidden, I], or [R*hidden, I] with a budget
    offloaded?: OffloadedExperts;
    /** Qwen2-MoE shared expert: gate/up [S, hidden], down [hidden, S]. */
    shared?: { gate: WeightMatrix; up: WeightMatrix; down: WeightMatrix };
    sharedGate?: WeightMatrix; // [1, hidden]
  };
}

/** One routed-expert matrix in CPU memory, as the GPU stores it (format of its slot matrix), expert-major. */
export interface HostExperts {
  data: Uint8Array<ArrayBuffer>; // [E, dataBytes] weight bytes
  scales?: Uint8Array<ArrayBuffer>; // [E, scaleBytes] q8/q4 block scales
  dataBytes: number; // per expert
  scaleBytes: number; // per expert
}

/** A layer's routed experts under an expert budget: `resident` GPU slots, every expert in CPU memory. */
export interface OffloadedExperts {
  resident: number;
  gate: HostExperts;
  up: HostExperts;
  down: HostExperts;
}

/** A Kangaroo adapter after exit layer `exitLayer` (model/adapter.ts): A heads, K kv heads of D dims. */
export interface AdapterWeights {
  exitLayer: number;
  inputNorm: GPUBuffer; // [hidden] f32
  q: WeightMatrix; // [A*D, hidden]
  k: WeightMatrix; // [K*D, hidden]
  v: WeightMatrix; // [K*D, hidden]
  o: WeightMatrix; // [hidden, A*D]
  norm: GPUBuffer; // [hidden] f32, before the LM head
}

export interface ModelWeights {
  embed: WeightMatrix | SplitMatrix; // [vocab, hidden], split by rows when over the device's buffer limit
  layers: LayerWeights[];
  norm: GPUBuffer; // [hidden] f32
  lmHead: WeightMatrix | SplitMatrix; // [vocab, hidden], split as embed; the same object as embed when tied
  /** config.selfSpeculative's adapters, in its order (absent or empty without the block) */
  adapters?: AdapterWeights[];
  /** config.selfSpeculative's draft vocabulary, when it declares one */
  draftVocab?: DraftVocabWeights;
  /** GPU bytes of all weight buffers. */
  bytes: number;
  /** Every GPU buffer of these weights, each once (teardown frees exactly these). */
  buffers: GPUBuffer[];
  /** Storage of the attention/MLP matrices (layer 0's q). */
  format: MatrixFormat;
}

export interface LoadWeightsOptions {
  quantize?: Quantize;
  /** expert budget: routed experts per layer given GPU storage (experts 0..n-1); all are kept in CPU memory */
  residentExperts?: number;
  /** refuse NaN and infinity in any weight (ModelFormatError naming the tensor) */
  scanWeights?: boolean;
  /** Checkpoint bytes consumed so far, of all files' total. */
  onProgress?: (loaded: number, total: number) => void;
  signal?: AbortSignal;
}

/** Queue this many written bytes before waiting for the GPU, so staging memory stays bounded. */
const FLUSH_BYTES = 64 << 20;

/** Destinations that may be split by rows when larger than one storage binding: their consumers (embed, linear, superposeEmbed) take row pieces. */
const SPLITTABLE = new Set(['embed', 'lmHead']);

/** One buffer (pair) of a destination's GPU storage: rows [rowStart, rowStart + rows) of its matrix. */
interface Piece {
  rowStart: number;
  rows: number;
  data: GPUBuffer;
  scales?: GPUBuffer;
}

/** Storage of one destination, created when its first tensor arrives. */
interface Slot {
  destination: Destination;
  format: MatrixFormat;
  /** GPU storage of parts 0..gpuParts-1: one piece, or row pieces of a SPLITTABLE matrix over the binding limit */
  pieces: Piece[];
  /** every part's bytes in CPU memory, when some parts have no GPU storage (routed experts under a budget) */
  host?: { data: Uint8Array<ArrayBuffer>; scales?: Uint8Array<ArrayBuffer> };
}

/**
 * Streams the checkpoint tensors to the GPU in file order. Every header is validated against the
 * config and the device limits before the first upload; at most one tensor is held in memory, besides
 * the CPU copies of routed experts under an expert budget (the non-resident ones never reach the GPU).
 * Weights stored in the format the GPU keeps (F32, F16, BF16) stream through without a conversion.
 */
export async function loadWeights(gpu: Gpu, config: ModelConfig, source: ModelSource, opts: LoadWeightsOptions = {}): Promise<ModelWeights> {
  const plan = planWeights(config, opts.residentExperts);
  const checkpoint = await openCheckpoint(source, opts.signal, config.selfSpeculative?.adapterFile);
  const slots = new Map<string, Slot>();
  try {
    checkTensors(plan, checkpoint);
    const planned = new Map(plan.destinations.map((d) => [d.key, plannedFormat(d, d.parts.map((n) => checkpoint.tensors.get(n)!.dtype), opts.quantize)]));
    checkLimits(gpu, plan, planned);
    const uploader = new Uploader(gpu, plan, planned, slots, checkpoint, opts, config.vocab);
    await uploader.run();
    const weights = assemble(config, slots);
    if (uploader.draftIds) withDraftVocab(gpu, config, weights, uploader.draftIds, slots.get('draftVocab.ids')!.pieces[0].data);
    return weights;
  } catch (e) {
    for (const slot of slots.values()) destroyPieces(slot.pieces);
    throw e;
  } finally {
    await checkpoint.close();
  }
}

/** Every needed tensor exists, has a float dtype, and the shape the config implies. */
export function checkTensors(plan: WeightPlan, checkpoint: OpenCheckpoint): void {
  const where = checkpoint.shards.map((s) => s.header.file).join(', ');
  for (const d of plan.destinations) {
    const expected = d.kind !== 'matrix' ? [d.cols] : [d.rowsOf?.total ?? d.partRows, d.cols];
    for (const name of d.parts) {
      const t = checkpoint.tensors.get(name);
      if (!t) throw new ModelFormatError(`tensor "${name}" is missing from ${where}`, { file: where, tensor: name });
      if (d.kind === 'ids' && t.dtype !== 'I32') throw new ModelFormatError(`${t.file}: tensor "${name}" has dtype ${t.dtype}; token ids must be I32`, { file: t.file, tensor: name });
      // GGUF blocks are read by the single-matrix and the expert kernels
      if (isGgmlFormat(t.dtype) && !(d.kind === 'matrix' && (d.parts.length === 1 || d.experts))) {
        throw new UnsupportedModelError(`${t.file}: tensor "${name}" is stored as ${t.dtype} blocks, which this runtime reads in matrices and routed experts only, not in ${d.kind === 'vector' ? 'vectors' : 'stacked matrices'} (F32, F16 or BF16 there)`, { file: t.file, tensor: name });
      }
      // experts are written at multiples of their bytes, and GPU writes start at multiples of 4
      if (isGgmlFormat(t.dtype) && d.experts && (t.end - t.start) % 4 !== 0) {
        throw new UnsupportedModelError(`${t.file}: expert tensor "${name}" takes ${t.end - t.start} bytes of ${t.dtype} blocks, not a multiple of 4`, { file: t.file, tensor: name });
      }
      if (d.kind !== 'ids' && t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16' && !isGgmlFormat(t.dtype)) {
        throw new ModelFormatError(`${t.file}: tensor "${name}" has dtype ${t.dtype}; weights must be F32, F16 or BF16`, { file: t.file, tensor: name });
      }
      if (t.shape.join() !== expected.join()) {
        throw new ModelFormatError(`${t.file}: tensor "${name}" has shape [${t.shape.join(', ')}] but config.json implies [${expected.join(', ')}]`, { file: t.file, tensor: name });
      }
    }
  }
}

/** Bytes one buffer may hold: the device's storage binding and buffer size limits. */
export function bufferLimit(gpu: Gpu): number {
  return Math.min(gpu.adapter.limits.maxStorageBufferBindingSize, gpu.adapter.limits.maxBufferSize);
}

/** Throws before any upload when a buffer that cannot be split would exceed the device's buffer limits. */
function checkLimits(gpu: Gpu, plan: WeightPlan, planned: Map<string, MatrixFormat>): void {
  const limit = bufferLimit(gpu);
  for (const d of plan.destinations) {
    const format = planned.get(d.key)!;
    const { data } = formatBytes(format, rowsOf(d), d.cols);
    if (data <= limit) continue;
    if (SPLITTABLE.has(d.key) && formatBytes(format, 1, d.cols).data <= limit) continue;
    throw new ResourceLimitError(`weight ${d.parts.length > 1 ? `${d.parts[0]} (stacked with ${d.parts.length - 1} more experts)` : `"${d.parts[0]}"`} needs a ${data}-byte buffer; this GPU allows ${limit} bytes per storage buffer`, { tensor: d.parts[0], bytes: data, limit });
  }
}

/** Rows per piece of a destination's GPU storage: all of them, unless a SPLITTABLE matrix exceeds `limit`. */
function pieceRows(d: Destination, format: MatrixFormat, limit: number): number {
  const rows = rowsOf(d);
  if (!SPLITTABLE.has(d.key) || formatBytes(format, rows, d.cols).data <= limit) return rows;
  const rowBytes = formatBytes(format, 1, d.cols).data;
  // pieces start on 4-byte boundaries: an even row count when rows are 2 mod 4 bytes (GGUF q8_0, q6_k)
  const step = rowBytes % 4 === 0 ? 1 : rowBytes % 2 === 0 ? 2 : 4;
  return Math.floor(limit / rowBytes / step) * step;
}

/**
 * Refuses a tensor piece holding NaN or infinity (an all-ones exponent: 0x7f800000 in f32, 0x7c00 in f16, 0x7f80 in bf16). `bytes`
 * holds whole values (its own buffer, from offset 0); one masked compare per value keeps the scan cheap.
 */
function checkFinite(t: TensorInfo, bytes: Uint8Array<ArrayBuffer>, dtype: string): void {
  if (isGgmlFormat(dtype)) return; // GGUF blocks: their f16 scales lie between quants, not scanned
  const [words, mask] = dtype === 'F32' ? [new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2), 0x7f800000] : [new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1), dtype === 'BF16' ? 0x7f80 : 0x7c00];
  for (let i = 0; i < words.length; i++) {
    if ((words[i] & mask) === mask) {
      throw new ModelFormatError(`${t.file}: tensor "${t.name}" holds NaN or infinity; pass scanWeights: false to load it anyway`, { file: t.file, tensor: t.name });
    }
  }
}

class Uploader {
  private done = 0;
  private unflushed = 0;
  /** the draft vocabulary's ids as uploaded, when the plan has them */
  draftIds?: Uint32Array<ArrayBuffer>;

  constructor(
    private readonly gpu: Gpu,
    private readonly plan: WeightPlan,
    private readonly planned: Map<string, MatrixFormat>,
    private readonly slots: Map<string, Slot>,
    private readonly checkpoint: OpenCheckpoint,
    private readonly opts: LoadWeightsOptions,
    private readonly vocab: number,
  ) {}

  async run(): Promise<void> {
    for (const { header, reader, size } of this.checkpoint.shards) {
      for (const t of header.tensors) {
        await reader.skip(t.start - reader.position); // GGUF alignment padding (safetensors tensors tile the file)
        const targets = this.plan.byTensor.get(t.name);
        if (!targets) await reader.skip(t.end - t.start); // not needed by this architecture
        else if (targets.length === 1 && !targets[0].destination.rowsOf) await this.upload(t, targets[0].destination, targets[0].part);
        else await this.uploadRowSlices(t, reader, targets);
        this.progress(reader.position);
        if (this.unflushed > FLUSH_BYTES) await this.flush();
      }
      await reader.skip(size - reader.position); // GGUF: tensors this runtime does not use, padding
      await reader.expectEnd();
      this.done += size;
    }
    await this.flush();
  }

  /** A fused tensor read once and split by rows: each destination receives its rows as if they were a tensor. */
  private async uploadRowSlices(t: TensorInfo, reader: OpenCheckpoint['shards'][number]['reader'], targets: { destination: Destination; part: number }[]): Promise<void> {
    const bytes = await reader.read(t.end - t.start);
    const rowBytes = bytes.byteLength / t.shape[0];
    for (const { destination: d, part } of targets) {
      const start = d.rowsOf?.start ?? 0;
      const slice = bytes.slice(start * rowBytes, (start + d.partRows) * rowBytes);
      await this.upload({ ...t, shape: [d.partRows, d.cols], start: 0, end: slice.byteLength }, d, part, slice);
    }
  }

  /** Uploads tensor t (its bytes read from the checkpoint, or `bytes` when already in memory) as part `part` of d. */
  private async upload(t: TensorInfo, d: Destination, part: number, bytes?: Uint8Array<ArrayBuffer>): Promise<void> {
    const reader = this.checkpoint.shards.find((s) => s.header.file === t.file)!.reader;
    const format = this.planned.get(d.key)!;
    const slot = this.slot(d, format);
    if (d.kind === 'ids') {
      this.draftIds = checkDraftIds(t, bytes ?? await reader.read(t.end - t.start), this.vocab);
      this.put(slot, part, 'data', 0, this.draftIds);
      return;
    }
    // GGUF llama q/k arrive in interleaved-RoPE row order: the tensor is read whole and its rows reordered
    if (t.interleavedHeads) bytes = rotateHalfRows(bytes ?? await reader.read(t.end - t.start), t.shape[0], t.interleavedHeads);
    // GGUF Gemma norms arrive as 1 + w: shifted back to w (exact for weights in [-0.5, 1]) and kept as f32
    if (t.addend) {
      const values = toF32(bytes ?? await reader.read(t.end - t.start), t).map((v) => v + t.addend!);
      [bytes, t] = [new Uint8Array(values.buffer), { ...t, dtype: 'F32', end: t.start + values.byteLength }];
    }
    if (storedAs(t.dtype) === format) {
      // stored bytes are already the GPU layout (16-bit pairs in little-endian u32 = the raw halves; GGUF blocks as they are)
      if (!bytes) return this.streamRaw(reader, t, slot, part);
      if (this.opts.scanWeights) checkFinite(t, bytes, t.dtype);
      this.put(slot, part, 'data', part * bytes.byteLength, bytes);
      return;
    }
    if (isGgmlFormat(format)) throw new ModelFormatError(`${t.file}: tensor "${t.name}" is ${t.dtype} but is stacked with ${format} tensors`, { file: t.file, tensor: t.name });
    const values = toF32(bytes ?? await reader.read(t.end - t.start), t);
    if (this.opts.scanWeights) checkFinite(t, new Uint8Array(values.buffer as ArrayBuffer, values.byteOffset, values.byteLength), 'F32');
    const q = encodeWeight(format, values, d.partRows, d.cols);
    this.put(slot, part, 'data', part * q.data.byteLength, q.data);
    if (q.scales) this.put(slot, part, 'scales', part * q.scales.byteLength, q.scales);
  }

  /** Copies a tensor's bytes chunk by chunk; writes must be 4-byte multiples, so up to 3 bytes carry over. */
  private async streamRaw(reader: OpenCheckpoint['shards'][number]['reader'], t: TensorInfo, slot: Slot, part: number): Promise<void> {
    // every piece starts at a 4-byte multiple of the tensor, so whole f32 or f16 values: scanned as they pass
    const put = (offset: number, bytes: Uint8Array<ArrayBuffer>) => {
      if (this.opts.scanWeights) checkFinite(t, bytes, t.dtype);
      this.put(slot, part, 'data', offset, bytes);
    };
    const carry = new Uint8Array(4);
    let carried = 0;
    let at = part * (t.end - t.start);
    for await (const chunk of reader.chunks(t.end - t.start)) {
      let from = 0;
      if (carried > 0) {
        from = Math.min(4 - carried, chunk.byteLength);
        carry.set(chunk.subarray(0, from), carried);
        carried += from;
        if (carried < 4) continue;
        put(at, carry.slice());
        at += 4;
        carried = 0;
      }
      const whole = (chunk.byteLength - from) & ~3;
      if (whole > 0) put(at, chunk.slice(from, from + whole));
      at += whole;
      carried = chunk.byteLength - from - whole;
      carry.set(chunk.subarray(from + whole));
      this.progress(reader.position);
    }
    if (carried > 0) put(at, carry.slice(0, carried));
  }

  private slot(d: Destination, format: MatrixFormat): Slot {
    const existing = this.slots.get(d.key);
    if (existing) return existing;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const perPiece = pieceRows(d, format, bufferLimit(this.gpu));
    const slot: Slot = { destination: d, format, pieces: [] };
    this.slots.set(d.key, slot); // before creating buffers, so a failure destroys those made
    for (let rowStart = 0; rowStart < rowsOf(d); rowStart += perPiece) {
      const rows = Math.min(perPiece, rowsOf(d) - rowStart);
      const bytes = formatBytes(format, rows, d.cols);
      const label = perPiece < rowsOf(d) ? `${d.key}[${rowStart}..]` : d.key;
      slot.pieces.push({
        rowStart,
        rows,
        data: this.gpu.device.createBuffer({ label, size: align4(Math.max(4, bytes.data)), usage }),
        scales: bytes.scales ? this.gpu.device.createBuffer({ label: `${label}.scales`, size: align4(bytes.scales), usage }) : undefined,
      });
    }
    if (d.gpuParts < d.parts.length) {
      const all = formatBytes(format, d.partRows * d.parts.length, d.cols);
      slot.host = { data: new Uint8Array(all.data), scales: all.scales ? new Uint8Array(all.scales) : undefined };
    }
    return slot;
  }

  /** Stores bytes of `part` at `offset`: in the CPU copy when the slot keeps one, on the GPU when the part has GPU storage. */
  private put(slot: Slot, part: number, field: 'data' | 'scales', offset: number, data: ArrayBufferView): void {
    // every array here owns a plain ArrayBuffer (chunks and conversions are never shared memory)
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    slot.host?.[field]!.set(bytes, offset);
    if (part >= slot.destination.gpuParts) return;
    if (slot.pieces.length === 1) {
      this.write(slot.pieces[0][field]!, offset, bytes);
      return;
    }
    // row pieces: each takes the bytes of its rows (piece boundaries fall on rows, 4-byte aligned)
    const rowBytes = formatBytes(slot.format, 1, slot.destination.cols)[field];
    for (const piece of slot.pieces) {
      const start = piece.rowStart * rowBytes;
      const from = Math.max(offset, start);
      const to = Math.min(offset + bytes.byteLength, start + piece.rows * rowBytes);
      if (from < to) this.write(piece[field]!, from - start, bytes.subarray(from - offset, to - offset));
    }
  }

  private write(buffer: GPUBuffer, offset: number, bytes: Uint8Array<ArrayBuffer>): void {
    const padded = bytes.byteLength % 4 === 0 ? bytes : padTo4(bytes);
    this.gpu.device.queue.writeBuffer(buffer, offset, padded);
    this.unflushed += padded.byteLength;
  }

  private async flush(): Promise<void> {
    await this.gpu.device.queue.onSubmittedWorkDone();
    this.unflushed = 0;
  }

  private progress(position: number): void {
    this.opts.onProgress?.(this.done + position, this.checkpoint.totalBytes);
  }
}

/** The GPU format whose bytes equal a checkpoint dtype's (uploaded without a conversion): float types, GGUF blocks. */
const FLOAT_STORED_AS: Partial<Record<StoredDtype, MatrixFormat>> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };
const storedAs = (dtype: StoredDtype): MatrixFormat | undefined => (isGgmlFormat(dtype) ? dtype : FLOAT_STORED_AS[dtype]);

function padTo4(data: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(align4(data.byteLength));
  out.set(data);
  return out;
}

/** Checkpoint bytes (any alignment) -> f32 values, exactly. */
function toF32(bytes: Uint8Array, t: TensorInfo): Float32Array {
  const aligned = bytes.slice().buffer;
  if (t.dtype === 'F32') return new Float32Array(aligned);
  const halves = new Uint16Array(aligned);
  return t.dtype === 'F16' ? f16BitsToF32(halves) : bf16ToF32(halves);
}

function destroyPieces(pieces: Piece[]): void {
  for (const p of pieces) {
    p.data.destroy();
    p.scales?.destroy();
  }
}

function assemble(config: ModelConfig, slots: Map<string, Slot>): ModelWeights {
  const matrix = (key: string): WeightMatrix => {
    const s = slots.get(key)!;
    const { data, scales } = s.pieces[0];
    return { format: s.format, rows: rowsOf(s.destination), cols: s.destination.cols, data, scales, label: key };
  };
  /** embed and lmHead: one matrix, or its row pieces when it exceeds a storage binding */
  const splittable = (key: string): WeightMatrix | SplitMatrix => {
    const s = slots.get(key)!;
    if (s.pieces.length === 1) return matrix(key);
    const pieces = s.pieces.map(({ rowStart, rows, data, scales }) => ({ rowStart, w: { format: s.format, rows, cols: s.destination.cols, data, scales, label: `${key}[${rowStart}..]` } }));
    return { format: s.format, rows: rowsOf(s.destination), cols: s.destination.cols, label: key, pieces };
  };
  const vector = (key: string) => slots.get(key)!.pieces[0].data;
  const host = (key: string): HostExperts => {
    const s = slots.get(key)!;
    const perExpert = formatBytes(s.format, s.destination.partRows, s.destination.cols);
    return { data: s.host!.data, scales: s.host!.scales, dataBytes: perExpert.data, scaleBytes: perExpert.scales };
  };
  const offloaded = (k: string): OffloadedExperts | undefined => slots.get(`${k}.gate`)!.host
    && { resident: slots.get(`${k}.gate`)!.destination.gpuParts, gate: host(`${k}.gate`), up: host(`${k}.up`), down: host(`${k}.down`) };
  const optional = <T>(key: string, make: (key: string) => T) => (slots.has(key) ? make(key) : undefined);
  const embed = splittable('embed');
  const layers = Array.from({ length: config.layers }, (_, l): LayerWeights => {
    const p = `layers.${l}`;
    const expertMlp = (k: string) => ({ gate: matrix(`${k}.gate`), up: matrix(`${k}.up`), down: matrix(`${k}.down`) });
    return {
      inputNorm: vector(`${p}.inputNorm`),
      mlpNorm: vector(`${p}.mlpNorm`),
      attnOutNorm: optional(`${p}.attnOutNorm`, vector),
      mlpOutNorm: optional(`${p}.mlpOutNorm`, vector),
      q: matrix(`${p}.q`),
      k: matrix(`${p}.k`),
      v: matrix(`${p}.v`),
      o: matrix(`${p}.o`),
      qBias: optional(`${p}.qBias`, vector),
      kBias: optional(`${p}.kBias`, vector),
      vBias: optional(`${p}.vBias`, vector),
      qNorm: optional(`${p}.qNorm`, vector),
      kNorm: optional(`${p}.kNorm`, vector),
      mlp: optional(`${p}.mlp.gate`, () => expertMlp(`${p}.mlp`)),
      moe: optional(`${p}.moe.router`, () => ({
        router: matrix(`${p}.moe.router`),
        ...expertMlp(`${p}.moe`),
        offloaded: offloaded(`${p}.moe`),
        shared: optional(`${p}.moe.shared.gate`, () => expertMlp(`${p}.moe.shared`)),
        sharedGate: optional(`${p}.moe.sharedGate`, matrix),
      })),
    };
  });
  const adapters = (config.selfSpeculative?.adapters ?? []).map(({ exitLayer }): AdapterWeights => {
    const p = `adapters.${exitLayer}`;
    return { exitLayer, inputNorm: vector(`${p}.inputNorm`), q: matrix(`${p}.q`), k: matrix(`${p}.k`), v: matrix(`${p}.v`), o: matrix(`${p}.o`), norm: vector(`${p}.norm`) };
  });
  const buffers = [...slots.values()].flatMap((s) => s.pieces.flatMap((p) => (p.scales ? [p.data, p.scales] : [p.data])));
  const bytes = buffers.reduce((n, b) => n + b.size, 0);
  return { embed, layers, norm: vector('norm'), lmHead: config.tieEmbeddings ? embed : splittable('lmHead'), adapters, bytes, buffers, format: layers[0].q!.format };
}

/** Adds the draft vocabulary gathered from the loaded LM head (its buffers join the weights' own). */
function withDraftVocab(gpu: Gpu, config: ModelConfig, weights: ModelWeights, ids: Uint32Array<ArrayBuffer>, idsBuffer: GPUBuffer): void {
  const draft = gatherDraftVocab(gpu, weights.lmHead, ids, idsBuffer, config.vocab, bufferLimit(gpu));
  const added = [draft.head.data, ...(draft.head.scales ? [draft.head.scales] : []), draft.rank];
  weights.draftVocab = draft;
  weights.buffers.push(...added);
  weights.bytes += added.reduce((n, b) => n + b.size, 0);
}

/** Frees every GPU buffer of loaded weights. */
export function destroyWeights(w: ModelWeights): void {
  for (const b of w.buffers) b.destroy();
}
