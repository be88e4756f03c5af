#!/usr/bin/python3
"""ESMM written idiomatically in PyTorch, timed on the same data as train_bench.

    /usr/bin/python3 esmm_reference.py CACHE_DIR [--variants dense,sparse] [--towers a,b]
        [--batches 1024,2000] [--threads 1,2] [--steps N] [--warmup N] [--dense-steps N]

Reads the Funnel cache's column files directly (src/data/cache_format.h):
CACHE/train/f<i>.ids.u32 (one id per row, single-valued fields), CACHE/train/labels.u8
(rows x events, click then purchase), vocabulary sizes from CACHE/meta.json.

The model (both variants): one nn.Embedding per field (dim 16), concatenated; a CTR and a CVR
tower (Linear + ReLU per hidden layer, Linear to one logit, sigmoid); loss
BCE(pCTR, click) + 5 * BCE(pCTR * pCVR, buy) (ESMM with AutoHERI's lambda = 5).

Variants:
  dense           nn.Embedding (dense gradients) and torch.optim.Adam over ALL parameters; a
                  DataLoader over a TensorDataset (shuffle=True). The common public ESMM code.
  sparse          nn.Embedding(sparse=True) + torch.optim.SparseAdam for the tables, Adam for
                  the towers; the same DataLoader.
  dense_fastload  / sparse_fastload: the same models, batches taken by slicing a random
                  permutation (no per-sample Dataset indexing and collate), to separate the
                  loader's cost from the optimizer's.

Prints one JSON object: per (variant, towers, batch, threads) samples/s after --warmup steps
and the time per phase (load, forward+loss, backward, optimizer step). Timed steps end after
--steps (--dense-steps) or --budget seconds, whichever comes first.
"""
import argparse
import json
import os
import platform
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

TOWERS = {"a": [16, 8], "b": [200, 80, 20]}
DIM = 16
CVR_WEIGHT = 5.0


def load_cache(cache_dir, split="train"):
    with open(os.path.join(cache_dir, "meta.json")) as f:
        meta = json.load(f)
    sparse = meta["sparse"]
    vocab = [int(s["vocab_size"]) for s in sparse]
    d = os.path.join(cache_dir, split)
    cols = [np.fromfile(os.path.join(d, f"f{i}.ids.u32"), dtype=np.uint32) for i in range(len(vocab))]
    rows = cols[0].shape[0]
    for i, c in enumerate(cols):
        assert c.shape[0] == rows, f"field {i}: {c.shape[0]} ids for {rows} rows (multi-valued?)"
    labels = np.fromfile(os.path.join(d, "labels.u8"), dtype=np.uint8)
    events = labels.shape[0] // rows
    labels = labels.reshape(rows, events)
    ids = torch.from_numpy(np.stack(cols, axis=1).astype(np.int64))  # [rows, fields]
    click = torch.from_numpy(labels[:, 0].astype(np.float32))
    buy = torch.from_numpy(labels[:, events - 1].astype(np.float32))
    return ids, click, buy, vocab


def mlp(in_dim, hidden):
    layers = []
    for h in hidden:
        layers += [nn.Linear(in_dim, h), nn.ReLU()]
        in_dim = h
    layers.append(nn.Linear(in_dim, 1))
    return nn.Sequential(*layers)


class ESMM(nn.Module):
    def __init__(self, vocab_sizes, dim, towers, sparse):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(v, dim, sparse=sparse) for v in vocab_sizes)
        in_dim = dim * len(vocab_sizes)
        self.ctr = mlp(in_dim, towers)
        self.cvr = mlp(in_dim, towers)

    def forward(self, x):
        e = torch.cat([emb(x[:, i]) for i, emb in enumerate(self.embeddings)], dim=1)
        p_ctr = torch.sigmoid(self.ctr(e)).squeeze(1)
        p_cvr = torch.sigmoid(self.cvr(e)).squeeze(1)
        return p_ctr, p_cvr, p_ctr * p_cvr


def esmm_loss(p_ctr, p_ctcvr, click, buy):
    return F.binary_cross_entropy(p_ctr, click) + CVR_WEIGHT * F.binary_cross_entropy(p_ctcvr, buy)


