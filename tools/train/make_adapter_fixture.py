"""A random-weight Kangaroo adapter for a fixture model, and its draft logits, for the runtime's parity test.

  /usr/bin/python3 tools/train/make_adapter_fixture.py

Writes tests/fixtures/adapters/llama-tied/: config.json (the llama-tied fixture's, with a `self_speculative` block),
adapter.safetensors (F16, the adapter format's tensor names) and fixture.safetensors (prompt, draft logits at every
position). The adapter after exit layer l is built from reference.py's RMSNorm and Attention (Llama semantics):
  n = RMSNorm(h_l; input_layernorm), a = h_l + o_proj(attn(RoPE(q_proj n), RoPE(k_proj n), v_proj n)),
  draft logits = lm_head(RMSNorm(a; norm))
with its own head counts (2 heads, 1 kv head, head_dim 32 against the model's 4 / 2 / 16).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Attention, RMSNorm, load_model_dir, load_safetensors, rope_cos_sin, save_safetensors  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.join(ROOT, "tests", "fixtures", "models", "llama-tied")
OUT = os.path.join(ROOT, "tests", "fixtures", "adapters", "llama-tied")
EXIT, HEADS, KV_HEADS, HEAD_DIM = 1, 2, 1, 32
PROMPT_LEN = 12


class Adapter(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        eps = cfg.get("rms_norm_eps", 1e-6)
        self.input_layernorm = RMSNorm(cfg["hidden_size"], eps)
        self.self_attn = Attention({**cfg, "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS, "head_dim": HEAD_DIM}, False, False)
        self.norm = RMSNorm(cfg["hidden_size"], eps)

    def forward(self, model, h):
        """h [1, S, hidden] after the exit layer -> draft logits [S, vocab]."""
        pos = torch.arange(h.shape[1])[None]
        cos, sin = rope_cos_sin(pos, self.self_attn.rotary, self.self_attn.theta)
        o, _ = self.self_attn(self.input_layernorm(h), cos, sin)
        return model.head(self.norm(h + o))[0]


def main():
    torch.set_num_threads(1)
    model, cfg = load_model_dir(MODEL)
    model.eval()
    gen = torch.Generator().manual_seed(2404)
    adapter = Adapter(cfg)
    with torch.no_grad():
        for name, p in adapter.named_parameters():
            scale = 0.1 if name.endswith("norm.weight") else 0.25
            base = 1.0 if name.endswith("norm.weight") else 0.0
            p.copy_((base + scale * torch.randn(p.shape, generator=gen)).half().float())
    tensors = {f"kangaroo.{EXIT}.{k}": v.half() for k, v in adapter.state_dict().items()}
    os.makedirs(OUT, exist_ok=True)
    save_safetensors(tensors, os.path.join(OUT, "adapter.safetensors"), {"format": "pt"})
    cfg["self_speculative"] = {"adapter_file": "adapter.safetensors",
                               "adapters": [{"exit_layer": EXIT, "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS, "head_dim": HEAD_DIM}]}
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    # reload the stored F16 bytes, so the logits come from exactly what the runtime reads
    stored = load_safetensors(os.path.join(OUT, "adapter.safetensors"))
    adapter.load_state_dict({k[len(f"kangaroo.{EXIT}."):]: v.float() for k, v in stored.items()})
    prompt = torch.randint(2, cfg["vocab_size"], (PROMPT_LEN,), generator=gen)
    with torch.no_grad():
        h = model(prompt[None], output_hidden_states=True)["hidden_states"][EXIT - 1]
        logits = adapter(model, h).float().contiguous()
    top2 = logits.topk(2, dim=-1).values
    meta = {"generator": "tools/train/make_adapter_fixture.py", "model": "llama-tied", "exit_layer": str(EXIT),
            "min_top2_margin": f"{float((top2[:, 0] - top2[:, 1]).min()):.4f}", "max_abs_logit": f"{float(logits.abs().max()):.3f}"}
    save_safetensors({"prompt": prompt.to(torch.int32), "draft_logits": logits}, os.path.join(OUT, "fixture.safetensors"), meta)
    print(meta)


if __name__ == "__main__":
    main()
