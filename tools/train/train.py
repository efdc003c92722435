"""Train a tiny LM on the tokenised fortunes corpus (CPU, PyTorch 1.13).

  /usr/bin/python3 tools/train/train.py --config tools/train/configs/tiny-dense.json --steps 700 \
      --out tools/train/work/tiny-dense --layerskip
  /usr/bin/python3 tools/train/train.py --config tools/train/configs/tiny-moe.json --steps 500 \
      --out tools/train/work/tiny-moe --aux-loss 0.02

LayerSkip (arXiv 2404.16710), as used here:
  * layer dropout: sample b skips layer l (0-based) with p = p_max * S(t) * D(l),
    D(l) = exp(l*ln2/(L-1)) - 1, S(t) = exp(t*ln2/T) - 1 (from-scratch schedule); skipped = identity.
  * early-exit loss: the shared final norm + LM head on every layer. Each step every early layer
    l < L gets CE on a random subset (--exit-frac) of positions; loss = CE_L + e_scale * mean_l CE_l.
    Second stage options: --exit-weights w_1..w_{L-1} turns the mean into a weighted mean (emphasis on the
    layers a self-speculative draft uses), and --exit-distill a makes each exit's loss
    (1-a) * CE(labels) + a * CE(softmax(final logits, detached)), i.e. self-distillation towards the full
    model's prediction, which is what a draft is verified against.
MoE: Switch-style load-balancing loss  E * sum_e f_e * P_e  (f_e: fraction of top-k assignments
to expert e, P_e: mean router probability), averaged over MoE layers, times --aux-loss.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import build_model, count_params, load_safetensors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")


def load_tokens(split):
    return torch.from_numpy(np.fromfile(os.path.join(WORK, f"tokens_{split}.bin"), dtype=np.int16).astype(np.int64))


def init_weights(model, cfg):
    L = cfg["num_hidden_layers"]
    for name, p in model.named_parameters():
        if p.dim() == 1:
            continue  # norms stay 1
        std = 0.02
        if name.endswith(("o_proj.weight", "down_proj.weight", "w2.weight")):
            std = 0.02 / math.sqrt(2 * L)
        torch.nn.init.normal_(p, 0.0, std)


def moe_aux_loss(model):
    losses = []
    for layer in model.model.layers:
        f = getattr(layer, layer.ffn_name)
        probs = getattr(f, "last_router_probs", None)
        if probs is None:
            continue
        E = probs.shape[-1]
        counts = torch.zeros(E).scatter_add_(0, f.last_router_idx.reshape(-1), torch.ones(f.last_router_idx.numel()))
        frac = counts / f.last_router_idx.numel()
        losses.append(E * (frac * probs.mean(0)).sum())
    return torch.stack(losses).mean() if losses else torch.zeros(())


def held_out_windows(tokens, seq=256, max_windows=None):
    """Non-overlapping windows of a split: (x [1, seq] input ids, y [seq] next-token labels), at most max_windows."""
    n = (len(tokens) - 1) // seq
    if max_windows:
        n = min(n, max_windows)
    for w in range(n):
        yield tokens[w * seq:(w + 1) * seq][None], tokens[w * seq + 1:(w + 1) * seq + 1]


@torch.no_grad()
def evaluate(model, tokens, seq=256, max_windows=None):
    """Per-exit-layer CE on non-overlapping windows; top-1 agreement of each exit with the final layer.
    Returns dict with lists indexed by layer 1..L (index 0 = layer 1)."""
    model.eval()
    L = model.cfg["num_hidden_layers"]
    ce = torch.zeros(L)
    agree = torch.zeros(L)
    cnt = 0
    for x, y in held_out_windows(tokens, seq, max_windows):
        out = model(x, output_hidden_states=True)
        final = out["logits"][0].argmax(-1)
        for l, h in enumerate(out["hidden_states"]):
            lg = model.exit_logits(h)[0]
            ce[l] += F.cross_entropy(lg, y, reduction="sum")
            agree[l] += (lg.argmax(-1) == final).sum()
        cnt += seq
    model.train()
    ce = (ce / cnt).tolist()
    return {"ce": ce, "ppl": [math.exp(c) for c in ce], "agree": (agree / cnt).tolist(), "tokens": cnt}


def unigram_baseline(train, val, vocab):
    counts = torch.bincount(train, minlength=vocab).double() + 1.0  # add-one smoothing
    logp = torch.log(counts / counts.sum())
    return float(-logp[val[1:]].mean())


def load_previous(model, path):
    """Load weights to continue from; returns the earlier run's summary (for the stage history)."""
    if os.path.exists(os.path.join(path, "ckpt.pt")):
        model.load_state_dict(torch.load(os.path.join(path, "ckpt.pt")))
        with open(os.path.join(path, "summary.json")) as f:
            return json.load(f)
    # An exported model: 16-bit weights (widened to f32 here) and the training record kept in eval.json.
    model.load_hf_state_dict({k: v.float() for k, v in load_safetensors(os.path.join(path, "model.safetensors")).items()})
    with open(os.path.join(path, "eval.json")) as f:
        ev = json.load(f)
    return {**ev["train"], "val": ev["val"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=700)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=40)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--layerskip", action="store_true")
    ap.add_argument("--p-max", type=float, default=0.1)
    ap.add_argument("--e-scale", type=float, default=0.6)
    ap.add_argument("--exit-frac", type=float, default=0.25)
    ap.add_argument("--exit-weights", default=None, help="comma-separated relative weights of exit layers 1..L-1")
    ap.add_argument("--exit-distill", type=float, default=0.0, help="weight of the final-layer soft target in exit losses")
    ap.add_argument("--aux-loss", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--eval-windows", type=int, default=0, help="limit the final validation (0 = all)")
    ap.add_argument("--eval-every", type=int, default=0,
                    help="steps; if set, validate on --eval-every-windows windows that often and keep the best "
                         "checkpoint (early stopping: the corpus is small, long runs overfit)")
    ap.add_argument("--eval-every-windows", type=int, default=24)
    ap.add_argument("--time-budget", type=float, default=0,
                    help="seconds; if set, schedule progress = max(step/steps, elapsed/budget) and training stops at 1")
    ap.add_argument("--init-from", default=None,
                    help="continue from a checkpoint (warm restart): a work dir (ckpt.pt + summary.json) "
                         "or an exported model dir (model.safetensors + eval.json)")
    ap.add_argument("--dropout-schedule", choices=["scratch", "constant"], default="scratch",
                    help="S(t): exp(t ln2 / T) - 1 from scratch, 1 for continued training")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(args.config) as f:
        cfg = json.load(f)
    os.makedirs(args.out, exist_ok=True)
    model = build_model(cfg)
    init_weights(model, cfg)
    prev = load_previous(model, args.init_from) if args.init_from else None
    L = cfg["num_hidden_layers"]
    exit_w = torch.ones(L - 1)
    if args.exit_weights:
        exit_w = torch.tensor([float(v) for v in args.exit_weights.split(",")])
        assert len(exit_w) == L - 1, "--exit-weights needs one weight per early layer"
    exit_w = exit_w / exit_w.sum()
    print(f"params {count_params(model)}", flush=True)
    train, val = load_tokens("train"), load_tokens("val")
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    log = []
    val_log = []
    best = None  # (val CE, step, state dict) of the best periodic validation
    steps_done = 0
    for step in range(args.steps):
        frac = (step - args.warmup) / max(1, args.steps - args.warmup)
        if args.time_budget:
            el = time.time() - t0
            if el >= args.time_budget:
                break
            frac = max(frac, el / args.time_budget)
        lr = args.lr * (step + 1) / args.warmup if step < args.warmup else \
            args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))
        steps_done = step + 1
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, len(train) - args.seq - 1, (args.batch,), generator=gen)
        x = torch.stack([train[s:s + args.seq] for s in starts])
        y = torch.stack([train[s + 1:s + args.seq + 1] for s in starts])
        drop = None
        if args.layerskip and args.p_max > 0:
            s_t = 1.0 if args.dropout_schedule == "constant" else math.exp(step * math.log(2) / args.steps) - 1
            drop = []
            for l in range(L):
                p = args.p_max * s_t * (math.exp(l * math.log(2) / (L - 1)) - 1)
                drop.append(torch.rand(args.batch, generator=gen) < p if p > 0 else None)
        out = model(x, output_hidden_states=args.layerskip, layer_dropout=drop)
        loss_final = F.cross_entropy(out["logits"].reshape(-1, out["logits"].shape[-1]), y.reshape(-1))
        loss = loss_final
        exit_losses, exit_agree = [], []
        if args.layerskip:
            npos = max(1, int(args.exit_frac * args.batch * args.seq))
            sel = torch.randperm(args.batch * args.seq, generator=gen)[:npos]
            yy = y.reshape(-1)[sel]
            final_sel = out["logits"].reshape(-1, out["logits"].shape[-1])[sel].detach()
            soft = final_sel.softmax(-1)
            for l in range(L - 1):
                h = out["hidden_states"][l].reshape(-1, cfg["hidden_size"])[sel]
                lg = model.exit_logits(h)
                ce = F.cross_entropy(lg, yy)
                if args.exit_distill > 0:
                    kd = -(soft * lg.log_softmax(-1)).sum(-1).mean()
                    ce = (1 - args.exit_distill) * ce + args.exit_distill * kd
                exit_losses.append(ce)
                exit_agree.append((lg.argmax(-1) == final_sel.argmax(-1)).float().mean())
            loss = loss + args.e_scale * (torch.stack(exit_losses) * exit_w).sum()
        aux = None
        if args.aux_loss > 0:
            aux = moe_aux_loss(model)
            loss = loss + args.aux_loss * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 20 == 0 or step == args.steps - 1:
            el = time.time() - t0
            rec = {"step": step, "lr": lr, "loss": loss_final.item(), "elapsed_s": round(el, 1),
                   "tok_per_s": round((step + 1) * args.batch * args.seq / el)}
            if exit_losses:
                rec["exit_loss"] = [round(e.item(), 3) for e in exit_losses]
                rec["exit_agree"] = [round(a.item(), 3) for a in exit_agree]
            if aux is not None:
                rec["aux"] = round(aux.item(), 4)
            print(json.dumps(rec), flush=True)
            log.append(rec)
        if args.eval_every and (step + 1) % args.eval_every == 0:
            val_ce = evaluate(model, val, args.seq, max_windows=args.eval_every_windows)["ce"][-1]
            val_log.append({"step": step + 1, "val_ce": round(val_ce, 4), "elapsed_s": round(time.time() - t0, 1)})
            print(json.dumps(val_log[-1]), flush=True)
            if best is None or val_ce < best[0]:
                best = (val_ce, step + 1, {k: v.detach().clone() for k, v in model.state_dict().items()})
        if (step + 1) % args.ckpt_every == 0:
            torch.save(model.state_dict(), os.path.join(args.out, "ckpt.pt"))
    best_step = steps_done
    if best is not None:
        final_ce = evaluate(model, val, args.seq, max_windows=args.eval_every_windows)["ce"][-1]
        if best[0] < final_ce:
            model.load_state_dict(best[2])
            best_step = best[1]
    torch.save(model.state_dict(), os.path.join(args.out, "ckpt.pt"))
    train_s = time.time() - t0
    ev = evaluate(model, val, args.seq, max_windows=args.eval_windows or None)
    uni = unigram_baseline(train, val, cfg["vocab_size"])
    summary = {"config": cfg, "args": vars(args), "params": count_params(model), "train_seconds": round(train_s, 1),
               "train_tokens_seen": best_step * args.batch * args.seq, "steps_done": steps_done, "kept_step": best_step, "corpus_train_tokens": len(train),
               "val": ev, "unigram_val_ce": uni, "log": log, "val_log": val_log, "threads": args.threads}
    if prev:
        earlier = prev.get("stages") or [{"args": prev["args"], "train_seconds": prev["train_seconds"]}]
        earlier[-1]["val_ce_final"] = prev["val"]["ce"][-1]
        summary["stages"] = earlier + [{"args": vars(args), "train_seconds": round(train_s, 1), "steps_done": steps_done,
                                        "kept_step": best_step}]
        summary["train_seconds"] = round(prev["train_seconds"] + train_s, 1)
        summary["train_tokens_seen"] += prev["train_tokens_seen"]
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps({"val_ce_per_exit": [round(c, 3) for c in ev["ce"]], "agree": [round(a, 3) for a in ev["agree"]],
                      "unigram": round(uni, 3), "train_s": round(train_s)}), flush=True)


if __name__ == "__main__":
    main()
