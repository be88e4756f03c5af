#!/usr/bin/env bash
# HEROES speed (issue 15): Funnel (heroes_bench) against the same model written idiomatically in
# PyTorch (heroes_reference.py) on the same `lists` cache, in one run; builds nothing.
#   bench/train/heroes_run.sh [BUILD_DIR]
# Environment:
#   ROWS=300000      items of the simulated lists data (lists of 10; 70 % of them train)
#   DATA=DIR         keep / reuse the data here (default: a temporary folder)
#   OUT=DIR          keep the JSON results here (default: a temporary folder)
#   BUDGET=5         seconds of timed training steps per configuration
#   THREADS=1        intra-op thread counts of the training runs, e.g. 1,2 (latency: always 1)
#   LATENCY=1        seconds of calls per latency measurement
#   CHECK=1          also compare the port's outputs with Funnel's (heroes_reference.py --check)
# Targets: training items/s >= 3x PyTorch's; one list of 50 items <= 1 ms, one thread.
# Results of the latest run on the reference machine: docs/heroes.md#speed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
ROWS=${ROWS:-300000}
BUDGET=${BUDGET:-5}
THREADS=${THREADS:-1}
LATENCY=${LATENCY:-1}
CHECK=${CHECK:-1}
PY=/usr/bin/python3   # Debian's python3-torch
TMP=$(mktemp -d "${TMPDIR:-/tmp}/funnel-heroes-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
DATA=${DATA:-$TMP/data}
OUT=${OUT:-$TMP/out}
mkdir -p "$OUT"
BENCH="$BUILD/bench/train/heroes_bench"
REF="$ROOT/bench/train/heroes_reference.py"
[ -x "$BENCH" ] || { echo "no $BENCH (ninja -C $BUILD bench/train/heroes_bench)" >&2; exit 1; }

echo "== machine"
lscpu | grep -E "^Model name|^CPU\(s\)" | sed 's/  */ /g'
echo "libblas.so.3 -> $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo '?')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

EXPORT=()
if [ "$CHECK" = 1 ]; then EXPORT=(--export "$OUT/export"); fi
echo "-- heroes_bench" >&2
"$BENCH" --dir "$DATA" --rows "$ROWS" --threads "$THREADS" --budget "$BUDGET" \
    --latency-seconds "$LATENCY" "${EXPORT[@]}" > "$OUT/funnel.json"
echo "load average after Funnel: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$CHECK" = 1 ]; then
  echo "-- heroes_reference.py --check" >&2
  "$PY" "$REF" --check "$OUT/export" > "$OUT/check.json" || true
fi
echo "-- heroes_reference.py" >&2
"$PY" "$REF" "$DATA/cache" --threads "$THREADS" --budget "$BUDGET" \
    --latency-seconds "$LATENCY" > "$OUT/python.json"
echo "load average after PyTorch: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

"$PY" - "$OUT" <<'PYEOF'
import json, os, sys
out = sys.argv[1]
f = json.load(open(f"{out}/funnel.json"))
p = json.load(open(f"{out}/python.json"))
d = f["data"]
print(f"=== data: {d['train_items']} training items ({p['lists']} lists), {d['fields']} fields, "
      f"dim {d['embedding_dim']}, batches of {d['batch_items']} items (whole lists)")
if os.path.exists(f"{out}/check.json"):
    try:
        c = json.load(open(f"{out}/check.json"))
        worst = max(v for m in c["check"].values() for v in m.values())
        print(f"port check (outputs, loss, gradient vs Funnel's on one batch): "
              f"{'equal' if c['equal'] else 'DIFFERENT'} (worst {worst:.1e}, tolerance {c['tolerance']:g})")
    except Exception as e:  # a failed check prints what it has
        print(f"port check: failed ({e})")
py = {(r["model"], r["threads"]): r for r in p["train"]}
print()
print("training items/s (Trainer::step with its loader | Python loop over positions):")
print(f"{'model':12s} {'thr':>3s} | {'Funnel':>9s} {'PyTorch':>9s} {'ratio':>7s} | target >= 3x")
summary = {"train": [], "latency": []}
for r in f["train"]:
    q = py.get((r["model"], r["threads"]))
    ratio = r["items_per_s"] / q["items_per_s"] if q else None
    summary["train"].append({"model": r["model"], "threads": r["threads"], "funnel": r["items_per_s"],
                             "pytorch": q["items_per_s"] if q else None, "ratio": ratio})
    print(f"{r['model']:12s} {r['threads']:3d} | {r['items_per_s']:9.0f} "
          + (f"{q['items_per_s']:9.0f} {ratio:6.2f}x | {'met' if ratio >= 3 else 'NOT met'}" if q
             else f"{'-':>9s} {'-':>7s} | (no PyTorch port)"))
print("ms per step (Funnel):")
for r in f["train"]:
    print(f"  {r['model']} t{r['threads']}: {r['ms_per_step']:.1f} = "
          + "  ".join(f"{k} {v:.1f}" for k, v in r["phase_ms_per_step"].items()))
print("the same step's GEMMs alone (gemm_only; the same BLAS on both sides) and the ratio if the rest cost nothing:")
for r in f["train"]:
    g = r.get("gemm_only")
    q = py.get((r["model"], r["threads"]))
    if g:
        print(f"  {r['model']} t{r['threads']}: {g['ms_per_step']:.1f} ms ({g['gflop_per_step']:.2f} GFLOP, "
              f"{g['gflops']:.0f} GFLOP/s) = {100 * g['ms_per_step'] / r['ms_per_step']:.0f} % of Funnel's step"
              + (f"; ceiling {q['ms_per_step'] / g['ms_per_step']:.1f}x PyTorch" if q else ""))
print("ms per step (PyTorch):")
for r in p["train"]:
    print(f"  {r['model']} t{r['threads']}: {r['ms_per_step']:.1f} = "
          + "  ".join(f"{k} {v:.1f}" for k, v in r["phase_ms_per_step"].items()))
print()
print("latency of one list, eval, no grad, one thread, ms median / p99:")
print(f"{'model':12s} {'items':>5s} | {'Funnel fwd':>15s} {'Funnel e2e':>15s} | {'PyTorch fwd':>15s} "
      f"{'PyTorch e2e':>15s} | {'ratio':>5s} | target <= 1 ms (50 items)")
for m, per_len in f["latency"].items():
    for L, e in sorted(per_len.items(), key=lambda kv: int(kv[0])):
        q = p["latency"].get(m, {}).get(L)
        mp = lambda x: f"{x['median_ms']:7.2f} / {x['p99_ms']:5.1f}"
        target = ("met" if e["end_to_end"]["median_ms"] <= 1 else "NOT met") if L == "50" else ""
        ratio = q["forward"]["median_ms"] / e["forward"]["median_ms"] if q else None
        print(f"{m:12s} {L:>5s} | {mp(e['forward'])} {mp(e['end_to_end'])} | "
              + (f"{mp(q['forward'])} {mp(q['end_to_end'])} | {ratio:4.1f}x" if q else f"{'-':>15s} {'-':>15s} | {'-':>5s}")
              + f" | {target}")
        summary["latency"].append({"model": m, "items": int(L), "funnel": e,
                                   "pytorch": q})
json.dump(summary, open(f"{out}/summary.json", "w"), indent=1)
PYEOF
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
