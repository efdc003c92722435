"""Reference PyTorch implementation of the decoder-only LMs that webgpu-infer runs.

Semantics follow the Hugging Face `transformers` implementations (LlamaForCausalLM,
MistralForCausalLM, Qwen2ForCausalLM, MixtralForCausalLM, Qwen2MoeForCausalLM, Qwen3ForCausalLM,
Qwen3MoeForCausalLM, SmolLM3ForCausalLM, Gemma2ForCausalLM, Gemma3ForCausalLM) without depending on
that library.
Parameter names are the HF tensor names, so `model.state_dict()` can be written straight to a
`model.safetensors` and read back.

  * RMSNorm: x.float() * rsqrt(mean(x^2) + eps), then weight * that (HF Llama order).
  * RoPE: rotate-half convention, inv_freq = theta^(-2i/head_dim), cos/sin = cat(freqs, freqs).
  * Attention: GQA/MQA (num_key_value_heads), explicit head_dim, causal mask, softmax in float32.
    Llama: `attention_bias` adds bias to q/k/v/o. Qwen2/Qwen2-MoE: bias on q/k/v only.
    Qwen3/Qwen3-MoE: `attention_bias` (default off) on q/k/v/o; q_norm / k_norm: RMSNorm over head_dim
    of every head of q_proj(x) and k_proj(x) (view [B, S, heads, head_dim]), before RoPE.
  * MLP: SwiGLU down(silu(gate(x)) * up(x)).
  * Mixtral MoE (`block_sparse_moe`): router `gate`, softmax over experts (float32), top-k,
    renormalise over the selected k, experts w2(silu(w1 x) * w3 x).
  * Qwen2-MoE (`mlp`): router `gate`, softmax, top-k, renormalise only if `norm_topk_prob`,
    plus `shared_expert` (SwiGLU, shared_expert_intermediate_size) scaled by
    sigmoid(`shared_expert_gate`(x)). Qwen3-MoE: the same routing and layer rule, no shared expert.
    Sparse layers: layer_idx not in mlp_only_layers and
    (layer_idx + 1) % decoder_sparse_step == 0; other layers use a dense SwiGLU `mlp` with
    `intermediate_size`. Experts use `moe_intermediate_size`.
  * Sliding windows (Mistral `sliding_window`, Gemma `layer_types`): query i sees keys j with
    i - window < j <= i.
  * SmolLM3: layer i has no rotary embedding (NoPE) when no_rope_layers[i] == 0 (default: every
    no_rope_layer_interval-th layer, 4).
  * Gemma 2 / Gemma 3: embeddings times sqrt(hidden) (float32); RMSNorm x̂ · (1 + w); four norms per
    layer (input, post_attention on the attention output, pre_ and post_feedforward around the MLP);
    GeGLU down(gelu_tanh(gate x) * up x); scores times query_pre_attn_scalar^-0.5. Gemma 2: scores
    soft-capped tanh(s / c) · c (attn_logit_softcapping), logits soft-capped likewise
    (final_logit_softcapping), even layers sliding by default. Gemma 3: q_norm / k_norm, sliding
    layers per `layer_types` (default every layer but each 6th) rotate with rope_local_base_freq,
    full layers with rope_theta (and rope_scaling).
  * Phi-3: fused qkv_proj (rows q, k, v) and gate_up_proj (rows gate, up); partial rotary (the first
    head_dim · partial_rotary_factor dims of each head rotate); LongRoPE (`rope_scaling` longrope/su):
    inv_freq = 1 / (ext · theta^(2i/d)) with ext the long factors once max(position_ids) + 1 exceeds
    original_max_position_embeddings, else the short ones, cos/sin times the attention factor
    (default sqrt(1 + ln(max/original) / ln(original))).
  * Early exit: hidden state h_l = residual stream after l layers (l = 1..L); early-exit logits
    at layer l = lm_head(norm(h_l)); l = L gives the model's logits.

Feed-forward blocks live in reference_ffn.py; safetensors files are read and written by safetensors_io.py
(re-exported here).
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from reference_ffn import MLP, MixtralSparseMoe, Phi3MLP, Qwen2MoeSparseMoe, _linear
from safetensors_io import load_safetensors, save_safetensors  # noqa: F401 (re-exported)

def load_model_dir(path):
    """Load config.json + model.safetensors (or sharded model.safetensors.index.json) from a directory."""
    with open(os.path.join(path, "config.json")) as f:
        cfg = json.load(f)
    idx = os.path.join(path, "model.safetensors.index.json")
    sd = {}
    if os.path.exists(idx):
        with open(idx) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
        for fn in files:
            sd.update(load_safetensors(os.path.join(path, fn)))
    else:
        sd = load_safetensors(os.path.join(path, "model.safetensors"))
    model = build_model(cfg)
    model.load_hf_state_dict(sd)
    return model, cfg


# ----------------------------------------------------------------------------------------------
# model
# ----------------------------------------------------------------------------------------------
class RMSNorm(nn.Module):
    """offset 1: Gemma's x̂ · (1 + w), computed in float32."""

    def __init__(self, dim, eps, offset=0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim) if offset == 0 else torch.zeros(dim))
        self.eps = eps
        self.offset = offset

    def forward(self, x):
        dtype = x.dtype
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        w = self.weight.float() + self.offset if self.offset else self.weight.float()
        return w * h.to(dtype) if dtype != torch.float32 else w * h


