// Checks public/models/<name>/onnx/model.onnx with onnxruntime-web (wasm, CPU) against the
// reference fixture tests/fixtures/<name>.safetensors: full prefill logits, then prefill + 1-token
// decode steps through the KV cache. Usage: node tools/train/check_onnx.mjs tiny-dense
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';

const name = process.argv[2];
ort.env.wasm.numThreads = 1;

function readSafetensors(path) {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const out = {};
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    const [s, e] = v.data_offsets;
    const bytes = buf.subarray(8 + n + s, 8 + n + e);
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const T = { F32: Float32Array, I32: Int32Array }[v.dtype];
    out[k] = { data: new T(ab), shape: v.shape };
  }
  return out;
}

const cfg = JSON.parse(readFileSync(`public/models/${name}/config.json`, 'utf8'));
const fx = readSafetensors(`tests/fixtures/${name}.safetensors`);
const L = cfg.num_hidden_layers, kvh = cfg.num_key_value_heads, hd = cfg.head_dim, V = cfg.vocab_size;
const session = await ort.InferenceSession.create(readFileSync(`public/models/${name}/onnx/model.onnx`));
console.log('inputs', session.inputNames.length, session.inputNames.slice(0, 4), 'outputs', session.outputNames.slice(0, 3));

function feeds(ids, pos0, past) {
  const f = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map((_, i) => BigInt(pos0 + i))), [1, ids.length]),
  };
  for (let i = 0; i < L; i++) for (const kv of ['key', 'value'])
    f[`past_key_values.${i}.${kv}`] = past ? past[`present.${i}.${kv}`] : new ort.Tensor('float32', new Float32Array(0), [1, kvh, 0, hd]);
  return f;
}

let worst = 0;
for (const n of [1, 7, 45]) {
  const ids = Array.from(fx[`prompt_len${n}`].data);
  const want = fx[`logits_len${n}`].data;
  // prefill all but the last 2 tokens, then decode the rest one at a time
  const split = Math.max(1, n - 2);
  let out = await session.run(feeds(ids.slice(0, split), 0, null));
  const got = new Float32Array(n * V);
  got.set(out.logits.data, 0);
  for (let t = split; t < n; t++) {
    out = await session.run(feeds([ids[t]], t, out));
    got.set(out.logits.data, t * V);
  }
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]));
  worst = Math.max(worst, m);
  console.log(`len ${n}: max |onnx - reference| = ${m.toExponential(2)}`);
}
process.exit(worst < 2e-3 ? 0 : 1);
