#!/usr/bin/env bash
# `make demo`: the main job on built-in inputs.
#  1. converts the shipped real Ali-CCP / AliExpress samples (three input formats) and prints
#     their statistics;
#  2. generates a raw Ali-CCP two-file pair (200k impressions, exact public byte format), joins
#     and converts it with the AITM preprocessing (18 fields, ids seen >= 11 times), and reads
#     the statistics back from the cache;
#  3. simulates 400k Ali-CCP-shaped impressions with known true probabilities (preset
#     aliccp-like), trains ESMM and the click-space DNN on them, prints both next to the oracle
#     (the best reachable), evaluates the saved bundle and writes predictions;
#  4. serves the ESMM bundle over HTTP on a free loopback port, scores one request with curl
#     and stops the server;
#  5. writes one self-contained HTML report of both runs (out/demo/report.html).
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
FUNNEL="$BUILD/src/cli/funnel"
OUT=${DEMO_OUT:-$ROOT/out/demo}
mkdir -p "$OUT"

for example in aliccp_rechub aliccp_paddle_tokens aliexpress; do
  echo
  echo "=== $example: funnel data convert --config examples/$example.json"
  "$FUNNEL" data convert --config "examples/$example.json" --out "$OUT/cache_$example" \
      --json "$OUT/$example.stats.json"
done

echo
echo "=== raw Ali-CCP: generating sample_skeleton_train.csv + common_features_train.csv (200k rows)"
"$BUILD/bench/data/gen_aliccp_raw" --rows 200000 --users 20000 --out-dir "$OUT/ali-ccp" --seed 1
echo
echo "=== raw Ali-CCP: funnel data convert --config examples/aliccp_raw.json (streamed md5 join)"
"$FUNNEL" data convert --config examples/aliccp_raw.json --out "$OUT/cache_aliccp_raw" \
    --set "data.train=[{\"skeleton\":\"$OUT/ali-ccp/sample_skeleton_train.csv\"}]" \
    --set "data.test=[]" --json "$OUT/aliccp_raw.stats.json"
echo
echo "=== funnel data stats --cache $OUT/cache_aliccp_raw"
"$FUNNEL" data stats --cache "$OUT/cache_aliccp_raw" | head -8
echo
echo "=== funnel simulate --preset aliccp-like --rows 400000 --csv (known true probabilities)"
# The cache is written straight from the generated ids; --csv adds the text files that eval
# and predict read below.
"$FUNNEL" simulate --preset aliccp-like --rows 400000 --out "$OUT/sim" --overwrite --set users=20000 \
    --set items=60000 --csv
for model in esmm dnn; do
  echo
  echo "=== train $model on the simulated logs (towers [200,80,20], 2 epochs)"
  "$FUNNEL" -q train --config "$OUT/sim/experiment.json" --cache "$OUT/sim/cache" \
      --out "$OUT/run_$model" --overwrite --set model.name=$model
done
echo
echo "=== ESMM vs DNN vs the oracle on the simulated test split (one seed)"
/usr/bin/python3 - "$OUT/run_esmm/metrics.json" "$OUT/run_dnn/metrics.json" <<'PYEOF'
import json, sys
runs = [json.load(open(p)) for p in sys.argv[1:]]
rows = [(r["model"], r["test"]) for r in runs] + [("oracle", runs[0]["oracle"]["test"])]
print(f"{'model':8s}" + "".join(f"{e + ' ' + m:>12s}" for e in ("ctr", "cvr", "ctcvr") for m in ("AUC", "NLL")))
for name, t in rows:
    cells = [t[e][k] for e in ("ctr", "cvr", "ctcvr") for k in ("auc", "nll")]
    print(f"{name:8s}" + "".join(f"{c:12.4f}" if c is not None else f"{'n/a':>12s}" for c in cells))
PYEOF
echo
echo "=== funnel eval --bundle $OUT/run_esmm/model.bundle (test split, read from the CSV)"
"$FUNNEL" eval --bundle "$OUT/run_esmm/model.bundle" --config "$OUT/sim/experiment.json"
echo
echo "=== funnel predict (first rows of $OUT/predictions.csv)"
"$FUNNEL" -q predict --bundle "$OUT/run_esmm/model.bundle" \
    --input "$OUT/sim/test.csv" --out "$OUT/predictions.csv" --id-column 205
head -4 "$OUT/predictions.csv"
echo
echo "=== funnel serve --bundle $OUT/run_esmm/model.bundle (a free loopback port), one request"
rm -f "$OUT/serve.port"
"$FUNNEL" -q serve --bundle "esmm=$OUT/run_esmm/model.bundle" --port 0 \
    --port-file "$OUT/serve.port" >/dev/null &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$OUT/serve.port" ] && break; sleep 0.1; done
PORT=$(cat "$OUT/serve.port")
# Two items of the test split: user fields once, the others per item (docs/serving.md).
REQUEST=$(/usr/bin/python3 - "$OUT/sim/test.csv" <<'PYEOF'
import csv, json, sys
rows = [r for _, r in zip(range(2), csv.DictReader(open(sys.argv[1])))]
user = {"101": rows[0]["101"]}
fields = [c for c in rows[0] if c not in ("click", "purchase", "101") and not c.startswith("true_")]
items = [dict({"id": k}, **{f: r[f] for f in fields}) for k, r in enumerate(rows)]
print(json.dumps({"user": user, "items": items}))
PYEOF
)
echo "curl -s -X POST http://127.0.0.1:$PORT/v1/score -d '{\"user\": {\"101\": ...}, \"items\": [...]}'"
curl -s -X POST "http://127.0.0.1:$PORT/v1/score" -H 'Content-Type: application/json' \
    -d "$REQUEST"
echo
kill -TERM "$SERVER"
wait "$SERVER"
trap - EXIT
echo
echo "=== funnel report $OUT/run_esmm $OUT/run_dnn (one self-contained HTML page)"
"$FUNNEL" -q report "$OUT/run_esmm" "$OUT/run_dnn" --out "$OUT/report.html" \
    --title "Funnel demo: ESMM and DNN on simulated Ali-CCP-like logs" >/dev/null
echo
echo "Caches, statistics, runs (metrics.json, model.bundle) and predictions are in $OUT/."
echo "Report: $OUT/report.html"
