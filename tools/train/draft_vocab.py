"""Draft vocabulary (FR-Spec, arXiv 2502.14856) for the shipped models: rank, measure, export.

  /usr/bin/python3 tools/train/draft_vocab.py --name tiny-dense             # measure every N, write work/draft-vocab-<name>.json
  /usr/bin/python3 tools/train/draft_vocab.py --name tiny-dense --export    # the chosen N into adapter.safetensors, config, eval.json
                                                                          # (from that measurement when work/ holds it)

The drafts score only the N most frequent tokens of the training split (ties to the lower id); the verify pass keeps
the whole LM head, so the output is unchanged. Per N, on the whole held-out split (windows of 256 as adapter.py):
- coverage: the fraction of positions whose next token (label), and whose full-model greedy token, is among the N;
- per draft path (plain exits 1..L-1, the adapters at their exits): top-1 agreement of argmax over the N tokens of
  the draft logits with the full model's argmax (the per-token greedy acceptance), and the draft's cost as a fraction
  of a step's weight bytes with a head of N rows (adapter.step_fraction);
- the projected bandwidth-bound speedup of the best (path, drafts 1..8): (1 - a^(d+1)) / (1 - a) / (1 + d c),
  the projection of bench/projection.ts.
N is chosen as the one with the highest projected speedup (the smaller N on a tie within 0.005).
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from adapter import ADAPTER_FILE, ROOT, WORK, load_adapters, positions, record_eval, step_fraction, teacher  # noqa: E402
from reference import load_model_dir, load_safetensors, save_safetensors  # noqa: E402
from train import held_out_windows, load_tokens  # noqa: E402

SIZES = [64, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048]
MAX_DRAFTS = 8


def ranked_ids(tokens, vocab):
    """Token ids by descending count over `tokens`, ties to the lower id."""
    counts = torch.bincount(tokens, minlength=vocab)
    return sorted(range(vocab), key=lambda t: (-int(counts[t]), t)), counts


def projected(alpha, cost):
    """Best (drafts, speedup) of one path under the bandwidth-bound projection."""
    best = (0, 1.0)
    for d in range(1, MAX_DRAFTS + 1):
        tokens = d + 1 if alpha >= 1 else (1 - alpha ** (d + 1)) / (1 - alpha)
        best = max(best, (d, tokens / (1 + d * cost)), key=lambda b: b[1])
    return best


@torch.no_grad()
def measure(name, seq=256):
    mdir = os.path.join(ROOT, "public", "models", name)
    model, cfg = load_model_dir(mdir)
    model.eval()
    adapters = load_adapters(mdir, model, cfg)
    vocab, L = cfg["vocab_size"], cfg["num_hidden_layers"]
    order, counts = ranked_ids(load_tokens("train"), vocab)
    rank = torch.empty(vocab, dtype=torch.long)
    rank[torch.tensor(order)] = torch.arange(vocab)
    sizes = [n for n in SIZES if n <= vocab]
    val = load_tokens("val")
    paths = [("exit", l) for l in range(1, L)] + [("adapter", l) for l in sorted(adapters)]
    agree = {p: {n: 0 for n in sizes} for p in paths}
    cover_label, cover_greedy = {n: 0 for n in sizes}, {n: 0 for n in sizes}
    count = 0
    for x, y in held_out_windows(val, seq):
        count += seq
        hs, final = teacher(model, x)
        top = final[0].argmax(-1)
        for n in sizes:
            cover_label[n] += int((rank[y] < n).sum())
            cover_greedy[n] += int((rank[top] < n).sum())
        for kind, l in paths:
            z = model.exit_logits(hs[l - 1])[0] if kind == "exit" else adapters[l].logits(model, hs[l - 1], positions(x))[0][0]
            ranked = z[:, torch.tensor(order)]  # [S, vocab] columns in rank order
            for n in sizes:
                agree[(kind, l)][n] += int((torch.tensor(order)[ranked[:, :n].argmax(-1)] == top).sum())
    sd = model.hf_state_dict()
    n_ad = sum(p.numel() for p in next(iter(adapters.values())).parameters()) if adapters else 0
    rows = []
    for n in sizes:
        for kind, l in paths:
            alpha = agree[(kind, l)][n] / count
            cost = step_fraction(cfg, sd, l, n_ad if kind == "adapter" else 0, head_rows=n)
            d, speedup = projected(alpha, cost)
            rows.append({"draft_vocab_size": n, "path": kind, "exit_layer": l, "agreement": alpha, "step_fraction": cost,
                         "best_drafts": d, "projected_speedup": speedup})
    best_by_n = {n: max((r for r in rows if r["draft_vocab_size"] == n), key=lambda r: r["projected_speedup"]) for n in sizes}
    top_speedup = max(r["projected_speedup"] for r in best_by_n.values())
    chosen = min(n for n in sizes if best_by_n[n]["projected_speedup"] >= top_speedup - 0.005)
    return {"val_tokens": count, "ranked_from": f"token counts of the training split ({int(counts.sum())} tokens)",
            "coverage": {str(n): {"labels": cover_label[n] / count, "full_model_greedy": cover_greedy[n] / count} for n in sizes},
            "rows": rows, "chosen": chosen, "best_at_chosen": best_by_n[chosen],
            "best_full_vocab": best_by_n[vocab] if vocab in best_by_n else None}, order


def export(name, record, order):
    """Appends draft_vocab.ids (I32 [N]) to adapter.safetensors, declares N in config.json, records eval.json."""
    mdir = os.path.join(ROOT, "public", "models", name)
    n = record["chosen"]
    cfg_path = os.path.join(mdir, "config.json")
    cfg = json.load(open(cfg_path))
    block = cfg.setdefault("self_speculative", {"adapter_file": ADAPTER_FILE})
    path = os.path.join(mdir, block.get("adapter_file", ADAPTER_FILE))
    tensors = load_safetensors(path) if os.path.exists(path) else {}
    tensors["draft_vocab.ids"] = torch.tensor(order[:n], dtype=torch.int32)
    save_safetensors(tensors, path)
    assert os.path.getsize(path) < 1_000_000, "adapter file over 1 MB"
    block["draft_vocab_size"] = n
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2)
    record_eval(mdir, "draft_vocab", record)
    print("wrote", path, os.path.getsize(path), "bytes; draft_vocab_size", n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--export", action="store_true", help="write the chosen N into the model folder")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    saved = os.path.join(WORK, f"draft-vocab-{args.name}.json")
    if args.export and os.path.exists(saved):  # the measurement of an earlier run; the ranking is recomputed (deterministic)
        record = json.load(open(saved))
        vocab = json.load(open(os.path.join(ROOT, "public", "models", args.name, "config.json")))["vocab_size"]
        order = ranked_ids(load_tokens("train"), vocab)[0]
    else:
        record, order = measure(args.name)
        os.makedirs(WORK, exist_ok=True)
        with open(saved, "w") as f:
            json.dump(record, f, indent=1)
    for n, c in record["coverage"].items():
        best = max((r for r in record["rows"] if r["draft_vocab_size"] == int(n)), key=lambda r: r["projected_speedup"])
        print(f"N {n:>5}: coverage labels {c['labels']:.3f} greedy {c['full_model_greedy']:.3f}; best {best['path']} "
              f"{best['exit_layer']} agree {best['agreement']:.3f} cost {best['step_fraction']:.3f} d {best['best_drafts']} "
              f"-> {best['projected_speedup']:.3f}x")
    print("chosen", record["chosen"])
    if args.export:
        export(args.name, record, order)


if __name__ == "__main__":
    main()