def batches_dataloader(ids, click, buy, batch):
    loader = DataLoader(TensorDataset(ids, click, buy), batch_size=batch, shuffle=True,
                        drop_last=True)
    while True:
        for b in loader:
            yield b


def batches_fast(ids, click, buy, batch):
    n = ids.shape[0]
    while True:
        perm = torch.randperm(n)
        for s in range(0, n - batch + 1, batch):
            idx = perm[s:s + batch]
            yield ids[idx], click[idx], buy[idx]


def run(variant, ids, click, buy, vocab, towers, batch, threads, max_steps, warmup, budget):
    torch.set_num_threads(threads)
    torch.manual_seed(7)
    sparse = variant.startswith("sparse")
    model = ESMM(vocab, DIM, towers, sparse)
    if sparse:
        emb_params = list(model.embeddings.parameters())
        dense_params = list(model.ctr.parameters()) + list(model.cvr.parameters())
        optimizers = [torch.optim.SparseAdam(emb_params, lr=1e-3),
                      torch.optim.Adam(dense_params, lr=5e-3)]
    else:
        optimizers = [torch.optim.Adam(model.parameters(), lr=5e-3)]
    gen = (batches_fast if variant.endswith("fastload") else batches_dataloader)(ids, click, buy, batch)
    phases = {"load": 0.0, "forward_loss": 0.0, "backward": 0.0, "optimizer": 0.0}
    model.train()
    steps = 0
    for s in range(warmup + max_steps):
        # Timed steps end at max_steps or after `budget` seconds (at least 3 steps).
        if s >= warmup + 3 and time.perf_counter() - start > budget:
            break
        if s == warmup:
            phases = dict.fromkeys(phases, 0.0)
            start = time.perf_counter()
        t0 = time.perf_counter()
        x, c, b = next(gen)
        t1 = time.perf_counter()
        p_ctr, _, p_ctcvr = model(x)
        loss = esmm_loss(p_ctr, p_ctcvr, c, b)
        loss_value = loss.item()
        t2 = time.perf_counter()
        for o in optimizers:
            o.zero_grad()
        loss.backward()
        t3 = time.perf_counter()
        for o in optimizers:
            o.step()
        t4 = time.perf_counter()
        phases["load"] += t1 - t0
        phases["forward_loss"] += t2 - t1
        phases["backward"] += t3 - t2
        phases["optimizer"] += t4 - t3
        assert loss_value == loss_value, "loss is NaN"
        if s >= warmup:
            steps += 1
    seconds = time.perf_counter() - start
    return {"variant": variant, "towers": towers, "batch": batch, "threads": threads,
            "steps": steps, "seconds": seconds, "samples_per_s": steps * batch / seconds,
            "ms_per_step": 1e3 * seconds / steps,
            "phase_ms_per_step": {k: 1e3 * v / steps for k, v in phases.items()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cache")
    ap.add_argument("--variants", default="dense,sparse,dense_fastload,sparse_fastload")
    ap.add_argument("--towers", default="a,b")
    ap.add_argument("--batches", default="1024,2000")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--steps", type=int, default=100000, help="timed steps of the sparse variants at most")
    ap.add_argument("--dense-steps", type=int, default=10000, help="timed steps of the dense variants at most")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--budget", type=float, default=5.0, help="seconds of timed steps at most")
    a = ap.parse_args()
    ids, click, buy, vocab = load_cache(a.cache)
    out = {"torch_version": torch.__version__, "python": platform.python_version(),
           "rows": int(ids.shape[0]), "fields": len(vocab), "vocab_total": int(sum(vocab)),
           "embedding_dim": DIM, "runs": []}
    for variant in a.variants.split(","):
        for t in a.towers.split(","):
            for batch in (int(x) for x in a.batches.split(",")):
                for threads in (int(x) for x in a.threads.split(",")):
                    steps = a.dense_steps if variant.startswith("dense") else a.steps
                    r = run(variant, ids, click, buy, vocab, TOWERS[t], batch, threads, steps, a.warmup,
                            a.budget)
                    r["config"] = t
                    print(json.dumps(r), file=os.sys.stderr, flush=True)
                    out["runs"].append(r)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
