#!/usr/bin/env bash
# `funnel simulate` then `funnel train` (the issue's acceptance in small): a model trained on
# the aliccp-like preset beats 0.5 AUC clearly and stays below the oracle (true
# probabilities) on the test split; the oracle's metrics are in metrics.json. Then the default
# output (cache only, no CSV) against --csv.
set -euo pipefail
FUNNEL=$1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
SIM=(--preset aliccp-like --rows 80000 --set users=3000 --set items=8000 --set cvr=0.05)
"$FUNNEL" -q simulate "${SIM[@]}" --csv --out "$W/sim" >/dev/null
test -s "$W/sim/oracle.json"
test -s "$W/sim/train.csv"
"$FUNNEL" -q train --config "$W/sim/experiment.json" --cache "$W/sim/cache" --out "$W/run" \
    --set 'model.towers=[64,32]' --set train.epochs=3 --set train.batch_size=500 >/dev/null
/usr/bin/python3 - "$W/run/metrics.json" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
for entry, floor in (("ctr", 0.6), ("cvr", 0.55), ("ctcvr", 0.6)):
    model, oracle = m["test"][entry]["auc"], m["oracle"]["test"][entry]["auc"]
    print(f"{entry}: model AUC {model:.4f}, oracle AUC {oracle:.4f}")
    assert model > floor, (entry, model, floor)
    # Above the oracle only by sampling noise of a finite test split.
    assert model < oracle + 0.01, (entry, model, oracle)
    assert m["test"][entry]["nll"] > m["oracle"]["test"][entry]["nll"] - 0.002, entry
PYEOF
# funnel eval reads the truth columns from the CSV: the same model and oracle metrics.
"$FUNNEL" -q eval --bundle "$W/run/model.bundle" --config "$W/sim/experiment.json" \
    --json "$W/eval.json" >/dev/null
/usr/bin/python3 - "$W/run/metrics.json" "$W/eval.json" <<'PYEOF'
import json, sys
m, e = (json.load(open(p)) for p in sys.argv[1:])
for entry in ("ctr", "cvr", "ctcvr"):
    assert abs(e["test"][entry]["auc"] - m["test"][entry]["auc"]) < 1e-6, entry
    assert abs(e["oracle"][entry]["auc"] - m["oracle"]["test"][entry]["auc"]) < 1e-6, entry
PYEOF
# By default simulate writes the cache only: the columns and vocabularies that
# `funnel data convert` makes of the CSV files. experiment.json still names the CSV files, and
# a command that would read them says where the data is.
"$FUNNEL" -q simulate "${SIM[@]}" --out "$W/bin" >"$W/bin.txt"
grep -q "into the cache" "$W/bin.txt"
test ! -e "$W/bin/train.csv"
"$FUNNEL" -q data convert --config "$W/sim/experiment.json" --out "$W/converted" >/dev/null
for f in $(cd "$W/converted" && find . -type f ! -name meta.json); do
  cmp "$W/converted/$f" "$W/bin/cache/$f"
done
"$FUNNEL" -q data stats --cache "$W/bin/cache" >/dev/null
# experiment.json names its cache (data.cache): the obvious command works without --cache
# and without the CSV files (issue 20; it said "pass --cache OUT/cache" before).
"$FUNNEL" -q train --config "$W/bin/experiment.json" --out "$W/run2" --set train.epochs=1 \
    --set 'model.towers=[16]' >/dev/null
test -s "$W/run2/metrics.json"
test ! -e "$W/run2/cache"
if "$FUNNEL" -q eval --bundle "$W/run/model.bundle" --config "$W/bin/experiment.json" \
    2>"$W/err.txt"; then
  echo "eval without the CSV files should fail"; exit 1
fi
grep -q "rerun funnel simulate with --csv" "$W/err.txt" || { cat "$W/err.txt"; exit 1; }
# A simulation already in OUT is not replaced unless --overwrite says so (issue 20).
if "$FUNNEL" -q simulate "${SIM[@]}" --seed 2 --out "$W/sim" >/dev/null 2>"$W/err.txt"; then
  echo "simulate into an earlier simulation without --overwrite must fail" >&2
  exit 1
fi
grep -q "already holds a run" "$W/err.txt" || { cat "$W/err.txt"; exit 1; }
test -e "$W/sim/train.csv"
# A rerun without --csv removes the CSV files of the earlier run (they would describe other
# data than the new cache).
"$FUNNEL" -q simulate "${SIM[@]}" --seed 2 --out "$W/sim" --overwrite >/dev/null
test ! -e "$W/sim/train.csv"
echo ok
# List data: the lists preset's cache counts its lists (data stats), and ESMM trains on batches
# of whole lists (train.list_batches) as it does on rows, beating 0.5 AUC clearly. A cache
# without a list column refuses list batches with a one-line error.
"$FUNNEL" -q simulate --preset lists --rows 30000 --set users=2000 --set items=5000 \
    --out "$W/lists" >/dev/null
"$FUNNEL" -q data stats --cache "$W/lists/cache" --json "$W/lists_stats.json" >"$W/lists_stats.txt"
grep -q "lists, mean length 10.00, longest 10" "$W/lists_stats.txt"
"$FUNNEL" -q train --config "$W/lists/experiment.json" --cache "$W/lists/cache" \
    --out "$W/list_run" --set 'model.towers=[32,16]' --set train.epochs=2 \
    --set train.batch_size=500 --set train.list_batches=true --set train.lists_per_batch=40 \
    >/dev/null
