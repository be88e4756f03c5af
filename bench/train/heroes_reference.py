#!/usr/bin/python3
"""HEROES written idiomatically in PyTorch, timed on the same cache as heroes_bench.

    /usr/bin/python3 heroes_reference.py CACHE_DIR [--models heroes,heroes_unit] [--threads 1]
        [--batch 2000] [--warmup 3] [--budget 5] [--lengths 10,50,100] [--latency-seconds 1]
    /usr/bin/python3 heroes_reference.py --check EXPORT_DIR   (heroes_bench --export EXPORT_DIR)

Reads the Funnel cache's column files directly (src/data/cache_format.h): CACHE/train/f<i>.ids.u32
(one id per row: the lists preset's fields are single-valued), labels.u8 (rows x events, click
then purchase), list.u64 (the list id of each row; the rows of a list are consecutive, in list
order), vocabulary sizes from CACHE/meta.json.

The model, as Funnel's `heroes` with its defaults (src/model/heroes.cc, list_model.cc):
nn.Embedding per field (dim 16), concatenated; the per-item encoder Linear(., 128) + ReLU; the
HEROES unit ported line by line from HeroesCellImpl::step: the CTR layer's behavioural branch
(Hawkes decay of eq. 11 towards the inherent state, gamma 5) and inherent branch, the soft
boundary g = P(click), the CVR layer's update / copy, the top-down states of eq. 16, the item's
own logit terms (item_readout) and the one-hot position as a learned bias per step. `variant:
unit` (heroes_unit) is the LSTM unit in the same hierarchy. It runs as a Python loop over
positions on the batch's lists padded to the longest with a mask (padding is at the end of a
list, so it never reaches a real item; the loss is masked). Loss: entire-space BCE, click on
pCTR plus 5 x purchase on pCTR pCVR (Funnel's default weights), in log space as Funnel's
FunnelLoss. Optimizers: SparseAdam on the tables (sparse=True embeddings), Adam on the rest,
lr 0.005 both. Batches: whole lists, shuffled, taken while they fit in --batch items.

--check loads the parameters and one batch's looked-up rows that heroes_bench exported and
compares the outputs (training and eval), the loss and the rows' gradient (relative to its
largest entry) with Funnel's: exit status 1 when any differs by more than 1e-4. It checks the encoder, the unit and the
loss, not the embedding lookup (the rows come from Funnel).
"""
import argparse
import json
import math
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DIM = 16
ENCODER = 128
HIDDEN = 64
POSITIONS = 64
GAMMA = 5.0
CVR_WEIGHT = 5.0
LR = 0.005


def load_cache(cache_dir, split="train"):
    with open(os.path.join(cache_dir, "meta.json")) as f:
        meta = json.load(f)
    vocab = [int(s["vocab_size"]) for s in meta["sparse"]]
    d = os.path.join(cache_dir, split)
    cols = [np.fromfile(os.path.join(d, f"f{i}.ids.u32"), dtype=np.uint32) for i in range(len(vocab))]
    rows = cols[0].shape[0]
    for i, c in enumerate(cols):
        assert c.shape[0] == rows, f"field {i}: {c.shape[0]} ids for {rows} rows (multi-valued?)"
    labels = np.fromfile(os.path.join(d, "labels.u8"), dtype=np.uint8).reshape(rows, -1)
    lists = np.fromfile(os.path.join(d, "list.u64"), dtype=np.uint64)
    starts = np.flatnonzero(np.concatenate([[True], lists[1:] != lists[:-1]]))
    offsets = np.concatenate([starts, [rows]]).astype(np.int64)
    ids = torch.from_numpy(np.stack(cols, axis=1).astype(np.int64))  # [rows, fields]
    y = torch.from_numpy(labels[:, [0, labels.shape[1] - 1]].astype(np.float32))  # click, buy
    return ids, y, torch.from_numpy(offsets), vocab