def rotate_half(x):
    d = x.shape[-1] // 2
    return torch.cat((-x[..., d:], x[..., :d]), dim=-1)


def rope_cos_sin(position_ids, head_dim, theta, longrope=None):
    """position_ids [B, S] int64 -> cos, sin [B, 1, S, head_dim] float32. `head_dim` is the rotated width
    (rotary dims of a partial rotary). longrope: (short_factor, long_factor, original_max, attention_factor);
    the long factors apply when max(position_ids) + 1 exceeds original_max."""
    shape = torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim
    if longrope is None:
        inv_freq, scale = 1.0 / (theta ** shape), 1.0
    else:
        short, long, original, scale = longrope
        ext = torch.tensor(long if int(position_ids.max()) + 1 > original else short, dtype=torch.float32)
        inv_freq = 1.0 / (ext * theta ** shape)
    freqs = position_ids[..., None].float() * inv_freq
    emb = torch.cat((freqs, freqs), dim=-1)
    return (emb.cos() * scale)[:, None], (emb.sin() * scale)[:, None]


def phi3_longrope(cfg):
    """Phi-3 `longrope` (alias `su`) scaling as transformers' _compute_longrope_parameters reads it, or None."""
    rs = cfg.get("rope_scaling") or {}
    if rs.get("rope_type", rs.get("type")) not in ("longrope", "su"):
        return None
    original = cfg.get("original_max_position_embeddings")
    factor = cfg["max_position_embeddings"] / original if original else rs.get("factor", 1.0)
    original = original or cfg["max_position_embeddings"]
    attn = rs.get("attention_factor") or (1.0 if factor <= 1 else math.sqrt(1 + math.log(factor) / math.log(original)))
    return rs["short_factor"], rs["long_factor"], original, attn


