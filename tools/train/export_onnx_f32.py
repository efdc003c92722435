"""Re-export a shipped model's ONNX with float32 initialisers (same 16-bit-rounded values as the
safetensors), replacing public/models/<name>/onnx/model.onnx. onnxruntime-web's WebGPU EP needs this on
adapters without shader-f16 (e.g. SwiftShader), where an F16 initialiser makes its Gather/Cast fail.

    /usr/bin/python3 tools/train/export_onnx_f32.py tiny-dense
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from export import export_onnx  # noqa: E402
from reference import load_model_dir  # noqa: E402

if __name__ == "__main__":
    torch.set_num_threads(2)
    torch.manual_seed(0)
    name = sys.argv[1]
    folder = os.path.join(HERE, "..", "..", "public", "models", name)
    model, cfg = load_model_dir(folder)
    model.eval()
    info = export_onnx(model, cfg, os.path.join(folder, "onnx", "model.onnx"), f16_weights=False)
    # the model card (write_cards.py) describes the export from eval.json
    with open(os.path.join(folder, "eval.json")) as f:
        ev = json.load(f)
    ev["onnx"] = {**info, "initialisers": "float32"}
    with open(os.path.join(folder, "eval.json"), "w") as f:
        json.dump(ev, f, indent=1)
