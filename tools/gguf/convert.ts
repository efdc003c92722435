/**
 * Command line: a Hugging Face folder (config.json, one model.safetensors, tokenizer.json if any) to one GGUF file.
 *   npx tsx tools/gguf/convert.ts <hf-folder> <out.gguf> [--type Q4_K_M] [--for-llama-cpp]
 * --type is one of GGUF_SCHEMES (default F16); --for-llama-cpp writes the variants of archs.ts's ArchOptions.
 */
import { pathToFileURL } from 'node:url';
import { convertToGguf, GGUF_SCHEMES, type GgufScheme } from './hf_to_gguf';

const USAGE = `usage: npx tsx tools/gguf/convert.ts <hf-folder> <out.gguf> [--type ${GGUF_SCHEMES.join('|')}] [--for-llama-cpp]`;

/** The folder, output path, scheme and options of `args`; throws with the usage on anything else. */
export function parseArgs(args: string[]): { dir: string; out: string; scheme: GgufScheme; forLlamaCpp: boolean } {
  const positional: string[] = [];
  let scheme: GgufScheme = 'F16';
  let forLlamaCpp = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--type') {
      const type = args[++i]?.toUpperCase();
      if (!GGUF_SCHEMES.includes(type as GgufScheme)) throw new Error(`unknown --type ${args[i]}\n${USAGE}`);
      scheme = type as GgufScheme;
    } else if (args[i] === '--for-llama-cpp') forLlamaCpp = true;
    else if (args[i].startsWith('--')) throw new Error(`unknown option ${args[i]}\n${USAGE}`);
    else positional.push(args[i]);
  }
  if (positional.length !== 2) throw new Error(USAGE);
  return { dir: positional[0], out: positional[1], scheme, forLlamaCpp };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const { dir, out, scheme, forLlamaCpp } = parseArgs(process.argv.slice(2));
    convertToGguf(dir, out, scheme, { forLlamaCpp });
    console.log(`${dir} -> ${out} (${scheme})`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  }
}
