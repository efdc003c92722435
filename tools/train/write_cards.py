"""Write public/models/<name>/README.md (model cards) from public/models/<name>/eval.json.

  /usr/bin/python3 tools/train/write_cards.py tiny-dense tiny-moe
"""
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

DATA = """## Data

Debian's `fortunes` and `fortunes-min` packages (fortune-mod 1.99.1 data, `/usr/share/games/fortunes`;
BSD licence, see `/usr/share/doc/fortunes/copyright`): quotations, jokes and short prose in English.
All files except `ascii-art` (pictures) and `translate-me` (partly non-English); the offensive
collection is not included. Each fortune (text between `%` lines) is one document; runs of spaces/tabs
become one space and lines are stripped. 15,185 documents (2.48 M characters); a fixed random 1/40 of the
documents (380, 24,960 tokens) is held out for validation. Training stream: `<|bos|> doc <|eos|>` concatenated
(911,078 tokens).

## Tokenizer

Byte-level BPE (GPT-2 byte mapping and pre-tokenisation regex), 2048 ids: `<|bos|>` = 0, `<|eos|>` = 1,
the 256 bytes = 2..257, 1790 merges = 258..2047; 2.65 bytes per token on this corpus. Trained on word
frequencies of the training split by `tools/train/tokenizer.py`. `tokenizer.json` (HF format, ByteLevel
pre-tokenizer/decoder, BPE model, `TemplateProcessing` post-processor that prepends `<|bos|>` when special
tokens are added) and `tokenizer_config.json` (with a `chat_template`) load in `@huggingface/tokenizers`;
`tools/train/check_tokenizer.mjs` checks it encodes the whole corpus exactly as the Python encoder.
Chat template: `<|bos|>` then, per message, `{role}: {content}<|eos|>\\n`, then `assistant:` if a generation
prompt is requested. The models were trained on plain text only, not on chats.
"""


F16_INITIALISERS = """Weights are stored as **float16 initialisers** and cast to float32 inside the graph (every input, output
and activation is float32); this halves the file and gives exactly the computation of the reference model on
the stored F16 weights. onnxruntime constant-folds the casts when it loads the model.
"""
F32_INITIALISERS = """Weights are **float32 initialisers holding the stored F16 values** (re-exported by
`tools/train/export_onnx_f32.py`): onnxruntime-web's WebGPU EP cannot run float16 initialisers on adapters
without `shader-f16` (SwiftShader among them), and it is the benchmark peer. Every input, output and
activation is float32, so this is exactly the reference model's computation on the stored F16 weights.
(tiny-moe's export keeps float16 initialisers cast inside the graph; it is used with the wasm EP only.)
"""


# models whose ONNX export is not kept in the repository (git-ignored: /public/models/tiny-moe/onnx/)
UNSHIPPED_ONNX = {"tiny-moe"}


def onnx_section(cfg, info, shipped):
    if not shipped:
        return f"""## ONNX export (not shipped)

`tools/train/export.py` also writes an opset-17 ONNX export of this model (`onnx/model.onnx`, {info['size_bytes'] / 1e6:.1f} MB,
float16 initialisers cast to float32 in the graph). It is not kept in the repository, to leave room in its size
budget: tiny-dense's export is the onnxruntime-web peer, and this model's logits are checked against the PyTorch
reference fixtures. Regenerated locally, `tests/onnx_parity.test.ts` checks it against onnxruntime-web too.
"""
    L, kv, hd, V = cfg["num_hidden_layers"], cfg["num_key_value_heads"], cfg["head_dim"], cfg["vocab_size"]
    weights_text = F32_INITIALISERS if info.get("initialisers") == "float32" else F16_INITIALISERS
    return f"""## ONNX export (`onnx/model.onnx`)

Opset 17, exported with `torch.onnx.export` from `tools/train/reference.py` ({info['size_bytes'] / 1e6:.1f} MB).
{weights_text}
| name | dtype | shape |
| --- | --- | --- |
| input `input_ids` | int64 | [batch, seq] |
| input `position_ids` | int64 | [batch, seq] (absolute positions, i.e. past_len .. past_len+seq-1; used for RoPE only) |
| inputs `past_key_values.{{i}}.key`, `past_key_values.{{i}}.value`, i = 0..{L - 1} | float32 | [batch, {kv}, past_seq, {hd}] (past_seq may be 0) |
| output `logits` | float32 | [batch, seq, {V}] |
| outputs `present.{{i}}.key`, `present.{{i}}.value` | float32 | [batch, {kv}, past_seq + seq, {hd}] |

Keys are cached **after** RoPE. The causal mask is built from the shapes (query j of this call sees keys
0..past_seq+j); there is no attention_mask input, so no padding. Inputs are ordered `input_ids`, `position_ids`,
then `past_key_values.0.key`, `past_key_values.0.value`, `past_key_values.1.key`, ...; outputs `logits`,
`present.0.key`, `present.0.value`, .... `tools/train/check_onnx.mjs` runs it with onnxruntime-web (wasm) against
the reference fixture (prefill then 1-token decode steps through the cache): max |diff| about 1e-5.
"""


