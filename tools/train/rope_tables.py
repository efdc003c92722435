"""RoPE inverse-frequency tables and attention factors computed as transformers' rope init functions do
(modeling_rope_utils: default, linear, llama3, longrope with its short/long switch by sequence length, partial
rotary), in float32 torch, for the CPU table module's test (src/kernels/rope_table.ts).

    /usr/bin/python3 tools/train/rope_tables.py   # writes tests/fixtures/rope_tables.json
"""
import json
import math
import os

import torch

torch.set_num_threads(1)


def default_inv_freq(base, dim):
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(dtype=torch.float) / dim))


def llama3(inv_freq, s):
    factor, low, high, old = s["factor"], s["low_freq_factor"], s["high_freq_factor"], s["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / low, old / high
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * inv_freq_llama / factor + smooth * inv_freq_llama
    is_medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(is_medium, smoothed, inv_freq_llama)


def longrope(base, dim, config, seq_len):
    s = config["rope_scaling"]
    factor, attention_factor = s.get("factor"), s.get("attention_factor")
    original = config.get("original_max_position_embeddings")
    if original:
        factor = config["max_position_embeddings"] / original
    else:
        original = config["max_position_embeddings"]
    if attention_factor is None:
        attention_factor = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(original))
    ext = torch.tensor(s["long_factor"] if seq_len and seq_len > original else s["short_factor"], dtype=torch.float32)
    shape = torch.arange(0, dim, 2, dtype=torch.int64).float() / dim
    return 1.0 / (ext * base**shape), attention_factor


def table(config, seq_len):
    head_dim = config["head_dim"]
    dim = int(head_dim * config.get("partial_rotary_factor", 1.0))
    base = config["rope_theta"]
    s = config.get("rope_scaling")
    kind = s["rope_type"] if s else "default"
    if kind == "longrope":
        inv, attention = longrope(base, dim, config, seq_len)
    else:
        inv, attention = default_inv_freq(base, dim), 1.0
        if kind == "linear":
            inv = inv / s["factor"]
        elif kind == "llama3":
            inv = llama3(inv, s)
    return {"config": config, "seq_len": seq_len, "rotary_dim": dim, "inv_freq": inv.tolist(), "attention_factor": attention}


def factors(n, seed, low, high):
    g = torch.Generator().manual_seed(seed)
    return [round(low + (high - low) * x, 6) for x in torch.rand(n, generator=g).tolist()]


phi = {"head_dim": 96, "rope_theta": 10000.0, "max_position_embeddings": 131072, "original_max_position_embeddings": 4096,
       "rope_scaling": {"rope_type": "longrope", "short_factor": factors(48, 1, 1.0, 3.0), "long_factor": factors(48, 2, 1.0, 60.0)}}
phi4 = {"head_dim": 128, "partial_rotary_factor": 0.75, "rope_theta": 10000.0, "max_position_embeddings": 131072,
        "original_max_position_embeddings": 4096,
        "rope_scaling": {"rope_type": "longrope", "short_factor": factors(48, 3, 1.0, 3.0), "long_factor": factors(48, 4, 1.0, 60.0)}}
cases = [
    table({"head_dim": 128, "rope_theta": 1000000.0}, 0),
    table({"head_dim": 64, "rope_theta": 10000.0, "rope_scaling": {"rope_type": "linear", "factor": 4.0}}, 0),
    table({"head_dim": 64, "rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                                                     "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}, 0),
    table({"head_dim": 64, "partial_rotary_factor": 0.25, "rope_theta": 10000.0}, 0),
    table(phi, 4096),
    table(phi, 4097),
    table(phi4, 100),
    table(phi4, 9000),
    table({"head_dim": 32, "rope_theta": 10000.0, "max_position_embeddings": 2048,
           "rope_scaling": {"rope_type": "longrope", "factor": 8.0, "attention_factor": 1.25,
                            "short_factor": factors(16, 5, 1.0, 2.0), "long_factor": factors(16, 6, 1.0, 9.0)}}, 3000),
]
out = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "rope_tables.json")
with open(out, "w") as fh:
    json.dump(cases, fh, separators=(",", ":"))
print(f"wrote {len(cases)} tables to {os.path.normpath(out)}")