class Attention(nn.Module):
    def __init__(self, cfg, qkv_bias, o_bias, qk_norm=False, norm_offset=0.0, scaling=None, softcap=None, window=None):
        super().__init__()
        h = cfg["hidden_size"]
        self.nh = cfg["num_attention_heads"]
        self.nkv = cfg.get("num_key_value_heads") or self.nh
        self.hd = cfg.get("head_dim") or h // self.nh
        self.theta = float(cfg.get("rope_theta", 10000.0))
        self.q_proj = nn.Linear(h, self.nh * self.hd, bias=qkv_bias)
        self.k_proj = nn.Linear(h, self.nkv * self.hd, bias=qkv_bias)
        self.v_proj = nn.Linear(h, self.nkv * self.hd, bias=qkv_bias)
        self.o_proj = nn.Linear(self.nh * self.hd, h, bias=o_bias)
        self.fused = cfg["model_type"] == "phi3"  # one qkv_proj, rows [q; k; v]
        if self.fused:
            del self.q_proj, self.k_proj, self.v_proj
            self.qkv_proj = nn.Linear(h, (self.nh + 2 * self.nkv) * self.hd, bias=False)
        self.rotary = int(self.hd * cfg.get("partial_rotary_factor", 1.0))  # dims rotated at the start of each head
        if qk_norm:
            self.q_norm = RMSNorm(self.hd, cfg.get("rms_norm_eps", 1e-6), norm_offset)
            self.k_norm = RMSNorm(self.hd, cfg.get("rms_norm_eps", 1e-6), norm_offset)
        self.qk_norm = qk_norm
        self.scaling = scaling if scaling is not None else self.hd ** -0.5
        self.softcap, self.window = softcap, window

    def forward(self, x, cos, sin, past=None):
        """x [B,S,H]; cos/sin None for a NoPE layer; past: (k, v) each [B, nkv, P, hd] (keys already
        rotated). Returns out, (k, v)."""
        B, S, _ = x.shape
        if self.fused:
            q, k, v = _linear(x, self.qkv_proj).split([self.nh * self.hd, self.nkv * self.hd, self.nkv * self.hd], dim=-1)
        else:
            q, k, v = _linear(x, self.q_proj), _linear(x, self.k_proj), _linear(x, self.v_proj)
        q, k = q.view(B, S, self.nh, self.hd), k.view(B, S, self.nkv, self.hd)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        v = v.view(B, S, self.nkv, self.hd).transpose(1, 2)
        if cos is not None:
            r = self.rotary
            q = torch.cat((q[..., :r] * cos + rotate_half(q[..., :r]) * sin, q[..., r:]), dim=-1)
            k = torch.cat((k[..., :r] * cos + rotate_half(k[..., :r]) * sin, k[..., r:]), dim=-1)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        present = (k, v)
        rep = self.nh // self.nkv
        # GQA: query head h uses kv head h // rep (expand+reshape == repeat_interleave, export-friendly)
        kk = k[:, :, None].expand(-1, -1, rep, -1, -1).reshape(B, self.nh, -1, self.hd) if rep > 1 else k
        vv = v[:, :, None].expand(-1, -1, rep, -1, -1).reshape(B, self.nh, -1, self.hd) if rep > 1 else v
        T = kk.shape[2]
        scores = torch.matmul(q, kk.transpose(2, 3)) * self.scaling
        if self.softcap:
            scores = torch.tanh(scores / self.softcap) * self.softcap
        # query i (absolute position T - S + i) sees keys j <= T - S + i (and j > T - S + i - window)
        qi = torch.arange(S, device=x.device)[:, None] + (T - S)
        kj = torch.arange(T, device=x.device)[None, :]
        hidden = (kj > qi) | (kj <= qi - self.window) if self.window else kj > qi
        scores = scores.masked_fill(hidden, float("-inf"))
        p = torch.softmax(scores.float(), dim=-1)
        o = torch.matmul(p, vv).transpose(1, 2).reshape(B, S, self.nh * self.hd)
        return _linear(o, self.o_proj), present


GEMMA = ("gemma2", "gemma3_text")
DEFAULT_THETA = {"smollm3": 2000000.0}


def no_rope_layers(cfg):
    """SmolLM3: 1 where layer i rotates, 0 for a NoPE layer."""
    L = cfg["num_hidden_layers"]
    return cfg.get("no_rope_layers") or [int((i + 1) % cfg.get("no_rope_layer_interval", 4) != 0) for i in range(L)]


def layer_types(cfg):
    """'sliding_attention' or 'full_attention' per layer, defaulted as the transformers config classes do."""
    L, t = cfg["num_hidden_layers"], cfg["model_type"]
    if cfg.get("layer_types"):
        return cfg["layer_types"]
    if t == "gemma2":
        return ["sliding_attention" if (i + 1) % 2 else "full_attention" for i in range(L)]
    if t == "gemma3_text":
        return ["sliding_attention" if (i + 1) % cfg.get("sliding_window_pattern", 6) else "full_attention" for i in range(L)]
    if t in ("mistral", "phi3") and cfg.get("sliding_window"):
        return ["sliding_attention"] * L
    if t == "smollm3" and cfg.get("use_sliding_window") and cfg.get("sliding_window"):
        return ["full_attention" if r else "sliding_attention" for r in no_rope_layers(cfg)]
    return ["full_attention"] * L


def layer_theta(cfg, i):
    """RoPE base of layer i; None for a NoPE layer."""
    t = cfg["model_type"]
    if t == "smollm3" and not no_rope_layers(cfg)[i]:
        return None
    if t == "gemma3_text" and layer_types(cfg)[i] == "sliding_attention":
        return float(cfg.get("rope_local_base_freq", 10000.0))
    return float(cfg.get("rope_theta", DEFAULT_THETA.get(t, 10000.0)))


