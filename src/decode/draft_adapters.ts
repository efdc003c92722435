import type { Step } from '../gpu/step';
import { storageBuffer } from '../gpu/buffers';
import { GEMV_MAX_ROWS } from '../gpu/tuning';
import type { ModelConfig } from '../model/config';
import type { AdapterShape } from '../model/adapter';
import type { AdapterBlock } from '../model/adapter_forward';
import type { Transformer } from '../model/forward';
import type { DraftSources } from './exit_policy';

export type DraftSourceOption = 'auto' | 'exit' | 'adapter';

/**
 * The draft sources a self-speculative run chooses from. 'exit': the plain exits; 'adapter': the Kangaroo adapters
 * (the one at `fixedExit` when pinned); 'auto': both while DEL chooses (`del`), else the adapter where the pinned
 * exit has one (it was trained for that exit) and the plain exit otherwise.
 */
export function draftSources(model: Transformer, option: DraftSourceOption, fixedExit: number | undefined, del: boolean): DraftSources {
  const all = model.adapters.map((a) => ({ exitLayer: a.exitLayer, cost: adapterLayerCost(model.config, a.shape) }));
  const atExit = all.filter((a) => !fixedExit || a.exitLayer === fixedExit);
  if (option === 'exit' || atExit.length === 0) {
    if (option === 'adapter') throw new RangeError(`draftSource 'adapter' needs a Kangaroo adapter${fixedExit ? ` at exit layer ${fixedExit}` : ''}; the model has ${all.length ? `them at ${all.map((a) => a.exitLayer).join(', ')}` : 'none'}`);
    return { plain: true, adapters: [] };
  }
  if (option === 'adapter' || !del) return { plain: false, adapters: atExit };
  return { plain: true, adapters: atExit };
}

/**
 * An adapter's cost in layers for DEL: its weights over one layer's (the weights a token reads: attention, and the
 * dense MLP or the routed experts it uses). Passes are bandwidth-bound on GPUs, so weights stand for time.
 */
export function adapterLayerCost(c: ModelConfig, shape: AdapterShape): number {
  const mlpWidth = c.moe ? c.moe.expertsPerToken * c.moe.expertIntermediate + (c.moe.sharedExpertIntermediate ?? 0) : c.intermediate;
  const attention = c.hidden * c.headDim * (2 * c.heads + 2 * c.kvHeads);
  return (c.hidden * shape.headDim * (2 * shape.heads + 2 * shape.kvHeads)) / (attention + 3 * c.hidden * mlpWidth);
}

/**
 * Keeps adapters' caches level with the model's before they draft or give shadow tokens. Plain decoding and
 * all-accepted rounds leave an adapter behind: after an all-accepted round only the last draft's position is
 * missing, and its exit state is still in the round's exit states (Kangaroo feeds it with the next draft);
 * longer gaps run layers 1..l again over those tokens, which writes the early layers' keys and values with the
 * same bits (passes of up to GEMV_MAX_ROWS rows are bitwise equal to single-token steps).
 */
export class AdapterFeeder {
  /** every token of the sequence: position p holds sequence[p] */
  readonly sequence: number[];
  /** where the last round left the exit state of its last position (exitStates row), if all its drafts were accepted */
  private lastExit: { exitLayer: number; position: number; row: number } | null = null;
  private readonly ids: GPUBuffer; // [maxSeq] u32 tokens of a gap

  constructor(private readonly model: Transformer, prompt: number[], private readonly exitStates: GPUBuffer) {
    this.sequence = [...prompt];
    this.ids = storageBuffer(model.gpu, 'spec.gapIds', 4 * model.kv.maxSeq);
  }

  /** After a round from `start` with exit layer `exitLayer`: `drafted` drafts, `accepted` of them accepted. */
  noteRound(exitLayer: number, start: number, drafted: number, accepted: number): void {
    this.lastExit = accepted === drafted ? { exitLayer, position: start + drafted, row: drafted } : null;
  }

  /** Records into `step` what `adapter` needs to reach position `start`; returns the passes recorded. */
  catchUp(step: Step, adapter: AdapterBlock, start: number): number {
    const { model } = this;
    const from = adapter.kv.length;
    const gap = start - from;
    if (gap <= 0) return 0;
    const rowBytes = 4 * model.config.hidden;
    const last = this.lastExit;
    if (gap === 1 && last?.exitLayer === adapter.exitLayer && last.position === from) {
      step.copy(this.exitStates, last.row * rowBytes, model.act.x, 0, rowBytes); // act.x is free before the round
      adapter.record(step, model, 1, from, from + 1, true);
      adapter.kv.extend(1);
      return 0;
    }
    model.gpu.device.queue.writeBuffer(this.ids, 0, Uint32Array.from(this.sequence.slice(from, start)));
    const chunk = Math.min(GEMV_MAX_ROWS, model.rows, adapter.rows);
    let passes = 0;
    for (let at = 0; at < gap; at += chunk, passes++) {
      const count = Math.min(chunk, gap - at);
      model.embed(step, this.ids, at, count);
      model.layers(step, count, from + at, 0, adapter.exitLayer);
      adapter.record(step, model, count, from + at, from + at + count, true);
    }
    adapter.kv.extend(gap);
    return passes;
  }

  destroy(): void {
    this.ids.destroy();
  }
}
