"""Kangaroo adapters (arXiv 2404.18911) for the shipped models: train, evaluate, export.

  /usr/bin/python3 tools/train/adapter.py --name tiny-dense --exits 1,2 --time-budget 1200
  /usr/bin/python3 tools/train/adapter.py --name tiny-dense --export     # F16 adapter.safetensors + config + eval.json

A draft at exit layer l runs layers 1..l of the frozen model, then one attention-only block with its own KV cache:
  n = RMSNorm(h_l; input_layernorm), a = h_l + o_proj(attn(RoPE(q_proj n), RoPE(k_proj n), v_proj n)),
  draft logits = lm_head(RMSNorm(a; norm))   (format and tensor names: the repository's adapter format notes)
built from reference.py's RMSNorm and Attention (Llama semantics: the model's RoPE, GQA, causal, no biases).

Self-distillation with the backbone frozen: per batch the full model runs once under no_grad and gives the exit
hidden states and the teacher logits; each adapter minimises
  (1 - hard) * KL(softmax(teacher) || softmax(draft)) + hard * CE(draft, argmax teacher)
(the greedy verifier accepts a draft token iff it equals the teacher's argmax). Several exits train side by side.
Evaluation on the held-out split: top-1 agreement of the draft with the full model's argmax per exit, with and
without the adapter (the plain exit lm_head(norm(h_l))), i.e. the per-token greedy acceptance rate.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Attention, RMSNorm, load_model_dir, load_safetensors, rope_cos_sin, save_safetensors  # noqa: E402
from train import held_out_windows, load_tokens  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
WORK = os.path.join(HERE, "work")
ADAPTER_FILE = "adapter.safetensors"


class KangarooAdapter(nn.Module):
    """One attention-only block after exit layer `exit_layer` (1-based). Head counts may differ from the model's."""

    def __init__(self, cfg, exit_layer, heads, kv_heads, head_dim):
        super().__init__()
        acfg = {**cfg, "num_attention_heads": heads, "num_key_value_heads": kv_heads, "head_dim": head_dim}
        self.exit_layer, self.shape = exit_layer, {"num_attention_heads": heads, "num_key_value_heads": kv_heads,
                                                   "head_dim": head_dim}
        eps = cfg.get("rms_norm_eps", 1e-6)
        self.input_layernorm = RMSNorm(cfg["hidden_size"], eps)
        self.self_attn = Attention(acfg, qkv_bias=False, o_bias=False)
        self.norm = RMSNorm(cfg["hidden_size"], eps)

    def forward(self, h, position_ids, past=None):
        """h [B,S,H] residual stream after the exit layer; position_ids [B,S]; past (k, v) [B,kv,P,hd].
        Returns the adapter's residual stream a [B,S,H] (before `norm`) and its KV cache."""
        cos, sin = rope_cos_sin(position_ids, self.self_attn.rotary, self.self_attn.theta)
        o, present = self.self_attn(self.input_layernorm(h), cos, sin, past)
        return h + o, present

    def logits(self, model, h, position_ids, past=None):
        a, present = self(h, position_ids, past)
        return model.head(self.norm(a)), present

    def tensors(self):
        """HF-style names of the adapter format: kangaroo.<exit>.<...>."""
        return {f"kangaroo.{self.exit_layer}.{k}": v for k, v in self.state_dict().items()}

    def init_from(self, model):
        """Warm start: the next decoder layer's input norm and attention (where the shapes match), the final norm."""
        layer = model.model.layers[self.exit_layer]
        own = self.state_dict()
        with torch.no_grad():
            for k, v in layer.state_dict().items():
                if (k.startswith("self_attn.") or k.startswith("input_layernorm.")) and k in own and own[k].shape == v.shape:
                    own[k].copy_(v)
            self.norm.weight.copy_(model.model.norm.weight)


def load_adapters(model_dir, model, cfg):
    """The adapters a model folder declares (config.json `self_speculative`), by exit layer; {} without the block."""
    block = cfg.get("self_speculative")
    if not block:
        return {}
    sd = load_safetensors(os.path.join(model_dir, block.get("adapter_file", ADAPTER_FILE)))
    out = {}
    for spec in block["adapters"]:
        L = spec["exit_layer"]
        ad = KangarooAdapter(cfg, L, spec["num_attention_heads"], spec["num_key_value_heads"], spec["head_dim"])
        ad.load_state_dict({k[len(f"kangaroo.{L}."):]: v.float() for k, v in sd.items() if k.startswith(f"kangaroo.{L}.")})
        out[L] = ad
    return out


def positions(x):
    B, S = x.shape
    return torch.arange(S)[None].expand(B, S)


@torch.no_grad()
def teacher(model, x):
    """Full model under no_grad: (hidden states per layer, final logits [B,S,V])."""
    out = model(x, output_hidden_states=True)
    return out["hidden_states"], out["logits"]


def distill_loss(draft, target, hard):
    logp = F.log_softmax(draft, -1)
    pt = F.softmax(target, -1)
    kl = (pt * (torch.log(pt.clamp_min(1e-30)) - logp)).sum(-1).mean()
    return (1 - hard) * kl + hard * F.nll_loss(logp.reshape(-1, logp.shape[-1]), target.argmax(-1).reshape(-1))


