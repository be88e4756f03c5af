#!/usr/bin/env python3
"""Tables and the collapse figure of docs/quality.md from the runs of bench/quality/run.sh.

Usage: summarize.py OUT_DIR [SVG_PATH]. Prints markdown; writes the validation curve of the
`curve` run (every 100 steps across the epoch boundary) as an SVG when SVG_PATH is given.
"""
import json
import os
import re
import statistics
import sys


def load(out, name, seed):
    d = os.path.join(out, "runs", f"{name}_s{seed}")
    if not os.path.exists(os.path.join(d, "metrics.json")):
        return None
    m = json.load(open(os.path.join(d, "metrics.json")))
    m["log"] = [json.loads(l) for l in open(os.path.join(d, "log.jsonl"))]
    rss = None
    if os.path.exists(d + ".log"):
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(d + ".log").read())
        rss = int(found.group(1)) / 1024 if found else None
    m["rss_mb"] = rss
    return m


def ms(values, digits=4):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def main():
    out = sys.argv[1]
    seeds = [1, 2, 3]
    entries = ["cvr", "ctcvr", "ctr"]
    base = {s: load(out, "one", s) for s in seeds}
    print("| recipe | seeds | test CVR AUC | test CTCVR AUC | test CTR AUC | "
          "Δ CVR vs 1 epoch | Δ CTCVR vs 1 epoch | val CVR AUC per epoch | val CTCVR AUC per epoch |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, label in [("one", "1 epoch (baseline)"), ("plain2", "2 epochs, nothing"),
                        ("meda2", "2 epochs, embedding_reset=epoch (MEDA)"),
                        ("lr01_2", "2 epochs, embedding_lr_scale=0.1"),
                        ("frozen2", "2 epochs, embedding_lr_scale=0 (frozen)"),
                        ("freq01_1", "1 epoch, embedding.frequency_weight_decay=0.01"),
                        ("freq01_2", "2 epochs, embedding.frequency_weight_decay=0.01"),
                        ("freq001_2", "2 epochs, embedding.frequency_weight_decay=0.001")]:
        runs = {s: load(out, name, s) for s in seeds}
        runs = {s: r for s, r in runs.items() if r is not None}
        if not runs:
            continue
        cols = [ms([r["test"][e]["auc"] for r in runs.values()]) for e in entries]
        deltas = []
        for e in ["cvr", "ctcvr"]:
            deltas.append(ms([runs[s]["test"][e]["auc"] - base[s]["test"][e]["auc"]
                              for s in runs if base.get(s)]))
        per_epoch = []
        for e in ["cvr", "ctcvr"]:
            epochs = max(len(r["log"]) for r in runs.values())
            per_epoch.append(" → ".join(
                ms([r["log"][k]["validation"][e]["auc"] for r in runs.values()
                    if len(r["log"]) > k], 3) for k in range(epochs)))
        print(f"| {label} | {','.join(map(str, runs))} | " + " | ".join(cols + deltas + per_epoch)
              + " |")
    print()
    print("| model | embedding.sharing | seeds | test CVR AUC | test CTCVR AUC | test CTR AUC | "
          "Δ CVR vs shared (paired) | Δ CTCVR vs shared (paired) | train samples/s | "
          "peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    pairs = [("one", "esmm", "shared", None), ("esmm_pt", "esmm", "per_task", "one"),
             ("dnn_sh", "dnn", "shared", None), ("dnn_pt", "dnn", "per_task", "dnn_sh"),
             ("aheri_sh", "autoheri (all connections)", "shared", None),
             ("aheri_pt", "autoheri (all connections)", "per_task", "aheri_sh")]
    for name, model, sharing, ref in pairs:
        runs = {s: load(out, name, s) for s in seeds}
        runs = {s: r for s, r in runs.items() if r is not None}
        if not runs:
            continue
        cols = [ms([r["test"][e]["auc"] for r in runs.values()]) for e in entries]
        deltas = ["-", "-"]
        if ref:
            refs = {s: load(out, ref, s) for s in runs}
            deltas = [ms([runs[s]["test"][e]["auc"] - refs[s]["test"][e]["auc"]
                          for s in runs if refs[s]]) for e in ["cvr", "ctcvr"]]
        sps = ms([r["timing"]["samples_per_second"] for r in runs.values()], 0)
        rss_runs = list(runs.values())
        if name == "one":  # the 1-epoch baseline ran without /usr/bin/time: esmm_sh did
            extra = load(out, "esmm_sh", 1)
            rss_runs = [extra] if extra else []
        rss = ms([r["rss_mb"] for r in rss_runs], 0)
        print(f"| {model} | {sharing} | {len(runs)} | " + " | ".join(cols + deltas) +
              f" | {sps} | {rss} |")
    curve = load(out, "curve", 1)
    if curve is not None:
        print()
        print("| epoch | step | val CVR AUC | val CTCVR AUC | val CTR AUC |")
        print("|---|---|---|---|---|")
        for d in curve["log"]:
            v = d["validation"]
            print(f"| {d['epoch']} | {d['step']} | {v['cvr']['auc']:.4f} | "
                  f"{v['ctcvr']['auc']:.4f} | {v['ctr']['auc']:.4f} |")
        if len(sys.argv) > 2:
            write_svg(curve["log"], sys.argv[2])


def write_svg(log, path):
    w, h, left, right, top, bottom = 640, 320, 60, 150, 20, 40
    steps = [d["step"] for d in log]
    series = [("ctr", "#1f77b4"), ("ctcvr", "#2ca02c"), ("cvr", "#d62728")]
    lo, hi = 0.55, 0.80
    x = lambda s: left + (s - 0) / max(steps) * (w - left - right)
    y = lambda v: top + (hi - v) / (hi - lo) * (h - top - bottom)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             f'font-family="sans-serif" font-size="11">',
             f'<rect width="{w}" height="{h}" fill="white"/>']
    for t in [0.55, 0.60, 0.65, 0.70, 0.75, 0.80]:
        parts.append(f'<line x1="{left}" x2="{w - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
                     f'stroke="#ddd"/><text x="{left - 6}" y="{y(t) + 4:.1f}" '
                     f'text-anchor="end">{t:.2f}</text>')
    boundary = max(d["step"] for d in log if d["epoch"] == 1)
    parts.append(f'<line x1="{x(boundary):.1f}" x2="{x(boundary):.1f}" y1="{top}" '
                 f'y2="{h - bottom}" stroke="#888" stroke-dasharray="4,3"/>'
                 f'<text x="{x(boundary) + 4:.1f}" y="{top + 12}">epoch 2</text>')
    for s in range(0, max(steps) + 1, 500):
        parts.append(f'<text x="{x(s):.1f}" y="{h - bottom + 16}" text-anchor="middle">{s}</text>')
    parts.append(f'<text x="{(left + w - right) / 2:.0f}" y="{h - 6}" text-anchor="middle">'
                 f'training step (batch 2000)</text>')
    for k, (entry, color) in enumerate(series):
        pts = " ".join(f"{x(d['step']):.1f},{y(d['validation'][entry]['auc']):.1f}" for d in log)
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts.append(f'<line x1="{w - right + 12}" x2="{w - right + 32}" y1="{top + 14 + 18 * k}" '
                     f'y2="{top + 14 + 18 * k}" stroke="{color}" stroke-width="2"/>'
                     f'<text x="{w - right + 38}" y="{top + 18 + 18 * k}">validation {entry} AUC'
                     f'</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
