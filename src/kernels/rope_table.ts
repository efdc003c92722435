/**
 * RoPE frequency tables, computed on the CPU the way transformers' rope init functions do (modeling_rope_utils:
 * `_compute_default_rope_parameters`, `_compute_linear_scaling_rope_parameters`, `_compute_llama3_parameters`,
 * `_compute_longrope_parameters` with `longrope_frequency_update`), every step rounded to f32 as PyTorch's float32
 * tensors are. The kernels only read the table: angle(position, i) = position · invFreq[i], and cos/sin are
 * multiplied by attentionFactor.
 */

/** Hugging Face `rope_scaling` by `rope_type` (fields renamed to camelCase); absent = 'default'. */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor?: number; highFreqFactor?: number; originalMaxPositions?: number }
  /** one divisor per frequency, precomputed (GGUF's rope_freqs tensor: Llama 3.1+ scaling as llama.cpp's converter stores it) */
  | { type: 'divisors'; divisors: number[] }
  | LongRope;

/** Phi-3's LongRoPE: per-frequency divisors for short and long sequences. */
export interface LongRope {
  type: 'longrope';
  shortFactor: number[];
  longFactor: number[];
  /** config.max_position_embeddings */
  maxPositions: number;
  /** config.original_max_position_embeddings (top level, Phi-3); when set, factor = maxPositions / it */
  originalMaxPositions?: number;
  /** rope_scaling.factor (used when originalMaxPositions is absent) */
  factor?: number;
  /** rope_scaling.attention_factor; default sqrt(1 + ln(factor) / ln(original max positions)), 1 when factor <= 1 */
  attentionFactor?: number;
}

export interface RopeSpec {
  /** rope_theta */
  theta: number;
  headDim: number;
  /** dims rotated at the start of each head: floor(headDim · partial_rotary_factor), even; default headDim */
  rotaryDim?: number;
  scaling?: RopeScaling;
}

/** What the RoPE kernels read. Build it once per (spec, long or short) and reuse it: its GPU copy is cached by identity. */
export interface RopeTable {
  /** [rotaryDim / 2] f32: pair i rotates dims (i, i + rotaryDim / 2) of each head by position · invFreq[i] */
  readonly invFreq: Float32Array;
  readonly rotaryDim: number;
  /** cos and sin are scaled by it (LongRoPE); 1 for the other types */
  readonly attentionFactor: number;
}

const f = Math.fround;

/**
 * The table for sequences of `seqLen` positions (only LongRoPE depends on it: its long factors apply once
 * seqLen exceeds the original max positions, as transformers switches when max(position_ids) + 1 does).
 */
export function ropeTable(spec: RopeSpec, seqLen = 0): RopeTable {
  const rotaryDim = spec.rotaryDim ?? spec.headDim;
  if (rotaryDim % 2 !== 0 || rotaryDim < 2 || rotaryDim > spec.headDim) throw new Error(`rope: rotaryDim ${rotaryDim} must be even and in 2..headDim ${spec.headDim}`);
  const s = spec.scaling;
  if (s?.type === 'longrope') return longRope(spec.theta, rotaryDim, s, seqLen);
  const inv = defaultInvFreq(spec.theta, rotaryDim);
  if (s?.type === 'divisors') {
    if (s.divisors.length !== rotaryDim / 2) throw new Error(`rope: ${s.divisors.length} divisors, expected rotaryDim / 2 = ${rotaryDim / 2}`);
    return { invFreq: defaultInvFreq(spec.theta, rotaryDim, s.divisors), rotaryDim, attentionFactor: 1 };
  }
  const invFreq = s?.type === 'linear' ? inv.map((v) => f(v / s.factor)) : s?.type === 'llama3' ? llama3(inv, s) : inv;
  return { invFreq, rotaryDim, attentionFactor: 1 };
}

/** 1 / theta^(arange(0, dim, 2) / dim) in f32. */
function defaultInvFreq(theta: number, dim: number, divisors?: number[]): Float32Array {
  const inv = new Float32Array(dim / 2);
  for (let i = 0; i < inv.length; i++) {
    const power = f(Math.pow(theta, f(f(2 * i) / dim)));
    inv[i] = f(1 / (divisors ? f(f(divisors[i]) * power) : power));
  }
  return inv;
}

function llama3(inv: Float32Array, s: Extract<RopeScaling, { type: 'llama3' }>): Float32Array {
  const { factor, lowFreqFactor = 1, highFreqFactor = 4, originalMaxPositions = 8192 } = s;
  const lowFreqWavelen = originalMaxPositions / lowFreqFactor;
  const highFreqWavelen = originalMaxPositions / highFreqFactor;
  return inv.map((v) => {
    const wavelen = f(f(2 * Math.PI) / v);
    if (wavelen < highFreqWavelen) return v;
    if (wavelen > lowFreqWavelen) return f(v / factor);
    const smooth = f(f(f(originalMaxPositions / wavelen) - lowFreqFactor) / (highFreqFactor - lowFreqFactor));
    return f(f(f(f(1 - smooth) * v) / factor) + f(smooth * v));
  });
}

function longRope(theta: number, rotaryDim: number, s: LongRope, seqLen: number): RopeTable {
  const original = s.originalMaxPositions ?? s.maxPositions;
  const factor = s.originalMaxPositions !== undefined ? s.maxPositions / s.originalMaxPositions : s.factor ?? 1;
  const attentionFactor = s.attentionFactor ?? (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original)));
  const divisors = seqLen > original ? s.longFactor : s.shortFactor;
  if (divisors.length !== rotaryDim / 2) throw new Error(`rope: longrope factors have ${divisors.length} entries, expected rotaryDim / 2 = ${rotaryDim / 2}`);
  return { invFreq: defaultInvFreq(theta, rotaryDim, divisors), rotaryDim, attentionFactor };
}
