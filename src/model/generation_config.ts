import { isObject, parseJsonObject } from './json';
import type { ModelSource } from './source';

export const GENERATION_CONFIG = 'generation_config.json';

/** Sampling parameters a checkpoint ships as its defaults (absent fields: the runtime's own defaults). */
export interface SamplingDefaults {
  temperature?: number;
  topK?: number;
  topP?: number;
}

/** What generation_config.json says about decoding: its EOS ids (Llama 3 lists three) and, with do_sample, how to sample. */
export interface GenerationConfig {
  eosIds: number[];
  /** undefined when the checkpoint decodes greedily (do_sample absent or false) */
  sampling?: SamplingDefaults;
}

export const EMPTY_GENERATION_CONFIG: GenerationConfig = { eosIds: [] };

/** generation_config.json -> GenerationConfig; a missing file is no error (the checkpoint sets no defaults). */
export async function loadGenerationConfig(source: ModelSource): Promise<GenerationConfig> {
  if (!(await source.exists(GENERATION_CONFIG))) return EMPTY_GENERATION_CONFIG;
  return parseGenerationConfig(parseJsonObject(await source.text(GENERATION_CONFIG), GENERATION_CONFIG));
}

/** Fields of unexpected types are ignored, as transformers falls back to its defaults for them. */
export function parseGenerationConfig(json: unknown): GenerationConfig {
  if (!isObject(json)) return EMPTY_GENERATION_CONFIG;
  const eos = json.eos_token_id;
  const eosIds = (Array.isArray(eos) ? eos : [eos]).filter((id): id is number => Number.isSafeInteger(id) && id >= 0);
  if (json.do_sample !== true) return { eosIds };
  const positive = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
  const topK = positive(json.top_k);
  const topP = positive(json.top_p);
  return {
    eosIds,
    sampling: {
      temperature: positive(json.temperature),
      topK: topK !== undefined && Number.isInteger(topK) ? topK : undefined,
      topP: topP !== undefined && topP <= 1 ? topP : undefined,
    },
  };
}
