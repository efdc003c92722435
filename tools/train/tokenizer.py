"""Corpus preparation and byte-level BPE tokenizer (GPT-2 style), written from scratch.

Usage:
  /usr/bin/python3 tools/train/tokenizer.py   # writes tools/train/work/{corpus_*.txt,tokenizer.json,...}
  /usr/bin/python3 tools/train/tokenizer.py --reuse public/models/tiny-dense/tokenizer.json
      # the same corpus and token files with a shipped tokenizer (no BPE training; ids unchanged)

Corpus: Debian `fortunes` + `fortunes-min` (fortune-mod data, BSD licence, see
/usr/share/doc/fortunes/copyright). Every fortune (text between `%` lines) is one document.
Whitespace is normalised per line (runs of spaces/tabs -> one space, lines stripped).

Tokenizer: byte-level BPE trained on word (pre-token) frequencies. Pre-tokenisation is the
GPT-2 regex used by the Hugging Face `ByteLevel` pre-tokenizer (use_regex=true), emulated with
Python's `re` (\\p{L} -> [^\\W\\d_], \\p{N} -> \\d). The corpus is nearly pure ASCII, and the
pipeline checks that @huggingface/tokenizers encodes the whole corpus identically (see
check_tokenizer.mjs).
"""
import heapq
import json
import os
import random
import re
import sys
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
FORTUNE_DIR = "/usr/share/games/fortunes"
# ascii-art is pictures, translate-me is partly non-English; everything else is English prose.
EXCLUDE = {"ascii-art", "translate-me"}

VOCAB_SIZE = 2048
SPECIALS = ["<|bos|>", "<|eos|>"]  # ids 0, 1
BOS_ID, EOS_ID = 0, 1

PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


B2U = bytes_to_unicode()
U2B = {v: k for k, v in B2U.items()}


def load_documents():
    docs = []
    for name in sorted(os.listdir(FORTUNE_DIR)):
        path = os.path.join(FORTUNE_DIR, name)
        if "." in name or name in EXCLUDE or not os.path.isfile(path) or os.path.islink(path):
            continue
        with open(path, "rb") as f:
            raw = f.read().decode("utf-8", errors="replace")
        for chunk in re.split(r"^%\s*$", raw, flags=re.M):
            lines = [re.sub(r"[ \t]+", " ", l).strip() for l in chunk.split("\n")]
            text = "\n".join(lines).strip()
            text = re.sub(r"\n{3,}", "\n\n", text)
            if len(text) >= 8:
                docs.append(text)
    return docs


def split_docs(docs, val_every=40, seed=1234):
    rng = random.Random(seed)
    idx = list(range(len(docs)))
    rng.shuffle(idx)
    train = [docs[i] for k, i in enumerate(idx) if k % val_every != 0]
    val = [docs[i] for k, i in enumerate(idx) if k % val_every == 0]
    return train, val


def pretokenize(text):
    return ["".join(B2U[b] for b in m.encode("utf-8")) for m in PAT.findall(text)]


def train_bpe(docs, vocab_size=VOCAB_SIZE):
    counts = Counter()
    for d in docs:
        counts.update(pretokenize(d))
    words = [list(w) for w in counts]
    freqs = [counts[w] for w in counts]
    pair_counts = defaultdict(int)
    where = defaultdict(set)
    for wi, (w, f) in enumerate(zip(words, freqs)):
        for a, b in zip(w, w[1:]):
            pair_counts[(a, b)] += f
            where[(a, b)].add(wi)
    heap = [(-c, p) for p, c in pair_counts.items()]
    heapq.heapify(heap)
    n_merges = vocab_size - len(SPECIALS) - 256
    merges = []
    while len(merges) < n_merges and heap:
        negc, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -negc or negc == 0:
            continue
        merges.append(pair)
        a, b = pair
        new = a + b
        touched = set()
        for wi in list(where[pair]):
            w, f = words[wi], freqs[wi]
            for x, y in zip(w, w[1:]):
                pair_counts[(x, y)] -= f
                touched.add((x, y))
            out = []
            i = 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[wi] = out
            for x, y in zip(out, out[1:]):
                pair_counts[(x, y)] += f
                where[(x, y)].add(wi)
                touched.add((x, y))
        del pair_counts[pair]
        del where[pair]
        for p in touched:
            c = pair_counts.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, p))
    vocab = {s: i for i, s in enumerate(SPECIALS)}
    for b in range(256):
        vocab[B2U[b]] = len(vocab)
    for a, b in merges:
        vocab[a + b] = len(vocab)
    return vocab, merges


