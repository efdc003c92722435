#!/usr/bin/env bash
# Rebuild everything under public/models/ and the fixtures under tests/fixtures/ from scratch.
# Needs Debian's python3-torch, python3-numpy and fortunes/fortunes-min, and node_modules (for the checks).
# Takes about 2.5 hours on 2 otherwise idle CPU cores. Not part of `npm test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
W=tools/train/work
mkdir -p $W

# 1. corpus + tokenizer (tools/train/work/{corpus_*.json,tokens_*.bin,tokenizer*.json})
$PY tools/train/tokenizer.py
node tools/train/check_tokenizer.mjs $W $W/tokens_train.bin $W/corpus_train.json
node tools/train/check_tokenizer.mjs $W $W/tokens_val.bin $W/corpus_val.json

# 2. random-weight fixture models (tests/fixtures/models/)
$PY tools/train/make_fixtures.py

# 3. n-gram table (public/models/ngrams-bpe2048.bin)
$PY tools/train/ngrams.py

# 4. tiny-dense: LayerSkip training (early-exit loss on every layer, layer dropout)
$PY tools/train/train.py --config tools/train/configs/tiny-dense.json --out $W/tiny-dense \
  --layerskip --steps 340 --batch 8 --lr 2.5e-3 --warmup 25 --ckpt-every 50
# 4b. tiny-dense stage 2: warm restart at a lower peak LR; early-exit loss weighted towards layers 1-3
#     and self-distilled towards the final layer (better drafts for self-speculation), constant layer dropout
$PY tools/train/train.py --config tools/train/configs/tiny-dense.json --out $W/tiny-dense-2 --init-from $W/tiny-dense \
  --layerskip --dropout-schedule constant --steps 47 --batch 8 --lr 1e-3 --warmup 10 --seed 1 \
  --e-scale 1.0 --exit-weights 2,3,3,1.5,1,0.5,0.5 --exit-distill 0.5 --ckpt-every 20 --eval-windows 24

# 4c. tiny-dense stage 3: the same objective for many more steps (~9 epochs) at one thread, validating every
#     100 steps and keeping the best checkpoint (the corpus is small: long runs eventually overfit)
$PY tools/train/train.py --config tools/train/configs/tiny-dense.json --out $W/tiny-dense-3 --init-from $W/tiny-dense-2 \
  --layerskip --dropout-schedule constant --steps 4000 --batch 8 --lr 1e-3 --warmup 20 --seed 2 --threads 1 \
  --e-scale 1.0 --exit-weights 2,3,3,1.5,1,0.5,0.5 --exit-distill 0.5 --ckpt-every 50 --time-budget 4800 --eval-every 100

# 5. tiny-moe, then a second stage like 4c (the two one-thread runs of 4c and 5b can run side by side)
$PY tools/train/train.py --config tools/train/configs/tiny-moe.json --out $W/tiny-moe \
  --aux-loss 0.02 --steps 300 --batch 8 --lr 3e-3 --warmup 25 --ckpt-every 50
$PY tools/train/train.py --config tools/train/configs/tiny-moe.json --out $W/tiny-moe-2 --init-from $W/tiny-moe \
  --aux-loss 0.02 --steps 4000 --batch 8 --lr 2e-3 --warmup 20 --seed 1 --threads 1 --ckpt-every 50 --time-budget 4800 \
  --eval-every 100

# 6. export (weights, tokenizer, ONNX, fixtures, eval.json), model cards, checks
$PY tools/train/export.py --name tiny-dense --work-dir $W/tiny-dense-3
$PY tools/train/export_onnx_f32.py tiny-dense   # float32 initialisers for the WebGPU EP peer
$PY tools/train/export.py --name tiny-moe --work-dir $W/tiny-moe-2
$PY tools/train/write_cards.py tiny-dense tiny-moe
node tools/train/check_onnx.mjs tiny-dense
node tools/train/check_onnx.mjs tiny-moe

# 7. Kangaroo adapters on the frozen shipped models (self-distillation), export next to the models, cards again
$PY tools/train/adapter.py --name tiny-dense --exits 1,2 --threads 1 --time-budget 1320
$PY tools/train/adapter.py --name tiny-dense --exits 1,2 --threads 1 --time-budget 2700 --lr 1e-3 --init-from tools/train/work/adapter-tiny-dense
$PY tools/train/adapter.py --name tiny-moe --exits 1,2 --threads 1 --time-budget 1080
for m in tiny-dense tiny-moe; do $PY tools/train/adapter.py --name $m --export; $PY tools/train/adapter.py --name $m --selftest; done
# 8. draft vocabularies (after the adapters: their export rewrites adapter.safetensors), cards again
for m in tiny-dense tiny-moe; do $PY tools/train/draft_vocab.py --name $m --export; done
$PY tools/train/write_cards.py tiny-dense tiny-moe