class DecoderLayer(nn.Module):
    def __init__(self, cfg, layer_idx):
        super().__init__()
        arch = cfg["model_type"]
        h, eps = cfg["hidden_size"], cfg.get("rms_norm_eps", 1e-6)
        window = cfg["sliding_window"] if layer_types(cfg)[layer_idx] == "sliding_attention" else None
        self.theta = layer_theta(cfg, layer_idx)
        self.sandwich = arch in GEMMA
        if arch in ("llama", "mistral", "smollm3", "phi3"):
            ab = bool(cfg.get("attention_bias", False))
            self.self_attn = Attention(cfg, ab, ab, window=window)
        elif arch in ("qwen2", "qwen2_moe"):
            self.self_attn = Attention(cfg, True, False)
        elif arch == "mixtral":
            self.self_attn = Attention(cfg, False, False)
        elif arch in ("qwen3", "qwen3_moe"):
            ab = bool(cfg.get("attention_bias", False))
            self.self_attn = Attention(cfg, ab, ab, qk_norm=True)
        elif arch in GEMMA:
            ab = bool(cfg.get("attention_bias", False))
            self.self_attn = Attention(cfg, ab, ab, qk_norm=arch == "gemma3_text", norm_offset=1.0,
                                       scaling=cfg["query_pre_attn_scalar"] ** -0.5,
                                       softcap=cfg.get("attn_logit_softcapping"), window=window)
        else:
            raise ValueError(f"unknown model_type {arch}")
        offset = 1.0 if self.sandwich else 0.0
        self.input_layernorm = RMSNorm(h, eps, offset)
        self.post_attention_layernorm = RMSNorm(h, eps, offset)
        if self.sandwich:
            self.pre_feedforward_layernorm = RMSNorm(h, eps, offset)
            self.post_feedforward_layernorm = RMSNorm(h, eps, offset)
        self.ffn_name = "mlp"
        if arch == "mixtral":
            self.block_sparse_moe = MixtralSparseMoe(cfg)
            self.ffn_name = "block_sparse_moe"
        elif arch in ("qwen2_moe", "qwen3_moe"):
            sparse = (layer_idx not in cfg.get("mlp_only_layers", [])) and cfg.get("num_experts", 0) > 0 \
                and (layer_idx + 1) % cfg.get("decoder_sparse_step", 1) == 0
            self.mlp = Qwen2MoeSparseMoe(cfg) if sparse else MLP(h, cfg["intermediate_size"])
        elif arch in GEMMA:
            self.mlp = MLP(h, cfg["intermediate_size"], act=cfg.get("hidden_activation", "gelu_pytorch_tanh"))
        elif arch == "phi3":
            self.mlp = Phi3MLP(h, cfg["intermediate_size"])
        else:
            self.mlp = MLP(h, cfg["intermediate_size"], bias=bool(cfg.get("mlp_bias", False)))

    def forward(self, x, cos, sin, past=None):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, past)
        if self.sandwich:
            x = x + self.post_attention_layernorm(a)
            return x + self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(x))), present
        x = x + a
        x = x + getattr(self, self.ffn_name)(self.post_attention_layernorm(x))
        return x, present


