import type { DecodeContext, DecodeStrategy } from './strategy';
import { Rng } from './rng';
import { argmax, distribution, sampleFromProbs } from '../kernels/sampling';
import type { Step } from '../gpu/step';

export interface SamplingParams {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  seed: number;
}

/**
 * Plain decoding, one token per forward pass. The chosen token never leaves the GPU before the next
 * pass embeds it: step i+1 is submitted before step i's 4-byte readback is awaited, so the CPU round
 * trip overlaps GPU work (at most one wasted pass after EOS, whose KV is rolled back).
 *
 * With a constraint, each pass is two submits: the forward pass (which needs only the token already on the GPU),
 * then the choice, submitted once the previous token is back and the constraint's mask for this position is
 * computed: the mask is computed on the CPU while the GPU runs the forward pass.
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
    const { constraint } = ctx;
    // greedy with nothing reading the logits: the LM head picks the token without writing them
    const splitHead = !rng && !ctx.controls && !constraint && model.splitArgmax;
    const forward = (step: Step, i: number): void => {
      model.embed(step, model.act.tokens, i % capacity, 1);
      model.layers(step, 1, start + i);
      if (!splitHead) model.head(step, 1);
    };
    const choose = (step: Step, i: number): Promise<ArrayBuffer[]> => {
      const index = (i + 1) % capacity;
      ctx.controls?.beforeChoice(step, model.act.logits);
      if (splitHead) model.headArgmax(step, model.act.tokens, index);
      else this.choose(ctx, step, index, rng);
      step.read(model.act.tokens, 4 * index, 4);
      ctx.controls?.afterChoice(step, model.act.logits, model.act.tokens, index);
      return step.submit();
    };
    // without a constraint, one submit per pass; with one, the forward submit and a choice deferred until the mask
    const record = (i: number): { forwardDone: Promise<unknown>; choice: () => Promise<ArrayBuffer[]> } => {
      const step = ctx.newStep();
      forward(step, i);
      if (!constraint) {
        const choice = choose(step, i);
        return { forwardDone: choice, choice: () => choice };
      }
      const forwardDone = step.submit();
      return { forwardDone, choice: () => { ctx.controls?.setMask(constraint.mask()); return choose(ctx.newStep(), i); } };
    };

    let inFlight = record(0).choice();
    for (let i = 0; ; i++) {
      const canContinue = () => !ctx.shouldStop() && ctx.remaining() > 1 && start + i + 2 <= kv.maxSeq;
      const next = canContinue() ? record(i + 1) : null;
      next?.forwardDone.catch(() => undefined); // a failure (device lost) surfaces through inFlight first
      const [bytes, logprobBytes] = await inFlight;
      ctx.stats.forwardPasses++;
      kv.extend(1);
      const token = new Uint32Array(bytes)[0];
      const logprob = ctx.controls?.logprob(token, logprobBytes);
      constraint?.advance(token);
      if (!ctx.emit([token], undefined, undefined, logprob ? [logprob] : undefined) || !next) {
        if (next) await next.forwardDone; // let the speculative pass finish; its KV slot is beyond kv.length
        return;
      }
      inFlight = next.choice();
    }
  }

  private choose(ctx: DecodeContext, step: Step, outIndex: number, rng: Rng | null): void {
    const { gpu, model } = ctx;
    const vocab = model.config.vocab;
    if (!this.sampling || !rng) {
      argmax(gpu, step, { logits: model.act.logits, rows: 1, vocab, out: model.act.tokens, outOffset: outIndex });
      return;
    }
    distribution(gpu, step, { logits: model.act.logits, rows: 1, vocab, probs: model.act.probs, ...this.sampling });
    sampleFromProbs(gpu, step, { probs: model.act.probs, row: 0, vocab, uniform: rng.next(), out: model.act.tokens, outOffset: outIndex });
  }
}
