#!/usr/bin/env bash
# `funnel train --resume`: a run stopped after its first epoch and resumed with the full epoch
# count ends with the same test metrics and bundle scores as a run that was never interrupted
# (one thread, no dropout: the shuffle order is fixed per epoch). Also: --resume without a
# checkpoint is a clear error.
set -euo pipefail
FUNNEL=$1
SRC=$2
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
CFG="$SRC/examples/aliccp_rechub.json"
common=(--set model.name=esmm --set 'model.towers=[16,8]' --set train.batch_size=16 --set train.patience=0)

"$FUNNEL" -q data convert --config "$CFG" --out "$W/cache" >/dev/null
"$FUNNEL" -q train --config "$CFG" --cache "$W/cache" --out "$W/whole" "${common[@]}" \
    --set train.epochs=3 >/dev/null
"$FUNNEL" -q train --config "$CFG" --cache "$W/cache" --out "$W/resumed" "${common[@]}" \
    --set train.epochs=1 >/dev/null
"$FUNNEL" -q train --config "$CFG" --cache "$W/cache" --out "$W/resumed" "${common[@]}" \
    --set train.epochs=3 --resume >/dev/null

/usr/bin/python3 - "$W/whole" "$W/resumed" <<'PYEOF'
import json, sys
whole, resumed = (json.load(open(d + "/metrics.json")) for d in sys.argv[1:])
for key in ("test", "validation"):
    assert whole[key] == resumed[key], (key, whole[key], resumed[key])
assert whole["timing"]["steps"] == resumed["timing"]["steps"], (whole["timing"], resumed["timing"])
epochs = [json.loads(l)["epoch"] for l in open(sys.argv[2] + "/log.jsonl")]
assert epochs == [0, 1, 2], epochs
# The second invocation went on after the first epoch (a fresh 3-epoch run would give the same
# numbers, so this is what shows that the checkpoint was used).
assert resumed.get("resumed") == {"epochs_done": 1}, resumed.get("resumed")
assert "resumed" not in whole
print("resumed run equals the uninterrupted one:", whole["test"]["ctr"]["auc"], whole["timing"]["steps"], "steps")
PYEOF

for run in whole resumed; do
  "$FUNNEL" -q predict --bundle "$W/$run/model.bundle" \
      --input "$SRC/tests/data/real-samples/aliccp_rechub_test.csv" --out "$W/$run.csv" >/dev/null
done
cmp "$W/whole.csv" "$W/resumed.csv"

if "$FUNNEL" -q train --config "$CFG" --cache "$W/cache" --out "$W/none" --set model.name=esmm --resume 2>"$W/err"; then
  echo "--resume without a checkpoint must fail" >&2
  exit 1
fi
grep -q "no checkpoint" "$W/err" || { cat "$W/err" >&2; exit 1; }
echo "ok"
