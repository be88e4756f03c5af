#!/usr/bin/env bash
# ESMM training throughput: Funnel (train_bench) against ESMM written idiomatically in PyTorch
# (esmm_reference.py) on the same cache, with the sgemm rate measured in the same run.
#   bench/train/run.sh [BUILD_DIR]
# Environment:
#   ROWS=400000      rows of the generated Ali-CCP-shaped data (18 fields, 1.28 M ids)
#   DATA=DIR         keep / reuse the data here (default: a temporary folder)
#   OUT=DIR          keep the JSON results here (default: a temporary folder)
#   BUDGET=5         seconds of timed steps per configuration at most
#   BLAS_DIR=DIR     a folder with another libblas.so.3 (e.g. OpenBLAS's openblas-pthread/):
#                    everything runs a second time with it (OPENBLAS_NUM_THREADS = threads)
#   WORKERS=1        also run two single-thread processes at once (two workers on 2 cores)
# Results of the latest run on the reference machine: docs/training_benchmark.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
ROWS=${ROWS:-400000}
BUDGET=${BUDGET:-5}
WORKERS=${WORKERS:-1}
PY=/usr/bin/python3   # Debian's python3-torch
TMP=$(mktemp -d "${TMPDIR:-/tmp}/funnel-train-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
DATA=${DATA:-$TMP/data}
OUT=${OUT:-$TMP/out}
mkdir -p "$OUT"
BENCH="$BUILD/bench/train/train_bench"
REF="$ROOT/bench/train/esmm_reference.py"

echo "== machine"
lscpu | grep -E "^Model name|^CPU\(s\)" | sed 's/  */ /g'
echo "libblas.so.3 -> $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo '?')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# One pass: Funnel then the Python variants, with the BLAS in LD_LIBRARY_PATH (or the default).
pass() {  # pass NAME THREADS_LIST [LD_LIBRARY_PATH]
  local name=$1 threads=$2 ldpath=${3:-}
  local env=(env)
  if [ -n "$ldpath" ]; then env+=(LD_LIBRARY_PATH="$ldpath" OPENBLAS_NUM_THREADS="${threads}"); fi
  echo "-- $name: train_bench (threads $threads)" >&2
  "${env[@]}" "$BENCH" --dir "$DATA" --rows "$ROWS" --threads "$threads" --budget "$BUDGET" \
      > "$OUT/funnel_$name.json"
  echo "-- $name: esmm_reference.py (threads $threads)" >&2
  "${env[@]}" "$PY" "$REF" "$DATA/cache" --threads "$threads" --budget "$BUDGET" \
      > "$OUT/python_$name.json"
}

pass default 1,2
if [ -n "${BLAS_DIR:-}" ]; then
  # OpenBLAS ignores torch::set_num_threads: one process per thread count.
  pass blas_t1 1 "$BLAS_DIR"
  pass blas_t2 2 "$BLAS_DIR"
fi
if [ "$WORKERS" = 1 ]; then
  # Two workers on separate batches, one thread each: the best data parallelism can do on
  # 2 cores (an upper bound: no shared tables, no synchronisation).
  echo "-- two single-thread workers at once" >&2
  for w in 1 2; do
    "$BENCH" --dir "$DATA" --threads 1 --batches 2000 --budget "$BUDGET" --no-sgemm --no-trainer \
        > "$OUT/worker$w.json" &
  done
  wait
fi

"$PY" - "$OUT" <<'PYEOF'
import glob, json, os, sys
out = sys.argv[1]

def load(p):
    return json.load(open(p)) if os.path.exists(p) else None

def table(name):
    f, p = load(f"{out}/funnel_{name}.json"), load(f"{out}/python_{name}.json")
    return f, p

passes = [("default", "installed libblas.so.3")]
if os.path.exists(f"{out}/funnel_blas_t1.json"):
    passes.append(("blas", "BLAS_DIR"))

def funnel_runs(name):
    if name == "default":
        return load(f"{out}/funnel_default.json")
    runs, sg, base = [], {}, None
    for t in (1, 2):
        j = load(f"{out}/funnel_{name}_t{t}.json")
        base = base or j
        runs += j["runs"]
        sg.update(j.get("sgemm_gflops", {}))
    merged = dict(base)
    merged["runs"], merged["sgemm_gflops"] = runs, sg
    return merged

def python_runs(name):
    if name == "default":
        return load(f"{out}/python_default.json")["runs"]
    return sum((load(f"{out}/python_{name}_t{t}.json")["runs"] for t in (1, 2)), [])

summary = {}
for name, label in passes:
    f = funnel_runs(name)
    py = python_runs(name)
    d = f["data"]
    print(f"=== {label}: {d['rows']} rows, {d['fields']} fields, {d['vocab_total']} ids, dim {d['embedding_dim']}")
    for t, sg in sorted(f.get("sgemm_gflops", {}).items()):
        tw = "  ".join(f"tower GEMMs b{k[7:]} {v:6.1f}" for k, v in sg.items()
                       if k.startswith("tower_b") and not k.endswith("per_gemm"))
        print(f"sgemm GFLOP/s {t}: 1024^3 {sg['mm_1024']:6.1f}  256^3 {sg['mm_256']:6.1f}  {tw}")
    pyi = {(r["variant"], r["config"], r["batch"], r["threads"]): r["samples_per_s"] for r in py}
    print(f"{'cfg':3s} {'batch':>5s} {'thr':>3s} | {'funnel':>9s} {'loop':>9s} | {'py dense':>9s} {'py sparse':>9s}"
          f" {'dense_fl':>9s} {'sparse_fl':>9s} | {'x dense':>8s} {'x sparse':>8s} {'x sp_fl':>8s} | {'GFLOP/s':>7s} {'%sgemm':>6s}")
    rows = []
    for r in f["runs"]:
        c, b, t = r["towers"], r["batch"], r["threads"]
        fs = r["trainer"]["samples_per_s"]
        ls = r["loop"]["samples_per_s"]
        dv, sv = pyi.get(("dense", c, b, t)), pyi.get(("sparse", c, b, t))
        dfl, sfl = pyi.get(("dense_fastload", c, b, t)), pyi.get(("sparse_fastload", c, b, t))
        frac = r["trainer"].get("fraction_of_tower_sgemm")
        row = {"config": c, "batch": b, "threads": t, "funnel": fs, "funnel_loop": ls,
               "py_dense": dv, "py_sparse": sv, "py_dense_fastload": dfl, "py_sparse_fastload": sfl,
               "x_dense": fs / dv if dv else None, "x_sparse": fs / sv if sv else None,
               "x_sparse_fastload": fs / sfl if sfl else None,
               "model_gflops": r["trainer"]["model_gflops"], "fraction_of_tower_sgemm": frac,
               "loop_phase_ms": r["loop"]["phase_ms_per_step"]}
        rows.append(row)
        fmt = lambda v, w=9, p=0: f"{v:{w}.{p}f}" if v is not None else " " * (w - 1) + "-"
        print(f"{c:3s} {b:5d} {t:3d} | {fs:9.0f} {ls:9.0f} | {fmt(dv)} {fmt(sv)} {fmt(dfl)} {fmt(sfl)} | "
              f"{fmt(row['x_dense'], 7, 1)}x {fmt(row['x_sparse'], 7, 1)}x {fmt(row['x_sparse_fastload'], 7, 1)}x | "
              f"{r['trainer']['model_gflops']:7.2f} {fmt(frac * 100 if frac else None, 5, 0)}%")
    print("Funnel step phases (ms/step, loop):")
    for r in rows:
        ph = "  ".join(f"{k} {v:.2f}" for k, v in r["loop_phase_ms"].items())
        print(f"  {r['config']} b{r['batch']} t{r['threads']}: {ph}")
    print("threads 2 vs 1 (samples/s ratio):")
    for c in ("a", "b"):
        for b in sorted({r["batch"] for r in rows}):
            one = [r for r in rows if (r["config"], r["batch"], r["threads"]) == (c, b, 1)]
            two = [r for r in rows if (r["config"], r["batch"], r["threads"]) == (c, b, 2)]
            if one and two:
                line = f"  {c} b{b}: funnel {two[0]['funnel'] / one[0]['funnel']:.2f}"
                for v in ("dense", "sparse", "sparse_fastload"):
                    k = f"py_{v}"
                    if one[0][k] and two[0][k]:
                        line += f"  py {v} {two[0][k] / one[0][k]:.2f}"
                print(line)
    summary[name] = rows
    print()

ws = [load(f"{out}/worker{w}.json") for w in (1, 2)]
if all(ws):
    f = load(f"{out}/funnel_default.json")
    print("two single-thread workers at once (batch 2000, installed BLAS), aggregate vs one process:")
    for c in ("a", "b"):
        agg = sum(r["loop"]["samples_per_s"] for w in ws for r in w["runs"] if r["towers"] == c)
        one = [r["loop"]["samples_per_s"] for r in f["runs"]
               if (r["towers"], r["batch"], r["threads"]) == (c, 2000, 1)]
        two = [r["loop"]["samples_per_s"] for r in f["runs"]
               if (r["towers"], r["batch"], r["threads"]) == (c, 2000, 2)]
        if one:
            print(f"  {c}: 2 workers {agg:9.0f}  1 worker x 1 thread {one[0]:9.0f} ({agg / one[0]:.2f}x)"
                  + (f"  1 worker x 2 threads {two[0]:9.0f}" if two else ""))
            summary[f"workers_{c}"] = {"two_workers": agg, "one_thread": one[0],
                                       "two_threads": two[0] if two else None}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=1)
PYEOF
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
