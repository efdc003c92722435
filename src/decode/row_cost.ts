/** At first, every this many rounds the draft-length calibration runs the alternative to DEL's choice (drafting vs plain). */
const PROBE_EVERY = 16;
/** Each probe where speculation measured slower doubles the interval to the next, up to this many rounds. */
const PROBE_EVERY_MAX = 128;
/** Speculative rounds must beat plain ones by this factor in ms per token (and vice versa) to move ρ. */
const MARGIN = 1.05;
/** Change of ρ per decision. */
const ROW_COST_STEP = 0.25;
/** Weight of the old average in the decayed ms-per-token averages. */
const MS_DECAY = 0.75;

/**
 * Online estimate of the row-cost factor ρ from the measured ms per emitted token of plain and speculative rounds.
 * A round that compiled pipelines (the first round of its shape on this device: 0.1-1.6 s on CPU adapters) is
 * no sample of the speed and is left out. Probes back off while speculation measures slower, so exploring where
 * it does not pay costs little.
 */
export class RowCostCalibration {
  private plainMs = NaN;
  private speculativeMs = NaN;
  private rounds = 0;
  private probeEvery = PROBE_EVERY;

  /** `rowCost`: the prior, the device's Tuning.verifyRowCost */
  constructor(public rowCost: number) {}

  /** True once the probe interval ran since the last probe: the next round runs the alternative to the policy's choice. */
  probeDue(): boolean {
    return this.rounds >= this.probeEvery;
  }

  /** Rounds (plain tokens) until the next probe is due. */
  roundsToProbe(): number {
    return Math.max(0, this.probeEvery - this.rounds);
  }

  /** Speculative rounds measured slower per token than plain ones: measuring acceptance (shadow rounds) cannot pay. */
  get speculationLoses(): boolean {
    return this.speculativeMs > MARGIN * this.plainMs;
  }

  /** `compiled`: the round created pipelines, so its time is mostly their compilation. */
  record(drafted: number, ms: number, emitted: number, probe: boolean, compiled = false): void {
    this.rounds = probe ? 0 : this.rounds + (drafted === 0 ? emitted : 1); // a plain burst is `emitted` plain rounds
    if (compiled) return;
    const perToken = ms / emitted;
    const decayed = (old: number) => (Number.isNaN(old) ? perToken : MS_DECAY * old + (1 - MS_DECAY) * perToken);
    if (drafted === 0) this.plainMs = decayed(this.plainMs);
    else this.speculativeMs = decayed(this.speculativeMs);
    if (this.speculationLoses) this.rowCost = Math.min(1, this.rowCost + ROW_COST_STEP);
    else if (probe && this.speculativeMs * MARGIN < this.plainMs) this.rowCost = Math.max(0, this.rowCost - ROW_COST_STEP);
    if (probe) this.probeEvery = this.speculationLoses ? Math.min(PROBE_EVERY_MAX, 2 * this.probeEvery) : PROBE_EVERY;
  }
}