class HeroesCell(nn.Module):
    """One step of the two-layer hierarchy (src/model/heroes.cc, HeroesCellImpl)."""

    def __init__(self, in_dim, hidden, positions, variant="full", gamma=GAMMA):
        super().__init__()
        H = self.H = hidden
        self.hawkes = variant == "full"
        self.inherent = variant == "full"
        self.gamma = gamma
        bound = 1.0 / math.sqrt(H)
        width = 16 * H + 2  # four branches' gates i, f, o, g~, then the items' logit terms
        self.w_input = nn.Parameter(torch.empty(width, in_dim).uniform_(-bound, bound))
        self.b_input = nn.Parameter(torch.empty(width).uniform_(-bound, bound))
        for b in range(4):
            setattr(self, f"w_top{b}", nn.Parameter(torch.empty(4 * H, 2 * H).uniform_(-bound, bound)))
        self.position_bias = nn.Parameter(torch.zeros(positions, width))
        self.delta = nn.Linear(H, H)
        self.head_c = nn.Linear(H, 1)
        self.head_v = nn.Linear(H, 1)

    def initial_state(self, n):
        z = torch.zeros(n, self.H)
        return {k: z for k in ("sc", "sci", "hc", "hci", "delta", "sv", "svi", "hv", "hvi")} | {
            "g": torch.zeros(n, 1)}

    @staticmethod
    def gates(pre):
        i, f, o, g = pre.chunk(4, 1)
        return torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o), torch.tanh(g)

    def pre(self, inp, b, own, other):
        H = self.H
        w = getattr(self, f"w_top{b}")
        return inp[:, 4 * H * b:4 * H * (b + 1)] + torch.cat([own, other], 1) @ w.t()

    def step(self, inp, dt, S):
        H = self.H
        gp = S["g"]
        keep = 1 - gp
        # CTR layer, behavioural, with the Hawkes state (eq. 10-12, 11).
        i, f, o, g_ = self.gates(self.pre(inp, 0, keep * S["hc"], gp * S["hv"]))
        s_prev = S["sci"] + (S["sc"] - S["sci"]) * torch.exp(-S["delta"] * dt) if self.hawkes else S["sc"]
        sc = i * g_ + keep * f * s_prev
        hc = o * torch.tanh(sc)
        item_c, item_v = inp[:, 16 * H:16 * H + 1], inp[:, 16 * H + 1:16 * H + 2]
        logit_c = self.head_c(hc) + item_c
        # CTR layer, inherent (no Hawkes term).
        sci, hci, logit_ci = sc, hc, logit_c
        if self.inherent:
            i, f, o, g_ = self.gates(self.pre(inp, 1, keep * S["hci"], gp * S["hvi"]))
            sci = i * g_ + keep * f * S["sci"]
            hci = o * torch.tanh(sci)
            logit_ci = self.head_c(hci) + item_c
        g = torch.sigmoid(logit_c)  # the soft boundary (eq. 9), the model's own P(click)
        # CVR layer: the update branch is the item's P(v | c = 1) (eq. 13-14).
        i, f, o, g_ = self.gates(self.pre(inp, 2, S["hv"], hc))
        sv = i * g_ + f * S["sv"]
        hv = o * torch.tanh(sv)
        logit_v = self.head_v(hv) + item_v
        svi, hvi, logit_vi = sv, hv, logit_v
        if self.inherent:
            i, f, o, g_ = self.gates(self.pre(inp, 3, S["hvi"], hci))
            svi = i * g_ + f * S["svi"]
            hvi = o * torch.tanh(svi)
            logit_vi = self.head_v(hvi) + item_v
        carry = lambda new, old: g * new + (1 - g) * old  # update where the boundary fires
        delta = self.gamma * F.softplus(self.delta(hc) / self.gamma) if self.hawkes else S["delta"]
        S = {"sc": sc, "sci": sci, "hc": hc, "hci": hci, "delta": delta,
             "sv": carry(sv, S["sv"]), "svi": carry(svi, S["svi"]),
             "hv": carry(hv, S["hv"]), "hvi": carry(hvi, S["hvi"]), "g": g}
        return torch.cat([logit_c, logit_v, logit_ci, logit_vi, g], 1), S


class Heroes(nn.Module):
    def __init__(self, vocab_sizes, variant="full"):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(v, DIM, sparse=True) for v in vocab_sizes)
        self.encoder = nn.Sequential(nn.Linear(DIM * len(vocab_sizes), ENCODER), nn.ReLU())
        self.cell = HeroesCell(ENCODER, HIDDEN, POSITIONS, variant)

    def embed(self, ids):  # [..., fields] -> [..., fields * DIM]
        return torch.cat([e(ids[..., k]) for k, e in enumerate(self.embeddings)], -1)

    def forward_rows(self, x):
        """x: [lists, T, fields * DIM], padded at the end -> [lists, T, 5] (see HeroesCell)."""
        n, T, _ = x.shape
        proj = F.linear(self.encoder(x), self.cell.w_input, self.cell.b_input)  # all gates at once
        S = self.cell.initial_state(n)
        outs = []
        # unbind: one backward for all steps (indexing proj[:, t] would zero-fill a gradient of
        # the whole of proj once per step).
        for t, proj_t in enumerate(proj.unbind(1)):
            dt = 0.0 if t == 0 else 1.0  # time: position
            inp = proj_t + self.cell.position_bias[min(t, POSITIONS - 1)]
            out, S = self.cell.step(inp, dt, S)
            outs.append(out)
        return torch.stack(outs, 1)

    def forward(self, x):
        all_ = self.forward_rows(x)
        first = 0 if self.training else 2  # behavioural in training, inherent in eval
        return all_[..., first], all_[..., first + 1]


