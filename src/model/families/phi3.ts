import { commonHyperParameters, type ConfigFields } from '../config_fields';
import type { ModelConfig, Rotation } from '../config';
import { everyLayer, llamaLayer, matrix, modelTensors, perLayer, preNorms, type Family, type TensorSpec } from '../family';
import type { LongRope } from '../../kernels/rope_table';

/**
 * Phi-3 / Phi-3.5 / Phi-4-mini: Llama layers whose q/k/v and gate/up projections are each stored as one fused
 * tensor (qkv_proj rows [q; k; v], gate_up_proj rows [gate; up]), read as stored and split by rows at load;
 * partial rotary (partial_rotary_factor); LongRoPE scaling (`longrope`, formerly `su`) with short and long factors
 * and the attention factor.
 */
export const phi3: Family = {
  id: 'phi3',
  classes: ['Phi3ForCausalLM'],
  config(f: ConfigFields, hfArchitecture: string): ModelConfig {
    f.requireSilu();
    const c = commonHyperParameters(f, hfArchitecture, { maxPositions: 4096, rmsEps: 1e-5 });
    const factor = f.optional('partial_rotary_factor') === null ? 1 : f.positive('partial_rotary_factor', NaN);
    const rotaryDim = Math.floor(c.headDim * factor);
    if (rotaryDim % 2 !== 0 || rotaryDim < 2 || factor > 1) throw f.unsupported('partial_rotary_factor', `${factor} gives ${rotaryDim} rotary dims of ${c.headDim}; an even count in 2..head_dim is needed`);
    const rope: Rotation = { theta: f.positive('rope_theta', 10000), rotaryDim, scaling: longRope(f, c.maxPositions, rotaryDim) };
    const window = f.optional('sliding_window') === null ? 0 : f.int('sliding_window');
    return { ...c, architecture: 'phi3', recipe: everyLayer(c, llamaLayer(c, rope, 'dense', { window })) };
  },
  tensors: (c) => {
    const q = c.heads * c.headDim, kv = c.kvHeads * c.headDim, I = c.intermediate;
    /** rows start..start+rows of the fused tensor `name` (total rows) as the weight `key` */
    const rowsOf = (key: string, name: string, start: number, rows: number, total: number): TensorSpec =>
      ({ ...matrix(key, name, rows, c.hidden), rowsOf: { start, total } });
    return [
      ...modelTensors(c),
      ...perLayer(c, (_, p, key) => {
        const qkv = `${p}.self_attn.qkv_proj.weight`, gateUp = `${p}.mlp.gate_up_proj.weight`;
        return [
          ...preNorms(c, p, key),
          rowsOf(`${key}.q`, qkv, 0, q, q + 2 * kv),
          rowsOf(`${key}.k`, qkv, q, kv, q + 2 * kv),
          rowsOf(`${key}.v`, qkv, q + kv, kv, q + 2 * kv),
          matrix(`${key}.o`, `${p}.self_attn.o_proj.weight`, c.hidden, q),
          rowsOf(`${key}.mlp.gate`, gateUp, 0, I, 2 * I),
          rowsOf(`${key}.mlp.up`, gateUp, I, I, 2 * I),
          matrix(`${key}.mlp.down`, `${p}.mlp.down_proj.weight`, c.hidden, I),
        ];
      }),
    ];
  },
};

/** `rope_scaling` of type longrope / su: short and long factors (rotaryDim / 2 each), or none. */
function longRope(f: ConfigFields, maxPositions: number, rotaryDim: number): LongRope | undefined {
  const s = f.object('rope_scaling');
  const type = s && (s.optional('rope_type') ?? s.optional('type'));
  if (!s || type === null || type === 'default') return undefined;
  if (type !== 'longrope' && type !== 'su') throw s.unsupported('type', `rope scaling ${JSON.stringify(type)} is not supported for Phi-3 (longrope)`);
  const factors = (field: string): number[] => {
    const v = s.optional(field);
    if (!Array.isArray(v) || v.length !== rotaryDim / 2 || !v.every((x) => typeof x === 'number' && x > 0)) throw s.format(field, `must list ${rotaryDim / 2} positive numbers (rotary dims / 2)`);
    return v as number[];
  };
  const original = f.optional('original_max_position_embeddings') === null ? undefined : f.int('original_max_position_embeddings');
  const optionalPositive = (field: string) => (s.optional(field) === null ? undefined : s.positive(field, NaN));
  return { type: 'longrope', shortFactor: factors('short_factor'), longFactor: factors('long_factor'), maxPositions, originalMaxPositions: original, factor: optionalPositive('factor'), attentionFactor: optionalPositive('attention_factor') };
}
