#!/usr/bin/env bash
# TAML from the command line: trained on a small simulated funnel it learns (AUC well above
# 0.5, below the oracle); `funnel inspect gates` writes the mean gate weight of each expert
# group per task and learner (adding up to 1) as JSON and a self-contained SVG; its Fig. 3
# ablations run side by side in `funnel compare` as named variants.
set -euo pipefail
FUNNEL=$1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$FUNNEL" -q simulate --preset aliccp-like --rows 40000 --set users=2000 --set items=5000 \
    --set cvr=0.05 --out "$W/sim" >/dev/null
common=(--set 'model={"name":"taml"}' --set train.epochs=2 --set train.batch_size=500
        --set embedding.dim=8)
"$FUNNEL" -q train --config "$W/sim/experiment.json" --cache "$W/sim/cache" --out "$W/run" \
    "${common[@]}" >/dev/null
"$FUNNEL" -q inspect gates --bundle "$W/run/model.bundle" --cache "$W/sim/cache" \
    --json "$W/gates.json" --svg "$W/gates.svg" >"$W/gates.txt"
grep -q "learner" "$W/gates.txt"
# funnel train wrote the same gate weights (test split) beside its metrics; the report draws them.
test -s "$W/run/gates.json"
"$FUNNEL" -q report "$W/run" --out "$W/report.html" >/dev/null
grep -q 'id="fig-gates-1"' "$W/report.html"
/usr/bin/python3 - "$W" <<'PYEOF'
import json, sys
w = sys.argv[1]
a, b = json.load(open(w + "/run/gates.json")), json.load(open(w + "/gates.json"))
assert a["rows"] == b["rows"] and a["split"] == "test", (a["rows"], b["rows"])
for ta, tb in zip(a["tasks"], b["tasks"]):
    for la, lb in zip(ta["learners"], tb["learners"]):
        assert abs(la["general"] - lb["general"]) < 1e-9, (la, lb)
PYEOF
"$FUNNEL" -q compare --config "$W/sim/experiment.json" --cache "$W/sim/cache" --out "$W/cmp" \
    --models taml,taml_1learner,taml_nokd,taml_nohtakr --seeds 1 --set train.epochs=1 \
    --set train.batch_size=500 --set embedding.dim=8 \
    --set 'compare.models.taml={"towers":null}' \
    --set 'compare.variants.taml_1learner={"model":"taml","learners":1}' \
    --set 'compare.variants.taml_nokd={"model":"taml","distill_first":0,"distill_later":0}' \
    --set 'compare.variants.taml_nohtakr={"model":"taml","htakr":false}' >/dev/null

/usr/bin/python3 - "$W" <<'PYEOF'
import json, sys
import xml.etree.ElementTree as ET
w = sys.argv[1]
m = json.load(open(w + "/run/metrics.json"))
assert m["model"] == "taml" and m["config"]["model"]["learners"] == 2, m["config"]["model"]
for entry, floor in (("ctr", 0.6), ("cvr", 0.55), ("ctcvr", 0.6)):
    model, oracle = m["test"][entry]["auc"], m["oracle"]["test"][entry]["auc"]
    assert floor < model < oracle + 0.01, (entry, model, oracle)
g = json.load(open(w + "/gates.json"))
assert g["model"] == "taml" and g["rows"] > 0, g
assert g["groups"] == {"general": 2, "task": 1, "learner": 1}, g["groups"]
assert [t["event"] for t in g["tasks"]] == ["click", "purchase"], g["tasks"]
for t in g["tasks"]:
    assert len(t["learners"]) == 2
    for l in t["learners"]:
        total = l["general"] + l["task"] + l["learner_specific"]
        assert abs(total - 1) < 1e-6 and abs(sum(l["experts"]) - 1) < 1e-6, l
svg = ET.parse(w + "/gates.svg").getroot()
bars = [e for e in svg.iter() if e.get("class") == "bar"]
assert len(bars) == 2 * 2 * 3, len(bars)
c = json.load(open(w + "/cmp/compare.json"))
runs = {r["model"]: r for r in c["runs"]}
assert all(r["status"] == "ok" for r in runs.values()), [r.get("error") for r in runs.values()]
assert runs["taml_1learner"]["config"]["model"]["learners"] == 1
assert runs["taml_nokd"]["config"]["model"]["distill_later"] == 0
assert runs["taml_nohtakr"]["config"]["model"]["htakr"] is False
assert all(r["config"]["model"]["name"] == "taml" for r in runs.values())
PYEOF
# Gate weights are TAML's: another model's bundle is a clear error.
"$FUNNEL" -q train --config "$W/sim/experiment.json" --cache "$W/sim/cache" --out "$W/esmm" \
    --set train.epochs=1 --set 'model.towers=[8]' --set embedding.dim=8 >/dev/null
if "$FUNNEL" -q inspect gates --bundle "$W/esmm/model.bundle" --cache "$W/sim/cache" \
    2>"$W/err"; then echo "inspect gates accepted esmm"; exit 1; fi
grep -q "TAML" "$W/err"
echo "ok"
