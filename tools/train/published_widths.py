"""Logits-parity fixtures at the published widths of real checkpoints, layers cut to two.

The weights are a pure function of (seed, tensor index, element index), computed identically by
tests/helpers/seeded_weights.ts, so only the config, the prompts and a sample of the reference logits
are committed (the fixture's metadata lists every tensor's name, shape, centre, scale and bits):

  h     = fmix32(i + fmix32(seed ^ (t + 1) * 0x9E3779B9))   (murmur3 finaliser, uint32 arithmetic)
  value = centre + scale * (2 * (h >> (32 - b)) - (2^b - 1)) / 2^b

with t the tensor's index in sorted-name order and i the row-major element index. scale is a power of
two and b (bits) is 8, or 4 for norms near 1, per tensor kind (see weight_kind), so every value is exact
in bf16 and float32 alike.

Run: /usr/bin/python3 tools/train/published_widths.py   (writes tests/fixtures/published/<name>/)
"""
import json
import os
import sys

import numpy as np
import torch

from reference import build_model
from safetensors_io import save_safetensors

SEED = 20240601
SAMPLED_IDS = 256
TOP = 8
GREEDY = 8
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "published")


def fmix32(x):
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x85EBCA6B)
    x = x ^ (x >> np.uint32(13))
    x = x * np.uint32(0xC2B2AE35)
    return x ^ (x >> np.uint32(16))


def weight_kind(name, gemma):
    """(centre, scale, bits) of a tensor's uniform values (the fixture metadata carries them to the test)."""
    if name.endswith("norm.weight"):
        return (0.0, 0.125, 4) if gemma else (1.0, 0.125, 4)
    if "embed_tokens" in name:  # Gemma scales embeddings by sqrt(hidden): smaller, so the layers are not drowned out
        return (0.0, 0.03125, 8) if gemma else (0.0, 0.125, 8)
    return 0.0, 0.03125, 8


def seeded_tensor(t, shape, centre, scale, bits):
    n = int(np.prod(shape))
    with np.errstate(over="ignore"):
        key = fmix32(np.uint32(SEED) ^ (np.uint32(t + 1) * np.uint32(0x9E3779B9)))
        h = fmix32(np.arange(n, dtype=np.uint32) + key)
    top = (h >> np.uint32(32 - bits)).astype(np.float32)
    v = np.float32(centre) + np.float32(scale) * (2 * top - (2**bits - 1)) / np.float32(2**bits)
    return torch.from_numpy(v.reshape(shape))


def seeded_state_dict(model, gemma):
    shapes = {k: tuple(v.shape) for k, v in model.hf_state_dict().items()}
    return {name: seeded_tensor(t, shapes[name], *weight_kind(name, gemma)) for t, name in enumerate(sorted(shapes))}


def prompts(vocab):
    rng = np.random.default_rng(SEED)
    return {n: rng.integers(0, vocab, n).astype(np.int32) for n in (1, 7, 45)}


def make(name, cfg):
    torch.set_num_threads(2)
    gemma = cfg["model_type"].startswith("gemma")
    model = build_model(cfg).eval()
    sd = seeded_state_dict(model, gemma)
    assert all(torch.equal(v, v.to(torch.bfloat16).float()) for v in sd.values()), "values must be exact in bf16"
    model.load_hf_state_dict(sd)
    vocab = cfg["vocab_size"]
    sampled = np.linspace(0, vocab - 1, SAMPLED_IDS).round().astype(np.int64)
    out = {"sampled_ids": torch.from_numpy(sampled.astype(np.int32))}
    with torch.no_grad():
        for n, ids in prompts(vocab).items():
            logits = model(torch.from_numpy(ids.astype(np.int64))[None])["logits"][0]
            top = logits.topk(TOP, dim=-1)
            out[f"prompt_len{n}"] = torch.from_numpy(ids)
            out[f"sampled_len{n}"] = logits[:, sampled].contiguous()
            out[f"top_ids_len{n}"] = top.indices.to(torch.int32)
            out[f"top_values_len{n}"] = top.values.contiguous()
            out[f"max_abs_len{n}"] = logits.abs().amax(dim=-1)
            gap = (top.values[:, 0] - top.values[:, 1]).min().item()
            print(f"{name} len {n}: max|ref| {logits.abs().max().item():.3f} smallest top-1 gap {gap:.4f}")
        greedy_prompt = prompts(vocab)[7]
        out["greedy_prompt"] = torch.from_numpy(greedy_prompt)
        out["greedy_tokens"] = torch.tensor(model.greedy(greedy_prompt.tolist(), GREEDY), dtype=torch.int32)
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    tensors = [[k, list(v.shape), *weight_kind(k, gemma)] for k, v in sorted(sd.items())]
    save_safetensors(out, os.path.join(d, "fixture.safetensors"), {"seed": SEED, "tensors": json.dumps(tensors)})


QWEN3_0_6B = {
    "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 151936, "hidden_size": 1024,
    "intermediate_size": 3072, "num_hidden_layers": 2, "num_attention_heads": 16, "num_key_value_heads": 8,
    "head_dim": 128, "hidden_act": "silu", "max_position_embeddings": 40960, "rms_norm_eps": 1e-06,
    "rope_theta": 1000000, "tie_word_embeddings": True, "attention_bias": False, "torch_dtype": "bfloat16",
    "bos_token_id": 151643, "eos_token_id": 151645, "rope_scaling": None, "sliding_window": None,
    "use_sliding_window": False,
}

