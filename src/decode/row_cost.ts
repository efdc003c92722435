/** Every this many rounds the draft-length calibration runs the alternative to DEL's choice (drafting vs plain). */
const PROBE_EVERY = 16;
/** Speculative rounds must beat plain ones by this factor in ms per token (and vice versa) to move ρ. */
const MARGIN = 1.05;
/** Change of ρ per decision. */
const ROW_COST_STEP = 0.25;
/** Weight of the old average in the decayed ms-per-token averages. */
const MS_DECAY = 0.75;

/** Online estimate of the row-cost factor ρ from the measured ms per emitted token of plain and speculative rounds. */
export class RowCostCalibration {
  private plainMs = NaN;
  private speculativeMs = NaN;
  private rounds = 0;

  /** `rowCost`: the prior, the device's Tuning.verifyRowCost */
  constructor(public rowCost: number) {}

  /** True once PROBE_EVERY rounds ran since the last probe: the next round runs the alternative to the policy's choice. */
  probeDue(): boolean {
    return this.rounds >= PROBE_EVERY;
  }

  record(drafted: number, ms: number, emitted: number, probe: boolean): void {
    this.rounds = probe ? 0 : this.rounds + (drafted === 0 ? emitted : 1); // a plain burst is `emitted` plain rounds
    const perToken = ms / emitted;
    const decayed = (old: number) => (Number.isNaN(old) ? perToken : MS_DECAY * old + (1 - MS_DECAY) * perToken);
    if (drafted === 0) this.plainMs = decayed(this.plainMs);
    else this.speculativeMs = decayed(this.speculativeMs);
    if (this.speculativeMs > MARGIN * this.plainMs) this.rowCost = Math.min(1, this.rowCost + ROW_COST_STEP);
    else if (probe && this.speculativeMs * MARGIN < this.plainMs) this.rowCost = Math.max(0, this.rowCost - ROW_COST_STEP);
  }
}