def log1mexp(a):
    return torch.where(a > -0.6931, torch.log(-torch.expm1(a)), torch.log1p(-torch.exp(a)))


def funnel_loss(logit_c, logit_v, y, mask):
    """Entire space: BCE(pCTR, click) + 5 BCE(pCTR pCVR, buy), in log space, mean over items."""
    lp_c = F.logsigmoid(logit_c)
    lq_c = F.logsigmoid(-logit_c)
    lp_cv = lp_c + F.logsigmoid(logit_v)
    click, buy = y[..., 0], y[..., 1]
    x_c = -(click * lp_c + (1 - click) * lq_c)
    x_cv = -(buy * lp_cv + (1 - buy) * log1mexp(lp_cv))
    n = mask.sum()
    return (x_c * mask).sum() / n + CVR_WEIGHT * (x_cv * mask).sum() / n


def pad_lists(offsets, lists):
    """Row index [n, T] of the lists (padding repeats row 0) and the mask."""
    starts, lens = offsets[lists], offsets[lists + 1] - offsets[lists]
    T = int(lens.max())
    steps = torch.arange(T)
    mask = steps[None, :] < lens[:, None]
    idx = torch.where(mask, starts[:, None] + steps[None, :], torch.zeros((), dtype=torch.long))
    return idx, mask


def batches(offsets, batch):
    """Whole lists, shuffled, while they fit in `batch` items (as Funnel's Loader)."""
    lens = (offsets[1:] - offsets[:-1]).tolist()
    while True:
        perm = torch.randperm(len(lens)).tolist()
        cur, items = [], 0
        for k in perm:
            if cur and items + lens[k] > batch:
                yield torch.tensor(cur)
                cur, items = [], 0
            cur.append(k)
            items += lens[k]
        if cur:
            yield torch.tensor(cur)


def train_run(name, ids, y, offsets, vocab, batch, threads, warmup, budget):
    torch.set_num_threads(threads)
    torch.manual_seed(7)
    model = Heroes(vocab, "unit" if name == "heroes_unit" else "full")
    sparse = list(model.embeddings.parameters())
    dense = [p for n, p in model.named_parameters() if not n.startswith("embeddings.")]
    optimizers = [torch.optim.SparseAdam(sparse, lr=LR), torch.optim.Adam(dense, lr=LR)]
    gen = batches(offsets, batch)
    phases = dict.fromkeys(("load", "forward_loss", "backward", "optimizer"), 0.0)
    model.train()
    steps = items = 0
    s = 0
    while True:
        if s >= warmup + 3 and time.perf_counter() - start > budget:
            break
        if s == warmup:
            phases = dict.fromkeys(phases, 0.0)
            steps = items = 0
            start = time.perf_counter()
        t0 = time.perf_counter()
        idx, mask = pad_lists(offsets, next(gen))
        x_ids, yb, m = ids[idx], y[idx], mask.float()
        t1 = time.perf_counter()
        logit_c, logit_v = model(model.embed(x_ids))
        loss = funnel_loss(logit_c, logit_v, yb, m)
        value = loss.item()
        t2 = time.perf_counter()
        for o in optimizers:
            o.zero_grad()
        loss.backward()
        t3 = time.perf_counter()
        for o in optimizers:
            o.step()
        t4 = time.perf_counter()
        assert value == value, "loss is NaN"
        phases["load"] += t1 - t0
        phases["forward_loss"] += t2 - t1
        phases["backward"] += t3 - t2
        phases["optimizer"] += t4 - t3
        steps += 1
        items += int(mask.sum())
        s += 1
    seconds = time.perf_counter() - start
    return {"model": name, "threads": threads, "batch": batch, "steps": steps, "items": items,
            "seconds": seconds, "items_per_s": items / seconds, "ms_per_step": 1e3 * seconds / steps,
            "phase_ms_per_step": {k: 1e3 * v / steps for k, v in phases.items()}}


def latency(fn, seconds):
    for _ in range(20):
        fn()
    ms = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(ms) < 100:
        t = time.perf_counter()
        fn()
        ms.append(1e3 * (time.perf_counter() - t))
    s = sorted(ms)
    q = lambda p: s[min(len(s) - 1, int(p * len(s)))]
    return {"median_ms": q(0.5), "p99_ms": q(0.99), "mean_ms": sum(ms) / len(ms), "min_ms": s[0],
            "reps": len(ms)}