def fixtures_section(name, dense):
    extra = ""
    if dense:
        extra = "| `exit_logits_len7` | F32 | [L, 7, 2048] | early-exit logits lm_head(norm(h_l)) for l = 1..L at every position of `prompt_len7` (row L-1 equals `logits_len7`) |\n"
    else:
        extra = "| `router_topk_len7` | I32 | [L, 7, 2] | selected experts per layer and position of `prompt_len7`, highest router probability first |\n"
    return f"""## Test fixtures

`tests/fixtures/{name}.safetensors` (computed in float32 by `tools/train/reference.py` from the F16 weights
in this directory) and `tests/fixtures/{name}.prompts.json` (prompt texts, ids, greedy text, key list):

| key | dtype | shape | meaning |
| --- | --- | --- | --- |
| `prompt_len1` / `prompt_len7` / `prompt_len45` | I32 | [n] | English prompts tokenised **with** `<|bos|>` and cut to n tokens (len 1 is `<|bos|>` alone) |
| `logits_len1` / `logits_len7` / `logits_len45` | F32 | [n, 2048] | logits at every position, one forward from position 0 |
{extra}| `greedy_prompt` | I32 | [7] | = `prompt_len7` |
| `greedy_tokens` | I32 | [64] | 64 greedy tokens after `greedy_prompt` (EOS is not special-cased) |
"""


def stage_text(i, st):
    """One sentence per training stage: steps, schedule, time and the validation CE it ended with."""
    a = st["args"]
    steps = st.get("steps_done", a.get("steps"))
    text = f"Stage {i + 1}" + (" (warm restart from the previous stage)" if i else " (from scratch)") + f": {steps} steps"
    if a.get("time_budget"):
        text += f" (cosine schedule over at most {a['time_budget'] / 60:.0f} minutes of wall-clock time)"
    text += (f", peak LR {a.get('lr')}, {a.get('warmup')} warm-up steps, cosine to {a.get('min_lr_frac')}× peak, seed {a.get('seed')}"
             f" ({st['train_seconds'] / 60:.1f} min on {a.get('threads', 2)} thread{'' if a.get('threads', 2) == 1 else 's'}")
    if a.get("dropout_schedule") == "constant" and a.get("layerskip"):
        text += ", layer-dropout S(t) = 1"
    if a.get("eval_every"):
        text += (f"; validation on {a.get('eval_every_windows', 24)} windows every {a['eval_every']} steps kept the best "
                 f"checkpoint, step {st.get('kept_step', steps)}")
    text += ")"
    if "val_ce_final" in st:
        text += f", validation CE {st['val_ce_final']:.3f}"
    return text + "."


