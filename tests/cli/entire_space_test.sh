#!/usr/bin/env bash
# ESCM² (IPS, DR) and DCMT end to end: each, trained on a small simulated click -> purchase
# funnel, learns (test AUC clearly above 0.5) and stays below the oracle (the true
# probabilities), through `funnel compare` (one seed each).
set -euo pipefail
FUNNEL=$1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$FUNNEL" -q simulate --preset aliccp-like --rows 80000 --set users=3000 --set items=8000 \
    --set cvr=0.05 --out "$W/sim" >/dev/null
"$FUNNEL" -q compare --config "$W/sim/experiment.json" --cache "$W/sim/cache" --out "$W/cmp" \
    --models escm2_ips,escm2_dr,dcmt --seeds 1 --set 'model.towers=[64,32]' \
    --set 'compare.models.escm2_dr={"imputation_towers":[16]}' --set train.epochs=3 \
    --set train.batch_size=500 --set embedding.dim=8 >/dev/null
/usr/bin/python3 - "$W/cmp/compare.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))
oracle = c["oracle"]["test"]
assert [r["model"] for r in c["runs"]] == ["escm2_ips", "escm2_dr", "dcmt"], c["runs"]
for r in c["runs"]:
    assert r["status"] == "ok", r.get("error")
    for entry, floor in (("ctr", 0.6), ("cvr", 0.55), ("ctcvr", 0.6)):
        auc = r["test"][entry]["auc"]
        print(f'{r["model"]} {entry}: AUC {auc:.4f} (oracle {oracle[entry]["auc"]:.4f})')
        assert floor < auc < oracle[entry]["auc"] + 0.01, (r["model"], entry, auc)
PYEOF
echo "ok"
