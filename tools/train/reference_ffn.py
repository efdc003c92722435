"""Feed-forward blocks of tools/train/reference.py (Hugging Face semantics and parameter names): the gated
MLPs (SwiGLU / GeGLU, Phi-3's fused gate_up_proj) and the Mixtral / Qwen-MoE sparse blocks."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def _linear(x, layer):
    # weights may be stored in 16 bits (ONNX export keeps F16 initialisers); compute in float32.
    w = layer.weight.float()
    b = layer.bias.float() if layer.bias is not None else None
    return F.linear(x, w, b)


class MLP(nn.Module):
    def __init__(self, h, inter, bias=False, act="silu"):
        super().__init__()
        self.gate_proj = nn.Linear(h, inter, bias=bias)
        self.up_proj = nn.Linear(h, inter, bias=bias)
        self.down_proj = nn.Linear(inter, h, bias=bias)
        self.act = {"silu": F.silu, "gelu_pytorch_tanh": lambda t: F.gelu(t, approximate="tanh")}[act]

    def forward(self, x):
        return _linear(self.act(_linear(x, self.gate_proj)) * _linear(x, self.up_proj), self.down_proj)


class Phi3MLP(nn.Module):
    """down(silu(gate) * up) with gate and up the two halves of one gate_up_proj [2 * inter, h]."""

    def __init__(self, h, inter):
        super().__init__()
        self.gate_up_proj = nn.Linear(h, 2 * inter, bias=False)
        self.down_proj = nn.Linear(inter, h, bias=False)

    def forward(self, x):
        gate, up = _linear(x, self.gate_up_proj).chunk(2, dim=-1)
        return _linear(up * F.silu(gate), self.down_proj)


class MixtralExpert(nn.Module):
    def __init__(self, h, inter):
        super().__init__()
        self.w1 = nn.Linear(h, inter, bias=False)
        self.w2 = nn.Linear(inter, h, bias=False)
        self.w3 = nn.Linear(h, inter, bias=False)

    def forward(self, x):
        return _linear(F.silu(_linear(x, self.w1)) * _linear(x, self.w3), self.w2)


def _route(router_logits, k, renorm):
    """softmax over experts in float32, top-k, optional renormalisation. Returns (weights [N,k], idx [N,k], probs [N,E])."""
    probs = torch.softmax(router_logits.float(), dim=-1)
    w, idx = torch.topk(probs, k, dim=-1)
    if renorm:
        w = w / w.sum(dim=-1, keepdim=True)
    return w, idx, probs


def _moe_combine(x, experts, w, idx, dense):
    """x [N,H]. dense=True computes every expert for every token (export-friendly, same maths)."""
    E = len(experts)
    if dense:
        # combine matrix [N, E]: weight of expert e for token n (0 when not selected)
        comb = torch.zeros(x.shape[0], E, dtype=w.dtype, device=x.device).scatter(1, idx, w)  # top-k ids are distinct
        out = torch.zeros_like(x)
        for e, ex in enumerate(experts):
            out = out + comb[:, e:e + 1] * ex(x)
        return out
    out = torch.zeros_like(x)
    for e, ex in enumerate(experts):
        tok, slot = torch.nonzero(idx == e, as_tuple=True)
        if tok.numel() == 0:
            continue
        y = ex(x[tok]) * w[tok, slot, None]
        out.index_add_(0, tok, y)
    return out


class MixtralSparseMoe(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h = cfg["hidden_size"]
        self.k = cfg["num_experts_per_tok"]
        self.gate = nn.Linear(h, cfg["num_local_experts"], bias=False)
        self.experts = nn.ModuleList([MixtralExpert(h, cfg["intermediate_size"]) for _ in range(cfg["num_local_experts"])])
        self.dense = False
        self.last_router_probs = None

    def forward(self, x):
        B, S, H = x.shape
        xf = x.reshape(-1, H)
        w, idx, probs = _route(_linear(xf, self.gate), self.k, True)
        self.last_router_probs, self.last_router_idx = probs, idx
        return _moe_combine(xf, self.experts, w, idx, self.dense).view(B, S, H)


class Qwen2MoeSparseMoe(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h = cfg["hidden_size"]
        self.k = cfg["num_experts_per_tok"]
        self.norm_topk = bool(cfg.get("norm_topk_prob", False))
        self.gate = nn.Linear(h, cfg["num_experts"], bias=False)
        self.experts = nn.ModuleList([MLP(h, cfg["moe_intermediate_size"]) for _ in range(cfg["num_experts"])])
        self.shared = cfg["model_type"] == "qwen2_moe"
        if self.shared:
            self.shared_expert = MLP(h, cfg["shared_expert_intermediate_size"])
            self.shared_expert_gate = nn.Linear(h, 1, bias=False)
        self.dense = False
        self.last_router_probs = None

    def forward(self, x):
        B, S, H = x.shape
        xf = x.reshape(-1, H)
        w, idx, probs = _route(_linear(xf, self.gate), self.k, self.norm_topk)
        self.last_router_probs, self.last_router_idx = probs, idx
        out = _moe_combine(xf, self.experts, w, idx, self.dense)
        if self.shared:
            out = out + torch.sigmoid(_linear(xf, self.shared_expert_gate)) * self.shared_expert(xf)
        return out.view(B, S, H)