def training_lines(tr, dense, L):
    stages = tr.get("stages") or [{**tr, "train_seconds": tr.get("train_seconds", 0)}]
    a0, last = stages[0]["args"], stages[-1]["args"]
    tokens = tr.get("train_tokens_seen")
    lines = [f"PyTorch 1.13 (Debian) on the CPU of a shared 2-core AMD EPYC virtual machine, no GPU. "
             f"{tokens:,} tokens ({tokens / tr.get('corpus_train_tokens'):.2f} epochs) in {tr.get('train_seconds', 0) / 60:.1f} minutes"
             + (f", in {len(stages)} stages" if len(stages) > 1 else "") +
             f". AdamW (β 0.9/0.95, weight decay {a0.get('wd')} on matrices), gradient clipping 1.0, batches of "
             f"{a0.get('batch')} × {a0.get('seq')} tokens. " + " ".join(stage_text(i, st) for i, st in enumerate(stages)), ""]
    if dense:
        lines += ["LayerSkip recipe (arXiv 2404.16710): one shared final norm + LM head for all layers; at every step each "
                  f"early layer l < {L} gets a cross-entropy loss on a random {a0.get('exit_frac')} of the positions; "
                  f"loss = CE_L + {a0.get('e_scale')} × mean over l < {L} of CE_l. Layer dropout per sample: layer l (0-based) "
                  f"is skipped with p = {a0.get('p_max')} · S(t) · D(l), D(l) = e^(l·ln2/(L−1)) − 1, S(t) = e^(t·ln2/T) − 1 "
                  "(from-scratch schedule: 0 at the start, p_max at the last layer at the end).", ""]
        if len(stages) > 1:
            w = [float(v) for v in (last.get("exit_weights") or ",".join(["1"] * (L - 1))).split(",")]
            wn = ", ".join(f"{v / sum(w):.3f}" for v in w)
            alpha = last.get("exit_distill") or 0.0
            lines += [f"The later stages shift the early-exit loss towards the layers a self-speculative draft uses: "
                      f"loss = CE_L + {last.get('e_scale')} × Σ_l w_l · X_l with w_1..w_{L - 1} = {wn}, where "
                      f"X_l = {1 - alpha:g} · CE_l(labels) + {alpha:g} · CE_l(softmax of the detached final-layer logits) "
                      "(self-distillation towards the prediction a draft is verified against), on a random "
                      f"{last.get('exit_frac')} of the positions; layer dropout p = {last.get('p_max')} · D(l) throughout (S(t) = 1)."]
    else:
        lines += [f"Switch-style load-balancing loss E·Σ_e f_e·P_e averaged over layers, coefficient {a0.get('aux_loss')}."]
    return lines


def adapter_lines(ev, L):
    """The Kangaroo adapters' section: held-out agreement with and without the adapter per exit, cost, recipe."""
    ad = ev.get("adapters")
    if not ad:
        return []
    s, tr = ad["adapter_shape"], ad["train"]
    a = tr["args"]
    lines = ["### Kangaroo adapters (`adapter.safetensors`)", "",
             f"One attention-only block per exit layer (Kangaroo, arXiv 2404.18911): RMSNorm, attention with its own KV cache "
             f"({s['num_attention_heads']} query heads, {s['num_key_value_heads']} KV heads, head_dim {s['head_dim']}, the model's RoPE), "
             f"residual, its own final RMSNorm, then the model's LM head; {ad['adapter_params']:,} parameters (F16) each. Declared in "
             "`config.json` under `self_speculative`. Trained by self-distillation with the backbone frozen "
             f"(`tools/train/adapter.py`): loss {1 - a['hard']:g} · KL(full model ‖ draft) + {a['hard']:g} · CE(draft, full model's argmax), "
             f"{tr['steps']} steps of {a['batch']} × {a['seq']} training tokens ({tr['tokens_seen']:,} tokens, "
             f"{tr['tokens_seen'] / tr['corpus_train_tokens']:.2f} epochs) in {tr['train_seconds'] / 60:.1f} min on {a['threads']} thread, "
             f"AdamW peak LR {a['lr']}, warm start from the next layer's attention. Held-out agreement on the whole validation split "
             f"({ad['val_tokens']:,} positions), adapter weights rounded to F16. Cost = weight bytes a 1-token draft pass reads "
             "(layers 1..l, the adapter, final norm + LM head) over a full step's.", "",
             f"| exit layer | draft path | cost (of a step) | cross-entropy | top-1 agreement with layer {L} |", "| --- | --- | --- | --- | --- |"]
    for l, r in sorted(ad["agreement"].items(), key=lambda kv: int(kv[0])):
        lines.append(f"| {l} | plain exit | {r['step_fraction_plain']:.3f} | {r['plain_ce']:.3f} | {r['plain_agree']:.3f} |")
        lines.append(f"| {l} | exit + adapter | {r['step_fraction_adapter']:.3f} | {r['adapter_ce']:.3f} | {r['adapter_agree']:.3f} |")
    return lines + [""]


