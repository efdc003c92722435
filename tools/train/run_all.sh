#!/usr/bin/env bash
# Rebuild everything under public/models/ and the fixtures under tests/fixtures/ from scratch.
# Needs Debian's python3-torch, python3-numpy and fortunes/fortunes-min, and node_modules (for the checks).
# Takes about an hour on 2 CPU cores. Not part of `npm test`.
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

# 4. tiny-dense: LayerSkip training in two stages (the second a warm restart from the first)
$PY tools/train/train.py --config tools/train/configs/tiny-dense.json --out $W/tiny-dense-s1 \
  --layerskip --steps 340 --batch 8 --lr 2.5e-3 --warmup 25 --ckpt-every 50
$PY tools/train/train.py --config tools/train/configs/tiny-dense.json --out $W/tiny-dense \
  --init-from $W/tiny-dense-s1 --layerskip --dropout-schedule constant --steps STAGE2_STEPS --batch 8 --lr STAGE2_LR \
  --warmup 20 --ckpt-every 50

# 5. tiny-moe
$PY tools/train/train.py --config tools/train/configs/tiny-moe.json --out $W/tiny-moe \
  --aux-loss 0.02 --steps MOE_STEPS --batch 8 --lr MOE_LR --warmup 25 --ckpt-every 50

# 6. export (weights, tokenizer, ONNX, fixtures, eval.json), model cards, checks
$PY tools/train/export.py --name tiny-dense
$PY tools/train/export.py --name tiny-moe
$PY tools/train/write_cards.py tiny-dense tiny-moe
node tools/train/check_onnx.mjs tiny-dense
node tools/train/check_onnx.mjs tiny-moe
