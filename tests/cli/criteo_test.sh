#!/usr/bin/env bash
# The Criteo attribution path end to end: `funnel simulate --preset lists --criteo` writes the
# file in time order, scripts/criteo_split.sh splits it by list, and
# examples/criteo_attribution.json (its data and model sections) converts it, the converter
# grouping each part's interleaved lists (data.group_lists), and trains HEROES on it. The item conversions of the cache are the simulated purchases.
set -euo pipefail
FUNNEL=$1
SRC=$2
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$FUNNEL" -q simulate --preset lists --rows 30000 --set cvr=0.1 --criteo --no-cache \
    --out "$W/sim" >"$W/sim.txt"
grep -q "criteo attribution file: $W/sim/criteo_attribution_dataset.tsv" "$W/sim.txt"
# Another preset has no lists to write as Criteo sequences.
if "$FUNNEL" -q simulate --preset aliccp-like --rows 1000 --criteo --out "$W/x" 2>"$W/err.txt"; then
  echo "expected --criteo to need --preset lists" >&2
  exit 1
fi
grep -q -- "--criteo needs --preset lists" "$W/err.txt"

bash "$SRC/scripts/criteo_split.sh" "$W/sim/criteo_attribution_dataset.tsv" "$W/parts"
mkdir -p "$W/cfg"
cp -r "$W/parts" "$W/cfg/criteo"
cp "$SRC/examples/criteo_attribution.json" "$W/cfg/"
"$FUNNEL" -q data convert --config "$W/cfg/criteo_attribution.json" --out "$W/cache" >/dev/null
"$FUNNEL" -q data stats --cache "$W/cache" --json "$W/stats.json" >/dev/null
/usr/bin/python3 - "$W/stats.json" "$W/sim/criteo_attribution_dataset.tsv" <<'PYEOF'
import json, sys
stats = json.load(open(sys.argv[1]))
rows = clicks = purchases = 0
seqs = set()
with open(sys.argv[2]) as f:
    header = f.readline().rstrip("\n").split("\t")
    col = {name: i for i, name in enumerate(header)}
    for line in f:
        c = line.rstrip("\n").split("\t")
        rows += 1
        clicks += c[col["click"]] == "1"
        purchases += (c[col["click"]] == "1" and c[col["conversion"]] == "1"
                      and int(c[col["click_pos"]]) == int(c[col["click_nb"]]) - 1)
        seqs.add((c[col["uid"]], c[col["conversion_id"]]))
splits = stats["splits"]
assert sorted(splits) == ["test", "train", "validation"], sorted(splits)
got_rows = sum(s["rows"] for s in splits.values())
got_lists = sum(s["lists"]["lists"] for s in splits.values())
pos = [sum(s["events"][e]["positives"] for s in splits.values()) for e in ("click", "conversion")]
print(f"rows {got_rows}/{rows}, lists {got_lists}/{len(seqs)}, clicks {pos[0]}/{clicks}, "
      f"conversions {pos[1]}/{purchases}")
assert got_rows == rows and got_lists == len(seqs)
assert pos == [clicks, purchases] and purchases > 50
for name, s in splits.items():
    assert s["lists"]["ungrouped"] == 0 and s["lists"]["unordered"] == 0, name
    assert s["lists"]["sorted"], name  # the time-ordered parts were grouped by the converter
PYEOF
"$FUNNEL" -q train --config "$W/cfg/criteo_attribution.json" --cache "$W/cache" --out "$W/run" \
    --set train.epochs=1 --set train.max_steps=20 --set model.hidden=16 >/dev/null
/usr/bin/python3 - "$W/run/metrics.json" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
for entry in ("ctr", "cvr", "ctcvr"):
    auc = m["test"][entry]["auc"]
    print(f"{entry}: AUC {auc:.4f}")
    assert 0.0 <= auc <= 1.0
PYEOF