def draft_vocab_lines(ev):
    """The draft vocabulary's section: coverage and per-path agreement and cost for each measured size N."""
    dv = ev.get("draft_vocab")
    if not dv:
        return []
    rows = dv["rows"]
    paths = sorted({(r["path"], r["exit_layer"]) for r in rows if r["exit_layer"] <= 2}, key=lambda p: (p[0] == "adapter", p[1]))
    name = lambda p: f"exit {p[1]}" + (" + adapter" if p[0] == "adapter" else "")
    lines = ["### Draft vocabulary (`draft_vocab.ids` in `adapter.safetensors`)", "",
             "Self-speculative drafts score only the N tokens most frequent in the training split (FR-Spec, arXiv 2502.14856); "
             "the verify keeps the whole head, so output is unchanged. Measured on the whole validation split "
             f"({dv['val_tokens']:,} positions, `tools/train/draft_vocab.py`): coverage = fraction of positions whose next token "
             "(label), and whose full-model greedy token, is among the N; agreement = argmax of the draft's logits over the N "
             "equals the full model's argmax; cost = weight bytes of a 1-token draft pass with an N-row head over a full step's; "
             "projected = the best (path, drafts 1-8) under bench/projection.ts's bandwidth-bound model, "
             "(1 - a^(d+1)) / (1 - a) / (1 + d c). "
             f"Shipped: N = {dv['chosen']} (the smallest N within 0.005 of the highest projected speedup).", "",
             "| N | labels covered | greedy covered | " + " | ".join(f"{name(p)}: agreement (cost)" for p in paths) + " | best projected |",
             "| --- | --- | --- | " + " | ".join("---" for _ in paths) + " | --- |"]
    for n, c in sorted(dv["coverage"].items(), key=lambda kv: int(kv[0])):
        at = {(r["path"], r["exit_layer"]): r for r in rows if r["draft_vocab_size"] == int(n)}
        best = max(at.values(), key=lambda r: r["projected_speedup"])
        cells = [f"{at[p]['agreement']:.3f} ({at[p]['step_fraction']:.3f})" for p in paths]
        lines.append(f"| {n} | {c['labels']:.3f} | {c['full_model_greedy']:.3f} | " + " | ".join(cells)
                     + f" | {best['projected_speedup']:.2f}x ({name((best['path'], best['exit_layer']))}, {best['best_drafts']} drafts) |")
    return lines + [""]


