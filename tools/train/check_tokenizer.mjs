// Checks that @huggingface/tokenizers loads our tokenizer.json and encodes the corpus exactly as
// tools/train/tokenizer.py does. Usage: node tools/train/check_tokenizer.mjs <dir with tokenizer files> <tokens.bin> <corpus.json>
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';

const [dir, tokensPath, corpusPath] = process.argv.slice(2);
const tj = JSON.parse(readFileSync(`${dir}/tokenizer.json`, 'utf8'));
const tc = JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, 'utf8'));
const tok = new Tokenizer(tj, tc);
const docs = JSON.parse(readFileSync(corpusPath, 'utf8'));
const buf = readFileSync(tokensPath);
const expected = new Int16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2);
let pos = 0, bad = 0;
for (const d of docs) {
  const ids = tok.encode(d).ids; // post-processor adds <|bos|>
  const want = Array.from(expected.subarray(pos, pos + ids.length));
  pos += ids.length;
  if (expected[pos] !== 1) { bad++; console.log('EOS misaligned at doc', JSON.stringify(d.slice(0, 80))); break; }
  pos += 1;
  if (ids.join(',') !== want.join(',')) { bad++; if (bad < 5) console.log('mismatch', JSON.stringify(d.slice(0, 80))); }
  const round = tok.decode(ids, { skip_special_tokens: true });
  if (round !== d) { bad++; if (bad < 5) console.log('decode mismatch', JSON.stringify(d.slice(0, 80)), JSON.stringify(round.slice(0, 80))); }
}
console.log(`docs ${docs.length}, tokens ${pos}/${expected.length}, mismatches ${bad}`);
console.log('sample', tok.encode('Once upon a time').ids, tok.tokenize('Once upon a time'));
process.exit(bad === 0 && pos === expected.length ? 0 : 1);
