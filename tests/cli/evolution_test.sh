#!/usr/bin/env bash
# `funnel search --method evolution` end to end on a tiny simulated set: the fitness history
# has one line per trained candidate, the same seed gives the same history (fitness and masks;
# times differ), and the best architecture retrains with `funnel train --arch`.
set -euo pipefail
FUNNEL=$1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$FUNNEL" -q simulate --rows 20000 --set users=1000 --set items=3000 --set cvr=0.1 \
    --out "$W/sim" >/dev/null
evo=(--set model.name=autoheri --set 'model.towers=[16,8]' --set evolution.population=3
     --set evolution.sample_size=2 --set evolution.cycles=2 --set evolution.steps_per_candidate=10)
for run in a b; do
  "$FUNNEL" -q search --method evolution --config "$W/sim/experiment.json" --cache "$W/sim/cache" \
      --out "$W/$run" "${evo[@]}" >/dev/null
done
/usr/bin/python3 - "$W/a" "$W/b" <<'PYEOF'
import json, sys
def history(d):
    rows = [json.loads(l) for l in open(d + "/evolution.jsonl")]
    for r in rows:
        r.get("detail", {}).pop("train_seconds", None)
        r.pop("seconds", None)
        r.pop("elapsed_seconds", None)
    return rows
a, b = history(sys.argv[1]), history(sys.argv[2])
m = json.load(open(sys.argv[1] + "/metrics.json"))
assert len(a) == m["timing"]["candidates_trained"] == 3 + 2, (len(a), m["timing"])
assert [r["best_so_far"] for r in a] == [r["best_so_far"] for r in b]
assert json.load(open(sys.argv[1] + "/arch.json")) == json.load(open(sys.argv[2] + "/arch.json"))
print("evolution:", len(a), "candidates, best", a[-1]["best_so_far"])
PYEOF
"$FUNNEL" -q train --config "$W/sim/experiment.json" --cache "$W/sim/cache" --arch "$W/a/arch.json" \
    --out "$W/retrain" --set 'model.towers=[16,8]' --set train.epochs=1 >/dev/null
test -s "$W/retrain/model.bundle"
echo ok