class Inner(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([DecoderLayer(cfg, i) for i in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg.get("rms_norm_eps", 1e-6), 1.0 if cfg["model_type"] in GEMMA else 0.0)


class CausalLM(nn.Module):
    """HF-compatible causal LM. forward() returns logits [B,S,V] (float32)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Inner(cfg)
        self.tied = bool(cfg.get("tie_word_embeddings", False))
        if not self.tied:
            self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        L = cfg["num_hidden_layers"]
        a = self.model.layers[0].self_attn
        self.head_dim, self.n_kv, self.theta = a.hd, a.nkv, a.theta
        gemma = cfg["model_type"] in GEMMA
        self.embed_scale = torch.tensor(cfg["hidden_size"] ** 0.5, dtype=torch.float32) if gemma else None
        self.logit_softcap = cfg.get("final_logit_softcapping") if gemma else None

    # --- helpers -------------------------------------------------------------------------------
    def head(self, h):
        w = self.model.embed_tokens.weight if self.tied else self.lm_head.weight
        logits = F.linear(h, w.float())
        if self.logit_softcap:
            logits = torch.tanh(logits / self.logit_softcap) * self.logit_softcap
        return logits

    def exit_logits(self, h):
        """early-exit logits from a residual-stream state: lm_head(norm(h))."""
        return self.head(self.model.norm(h))

    def set_moe_dense(self, dense):
        for layer in self.model.layers:
            f = getattr(layer, layer.ffn_name)
            if hasattr(f, "dense"):
                f.dense = dense

    def hf_state_dict(self):
        sd = {k: v for k, v in self.state_dict().items()}
        if self.tied:
            sd.pop("lm_head.weight", None)
        return sd

    def load_hf_state_dict(self, sd):
        sd = dict(sd)
        if self.tied:
            sd.pop("lm_head.weight", None)
        own = self.state_dict()
        missing = set(own) - set(sd)
        extra = set(sd) - set(own)
        if missing or extra:
            raise KeyError(f"missing {sorted(missing)[:5]} unexpected {sorted(extra)[:5]}")
        with torch.no_grad():
            for k, v in sd.items():
                own[k].copy_(v.to(own[k].dtype))

    # --- forward -------------------------------------------------------------------------------
    def forward(self, input_ids, position_ids=None, past_key_values=None, output_hidden_states=False,
                layer_dropout=None):
        """input_ids [B,S] int64. past_key_values: list of (k, v) per layer, [B, nkv, P, hd].
        Returns dict(logits, present, hidden_states) where hidden_states[l-1] = residual stream after
        l layers (l = 1..L) when output_hidden_states. layer_dropout: optional list of per-layer
        boolean masks [B] (True = skip layer for that sample) used in LayerSkip training."""
        B, S = input_ids.shape
        P = 0 if past_key_values is None else past_key_values[0][0].shape[2]
        if position_ids is None:
            position_ids = (torch.arange(S, device=input_ids.device) + P)[None].expand(B, S)
        thetas = {layer.theta for layer in self.model.layers} - {None}
        rotary = self.model.layers[0].self_attn.rotary
        rope = {th: rope_cos_sin(position_ids, rotary, th, phi3_longrope(self.cfg)) for th in thetas}
        x = F.embedding(input_ids, self.model.embed_tokens.weight).float()
        if self.embed_scale is not None:
            x = x * self.embed_scale
        hidden, present = [], []
        for i, layer in enumerate(self.model.layers):
            past = None if past_key_values is None else past_key_values[i]
            y, pr = layer(x, *rope.get(layer.theta, (None, None)), past)
            if layer_dropout is not None and layer_dropout[i] is not None:
                y = torch.where(layer_dropout[i][:, None, None], x, y)
            x = y
            present.append(pr)
            if output_hidden_states:
                hidden.append(x)
        logits = self.head(self.model.norm(x))
        return {"logits": logits, "present": present, "hidden_states": hidden if output_hidden_states else None}

    @torch.no_grad()
    def greedy(self, prompt_ids, n_new, use_cache=True):
        ids = list(prompt_ids)
        if not use_cache:
            for _ in range(n_new):
                lg = self.forward(torch.tensor([ids]))["logits"][0, -1]
                ids.append(int(lg.argmax()))
            return ids[len(prompt_ids):]
        out = self.forward(torch.tensor([ids]))
        past = out["present"]
        nxt = int(out["logits"][0, -1].argmax())
        gen = [nxt]
        while len(gen) < n_new:
            out = self.forward(torch.tensor([[nxt]]), past_key_values=past)
            past = out["present"]
            nxt = int(out["logits"][0, -1].argmax())
            gen.append(nxt)
        return gen


def build_model(cfg):
    return CausalLM(cfg)


def count_params(model):
    return sum(v.numel() for v in model.hf_state_dict().values())


if __name__ == "__main__":
    # self-test: KV-cache decoding equals full recomputation; safetensors round trip.
    torch.manual_seed(0)
    cfg = dict(architectures=["MixtralForCausalLM"], model_type="mixtral", vocab_size=97, hidden_size=32,
               intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
               num_local_experts=4, num_experts_per_tok=2, rms_norm_eps=1e-5, rope_theta=10000.0,
               tie_word_embeddings=False)
    m = build_model(cfg).eval()
    ids = torch.randint(0, 97, (1, 9))
    full = m(ids)["logits"]
    o1 = m(ids[:, :5])
    o2 = m(ids[:, 5:], past_key_values=o1["present"])
    assert torch.allclose(full[:, 5:], o2["logits"], atol=1e-5)
    m.set_moe_dense(True)
    assert torch.allclose(full, m(ids)["logits"], atol=1e-5)
    import tempfile
    p = os.path.join(tempfile.mkdtemp(), "t.safetensors")
    sd = {"a": torch.randn(3, 4).to(torch.bfloat16), "b": torch.arange(5, dtype=torch.int64), "c": torch.randn(2).half()}
    save_safetensors(sd, p, {"format": "pt"})
    back = load_safetensors(p)
    assert all(torch.equal(sd[k], back[k]) for k in sd)
    print("reference.py self-test ok")
