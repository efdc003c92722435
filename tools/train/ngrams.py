"""Build the n-gram table (orders 2..5) over the tokenised training corpus, for superposed decoding.

  /usr/bin/python3 tools/train/ngrams.py   # -> public/models/ngrams-bpe2048.bin

Format: see public/models/NGRAMS.md (also summarised in write_table's docstring).
"""
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
WORK = os.path.join(HERE, "work")
ORDERS = (2, 3, 4, 5)
MIN_COUNT = 2


def count_order(tokens, n):
    """Returns (prefixes [P, n-1] u16, totals [P] u32, offsets [P+1] u32, next [N] u16, counts [N] u32)."""
    T = len(tokens)
    grams = np.stack([tokens[i:T - n + 1 + i] for i in range(n)], axis=1).astype(np.uint16)
    uniq, cnt = np.unique(grams, axis=0, return_counts=True)  # sorted lexicographically
    pre = uniq[:, :-1]
    # group boundaries where the prefix changes
    change = np.ones(len(uniq), dtype=bool)
    change[1:] = np.any(pre[1:] != pre[:-1], axis=1)
    gid = np.cumsum(change) - 1
    totals_all = np.bincount(gid, weights=cnt).astype(np.uint64)
    keep = cnt >= MIN_COUNT
    uniq, cnt, gid = uniq[keep], cnt[keep], gid[keep]
    # order entries: by prefix (already sorted), then count desc, then token asc
    order = np.lexsort((uniq[:, -1], -cnt.astype(np.int64), gid))
    uniq, cnt, gid = uniq[order], cnt[order], gid[order]
    groups, first = np.unique(gid, return_index=True)
    prefixes = uniq[first, :-1]
    totals = totals_all[groups]
    offsets = np.concatenate([first, [len(uniq)]]).astype(np.uint32)
    return prefixes, totals.astype(np.uint32), offsets, uniq[:, -1].copy(), cnt.astype(np.uint32)


def pad4(b):
    return b + b"\0" * ((4 - len(b) % 4) % 4)


def write_table(path, sections, vocab_size):
    """Little-endian.
    header: b'NGRM', u32 version=1, u32 vocab_size, u32 num_sections
    directory, per section (16 bytes): u32 order n, u32 num_prefixes P, u32 num_entries N, u32 byte offset
    section: u16 prefixes[P*(n-1)] (padded to 4 B) | u32 totals[P] | u32 offsets[P+1] |
             u16 next[N] (padded to 4 B) | u32 counts[N]
    """
    head = b"NGRM" + struct.pack("<III", 1, vocab_size, len(sections))
    off = len(head) + 16 * len(sections)
    blobs, dir_ = [], b""
    for n, (prefixes, totals, offsets, nxt, cnt) in sections:
        blob = pad4(prefixes.astype("<u2").tobytes()) + totals.astype("<u4").tobytes() + offsets.astype("<u4").tobytes() \
            + pad4(nxt.astype("<u2").tobytes()) + cnt.astype("<u4").tobytes()
        dir_ += struct.pack("<IIII", n, len(totals), len(nxt), off)
        blobs.append(blob)
        off += len(blob)
    with open(path, "wb") as f:
        f.write(head + dir_ + b"".join(blobs))


def read_table(path):
    data = open(path, "rb").read()
    assert data[:4] == b"NGRM"
    ver, vocab, ns = struct.unpack("<III", data[4:16])
    out = {}
    for s in range(ns):
        n, P, N, off = struct.unpack("<IIII", data[16 + 16 * s:32 + 16 * s])
        o = off
        pre = np.frombuffer(data, "<u2", P * (n - 1), o).reshape(P, n - 1)
        o += (P * (n - 1) * 2 + 3) // 4 * 4
        tot = np.frombuffer(data, "<u4", P, o); o += 4 * P
        offs = np.frombuffer(data, "<u4", P + 1, o); o += 4 * (P + 1)
        nxt = np.frombuffer(data, "<u2", N, o); o += (N * 2 + 3) // 4 * 4
        cnt = np.frombuffer(data, "<u4", N, o)
        out[n] = (pre, tot, offs, nxt, cnt)
    return vocab, out


def lookup(table, context, n):
    """P_n(. | last n-1 tokens of context) as {token: prob}; {} if the prefix is absent."""
    pre, tot, offs, nxt, cnt = table[n]
    key = tuple(context[-(n - 1):])
    lo, hi = 0, len(pre)
    while lo < hi:
        mid = (lo + hi) // 2
        if tuple(pre[mid]) < key:
            lo = mid + 1
        else:
            hi = mid
    if lo == len(pre) or tuple(pre[lo]) != key:
        return {}
    return {int(nxt[i]): int(cnt[i]) / int(tot[lo]) for i in range(offs[lo], offs[lo + 1])}


def main():
    tokens = np.fromfile(os.path.join(WORK, "tokens_train.bin"), dtype=np.int16).astype(np.int64)
    sections, stats = [], {}
    for n in ORDERS:
        sec = count_order(tokens, n)
        sections.append((n, sec))
        stats[n] = {"prefixes": int(len(sec[1])), "entries": int(len(sec[3]))}
        print(f"order {n}: {stats[n]}")
    path = os.path.join(ROOT, "public", "models", "ngrams-bpe2048.bin")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_table(path, sections, 2048)
    size = os.path.getsize(path)
    print(f"wrote {path}: {size / 1e6:.2f} MB")
    # self-check against direct counting
    vocab, table = read_table(path)
    ctx = [int(t) for t in tokens[1000:1005]]
    for n in ORDERS:
        p = lookup(table, ctx, n)
        pre = ctx[-(n - 1):]
        T = len(tokens)
        win = np.stack([tokens[i:T - n + 1 + i] for i in range(n)], axis=1)
        m = np.all(win[:, :-1] == pre, axis=1)
        if m.sum() == 0:
            assert not p
            continue
        vals, c = np.unique(win[m, -1], return_counts=True)
        direct = {int(v): int(k) / int(m.sum()) for v, k in zip(vals, c) if k >= MIN_COUNT}
        assert p.keys() == direct.keys() and all(abs(p[k] - direct[k]) < 1e-12 for k in p), (n, p, direct)
    with open(os.path.join(WORK, "ngrams_stats.json"), "w") as f:
        json.dump({"orders": stats, "bytes": size, "min_count": MIN_COUNT, "corpus_tokens": int(len(tokens))}, f, indent=1)


if __name__ == "__main__":
    main()