@torch.no_grad()
def evaluate(model, adapters, tokens, exits, seq=256, max_windows=None):
    """Held-out windows: per exit, CE against the labels and top-1 agreement with the full model, plain and adapter."""
    res = {L: {"plain_agree": 0.0, "adapter_agree": 0.0, "plain_ce": 0.0, "adapter_ce": 0.0} for L in exits}
    cnt = 0
    for x, y in held_out_windows(tokens, seq, max_windows):
        cnt += seq
        hs, final = teacher(model, x)
        top = final[0].argmax(-1)
        for L in exits:
            plain = model.exit_logits(hs[L - 1])[0]
            lg = adapters[str(L)].logits(model, hs[L - 1], positions(x))[0][0]
            for kind, z in (("plain", plain), ("adapter", lg)):
                res[L][f"{kind}_agree"] += float((z.argmax(-1) == top).sum())
                res[L][f"{kind}_ce"] += float(F.cross_entropy(z, y, reduction="sum"))
    return {L: {k: v / cnt for k, v in r.items()} for L, r in res.items()}, cnt


def step_fraction(cfg, sd, exit_layer, adapter_params, head_rows=None):
    """Weight bytes a draft pass reads (layers 1..l, the adapter, the LM head) over a full step's (all layers + head);
    the embedding lookup reads one row and is left out. Pass widths are equal, so parameters stand for bytes.
    `head_rows`: the draft's head has that many rows (a draft vocabulary); the step's keeps all."""
    L = cfg["num_hidden_layers"]
    per_layer = [sum(v.numel() for k, v in sd.items() if k.startswith(f"model.layers.{i}.")) for i in range(L)]
    head = sd["model.embed_tokens.weight"].numel() + sd["model.norm.weight"].numel()
    draft_head = head if head_rows is None else head_rows * cfg["hidden_size"] + sd["model.norm.weight"].numel()
    if cfg["model_type"] == "mixtral":  # a token reads top-k of the experts
        E, k = cfg["num_local_experts"], cfg["num_experts_per_tok"]
        expert = 3 * cfg["hidden_size"] * cfg["intermediate_size"]
        per_layer = [p - (E - k) * expert for p in per_layer]
    return (sum(per_layer[:exit_layer]) + adapter_params + draft_head) / (sum(per_layer) + head)


def train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    mdir = os.path.join(ROOT, "public", "models", args.name)
    model, cfg = load_model_dir(mdir)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    exits = [int(e) for e in args.exits.split(",")]
    heads = args.heads or cfg["num_attention_heads"]
    kv = args.kv_heads or cfg["num_key_value_heads"]
    hd = args.head_dim or cfg["head_dim"]
    adapters = nn.ModuleDict({str(L): KangarooAdapter(cfg, L, heads, kv, hd) for L in exits})
    prev = None
    if args.init_from:  # a warm restart from an earlier run's adapters (same exits and shape)
        adapters.load_state_dict(torch.load(os.path.join(args.init_from, "adapters.pt")))
        prev = json.load(open(os.path.join(args.init_from, "summary.json")))["train"]
    else:
        for ad in adapters.values():
            ad.init_from(model)
    decay = [p for n, p in adapters.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in adapters.named_parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    tr, val = load_tokens("train"), load_tokens("val")
    out = os.path.join(WORK, f"adapter-{args.name}")
    os.makedirs(out, exist_ok=True)
    log = open(os.path.join(out, "log.txt"), "a")

    def say(msg):
        print(msg, flush=True)
        log.write(msg + "\n")
        log.flush()

    before, _ = evaluate(model, adapters, val, exits, max_windows=args.eval_windows)
    say(f"step 0 (warm start): " + json.dumps(before))
    t0, step, seen, history = time.time(), 0, 0, []
    g = torch.Generator().manual_seed(args.seed)
    while step < args.steps:
        elapsed = time.time() - t0
        if args.time_budget and elapsed > args.time_budget:
            break
        frac = max(step / args.steps, elapsed / args.time_budget if args.time_budget else 0.0)
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * frac)))
        for grp in opt.param_groups:
            grp["lr"] = lr
        starts = torch.randint(0, len(tr) - args.seq - 1, (args.batch,), generator=g)
        x = torch.stack([tr[s:s + args.seq] for s in starts])
        hs, target = teacher(model, x)
        loss = sum(distill_loss(adapters[str(L)].logits(model, hs[L - 1], positions(x))[0], target, args.hard) for L in exits)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(adapters.parameters(), 1.0)
        opt.step()
        step += 1
        seen += x.numel()
        if step % 10 == 0:
            say(f"step {step} loss {float(loss) / len(exits):.4f} lr {lr:.2e} tok/s {seen / (time.time() - t0):.0f}")
        if args.eval_every and step % args.eval_every == 0:
            r, _ = evaluate(model, adapters, val, exits, max_windows=args.eval_windows)
            history.append({"step": step, **{str(L): r[L]["adapter_agree"] for L in exits}})
            say(f"eval step {step}: " + json.dumps(history[-1]))
    seconds = time.time() - t0
    torch.save(adapters.state_dict(), os.path.join(out, "adapters.pt"))
    # Final evaluation on the whole held-out split, with the adapter weights rounded to F16 as they ship.
    with torch.no_grad():
        for p in adapters.parameters():
            p.copy_(p.half().float())
    res, cnt = evaluate(model, adapters, val, exits)
    sd = {k: v for k, v in model.hf_state_dict().items()}
    n_ad = sum(p.numel() for p in next(iter(adapters.values())).parameters())
    summary = {"exits": exits, "adapter_shape": {"num_attention_heads": heads, "num_key_value_heads": kv, "head_dim": hd},
               "adapter_params": n_ad, "val_tokens": cnt,
               "agreement": {str(L): {**res[L], "step_fraction_plain": step_fraction(cfg, sd, L, 0),
                                      "step_fraction_adapter": step_fraction(cfg, sd, L, n_ad)} for L in exits},
               "train": {"steps": step, "tokens_seen": seen, "train_seconds": round(seconds, 1),
                         "corpus_train_tokens": len(tr), "history": history, "args": vars(args)}}
    if prev:  # totals over the stages; each stage's own record in `stages`
        this = summary["train"]
        stages = prev.pop("stages", None) or [prev]
        summary["train"] = {**this, "stages": stages + [dict(this)],
                            **{k: sum(s[k] for s in stages) + this[k] for k in ("steps", "tokens_seen", "train_seconds")}}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    say("final " + json.dumps(summary["agreement"]))


