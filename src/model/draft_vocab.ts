/**
 * The draft vocabulary (FR-Spec, arXiv 2502.14856; declared in model/adapter.ts): self-speculative drafts score
 * only the N most frequent tokens, through a draft head gathered at load from the LM head's rows in rank order,
 * in the head's own format, so a draft's head reads N/vocab of the head's bytes. The verify pass keeps the whole
 * head: a token outside the N has draft probability 0, which greedy and rejection-sampling acceptance both handle.
 */
import type { Gpu } from '../gpu/device';
import { ModelFormatError, ResourceLimitError, UnsupportedModelError } from '../contract/errors';
import { rowPieces, type SplitMatrix, type WeightMatrix } from '../kernels/tensor';
import type { TensorInfo } from './safetensors';
import { formatBytes } from './weight_plan';

export interface DraftVocabWeights {
  size: number;
  ids: GPUBuffer; // [N] u32 token id of each rank
  rank: GPUBuffer; // [vocab] u32 rank of each token, N for tokens outside the draft vocabulary
  head: WeightMatrix; // [N, hidden] rows ids[0..N) of the LM head, in its format
}

/** The ids tensor's values (I32, little-endian: checkTensors checked the dtype) once each is checked to be a distinct token id below `vocab`. */
export function checkDraftIds(t: TensorInfo, bytes: Uint8Array, vocab: number): Uint32Array<ArrayBuffer> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ids = new Uint32Array(bytes.byteLength / 4);
  const seen = new Uint8Array(vocab);
  for (let j = 0; j < ids.length; j++) {
    const id = view.getInt32(4 * j, true);
    const bad = id < 0 || id >= vocab ? `is not a token id (vocab_size ${vocab})` : seen[id] ? 'appears twice' : '';
    if (bad) throw new ModelFormatError(`${t.file}: tensor "${t.name}": entry ${j} (${id}) ${bad}`, { file: t.file, tensor: t.name });
    seen[id] = 1;
    ids[j] = id;
  }
  return ids;
}

/**
 * Gathers rows `ids` of the LM head (whole or split by rows) into a draft head, by buffer copies of whole rows
 * (runs of consecutive ids in one copy), and writes the rank table. `ids` is the loaded ids buffer's content.
 */
export function gatherDraftVocab(gpu: Gpu, lmHead: WeightMatrix | SplitMatrix, ids: Uint32Array<ArrayBuffer>, idsBuffer: GPUBuffer, vocab: number, limit: number): DraftVocabWeights {
  const n = ids.length;
  const { format, cols } = lmHead;
  const row = formatBytes(format, 1, cols);
  if (row.data % 4 !== 0 || row.scales % 4 !== 0) {
    throw new UnsupportedModelError(`the draft vocabulary copies whole LM head rows; a ${format} row of ${cols} columns is ${row.data} bytes, not whole 4-byte words`, { tensor: lmHead.label });
  }
  if (n * row.data > limit) throw new ResourceLimitError(`the draft head (${n} rows) needs a ${n * row.data}-byte buffer; this GPU allows ${limit} bytes per storage buffer`, { tensor: lmHead.label, bytes: n * row.data, limit });
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const data = gpu.device.createBuffer({ label: 'draftVocab.head', size: n * row.data, usage });
  const scales = row.scales ? gpu.device.createBuffer({ label: 'draftVocab.head.scales', size: n * row.scales, usage }) : undefined;
  const rank = gpu.device.createBuffer({ label: 'draftVocab.rank', size: 4 * vocab, usage });
  const pieces = rowPieces(lmHead);
  const encoder = gpu.device.createCommandEncoder({ label: 'draftVocab.gather' });
  for (let j = 0; j < n;) {
    const { rowStart, w } = pieces.find((p) => ids[j] >= p.rowStart && ids[j] < p.rowStart + p.w.rows)!;
    let run = 1;
    while (j + run < n && ids[j + run] === ids[j] + run && ids[j + run] < rowStart + w.rows) run++;
    const from = ids[j] - rowStart;
    encoder.copyBufferToBuffer(w.data, from * row.data, data, j * row.data, run * row.data);
    if (scales) encoder.copyBufferToBuffer(w.scales!, from * row.scales, scales, j * row.scales, run * row.scales);
    j += run;
  }
  gpu.device.queue.submit([encoder.finish()]);
  const ranks = new Uint32Array(vocab).fill(n);
  ids.forEach((id, j) => (ranks[id] = j));
  gpu.device.queue.writeBuffer(rank, 0, ranks);
  return { size: n, ids: idsBuffer, rank, head: { format, rows: n, cols, data, scales, label: 'draftVocab.head' } };
}
