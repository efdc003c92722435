import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ropeTable, type RopeScaling, type RopeSpec } from '../src/kernels/rope_table';

/** Tables computed by tools/train/rope_tables.py with transformers' rope init functions in float32 torch. */
interface Fixture {
  config: {
    head_dim: number; rope_theta: number; partial_rotary_factor?: number;
    max_position_embeddings?: number; original_max_position_embeddings?: number;
    rope_scaling?: Record<string, number | number[] | string>;
  };
  seq_len: number;
  rotary_dim: number;
  inv_freq: number[];
  attention_factor: number;
}
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/rope_tables.json', import.meta.url), 'utf8')) as Fixture[];

/** The HF config fields as a family declaration maps them onto a RopeSpec. */
function spec(c: Fixture['config']): RopeSpec {
  const s = c.rope_scaling;
  const rotaryDim = Math.floor(c.head_dim * (c.partial_rotary_factor ?? 1));
  const base = { theta: c.rope_theta, headDim: c.head_dim, rotaryDim };
  if (!s) return base;
  const n = (key: string) => s[key] as number;
  let scaling: RopeScaling;
  if (s.rope_type === 'linear') scaling = { type: 'linear', factor: n('factor') };
  else if (s.rope_type === 'llama3') {
    scaling = { type: 'llama3', factor: n('factor'), lowFreqFactor: n('low_freq_factor'), highFreqFactor: n('high_freq_factor'), originalMaxPositions: n('original_max_position_embeddings') };
  } else {
    scaling = {
      type: 'longrope', shortFactor: s.short_factor as number[], longFactor: s.long_factor as number[],
      maxPositions: c.max_position_embeddings!, originalMaxPositions: c.original_max_position_embeddings,
      factor: s.factor as number | undefined, attentionFactor: s.attention_factor as number | undefined,
    };
  }
  return { ...base, scaling };
}

describe('ropeTable', () => {
  for (const fx of fixtures) {
    const label = `${(fx.config.rope_scaling?.rope_type as string | undefined) ?? 'default'} headDim=${fx.config.head_dim} rotary=${fx.rotary_dim} seqLen=${fx.seq_len}`;
    it(`equals transformers' table: ${label}`, () => {
      const table = ropeTable(spec(fx.config), fx.seq_len);
      expect(table.rotaryDim).toBe(fx.rotary_dim);
      expect(table.attentionFactor).toBeCloseTo(fx.attention_factor, 12);
      // powf and a correctly rounded pow may differ in the last bit
      table.invFreq.forEach((v, i) => expect(Math.abs(v - fx.inv_freq[i])).toBeLessThanOrEqual(2.4e-7 * fx.inv_freq[i]));
    });
  }

  it('switches LongRoPE to its long factors past the original context', () => {
    const s = spec(fixtures.find((f) => f.config.original_max_position_embeddings === 4096)!.config);
    expect(ropeTable(s, 4096).invFreq).not.toEqual(ropeTable(s, 4097).invFreq);
    expect(ropeTable(s, 1).invFreq).toEqual(ropeTable(s, 4096).invFreq);
  });

  it('rejects odd or oversized rotary dims and factor lists of the wrong length', () => {
    expect(() => ropeTable({ theta: 1e4, headDim: 64, rotaryDim: 15 })).toThrow(/rotaryDim 15/);
    expect(() => ropeTable({ theta: 1e4, headDim: 64, rotaryDim: 66 })).toThrow(/rotaryDim 66/);
    const scaling: RopeScaling = { type: 'longrope', shortFactor: [1, 1], longFactor: [2, 2], maxPositions: 10 };
    expect(() => ropeTable({ theta: 1e4, headDim: 64, scaling })).toThrow(/2 entries, expected rotaryDim \/ 2 = 32/);
  });
});