def export(args):
    """F16 adapter.safetensors next to model.safetensors, the config.json block, the eval.json record."""
    mdir = os.path.join(ROOT, "public", "models", args.name)
    src = os.path.join(WORK, f"adapter-{args.name}")
    summary = json.load(open(os.path.join(src, "summary.json")))
    cfg = json.load(open(os.path.join(mdir, "config.json")))
    shape = summary["adapter_shape"]
    state = torch.load(os.path.join(src, "adapters.pt"))
    tensors = {}
    for L in summary["exits"]:
        ad = KangarooAdapter(cfg, L, shape["num_attention_heads"], shape["num_key_value_heads"], shape["head_dim"])
        ad.load_state_dict({k[len(f"{L}."):]: v for k, v in state.items() if k.startswith(f"{L}.")})
        tensors.update({k: v.half() for k, v in ad.tensors().items()})
    path = os.path.join(mdir, ADAPTER_FILE)
    save_safetensors(tensors, path)
    assert os.path.getsize(path) < 1_000_000, "adapter file over 1 MB"
    cfg["self_speculative"] = {"adapter_file": ADAPTER_FILE,
                               "adapters": [{"exit_layer": L, **shape} for L in summary["exits"]]}
    with open(os.path.join(mdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    record_eval(mdir, "adapters", summary)
    print("wrote", path, os.path.getsize(path), "bytes")


def record_eval(mdir, key, value):
    """Stores `value` under `key` in the model card's measurements (<model>/eval.json), keeping the rest."""
    ev_path = os.path.join(mdir, "eval.json")
    ev = json.load(open(ev_path))
    ev[key] = value
    with open(ev_path, "w") as f:
        json.dump(ev, f, indent=1)


@torch.no_grad()
def selftest(args):
    """The exported adapters through their own KV cache, one token at a time, equal the parallel pass."""
    mdir = os.path.join(ROOT, "public", "models", args.name)
    model, cfg = load_model_dir(mdir)
    model.eval()
    x = load_tokens("val")[:40][None]
    hs, _ = teacher(model, x)
    for L, ad in load_adapters(mdir, model, cfg).items():
        full, _ = ad.logits(model, hs[L - 1], positions(x))
        past, rows = None, []
        for t in range(x.shape[1]):
            lg, past = ad.logits(model, hs[L - 1][:, t:t + 1], torch.tensor([[t]]), past)
            rows.append(lg)
        diff = float((torch.cat(rows, 1) - full).abs().max())
        print(f"exit {L}: incremental vs parallel max |diff| {diff:.2e}")
        assert diff < 1e-4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--exits", default="1,2")
    ap.add_argument("--heads", type=int, default=0, help="adapter query heads (default: the model's)")
    ap.add_argument("--kv-heads", type=int, default=0)
    ap.add_argument("--head-dim", type=int, default=0)
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--time-budget", type=float, default=0, help="seconds; the cosine runs over the budget")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--wd", type=float, default=0.0)
    ap.add_argument("--hard", type=float, default=0.5, help="weight of CE towards the teacher's argmax (rest: KL)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--eval-windows", type=int, default=12)
    ap.add_argument("--init-from", default=None, help="a work dir of an earlier run: continue from its adapters")
    ap.add_argument("--export", action="store_true")
    ap.add_argument("--selftest", action="store_true")
    args = ap.parse_args()
    if args.export:
        export(args)
    elif args.selftest:
        selftest(args)
    else:
        train(args)


if __name__ == "__main__":
    main()