GEMMA3_270M = {
    "architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "vocab_size": 262144, "hidden_size": 640,
    "intermediate_size": 2048, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1,
    "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 32768,
    "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "tie_word_embeddings": True,
    "query_pre_attn_scalar": 256, "sliding_window": 16, "layer_types": ["sliding_attention", "full_attention"],
    "attn_logit_softcapping": None, "final_logit_softcapping": None, "attention_bias": False,
    "rope_scaling": None, "torch_dtype": "bfloat16", "bos_token_id": 2, "eos_token_id": 1,
}

PHI3_5_MINI = {
    "architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "vocab_size": 32064, "hidden_size": 3072,
    "intermediate_size": 8192, "num_hidden_layers": 2, "num_attention_heads": 32, "num_key_value_heads": 32,
    "hidden_act": "silu", "max_position_embeddings": 131072, "original_max_position_embeddings": 4096,
    "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "tie_word_embeddings": False, "attention_bias": False,
    "sliding_window": 262144, "torch_dtype": "bfloat16", "bos_token_id": 1, "eos_token_id": 32000,
    "rope_scaling": {
        "type": "longrope",
        "long_factor": [
            1.0800000429153442, 1.1100000143051147, 1.1399999856948853, 1.340000033378601, 1.5899999141693115,
            1.600000023841858, 1.6200000047683716, 2.620000123977661, 3.2300000190734863, 3.2300000190734863,
            4.789999961853027, 7.400000095367432, 7.700000286102295, 9.09000015258789, 12.199999809265137,
            17.670000076293945, 24.46000099182129, 28.57000160217285, 30.420001983642578, 30.840002059936523,
            32.590003967285156, 32.93000411987305, 42.320003509521484, 44.96000289916992, 50.340003967285156,
            50.45000457763672, 57.55000305175781, 57.93000411987305, 58.21000289916992, 60.1400032043457,
            62.61000442504883, 62.62000274658203, 62.71000289916992, 63.1400032043457, 63.1400032043457,
            63.77000427246094, 63.93000411987305, 63.96000289916992, 63.970001220703125, 64.02999877929688,
            64.06999969482422, 64.08000183105469, 64.12000274658203, 64.41000366210938, 64.4800033569336,
            64.51000213623047, 64.52999877929688, 64.83999633789062,
        ],
        "short_factor": [
            1.0, 1.0199999809265137, 1.0299999713897705, 1.0299999713897705, 1.0499999523162842, 1.0499999523162842,
            1.0499999523162842, 1.0499999523162842, 1.0499999523162842, 1.0699999332427979, 1.0999999046325684,
            1.1099998950958252, 1.1599998474121094, 1.1599998474121094, 1.1699998378753662, 1.2899998426437378,
            1.339999794960022, 1.679999828338623, 1.7899998426437378, 1.8199998140335083, 1.8499997854232788,
            1.8799997568130493, 1.9099997282028198, 1.9399996995925903, 1.9899996519088745, 2.0199997425079346,
            2.0199997425079346, 2.0199997425079346, 2.0199997425079346, 2.0199997425079346, 2.0199997425079346,
            2.0299997329711914, 2.0299997329711914, 2.0299997329711914, 2.0299997329711914, 2.0299997329711914,
            2.0299997329711914, 2.0299997329711914, 2.0299997329711914, 2.0299997329711914, 2.0799996852874756,
            2.0899996757507324, 2.189999580383301, 2.2199995517730713, 2.5899994373321533, 2.729999542236328,
            2.749999523162842, 2.8399994373321533,
        ],
    },
}

GEMMA2_2B = {
    "architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", "vocab_size": 256000, "hidden_size": 2304,
    "intermediate_size": 9216, "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 4,
    "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh", "hidden_act": "gelu_pytorch_tanh",
    "max_position_embeddings": 8192, "rms_norm_eps": 1e-06, "rope_theta": 10000.0, "tie_word_embeddings": True,
    "query_pre_attn_scalar": 256, "sliding_window": 16, "attn_logit_softcapping": 50.0,
    "final_logit_softcapping": 30.0, "attention_bias": False, "torch_dtype": "float32", "bos_token_id": 2,
    "eos_token_id": 1, "pad_token_id": 0,
}

QWEN3_30B_A3B = {
    "architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "vocab_size": 151936, "hidden_size": 2048,
    "intermediate_size": 6144, "moe_intermediate_size": 768, "num_hidden_layers": 2, "num_attention_heads": 32,
    "num_key_value_heads": 4, "head_dim": 128, "num_experts": 8, "num_experts_per_tok": 2, "norm_topk_prob": True,
    "decoder_sparse_step": 1, "mlp_only_layers": [], "hidden_act": "silu", "max_position_embeddings": 40960,
    "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "tie_word_embeddings": False, "attention_bias": False,
    "torch_dtype": "bfloat16", "bos_token_id": 151643, "eos_token_id": 151645, "rope_scaling": None,
    "sliding_window": None, "use_sliding_window": False,
}

FAMILIES = {
    "qwen3-0.6b-2l": QWEN3_0_6B, "gemma3-270m-2l": GEMMA3_270M, "phi3.5-mini-2l": PHI3_5_MINI,
    "gemma2-2b-2l": GEMMA2_2B, "qwen3-30b-a3b-2l": QWEN3_30B_A3B,
}

if __name__ == "__main__":
    for n in sys.argv[1:] or FAMILIES:
        make(n, FAMILIES[n])
