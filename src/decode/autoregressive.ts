import type { DecodeContext, DecodeStrategy } from './strategy';
import { Rng } from './rng';
import { argmax, distribution, sampleFromProbs } from '../kernels/sampling';
import type { Step } from '../gpu/step';

export interface SamplingParams {
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
}

/**
 * Plain decoding, one token per forward pass. The chosen token never leaves the GPU before the next
 * pass embeds it: step i+1 is submitted before step i's 4-byte readback is awaited, so the CPU round
 * trip overlaps GPU work (at most one wasted pass after EOS, whose KV is rolled back).
 */
export class Autoregressive implements DecodeStrategy {
  constructor(private readonly sampling?: SamplingParams) {}

  async run(ctx: DecodeContext): Promise<void> {
    const { model, gpu } = ctx;
    const kv = model.kv;
    const capacity = model.act.tokenCapacity;
    const rng = this.sampling ? new Rng(this.sampling.seed) : null;
    gpu.device.queue.writeBuffer(model.act.tokens, 0, new Uint32Array([ctx.prompt[ctx.prompt.length - 1]]));

    const start = kv.length;
    const record = (i: number): Promise<ArrayBuffer[]> => {
      const step = ctx.newStep();
      const pos = start + i;
      model.embed(step, model.act.tokens, i % capacity, 1);
      model.layers(step, 1, pos);
      model.head(step, 1);
      this.choose(ctx, step, (i + 1) % capacity, rng);
      step.read(model.act.tokens, 4 * ((i + 1) % capacity), 4);
      return step.submit();
    };

    let inFlight = record(0);
    for (let i = 0; ; i++) {
      const canContinue = () => !ctx.shouldStop() && ctx.remaining() > 1 && start + i + 2 <= kv.maxSeq;
      const next = canContinue() ? record(i + 1) : null;
      next?.catch(() => undefined); // a failure (device lost) surfaces through inFlight first
      const [bytes] = await inFlight;
      ctx.stats.forwardPasses++;
      kv.extend(1);
      const token = new Uint32Array(bytes)[0];
      if (!ctx.emit([token]) || !next) {
        if (next) await next; // let the speculative pass finish; its KV slot is beyond kv.length
        return;
      }
      inFlight = next;
    }
  }

  private choose(ctx: DecodeContext, step: Step, outIndex: number, rng: Rng | null): void {
    const { gpu, model } = ctx;
    const vocab = model.config.vocab;
    if (!this.sampling || !rng) {
      argmax(gpu, step, { logits: model.act.logits, rows: 1, vocab, out: model.act.tokens, outOffset: outIndex });
      return;
    }
    const { temperature, topK, topP } = this.sampling;
    distribution(gpu, step, { logits: model.act.logits, rows: 1, vocab, probs: model.act.probs, temperature, topK, topP });
    sampleFromProbs(gpu, step, { probs: model.act.probs, row: 0, vocab, uniform: rng.next(), out: model.act.tokens, outOffset: outIndex });
  }
}
