"""Export a trained checkpoint to public/models/<name>/ and write its test fixtures.

  /usr/bin/python3 tools/train/export.py --name tiny-dense --work-dir tools/train/work/tiny-dense-3
  /usr/bin/python3 tools/train/export.py --name tiny-moe --work-dir tools/train/work/tiny-moe-2

Writes
  public/models/<name>/{config.json, generation_config.json, model.safetensors (F16),
                        tokenizer.json, tokenizer_config.json, special_tokens_map.json,
                        onnx/model.onnx, eval.json}
  tests/fixtures/<name>.safetensors + tests/fixtures/<name>.prompts.json
Model cards (README.md) are written by write_cards.py from eval.json.
"""
import argparse
import json
import math
import os
import shutil
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import build_model, count_params, load_model_dir, save_safetensors  # noqa: E402
from tokenizer import BPETokenizer  # noqa: E402
from train import evaluate, load_tokens, unigram_baseline  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
WORK = os.path.join(HERE, "work")

# Fixture prompts (tokenised with BOS, then cut to the exact length; the sidecar JSON records the
# decoded text of what was kept).
PROMPT_TEXTS = {
    1: "",  # BOS alone
    7: None,  # chosen from PROMPT7_CANDIDATES: the one whose 64 greedy tokens have the largest min top-1/top-2 gap
    45: ("The best way to predict the future is to invent it. A computer is a machine that does exactly what "
         "you tell it to do, not what you want it to do. The only thing we have to fear is fear itself, and "
         "the second thing is the bill."),
}
PROMPT7_CANDIDATES = ["Once upon a time, there was", "It was a dark and stormy night", "The meaning of life is that",
                     "A computer is a machine that", "He who laughs last laughs best", "I have a dream that one day",
                     "To be or not to be, that", "The best way to predict the", "Love is a many splendored thing",
                     "In the beginning was the word", "There is no place like home", "All you need is love, and"]
SAMPLE_PROMPTS = ["Once upon a time", "The computer", "Love is", "A man walks into a bar", "Q: What is the meaning of life?\nA:",
                  "Today is a good day to"]


def greedy_margin(model, ids, n_new=64):
    with torch.no_grad():
        g = model.greedy(ids, n_new, use_cache=True)
        gl = model(torch.tensor([ids + g]))["logits"][0, len(ids) - 1:-1]
        top = gl.topk(2, dim=-1).values
    return float((top[:, 0] - top[:, 1]).min())


def choose_prompt7(model, tok):
    best = max(PROMPT7_CANDIDATES, key=lambda t: greedy_margin(model, tok.encode(t, bos=True)[:7]))
    PROMPT_TEXTS[7] = best
    print("prompt_len7:", repr(best), flush=True)


def prompt_ids(tok, n):
    ids = tok.encode(PROMPT_TEXTS[n], bos=True)
    assert len(ids) >= n, (n, len(ids))
    return ids[:n]