/usr/bin/python3 - "$W/list_run/metrics.json" "$W/lists_stats.json" <<'PYEOF'
import json, sys
m, st = (json.load(open(p)) for p in sys.argv[1:])
assert m["test"]["ctr"]["auc"] > 0.6, m["test"]["ctr"]["auc"]
# NDCG per list on the entries over all impressions (lists of 10: the whole list is @10).
ctr = m["test"]["ctr"]
assert 0 < ctr["ndcg"] <= 1 and ctr["ndcg_lists_used"] > 0, ctr
assert abs(ctr["ndcg"] - ctr["ndcg@10"]) < 1e-9 and ctr["ndcg@1"] <= 1, ctr
assert "ndcg" in m["test"]["ctcvr"] and "ndcg" not in m["test"]["cvr"], m["test"]
tr = st["splits"]["train"]["lists"]
assert tr["lists"] * 10 == st["splits"]["train"]["rows"] and tr["ungrouped"] == 0, tr
assert dict(tr["length_histogram"])["6-10"] == tr["lists"], tr
PYEOF
if "$FUNNEL" -q train --config "$W/sim/experiment.json" --cache "$W/sim/cache" --out "$W/nolist" \
    --set train.list_batches=true 2>"$W/err" >/dev/null; then
  echo "list batches accepted a cache without lists"; exit 1
fi
grep -q "train.list_batches: the cache has no list column" "$W/err"
# A list model on text (issue 15): funnel eval reads the test CSV in whole lists and gives the
# metrics that training computed from the cache; predict scores every row; input whose lists
# are not grouped, or not ordered by position, is an error naming the file and line.
"$FUNNEL" -q simulate --preset lists --rows 30000 --set users=2000 --set items=5000 --csv \
    --out "$W/lcsv" >/dev/null
/usr/bin/python3 - "$W/lcsv/experiment.json" "$W/lcsv/lstm.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
j["model"] = {"name": "lstm", "hidden": 16, "encoder": [16]}
json.dump(j, open(sys.argv[2], "w"))
PYEOF
"$FUNNEL" -q train --config "$W/lcsv/lstm.json" --cache "$W/lcsv/cache" --out "$W/lstm_run" \
    --set train.epochs=2 --set train.batch_size=500 >/dev/null
"$FUNNEL" -q eval --bundle "$W/lstm_run/model.bundle" --config "$W/lcsv/lstm.json" \
    --json "$W/lstm_eval.json" >/dev/null
/usr/bin/python3 - "$W/lstm_run/metrics.json" "$W/lstm_eval.json" <<'PYEOF'
import json, sys
m, e = (json.load(open(p)) for p in sys.argv[1:])
for entry in ("ctr", "cvr", "ctcvr"):
    assert abs(e["test"][entry]["auc"] - m["test"][entry]["auc"]) < 1e-6, entry
assert abs(e["test"]["ctr"]["ndcg"] - m["test"]["ctr"]["ndcg"]) < 1e-6
assert m["test"]["ctr"]["auc"] > 0.6, m["test"]["ctr"]["auc"]
# Both oracles of list data: the behavioural truth knows the realised history, the inherent
# one does not, so it ranks clicks worse.
beh, inh = m["oracle"]["test"]["ctr"]["auc"], m["oracle_inherent"]["test"]["ctr"]["auc"]
assert 0.5 < inh < beh, (inh, beh)
PYEOF
# The CSV (with both truths) converts to the simulator's cache, byte for byte.
"$FUNNEL" -q data convert --config "$W/lcsv/experiment.json" --out "$W/lconverted" >/dev/null
for f in $(cd "$W/lconverted" && find . -type f ! -name meta.json); do
  cmp "$W/lconverted/$f" "$W/lcsv/cache/$f"
done
"$FUNNEL" -q predict --bundle "$W/lstm_run/model.bundle" --input "$W/lcsv/test.csv" \
    --out "$W/lstm_pred.csv" >/dev/null
test "$(wc -l <"$W/lstm_pred.csv")" -eq "$(wc -l <"$W/lcsv/test.csv")"
/usr/bin/python3 - "$W/lcsv/test.csv" "$W/ungrouped.csv" "$W/unordered.csv" <<'PYEOF'
import sys
lines = open(sys.argv[1]).read().splitlines(True)
# Line 3 (the first list's second row) moved after the second list (lists of 10): line 21.
ungrouped = lines[:2] + lines[3:21] + [lines[2]] + lines[21:]
open(sys.argv[2], "w").writelines(ungrouped)
# The first list's second and third rows swapped: position 2 at line 4, after 3.
unordered = lines[:2] + [lines[3], lines[2]] + lines[4:]
open(sys.argv[3], "w").writelines(unordered)
PYEOF
for bad in ungrouped:21:"must be grouped by list" unordered:4:"ordered by position"; do
  IFS=: read -r name line msg <<<"$bad"
  if "$FUNNEL" -q predict --bundle "$W/lstm_run/model.bundle" --input "$W/$name.csv" \
      --out "$W/bad_pred.csv" 2>"$W/err" >/dev/null; then
    echo "predict accepted $name input"; exit 1
  fi
  grep -q "$name.csv:$line" "$W/err" || { cat "$W/err"; exit 1; }
  grep -q "$msg" "$W/err" || { cat "$W/err"; exit 1; }
done
echo "simulate + train ok"