def latency_run(name, ids, vocab, lengths, seconds):
    torch.set_num_threads(1)
    torch.manual_seed(7)
    model = Heroes(vocab, "unit" if name == "heroes_unit" else "full").eval()
    out = {}
    with torch.no_grad():
        for L in lengths:
            list_ids = ids[:L].unsqueeze(0)  # one list of L items
            x = model.embed(list_ids)
            out[str(L)] = {"forward": latency(lambda: model(x), seconds),
                           "end_to_end": latency(lambda: model(model.embed(list_ids)), seconds)}
    return out


def check(export_dir, tol=1e-4):
    """Compares with heroes_bench --export: returns the worst difference per quantity."""
    torch.set_num_threads(1)
    worst = {}
    for name in sorted(os.listdir(export_dir)):
        d = os.path.join(export_dir, name)
        if name not in ("heroes", "heroes_unit"):
            continue
        m = json.load(open(os.path.join(d, "manifest.json")))
        read = lambda f, shape: torch.from_numpy(np.fromfile(os.path.join(d, f), dtype=np.float32)).reshape(shape)
        B, D = m["x"]
        model = Heroes([1] * (D // DIM), m["options"].get("variant", "full"))
        params = dict(model.named_parameters())
        with torch.no_grad():
            for key, shape in m["parameters"].items():
                target = key.replace("encoder.linear0.", "encoder.0.")
                assert target in params, f"{key}: no such parameter in the port"
                params[target].copy_(read(key + ".f32", shape))
        offsets = torch.tensor(m["list_offsets"], dtype=torch.long)
        idx, mask = pad_lists(offsets, torch.arange(len(offsets) - 1))
        x = read("x.f32", (B, D)).requires_grad_()
        y = read("labels.f32", (2, B)).t()
        model.train()
        all_ = model.forward_rows(x[idx])
        rows = lambda t: t[mask]  # padded [n, T, ...] -> row order (lists are consecutive rows)
        diffs = {}
        if os.path.exists(os.path.join(d, "all_train.f32")):
            diffs["outputs_train"] = (rows(all_) - read("all_train.f32", (B, 5))).abs().max().item()
        loss = funnel_loss(all_[..., 0], all_[..., 1], y[idx], mask.float())
        diffs["loss"] = abs(loss.item() - m["loss"])
        loss.backward()
        # The gradient of a mean over 2000 rows is small: compared relative to its largest entry.
        g = read("x_grad.f32", (B, D))
        diffs["x_grad_relative"] = ((x.grad - g).abs().max() / g.abs().max()).item()
        with torch.no_grad():
            model.eval()
            lc, lv = model(x[idx])
            lp = torch.stack([F.logsigmoid(rows(lc)), F.logsigmoid(rows(lv))], 1)
            diffs["eval_log_p"] = (lp - read("eval_log_p.f32", (B, 2))).abs().max().item()
        worst[name] = diffs
    ok = bool(worst) and all(v <= tol for d in worst.values() for v in d.values())
    return {"check": worst, "tolerance": tol, "equal": ok}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cache", nargs="?")
    ap.add_argument("--check", metavar="EXPORT_DIR")
    ap.add_argument("--models", default="heroes,heroes_unit")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--budget", type=float, default=5.0, help="seconds of timed steps")
    ap.add_argument("--lengths", default="10,50,100")
    ap.add_argument("--latency-seconds", type=float, default=1.0)
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--no-latency", action="store_true")
    a = ap.parse_args()
    if a.check:
        r = check(a.check)
        print(json.dumps(r, indent=2))
        sys.exit(0 if r["equal"] else 1)
    if not a.cache:
        ap.error("CACHE_DIR is required (or --check EXPORT_DIR)")
    ids, y, offsets, vocab = load_cache(a.cache)
    out = {"torch_version": torch.__version__, "python": platform.python_version(),
           "train_items": int(ids.shape[0]), "lists": int(offsets.numel() - 1), "fields": len(vocab),
           "train": [], "latency": {}}
    models = a.models.split(",")
    if not a.no_train:
        for name in models:
            for threads in (int(t) for t in a.threads.split(",")):
                r = train_run(name, ids, y, offsets, vocab, a.batch, threads, a.warmup, a.budget)
                print(json.dumps(r), file=sys.stderr, flush=True)
                out["train"].append(r)
    if not a.no_latency:
        test_ids, _, _, _ = load_cache(a.cache, "test")
        lengths = [int(x) for x in a.lengths.split(",")]
        for name in models:
            out["latency"][name] = latency_run(name, test_ids, vocab, lengths, a.latency_seconds)
            print(json.dumps({name: out["latency"][name]}), file=sys.stderr, flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