def main():
    names = sys.argv[1:] or ["tiny-dense", "tiny-moe"]
    ng = json.load(open(os.path.join(HERE, "work", "ngrams_stats.json")))
    for name in names:
        d = os.path.join(ROOT, "public", "models", name)
        ev = json.load(open(os.path.join(d, "eval.json")))
        cfg = ev["config"]
        dense = cfg["model_type"] == "llama"
        L = cfg["num_hidden_layers"]
        val = ev["val"]
        tr = ev["train"]
        a = tr.get("args") or {}
        ce = val["ce"][-1]
        lines = [f"# {name}", ""]
        if dense:
            lines += ["A 4M-parameter Llama-architecture causal LM trained from scratch on English fortune-cookie text, "
                      "with a LayerSkip-style early-exit loss and layer dropout so that its first layers make usable "
                      "drafts for self-speculative decoding. A test and benchmark model for webgpu-infer, not a useful "
                      "language model.", ""]
        else:
            lines += ["A small Mixtral-architecture (sparse mixture-of-experts, 8 experts, top-2) causal LM trained from "
                      "scratch on English fortune-cookie text. A test and benchmark model for webgpu-infer's MoE path, "
                      "not a useful language model.", ""]
        lines += ["## Architecture", "", "| | |", "| --- | --- |",
                  f"| class | `{cfg['architectures'][0]}` (`model_type` `{cfg['model_type']}`) |",
                  f"| parameters | {ev['params']:,} (embedding tied with the LM head) |",
                  f"| layers | {L} |", f"| hidden size | {cfg['hidden_size']} |",
                  f"| attention | {cfg['num_attention_heads']} query heads, {cfg['num_key_value_heads']} KV heads (GQA), head_dim {cfg['head_dim']} |",
                  f"| MLP | SwiGLU, intermediate {cfg['intermediate_size']}" + (f" per expert; {cfg['num_local_experts']} experts, top-{cfg['num_experts_per_tok']}, softmax router renormalised over the selected 2 |" if not dense else " |"),
                  f"| norm | RMSNorm, eps {cfg['rms_norm_eps']} |",
                  f"| positions | RoPE (rotate-half), theta {cfg['rope_theta']:g}, max {cfg['max_position_embeddings']} |",
                  f"| vocab | {cfg['vocab_size']} (byte-level BPE, below) |",
                  "| weights | `model.safetensors`, F16, HF tensor names |", ""]
        if not dense:
            E = cfg["num_local_experts"]
            h, inter = cfg["hidden_size"], cfg["intermediate_size"]
            active = ev["params"] - L * (E - cfg["num_experts_per_tok"]) * 3 * h * inter
            lines += [f"Active parameters per token: {active:,} (2 of {E} experts per layer).", ""]
        lines += [DATA]
        lines += ["## Training", ""] + training_lines(tr, dense, L) + [""]
        lines += ["## Evaluation (validation split: 97 windows of 256 tokens = 24,832 predicted tokens)", "",
                  f"| model | cross-entropy (nats/token) | perplexity |", "| --- | --- | --- |",
                  f"| {name} | {ce:.3f} | {math.exp(ce):.1f} |",
                  f"| unigram baseline (add-one smoothed training-token frequencies) | {ev['unigram_val_ce']:.3f} | {ev['unigram_val_ppl']:.1f} |", ""]
        if dense:
            lines += ["### Exiting early", "",
                      "Logits at layer l = lm_head(norm(h_l)), h_l the residual stream after l layers. Agreement = fraction of "
                      "validation positions where the exit's argmax equals the full model's argmax (the greedy draft acceptance "
                      "rate per token for self-speculation).", "",
                      "| exit layer | cross-entropy | perplexity | top-1 agreement with layer " + str(L) + " |", "| --- | --- | --- | --- |"]
            for l in range(L):
                lines.append(f"| {l + 1} | {val['ce'][l]:.3f} | {val['ppl'][l]:.1f} | {val['agree'][l]:.3f} |")
            lines += [""]
        lines += adapter_lines(ev, L)
        lines += draft_vocab_lines(ev)
        if ev.get("routing"):
            lines += ["### Expert load", "", "Fraction of top-2 assignments per expert on the first 5,120 validation tokens:", "",
                      "| layer | " + " | ".join(f"e{e}" for e in range(cfg["num_local_experts"])) + " |",
                      "| --- | " + " | ".join("---" for _ in range(cfg["num_local_experts"])) + " |"]
            for li, r in enumerate(ev["routing"]["expert_load_fraction_per_layer"]):
                lines.append(f"| {li} | " + " | ".join(f"{x:.3f}" for x in r) + " |")
            lines += [""]
        lines += ["## Greedy samples", "", "48 new tokens (or up to `<|eos|>`) after `<|bos|>` + prompt, reference implementation:", ""]
        for s in ev["samples"]:
            lines += ["```", s["prompt"] + s["completion"].replace("```", "'''"), "```"]
        onnx_shipped = name not in UNSHIPPED_ONNX
        lines += ["", onnx_section(cfg, ev["onnx"], onnx_shipped), fixtures_section(name, dense)]
        lines += ["## N-grams", "", f"`../ngrams-bpe2048.bin` ({ng['bytes'] / 1e6:.1f} MB): 2- to 5-gram counts over the training "
                  "tokens in this tokenizer's ids, for superposed decoding; format in `../NGRAMS.md`.", "",
                  "## Reproduce", "", "`bash tools/train/run_all.sh` (see `tools/train/README.md`). Timings vary with the CPU.", ""]
        with open(os.path.join(d, "README.md"), "w") as f:
            f.write("\n".join(lines))
        print("wrote", os.path.join(d, "README.md"))


if __name__ == "__main__":
    main()
