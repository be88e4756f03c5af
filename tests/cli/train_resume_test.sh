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
assert epochs == [1, 2, 3], epochs
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

# Run folders (issue 20): a finished run is not replaced without --overwrite, and a folder in
# use by another process (its lock held, here by flock(1)) is refused at once.
before=$(md5sum "$W/whole/metrics.json")
if "$FUNNEL" -q train --config "$CFG" --cache "$W/cache" --out "$W/whole" "${common[@]}" 2>"$W/err"; then
  echo "train into a finished run without --overwrite must fail" >&2
  exit 1
fi
grep -q "already holds a run" "$W/err" || { cat "$W/err" >&2; exit 1; }
[ "$(md5sum "$W/whole/metrics.json")" = "$before" ] || { echo "the refused run touched metrics.json" >&2; exit 1; }
"$FUNNEL" -q train --config "$CFG" --cache "$W/cache" --out "$W/whole" "${common[@]}" \
    --set train.epochs=1 --overwrite >/dev/null
epochs=$(wc -l <"$W/whole/log.jsonl")
[ "$epochs" = 1 ] || { echo "--overwrite kept the old log ($epochs lines)" >&2; exit 1; }
mkdir -p "$W/busy"
flock "$W/busy/.lock" sleep 30 &
holder=$!
for _ in $(seq 1 50); do flock -n "$W/busy/.lock" true 2>/dev/null || break; sleep 0.1; done
if "$FUNNEL" -q train --config "$CFG" --cache "$W/cache" --out "$W/busy" "${common[@]}" 2>"$W/err"; then
  kill "$holder"
  echo "train into a folder in use must fail" >&2
  exit 1
fi
kill "$holder"
wait "$holder" 2>/dev/null || true
grep -q "in use by another process" "$W/err" || { cat "$W/err" >&2; exit 1; }
[ ! -e "$W/busy/metrics.json" ] || { echo "the refused run wrote into the busy folder" >&2; exit 1; }
echo "ok"
