#!/usr/bin/env bash
# Runs the benchmarks and prints their results with the references measured in the same run.
#   bench/run_all.sh [BUILD_DIR]      (ROWS, RAW_ROWS override the data sizes)
# Results of the latest run on the reference machine are in docs/benchmarks.md.
set -euo pipefail
BUILD=${1:-build}
ROWS=${ROWS:-1000000}
RAW_ROWS=${RAW_ROWS:-5000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/funnel-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PY=/usr/bin/python3   # Debian's python3 (python3-pandas, python3-torch)

echo "== machine"
lscpu | grep -E "^Model name|^CPU\(s\)" | sed 's/  */ /g'
echo

echo "== CSV -> cache ($ROWS Ali-CCP-shaped rows, 18 fields, min_count 11) and loader"
"$BUILD/bench/data/data_bench" --rows "$ROWS" --dir "$WORK/csv" --keep > "$WORK/data.json"
"$PY" "$ROOT/bench/data/pandas_reference.py" "$WORK/csv/aliccp_like.csv" 11 > "$WORK/pandas.json"
"$PY" - "$WORK/data.json" "$WORK/pandas.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1])); p = json.load(open(sys.argv[2]))
print(f"funnel convert : {d['convert_mb_per_s']:7.1f} MB/s  {d['convert_rows_per_s']/1e6:5.2f} M rows/s"
      f"  (parse pass {d['parse_pass_mb_per_s']:.1f} MB/s, one core; peak RSS {d['convert_peak_rss_mb']:.0f} MB)")
print(f"pandas ref     : {p['mb_per_s']:7.1f} MB/s  ({p['seconds']:.2f} s)")
print(f"ratio          : {p['seconds'] / d['convert_wall_s']:.1f}x faster than pandas read_csv + vocabulary")
for k in sorted(d):
    if k.startswith("loader_") and k.endswith("_rows_per_s"):
        print(f"{k[:-len('_rows_per_s')]:32s}: {d[k]/1e6:5.2f} M rows/s")
PYEOF
echo

if [ -x "$BUILD/bench/sim/sim_bench" ]; then
  echo "== simulator: generation -> cache vs CSV + convert (1 M impressions, one thread)"
  "$BUILD/bench/sim/sim_bench" --rows 1000000 --dir "$WORK/sim" | sed -n '1,3p'
  echo
fi

echo "== raw Ali-CCP two-file format ($RAW_ROWS skeleton rows)"
"$BUILD/bench/data/gen_aliccp_raw" --rows "$RAW_ROWS" --users 86000 --out-dir "$WORK/raw" --seed 7 >/dev/null 2>&1
for schema in aliccp_raw aliccp_raw_full; do
  "$PY" - "$ROOT/examples/$schema.json" "$WORK/raw" "$WORK/$schema.cfg.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["data"]["train"] = [{"skeleton": sys.argv[2] + "/sample_skeleton_train.csv",
                       "common": sys.argv[2] + "/common_features_train.csv"}]
c["data"].pop("test", None)
json.dump(c, open(sys.argv[3], "w"))
PYEOF
  "$BUILD/src/cli/funnel" -q data convert --config "$WORK/$schema.cfg.json" --out "$WORK/cache_$schema" \
      --json "$WORK/$schema.stats.json" > /dev/null
  "$PY" - "$WORK/$schema.stats.json" "$WORK/raw" "$schema" <<'PYEOF'
import json, os, sys
s = json.load(open(sys.argv[1])); i = s["inputs"]["train"]
mb = sum(os.path.getsize(os.path.join(sys.argv[2], f)) for f in os.listdir(sys.argv[2])) / 1e6
rows = i["lines"] - i["header_lines"]
print(f"{sys.argv[3]:16s}: {rows/s['seconds']/1e6:5.2f} M rows/s end to end, "
      f"{mb/s['seconds']:6.1f} MB/s (skeleton + common, {mb:.0f} MB), peak RSS {s['peak_rss_bytes']/1e6:.0f} MB")
PYEOF
  rm -rf "$WORK/cache_$schema"
done
echo

if [ -x "$BUILD/bench/metric/bench_metric" ]; then
  echo "== metrics"
  "$BUILD/bench/metric/bench_metric" --benchmark_min_time=0.5 2>/dev/null | grep -E "^BM_|^-|Benchmark"
  echo
fi
if [ -x "$BUILD/bench/embed/bench_embed" ]; then
  echo "== sparse embeddings"
  "$BUILD/bench/embed/bench_embed" 2>/dev/null | grep -E "^BM_|Benchmark"
  [ -x "$BUILD/bench/embed/bench_embed_memory" ] && "$BUILD/bench/embed/bench_embed_memory"
fi

if [ -x "$BUILD/bench/train/train_bench" ]; then
  echo
  echo "== ESMM training vs idiomatic PyTorch (bench/train/run.sh; TRAIN_ROWS rows)"
  ROWS=${TRAIN_ROWS:-400000} "$ROOT/bench/train/run.sh" "$BUILD"
fi
