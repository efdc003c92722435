"""Random-weight fixture models for the runtime's correctness tests.

  /usr/bin/python3 tools/train/make_fixtures.py     # writes tests/fixtures/models/<name>/

Each model directory holds an HF-style config.json, the weights (model.safetensors, or a sharded
set with model.safetensors.index.json) in the dtype named by config.torch_dtype, and
fixture.safetensors with reference outputs computed in float32 by tools/train/reference.py from
the weights *as stored* (i.e. after rounding to F16/BF16). See tests/fixtures/models/README.md.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import GEMMA, build_model, count_params, load_model_dir, save_safetensors  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "models")
VOCAB = 384
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def base(arch, model_type, dtype, **kw):
    cfg = {
        "architectures": [arch], "model_type": model_type, "vocab_size": VOCAB, "hidden_size": 64,
        "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "hidden_act": "silu", "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "tie_word_embeddings": False, "torch_dtype": dtype, "bos_token_id": 0, "eos_token_id": 1,
        "initializer_range": 0.02, "use_cache": True,
    }
    cfg.update(kw)
    return cfg


MODELS = {
    "llama-gqa3": base("LlamaForCausalLM", "llama", "float32", hidden_size=96, num_attention_heads=6,
                       num_key_value_heads=2, intermediate_size=128, attention_bias=False, mlp_bias=False),
    "llama-mqa": base("LlamaForCausalLM", "llama", "float16", num_attention_heads=4, num_key_value_heads=1,
                      attention_bias=False, mlp_bias=False),
    "llama-headdim": base("LlamaForCausalLM", "llama", "bfloat16", hidden_size=128, num_attention_heads=4,
                          num_key_value_heads=2, head_dim=48, intermediate_size=160, attention_bias=False,
                          mlp_bias=False),
    "llama-tied": base("LlamaForCausalLM", "llama", "float16", tie_word_embeddings=True, attention_bias=False,
                       mlp_bias=False),
    "qwen2-bias": base("Qwen2ForCausalLM", "qwen2", "float32", rope_theta=1000000.0, rms_norm_eps=1e-6,
                       use_sliding_window=False, sliding_window=None, max_window_layers=2),
    "llama-sharded": base("LlamaForCausalLM", "llama", "float16", num_hidden_layers=3, attention_bias=False,
                          mlp_bias=False),
    "mixtral-rand": base("MixtralForCausalLM", "mixtral", "float32", num_local_experts=4, num_experts_per_tok=2,
                         intermediate_size=64, router_aux_loss_coef=0.02, sliding_window=None),
    "qwen2moe-rand": base("Qwen2MoeForCausalLM", "qwen2_moe", "float32", num_hidden_layers=3, rms_norm_eps=1e-6,
                          num_experts=6, num_experts_per_tok=2, norm_topk_prob=False, decoder_sparse_step=1,
                          mlp_only_layers=[1], intermediate_size=128, moe_intermediate_size=48,
                          shared_expert_intermediate_size=80, rope_theta=1000000.0, use_sliding_window=False,
                          sliding_window=None, router_aux_loss_coef=0.001),
    # Qwen3-0.6B's structure at small width: explicit head_dim (2x hidden/heads), GQA 2, q/k norms, tied
    "qwen3-qknorm": base("Qwen3ForCausalLM", "qwen3", "bfloat16", vocab_size=256, intermediate_size=64,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=32, rope_theta=1000000.0,
                         rms_norm_eps=1e-6, tie_word_embeddings=True, attention_bias=False,
                         use_sliding_window=False, sliding_window=None, max_window_layers=2),
    # Qwen3-MoE (30B-A3B structure, experts cut down): GQA 8, q/k norms, norm_topk_prob, no shared expert
    "qwen3moe-rand": base("Qwen3MoeForCausalLM", "qwen3_moe", "float16", vocab_size=256, num_attention_heads=8,
                          num_key_value_heads=1, head_dim=16, num_experts=8, num_experts_per_tok=4,
                          norm_topk_prob=True, moe_intermediate_size=16, intermediate_size=64,
                          decoder_sparse_step=1, mlp_only_layers=[], rope_theta=1000000.0, rms_norm_eps=1e-6,
                          tie_word_embeddings=True, attention_bias=False, use_sliding_window=False,
                          sliding_window=None, router_aux_loss_coef=0.001),
    # Mistral-7B's GQA 4 with a sliding window shrunk to 16, so the 45-token prompt crosses it
    "mistral-window": base("MistralForCausalLM", "mistral", "float16", vocab_size=256, num_attention_heads=8,
                           num_key_value_heads=2, head_dim=8, sliding_window=16),
    # SmolLM3: every no_rope_layer_interval-th layer has no rotary embedding (interval 2 here: layer 1 is NoPE)
    "smollm3-nope": base("SmolLM3ForCausalLM", "smollm3", "bfloat16", vocab_size=256, intermediate_size=64,
                         num_attention_heads=4, num_key_value_heads=1, no_rope_layer_interval=2,
                         rope_theta=5000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, attention_bias=False,
                         mlp_bias=False, use_sliding_window=False, sliding_window=None),
    # Gemma 2: sandwich norms, (1 + w) RMSNorm, GeGLU, sqrt(hidden) embedding scale, query_pre_attn_scalar != head_dim,
    # soft-caps low enough to bend these scores and logits, layer 0 sliding (window 16), layer 1 full
    "gemma2-softcap": base("Gemma2ForCausalLM", "gemma2", "bfloat16", vocab_size=256, intermediate_size=64,
                           num_attention_heads=4, num_key_value_heads=2, head_dim=32, query_pre_attn_scalar=24,
                           attn_logit_softcapping=5.0, final_logit_softcapping=8.0, sliding_window=16,
                           hidden_activation="gelu_pytorch_tanh", hidden_act="gelu_pytorch_tanh", rms_norm_eps=1e-6,
                           tie_word_embeddings=True, attention_bias=False, pad_token_id=0),
    # gemma-3-270m's structure: MQA (4 / 1), head_dim 2x hidden/heads, q/k norms, sliding layer with its own RoPE base
    "gemma3-local": base("Gemma3ForCausalLM", "gemma3_text", "bfloat16", vocab_size=256, intermediate_size=64,
                         num_attention_heads=4, num_key_value_heads=1, head_dim=32, query_pre_attn_scalar=24,
                         sliding_window=16, layer_types=["sliding_attention", "full_attention"],
                         rope_theta=1000000.0, rope_local_base_freq=10000.0, attn_logit_softcapping=None,
                         final_logit_softcapping=None, hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6,
                         tie_word_embeddings=True, attention_bias=False, rope_scaling=None),
    # Phi-4-mini's structure: fused qkv_proj / gate_up_proj, partial rotary 0.75, LongRoPE with the original context
    # shrunk to 40 (the 45-token prompt takes the long factors, 1/7-token prompts and the greedy run the short ones)
    "phi3-longrope": base("Phi3ForCausalLM", "phi3", "bfloat16", vocab_size=256, intermediate_size=64,
                          num_attention_heads=4, num_key_value_heads=2, partial_rotary_factor=0.75,
                          max_position_embeddings=128, original_max_position_embeddings=40,
                          rope_scaling={"type": "longrope", "short_factor": [1.0, 1.1, 1.25, 1.5, 2.0, 3.0],
                                        "long_factor": [1.0, 1.5, 2.5, 4.0, 6.0, 9.0]},
                          sliding_window=None, tie_word_embeddings=True, pad_token_id=0),
}


def randomize(model, cfg, gen):
    """Random weights scaled so activations stay O(1) and logits have a spread of a few units."""
    H = cfg["hidden_size"]
    offset = 1.0 if cfg["model_type"] in GEMMA else 0.0  # Gemma stores w of x̂ · (1 + w)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "model.norm.weight" and cfg.get("tie_word_embeddings"):
                # random signs decorrelate lm_head(norm(h)) from the current token's own embedding,
                # otherwise a random tied model just repeats its input token
                sign = torch.randint(0, 2, p.shape, generator=gen).float() * 2 - 1
                p.copy_(sign * (1.0 + 0.1 * torch.randn(p.shape, generator=gen)) - offset)
            elif name.endswith("norm.weight") or "layernorm" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen) - offset)
            elif name == "model.embed_tokens.weight":
                std = 2.5 / H ** 0.5 if cfg.get("tie_word_embeddings") else 1.0
                p.copy_(std * torch.randn(p.shape, generator=gen))
            elif name == "lm_head.weight":
                p.copy_(2.5 / H ** 0.5 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith("shared_expert_gate.weight"):
                p.copy_(2.0 / p.shape[1] ** 0.5 * torch.randn(p.shape, generator=gen))  # sigmoid in its soft range
            elif name.endswith("gate.weight") and "_proj" not in name:
                p.copy_(6.0 / p.shape[1] ** 0.5 * torch.randn(p.shape, generator=gen))  # router: decisive
            else:
                p.copy_(0.7 / p.shape[1] ** 0.5 * torch.randn(p.shape, generator=gen))


def round_to(model, dtype):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).float())


def router_margin(model, seqs):
    """smallest gap between the k-th and (k+1)-th router logit (softmax is monotonic) over all MoE
    layers and tokens, so 16-bit arithmetic in the runtime cannot flip an expert choice."""
    m = float("inf")
    with torch.no_grad():
        for s in seqs:
            model(s[None])
            for layer in model.model.layers:
                f = getattr(layer, layer.ffn_name)
                probs = getattr(f, "last_router_probs", None)
                if probs is not None:
                    top = torch.log(probs).sort(dim=-1, descending=True).values
                    m = min(m, float((top[:, f.k - 1] - top[:, f.k]).min()))
    return m


def margins(logits):
    top = logits.topk(2, dim=-1).values
    return (top[..., 0] - top[..., 1])


def write_weights(model, cfg, d, name):
    dtype = DTYPES[cfg["torch_dtype"]]
    sd = {k: v.to(dtype) for k, v in model.hf_state_dict().items()}
    for fn in os.listdir(d):
        if fn.startswith("model"):
            os.remove(os.path.join(d, fn))
    if name == "llama-sharded":
        keys = sorted(sd)
        half = len(keys) // 2
        parts = [keys[:half], keys[half:]]
        wm, total = {}, 0
        for i, ks in enumerate(parts):
            fn = f"model-{i + 1:05d}-of-{len(parts):05d}.safetensors"
            save_safetensors({k: sd[k] for k in ks}, os.path.join(d, fn), {"format": "pt"})
            for k in ks:
                wm[k] = fn
                total += sd[k].numel() * sd[k].element_size()
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": wm}, f, indent=2)
    else:
        save_safetensors(sd, os.path.join(d, "model.safetensors"), {"format": "pt"})


def make(name, cfg, seed):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for attempt in range(400):
        gen = torch.Generator().manual_seed(seed * 1000 + attempt)
        model = build_model(cfg).eval()
        randomize(model, cfg, gen)
        round_to(model, DTYPES[cfg["torch_dtype"]])
        prompts = {n: torch.randint(2, cfg["vocab_size"], (n,), generator=gen) for n in (1, 7, 45)}
        with torch.no_grad():
            logits = {n: model(p[None])["logits"][0] for n, p in prompts.items()}
            greedy = model.greedy(prompts[7].tolist(), 32, use_cache=False)
            seq = prompts[7].tolist() + greedy
            gl = model(torch.tensor([seq]))["logits"][0, 6:-1]
        gm = float(margins(gl).min())
        rm = router_margin(model, [prompts[45], torch.tensor(seq)])
        mx = max(float(l.abs().max()) for l in logits.values())
        distinct = len(set(greedy))
        if gm > 0.1 and rm > 0.02 and 4 < mx < 14 and distinct >= 6:
            break
    else:
        raise RuntimeError(f"{name}: no random draw met the margin requirements")
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_weights(model, cfg, d, name)
    # reload exactly what was written and recompute, so the fixture comes from the stored bytes
    model2, _ = load_model_dir(d)
    model2.eval()
    fx = {}
    with torch.no_grad():
        for n, p in prompts.items():
            fx[f"prompt_len{n}"] = p.to(torch.int32)
            fx[f"logits_len{n}"] = model2(p[None])["logits"][0].float().contiguous()
            assert torch.allclose(fx[f"logits_len{n}"], logits[n], atol=1e-5)
        g2 = model2.greedy(prompts[7].tolist(), 32, use_cache=True)
        assert g2 == greedy, (name, g2, greedy)
    fx["greedy_prompt"] = prompts[7].to(torch.int32)
    fx["greedy_tokens"] = torch.tensor(greedy, dtype=torch.int32)
    meta = {"generator": "tools/train/make_fixtures.py", "model": name, "params": count_params(model),
            "min_greedy_margin": f"{gm:.4f}", "min_router_margin": f"{rm:.4f}", "max_abs_logit": f"{mx:.3f}", "seed": str(seed * 1000 + attempt)}
    save_safetensors(fx, os.path.join(d, "fixture.safetensors"), meta)
    print(f"{name}: params {count_params(model)} attempt {attempt} min greedy margin {gm:.3f} max|logit| {mx:.2f} "
          f"router margin {rm:.3f} greedy {greedy[:8]}...")


def main():
    torch.set_num_threads(1)
    names = sys.argv[1:] or list(MODELS)
    for i, name in enumerate(MODELS):
        if name in names:
            make(name, MODELS[name], i + 1)


if __name__ == "__main__":
    main()
