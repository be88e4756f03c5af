#!/usr/bin/env python3
"""Tables of bench/autoheri/ablation.sh: mean and std over seeds (markdown on stdout).

usage: python3 bench/autoheri/aggregate.py OUT_DIR
"""
import json
import os
import statistics
import sys

VARIANTS = [
    ("ESMM (no integration)", "esmm", None),
    ("AutoHERI (hierarchical, bi-level search, retrained)", "retrain_hierarchical", "search_hierarchical"),
    ("all 9 (18) candidate connections, no search", "retrain_full", None),
    ("w/o hierarchical, w/ parallel (searched, retrained)", "retrain_parallel", "search_parallel"),
    ("evolutionary (regularised evolution, retrained)", "retrain_evolution", "search_evolution"),
    ("ESMM, footnote 1 stop-gradient", "esmm_sg", None),
    ("AutoHERI, footnote 1 stop-gradient (searched, retrained)", "retrain_hierarchical_sg",
     "search_hierarchical_sg"),
    ("AutoHERI, alpha judged on click space (searched, retrained)", "retrain_hierarchical_click",
     "search_hierarchical_click"),
    ("AutoHERI, validated derivation (searched, validated, retrained)",
     "retrain_hierarchical_validated", "search_hierarchical_validated"),
]


def load(path):
    with open(path) as f:
        return json.load(f)


def ms(values, digits=4):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    m = statistics.mean(values)
    s = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def metric(m, entry, name):
    try:
        return m["test"][entry][name]
    except (KeyError, TypeError):
        return None


def wall(d):
    p = os.path.join(d, "wall_seconds")
    return float(open(p).read()) if os.path.exists(p) else None


def main(out):
    for preset in sorted(os.listdir(out)):
        pdir = os.path.join(out, preset)
        if not os.path.isdir(pdir):
            continue
        seeds = sorted(s for s in os.listdir(pdir) if s.startswith("seed"))
        print(f"\n### {preset} ({len(seeds)} seeds: {', '.join(s[4:] for s in seeds)})\n")
        print("| variant | test CVR AUC | test CVR NLL | test CTCVR AUC | test CTCVR NLL "
              "| train s | search s | search / ESMM train | connections |")
        print("|---|---|---|---|---|---|---|---|---|")
        esmm_train = {}
        for s in seeds:
            f = os.path.join(pdir, s, "esmm", "metrics.json")
            if os.path.exists(f):
                esmm_train[s] = load(f)["timing"]["train_seconds"]
        for label, run, search in VARIANTS:
            rows = {k: [] for k in ("cauc", "cnll", "tauc", "tnll", "train", "search", "ratio", "conn")}
            for s in seeds:
                f = os.path.join(pdir, s, run, "metrics.json")
                if not os.path.exists(f):
                    continue
                m = load(f)
                rows["cauc"].append(metric(m, "cvr", "auc"))
                rows["cnll"].append(metric(m, "cvr", "nll"))
                rows["tauc"].append(metric(m, "ctcvr", "auc"))
                rows["tnll"].append(metric(m, "ctcvr", "nll"))
                rows["train"].append(m["timing"]["train_seconds"])
                if search:
                    sm = load(os.path.join(pdir, s, search, "metrics.json"))
                    # With the validated derivation: the search plus its retrained candidates.
                    secs = sm["timing"]["search_seconds"] + sm["timing"].get("validate_seconds", 0)
                    rows["search"].append(secs)
                    if s in esmm_train:
                        rows["ratio"].append(secs / esmm_train[s])
                    rows["conn"].append(sm["arch"]["num_connections"])
            if not rows["cauc"]:
                continue
            print(f"| {label} | {ms(rows['cauc'])} | {ms(rows['cnll'])} | {ms(rows['tauc'])} "
                  f"| {ms(rows['tnll'])} | {ms(rows['train'], 1)} | {ms(rows['search'], 1)} "
                  f"| {ms(rows['ratio'], 2)} | {ms(rows['conn'], 1)} |")
        # Per-seed detail of the searched architectures (a list after a blank line).
        print()
        for s in seeds:
            for search in [v[2] for v in VARIANTS if v[2]]:
                f = os.path.join(pdir, s, search, "metrics.json")
                if os.path.exists(f):
                    sm = load(f)
                    extra = sm["timing"].get("candidates_trained")
                    val = sm.get("validated_derivation")
                    print(f"- {s} {search}: {sm['arch']['num_connections']} connections, "
                          f"search {sm['timing']['search_seconds']:.1f} s"
                          + (f", {extra} candidates" if extra else "")
                          + (f", validated: kept {val['kept']} of {len(val['candidates']) - 1} "
                             "(validation CVR AUC " + " / ".join(
                                 f"{c['fitness']:.4f}" for c in val["candidates"])
                             + f" for 0..{len(val['candidates']) - 1} connections) in "
                             f"{val['seconds']:.1f} s" if val and val["candidates"] else "")
                          + (f", wall {wall(os.path.dirname(f)):.1f} s" if wall(os.path.dirname(f)) else ""))


if __name__ == "__main__":
    main(sys.argv[1])