def export_onnx(model, cfg, path, f16_weights=True):
    """ONNX (opset 17) with KV cache. With f16_weights the weights stay F16 initialisers and are Cast to
    float32 inside the graph (all computation, inputs and outputs are float32); without, they are float32
    initialisers holding the same (16-bit-rounded) values, for runtimes whose GPU path lacks f16
    (onnxruntime-web's WebGPU EP on adapters without shader-f16)."""
    L = cfg["num_hidden_layers"]
    nkv, hd = model.n_kv, model.head_dim

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, position_ids, *past):
            pkv = [(past[2 * i], past[2 * i + 1]) for i in range(L)]
            out = self.m(input_ids, position_ids=position_ids, past_key_values=pkv)
            flat = []
            for k, v in out["present"]:
                flat += [k, v]
            return (out["logits"],) + tuple(flat)

    m16 = build_model(cfg).eval()
    m16.load_hf_state_dict({k: v.half().float() for k, v in model.hf_state_dict().items()})
    if f16_weights:
        m16.half()
    m16.set_moe_dense(True)
    w = Wrapper(m16).eval()
    S, P = 3, 4
    ids = torch.randint(2, cfg["vocab_size"], (1, S))
    pos = torch.arange(P, P + S)[None]
    past = []
    for _ in range(L):
        past += [torch.randn(1, nkv, P, hd), torch.randn(1, nkv, P, hd)]
    in_names = ["input_ids", "position_ids"]
    out_names = ["logits"]
    dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"}, "position_ids": {0: "batch_size", 1: "sequence_length"},
           "logits": {0: "batch_size", 1: "sequence_length"}}
    for i in range(L):
        for kv in ("key", "value"):
            in_names.append(f"past_key_values.{i}.{kv}")
            out_names.append(f"present.{i}.{kv}")
            dyn[f"past_key_values.{i}.{kv}"] = {0: "batch_size", 2: "past_sequence_length"}
            dyn[f"present.{i}.{kv}"] = {0: "batch_size", 2: "total_sequence_length"}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with torch.no_grad():
        ref = w(ids, pos, *past)
        torch.onnx.export(w, (ids, pos, *past), path, input_names=in_names, output_names=out_names,
                          dynamic_axes=dyn, opset_version=17, do_constant_folding=False)
    # sanity: the f16-weight float32-compute graph equals the reference model on the same weights
    with torch.no_grad():
        model.set_moe_dense(False)
        pkv = [(past[2 * i], past[2 * i + 1]) for i in range(L)]
        ref2 = model(ids, position_ids=pos, past_key_values=pkv)["logits"]
    err = float((ref[0] - ref2).abs().max())
    print(f"onnx: wrote {path} ({os.path.getsize(path) / 1e6:.2f} MB); export-wrapper vs reference max|diff| {err:.2e}")
    return {"inputs": in_names, "outputs": out_names, "wrapper_vs_reference_max_abs_diff": err,
            "size_bytes": os.path.getsize(path)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--work-dir", default=None, help="training output with ckpt.pt + summary.json (default work/<name>)")
    ap.add_argument("--quick", action="store_true", help="evaluate on 4 windows only (pipeline test)")
    ap.add_argument("--prev-log", default=None, help="reuse validation numbers and samples printed by an earlier export run")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    name = args.name
    cfg = json.load(open(os.path.join(HERE, "configs", f"{name}.json")))
    wdir = args.work_dir or os.path.join(WORK, name)
    summary = json.load(open(os.path.join(wdir, "summary.json"))) if os.path.exists(os.path.join(wdir, "summary.json")) else {}
    outdir = os.path.join(ROOT, "public", "models", name)
    os.makedirs(outdir, exist_ok=True)

    model = build_model(cfg)
    model.load_state_dict(torch.load(os.path.join(wdir, "ckpt.pt")))
    model.eval()
    # 1. weights in F16 + config + tokenizer
    sd16 = {k: v.half() for k, v in model.hf_state_dict().items()}
    save_safetensors(sd16, os.path.join(outdir, "model.safetensors"), {"format": "pt"})
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(outdir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 0, "eos_token_id": 1, "do_sample": False, "max_new_tokens": 128}, f, indent=2)
    for fn in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(WORK, fn), os.path.join(outdir, fn))
    with open(os.path.join(outdir, "special_tokens_map.json"), "w") as f:
        json.dump({"bos_token": "<|bos|>", "eos_token": "<|eos|>"}, f, indent=2)

    # 2. reload exactly what was written
    model, cfg = load_model_dir(outdir)
    model.eval()
    tok = BPETokenizer.load(os.path.join(outdir, "tokenizer.json"))
    train, val = load_tokens("train"), load_tokens("val")
    if args.prev_log and args.prev_log.endswith(".json"):  # an earlier eval.json of the same weights
        pj = json.load(open(args.prev_log))
        ev, uni, samples = pj["val"], pj["unigram_val_ce"], pj["samples"]
    elif args.prev_log:
        import ast
        import re as _re
        txt = open(args.prev_log).read()
        m = _re.search(r"val ce per exit (\[.*?\]) agree (\[.*?\]) unigram ([0-9.]+)", txt)
        ce, agree, uni = ast.literal_eval(m.group(1)), ast.literal_eval(m.group(2)), float(m.group(3))
        ev = {"ce": ce, "ppl": [math.exp(c) for c in ce], "agree": agree, "tokens": (len(val) - 1) // 256 * 256,
              "note": "values printed to 3 decimals by the earlier export run"}
        samples = []
        for line in txt.splitlines():
            if " -> " in line and line.startswith(("'", '"')):
                p, c = line.split(" -> ", 1)
                samples.append({"prompt": ast.literal_eval(p), "completion": ast.literal_eval(c)})
    else:
        t0 = time.time()
        ev = evaluate(model, val, 256, max_windows=4 if args.quick else None)
        uni = unigram_baseline(train, val, cfg["vocab_size"])
        print(f"val ce per exit {[round(c, 3) for c in ev['ce']]} agree {[round(a, 3) for a in ev['agree']]} unigram {uni:.3f}"
              f" ({time.time() - t0:.0f}s)", flush=True)
        # 3. greedy samples
        samples = []
        for p in SAMPLE_PROMPTS:
            ids = tok.encode(p, bos=True)
            g = model.greedy(ids, 48)
            if 1 in g:
                g = g[:g.index(1) + 1]
            samples.append({"prompt": p, "completion": tok.decode(g)})
            print(repr(p), "->", repr(tok.decode(g)), flush=True)

    # 4. fixtures
    choose_prompt7(model, tok)
    L = cfg["num_hidden_layers"]
    fx, side = {}, {"model": f"public/models/{name}", "tokenizer": f"public/models/{name}/tokenizer.json", "prompts": {}}
    with torch.no_grad():
        for n in (1, 7, 45):
            ids = prompt_ids(tok, n)
            fx[f"prompt_len{n}"] = torch.tensor(ids, dtype=torch.int32)
            out = model(torch.tensor([ids]), output_hidden_states=True)
            fx[f"logits_len{n}"] = out["logits"][0].contiguous()
            side["prompts"][f"prompt_len{n}"] = {"text": tok.decode(ids), "ids": ids, "bos": True}
            if n == 7:
                if cfg["model_type"] == "llama":
                    fx["exit_logits_len7"] = torch.stack([model.exit_logits(h)[0] for h in out["hidden_states"]]).contiguous()
                routes = []
                for layer in model.model.layers:
                    f = getattr(layer, layer.ffn_name)
                    if getattr(f, "last_router_idx", None) is not None:
                        routes.append(f.last_router_idx.to(torch.int32))
                if routes:
                    # model(...) above ran the whole prompt: indices [L, 7, k], sorted by router prob (desc)
                    fx["router_topk_len7"] = torch.stack(routes).contiguous()
        g7 = prompt_ids(tok, 7)
        greedy = model.greedy(g7, 64, use_cache=True)
        seq = g7 + greedy
        gl = model(torch.tensor([seq]))["logits"][0, 6:-1]
        # one full (cache-free) forward must reproduce every greedy choice
        assert gl.argmax(-1).tolist() == greedy
        top = gl.topk(2, dim=-1).values
        margin = float((top[:, 0] - top[:, 1]).min())
    fx["greedy_prompt"] = torch.tensor(g7, dtype=torch.int32)
    fx["greedy_tokens"] = torch.tensor(greedy, dtype=torch.int32)
    side["prompts"]["greedy_prompt"] = side["prompts"]["prompt_len7"]
    side["greedy_text"] = tok.decode(greedy)
    side["min_greedy_margin"] = margin
    meta = {"generator": "tools/train/export.py", "model": f"public/models/{name}", "min_greedy_margin": f"{margin:.4f}"}
    os.makedirs(os.path.join(ROOT, "tests", "fixtures"), exist_ok=True)
    save_safetensors(fx, os.path.join(ROOT, "tests", "fixtures", f"{name}.safetensors"), meta)
    side["keys"] = {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape)} for k, v in sorted(fx.items())}
    with open(os.path.join(ROOT, "tests", "fixtures", f"{name}.prompts.json"), "w") as f:
        json.dump(side, f, indent=2)
    print(f"fixture: greedy '{side['greedy_text'][:80]}' min margin {margin:.3f}")

    # 5. ONNX
    onnx_info = export_onnx(model, cfg, os.path.join(outdir, "onnx", "model.onnx"))

    # 6. routing balance (MoE)
    balance = None
    if cfg["model_type"] == "mixtral":
        E = cfg["num_local_experts"]
        counts = torch.zeros(cfg["num_hidden_layers"], E)
        with torch.no_grad():
            for w0 in range(0, min(len(val) - 1, 256 * 20), 256):
                model(val[w0:w0 + 256][None])
                for li, layer in enumerate(model.model.layers):
                    f = layer.block_sparse_moe
                    counts[li] += torch.bincount(f.last_router_idx.reshape(-1), minlength=E).float()
        frac = counts / counts.sum(1, keepdim=True)
        balance = {"expert_load_fraction_per_layer": [[round(x, 4) for x in r] for r in frac.tolist()]}
        print("expert load", balance)

    evalj = {"name": name, "params": count_params(model), "config": cfg, "val": ev, "unigram_val_ce": uni,
             "unigram_val_ppl": math.exp(uni), "samples": samples, "onnx": onnx_info, "routing": balance,
             "train": {k: summary.get(k) for k in ("train_seconds", "train_tokens_seen", "corpus_train_tokens", "args", "threads", "stages",
                                                         "steps_done", "kept_step", "val_log")},
             "fixture_min_greedy_margin": margin}
    with open(os.path.join(outdir, "eval.json"), "w") as f:
        json.dump(evalj, f, indent=1)


if __name__ == "__main__":
    main()