class BPETokenizer:
    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.inv = {i: s for s, i in vocab.items()}
        self.ranks = {tuple(m): r for r, m in enumerate(merges)}
        self.cache = {}

    @classmethod
    def load(cls, path):
        with open(path) as f:
            tj = json.load(f)
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in tj["model"]["merges"]]
        return cls(tj["model"]["vocab"], merges)

    def _bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        sym = list(word)
        while len(sym) > 1:
            best, bi = None, -1
            for i in range(len(sym) - 1):
                r = self.ranks.get((sym[i], sym[i + 1]))
                if r is not None and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            a, b = sym[bi], sym[bi + 1]
            out, i = [], 0
            while i < len(sym):
                if i + 1 < len(sym) and sym[i] == a and sym[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(sym[i])
                    i += 1
            sym = out
        ids = [self.vocab[s] for s in sym]
        self.cache[word] = ids
        return ids

    def encode(self, text, bos=False, eos=False):
        ids = [BOS_ID] if bos else []
        for w in pretokenize(text):
            ids.extend(self._bpe(w))
        if eos:
            ids.append(EOS_ID)
        return ids

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            s = self.inv[int(i)]
            if s in SPECIALS:
                continue
            out.extend(U2B[c] for c in s)
        return out.decode("utf-8", errors="replace")


CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ message['role'] }}: {{ message['content'] }}{{ eos_token }}\n"
    "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
)


def tokenizer_json(vocab, merges):
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, s in enumerate(SPECIALS)
        ],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<|bos|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<|bos|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<|bos|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<|bos|>": {"id": "<|bos|>", "ids": [BOS_ID], "tokens": ["<|bos|>"]}},
        },
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": vocab,
            "merges": [a + " " + b for a, b in merges],
        },
    }


def tokenizer_config():
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<|bos|>",
        "eos_token": "<|eos|>",
        "pad_token": None,
        "unk_token": None,
        "add_bos_token": True,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1024,
        "added_tokens_decoder": {
            str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                     "single_word": False, "special": True}
            for i, s in enumerate(SPECIALS)
        },
        "chat_template": CHAT_TEMPLATE,
    }


def main():
    reuse = sys.argv[sys.argv.index("--reuse") + 1] if "--reuse" in sys.argv else None
    os.makedirs(WORK, exist_ok=True)
    docs = load_documents()
    train, val = split_docs(docs)
    print(f"documents: {len(docs)} train {len(train)} val {len(val)}; chars {sum(map(len, docs))}")
    with open(os.path.join(WORK, "corpus_train.json"), "w") as f:
        json.dump(train, f)
    with open(os.path.join(WORK, "corpus_val.json"), "w") as f:
        json.dump(val, f)
    if reuse:
        shipped = BPETokenizer.load(reuse)
        vocab, merges = shipped.vocab, list(shipped.ranks)
    else:
        vocab, merges = train_bpe(train)
    print(f"vocab {len(vocab)} merges {len(merges)}")
    with open(os.path.join(WORK, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(vocab, merges), f, ensure_ascii=False)
    with open(os.path.join(WORK, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config(), f, indent=2)
    tok = BPETokenizer(vocab, merges)
    import numpy as np
    for split, ds in (("train", train), ("val", val)):
        ids = []
        for d in ds:
            ids.extend(tok.encode(d, bos=True, eos=True))
        np.array(ids, dtype=np.int16).tofile(os.path.join(WORK, f"tokens_{split}.bin"))
        nbytes = sum(len(d.encode()) for d in ds)
        print(f"{split}: {len(ids)} tokens, {nbytes / len(ids):.2f} bytes/token")
    assert tok.decode(tok.encode(val[0])) == val[0]


if __name__ == "__main__":
    main()
