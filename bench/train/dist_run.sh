#!/usr/bin/env bash
# Data-parallel training throughput (docs/distributed.md): ESMM [200, 80, 20] on simulated
# aliccp-like data, one process against `funnel train --workers N` (one thread per rank), and
# in the same run two independent single-thread trainings at once (the bound: what two
# processes that never talk reach on these cores).
#   bench/train/dist_run.sh [BUILD_DIR]
# Environment: ROWS=1000000 (impressions simulated), WORKERS="2" (rank counts to run),
#   BATCH=2000 (the global batch), OUT=DIR (keep the runs; default a temporary folder).
# The ms/step columns are rank 0's step phases (metrics.json timing.step_seconds).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
FUNNEL="$BUILD/src/cli/funnel"
ROWS=${ROWS:-1000000}
WORKERS=${WORKERS:-2}
BATCH=${BATCH:-2000}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/funnel-dist-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
OUT=${OUT:-$TMP/out}
mkdir -p "$OUT"
echo "== machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$FUNNEL" -q simulate --preset aliccp-like --rows "$ROWS" --out "$OUT/sim" >/dev/null
SET=(--set train.epochs=1 --set train.batch_size="$BATCH" --set 'model.towers=[200,80,20]'
     --set train.threads=1 --set train.patience=0)
run() {  # run NAME [funnel train args...]
  local name=$1; shift
  /usr/bin/time -f "%e s wall, %M KB max RSS" -o "$OUT/$name.time" \
      "$FUNNEL" -q train --config "$OUT/sim/experiment.json" --cache "$OUT/sim/cache" \
      --out "$OUT/$name" --overwrite "${SET[@]}" "$@" >/dev/null
}
run one
for n in $WORKERS; do run "w$n" --workers "$n"; done
# The bound: two independent one-thread trainings on the same cores at once.
run solo_a & run solo_b & wait
/usr/bin/python3 - "$OUT" "$WORKERS" <<'PYEOF'
import json, sys
out, workers = sys.argv[1], sys.argv[2].split()
def m(name): return json.load(open(f"{out}/{name}/metrics.json"))
one = m("one")
base = one["timing"]["samples_per_second"]
print(f"| run | samples/s | vs 1 process | test CTR AUC | CVR AUC | all-reduce B/step | all-to-all B/step | calls/step "
      f"| ms/step: forward + backward | lookup | tables' step | all-reduce | other | wall |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
def row(name, label):
    r = m(name); t = r["timing"]; d = r.get("distributed", {})
    wall = open(f"{out}/{name}.time").read().strip()
    # Rank 0's step phases (timing.step_seconds), in ms per step.
    ph = {k: 1000 * v / max(1, t["steps"]) for k, v in t["step_seconds"].items()}
    other = ph["data"] + ph["loss"] + ph["dense"]
    print(f"| {label} | {t['samples_per_second']:,.0f} | {t['samples_per_second']/base:.2f}x | "
          f"{r['test']['ctr']['auc']:.4f} | {r['test']['cvr']['auc']:.4f} | "
          f"{d.get('all_reduce_bytes_per_step', 0):,.0f} | {d.get('all_to_all_bytes_per_step', 0):,.0f} | "
          f"{d.get('collective_calls_per_step', 0):.1f} | {ph['forward'] + ph['backward']:.1f} | "
          f"{ph['lookup']:.1f} | {ph['sparse']:.1f} | {ph['sync']:.1f} | {other:.1f} | {wall} |")
row("one", "1 process")
for n in workers: row(f"w{n}", f"--workers {n}")
a, b = m("solo_a")["timing"]["samples_per_second"], m("solo_b")["timing"]["samples_per_second"]
print(f"| 2 independent processes at once (bound) | {a + b:,.0f} | {(a + b)/base:.2f}x | | | | | | | | | | | |")
PYEOF
