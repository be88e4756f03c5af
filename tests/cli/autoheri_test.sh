#!/usr/bin/env bash
# AutoHERI from the command line: `funnel search` writes arch.json, arch.svg, alpha.jsonl,
# search_log.jsonl, metrics.json and a bundle; `funnel train --arch` retrains the fixed
# architecture (from scratch, and from the searched weights with --init-from) into a bundle
# that `funnel eval` scores; `funnel arch derive` and `funnel arch plot` work on the file;
# wrong uses are one-line errors.
set -euo pipefail
FUNNEL=$1
SRC=$2
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
CFG="$SRC/examples/aliccp_rechub.json"
common=(--set 'model.towers=[16,8]' --set train.batch_size=16 --set train.epochs=2)

"$FUNNEL" -q data convert --config "$CFG" --out "$W/cache" >/dev/null
"$FUNNEL" -q search --config "$CFG" --cache "$W/cache" --out "$W/search" "${common[@]}" \
    --set model.name=autoheri --set search.alpha_log_every=2 >/dev/null
for f in arch.json arch.svg alpha.jsonl search_log.jsonl metrics.json model.bundle; do
  test -s "$W/search/$f" || { echo "missing $f"; exit 1; }
done
"$FUNNEL" -q train --config "$CFG" --cache "$W/cache" --out "$W/fixed" "${common[@]}" \
    --set model.name=esmm --set model.edge_init=zero --arch "$W/search/arch.json" >/dev/null
"$FUNNEL" -q train --config "$CFG" --cache "$W/cache" --out "$W/warm" "${common[@]}" \
    --set model.name=autoheri --arch "$W/search/arch.json" --init-from "$W/search/model.bundle" \
    >/dev/null
"$FUNNEL" -q eval --bundle "$W/fixed/model.bundle" --config "$CFG" --split test \
    --json "$W/eval.json" >/dev/null
"$FUNNEL" -q arch derive "$W/search/arch.json" --top-k 1 --out "$W/top1.json" >/dev/null
# Validated derivation: top-1 per target layer derives 2 connections, so 3 candidates are
# retrained; the chosen one retrained by `funnel train --arch` reproduces its validation AUC.
"$FUNNEL" -q search --config "$CFG" --cache "$W/cache" --out "$W/validated" "${common[@]}" \
    --set model.name=autoheri --set 'search.derive={"rule":"top_k","k":1}' \
    --set search.validate=true --set train.threads=1 --no-bundle >/dev/null
"$FUNNEL" -q train --config "$CFG" --cache "$W/cache" --out "$W/validated_retrain" \
    "${common[@]}" --set model.name=autoheri --set train.threads=1 --arch "$W/validated/arch.json" \
    >/dev/null
"$FUNNEL" -q arch plot "$W/top1.json" --out "$W/top1.svg"

/usr/bin/python3 - "$W" <<'PYEOF'
import json, sys
import xml.etree.ElementTree as ET
w = sys.argv[1]
arch = json.load(open(w + "/search/arch.json"))
assert arch["format"] == "funnel.autoheri.arch" and arch["version"] == 1, arch
assert arch["events"] == ["click", "purchase"] and arch["towers"] == [16, 8], arch
assert len(arch["edges"]) == 1 and len(arch["edges"][0]["alpha"]) == 2, arch
traj = [json.loads(l) for l in open(w + "/search/alpha.jsonl")]
assert traj[0]["step"] == 0 and traj[-1]["step"] > 0, traj
search = json.load(open(w + "/search/metrics.json"))
assert search["timing"]["iterations"] == traj[-1]["step"], search["timing"]
fixed = json.load(open(w + "/fixed/metrics.json"))
assert fixed["model"] == "autoheri", fixed["model"]
# --arch on an esmm config keeps an edge_init given with it (the bundle's model options).
raw = open(w + "/fixed/model.bundle", "rb").read()
header, _ = json.JSONDecoder().raw_decode(raw[raw.index(b"{"):].decode("latin1"))
assert header["model_options"]["edge_init"] == "zero", header["model_options"]
assert header["model_options"]["alpha"] == "fixed", header["model_options"]
ev = json.load(open(w + "/eval.json"))
assert ev["test"]["ctcvr"]["auc"] == fixed["test"]["ctcvr"]["auc"], (ev, fixed["test"])
top1 = json.load(open(w + "/top1.json"))
assert top1["num_connections"] == 2 and top1["derived_by"] == {"rule": "top_k", "k": 1}, top1
ET.parse(w + "/top1.svg")
val = json.load(open(w + "/validated/metrics.json"))
cands = val["validated_derivation"]["candidates"]
assert [c["connections"] for c in cands] == [0, 1, 2], cands
kept = val["validated_derivation"]["kept"]
best = max(c["fitness"] for c in cands)
assert cands[kept]["fitness"] == best, (kept, cands)
assert all(c["fitness"] < best for c in cands[:kept]), cands  # ties go to fewer connections
varch = json.load(open(w + "/validated/arch.json"))
assert varch["num_connections"] == kept, varch
assert varch["derived_by"] == {"rule": "top_k", "k": 1, "validated": {"kept": kept, "of": 2}}, varch
assert val["timing"]["validate_seconds"] > 0, val["timing"]
retrained = json.load(open(w + "/validated_retrain/metrics.json"))
assert retrained["validation"]["cvr"]["auc"] == cands[kept]["fitness"], (retrained["validation"], cands)
PYEOF

# Errors: one line, non-zero exit.
if "$FUNNEL" -q search --config "$CFG" --cache "$W/cache" --out "$W/bad" --set model.name=esmm \
    2>"$W/err"; then echo "search accepted esmm"; exit 1; fi
grep -q "AutoHERI" "$W/err"
if "$FUNNEL" -q train --config "$CFG" --cache "$W/cache" --out "$W/bad" --set model.name=esmm \
    --init-from "$W/search/model.bundle" 2>"$W/err"; then echo "--init-from without --arch"; exit 1; fi
echo '{"format": "funnel.autoheri.arch", "version": 7}' >"$W/bad.json"
if "$FUNNEL" -q train --config "$CFG" --cache "$W/cache" --out "$W/bad" --set model.name=esmm \
    --arch "$W/bad.json" 2>"$W/err"; then echo "bad arch accepted"; exit 1; fi
grep -q "version" "$W/err"
echo "ok"
