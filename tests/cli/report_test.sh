#!/usr/bin/env bash
# `funnel report` end to end: a train run, an AutoHERI search and a comparison with a failed
# run (ESM2 on a two-event funnel) on one page; every section and figure is there (by id),
# the failed run is shown as failed, the page is self-contained and passes the browser check
# (scripts/check_report.py: headless Chromium, no console message, no network request, a
# screenshot that is not blank, every SVG well-formed with a viewBox). The checker itself must
# fail on a page that breaks those rules. `funnel eval --curves` writes a run's curves.json.
set -euo pipefail
FUNNEL=$1
SRC=$2
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$FUNNEL" -q simulate --preset aliccp-like --rows 30000 --set users=2000 --set items=5000 \
    --set cvr=0.05 --out "$W/sim" --csv >/dev/null
common=(--set 'model.towers=[16,8]' --set embedding.dim=8 --set train.batch_size=256
        --set train.epochs=2 --set train.eval_every_steps=40)
"$FUNNEL" -q train --config "$W/sim/experiment.json" --cache "$W/sim/cache" --out "$W/run" \
    "${common[@]}" >/dev/null
for f in loss.jsonl curves.json log.jsonl metrics.json; do
  test -s "$W/run/$f" || { echo "train wrote no $f"; exit 1; }
done
"$FUNNEL" -q eval --bundle "$W/run/model.bundle" --config "$W/sim/experiment.json" \
    --curves "$W/eval_curves.json" >/dev/null
"$FUNNEL" -q search --config "$W/sim/experiment.json" --cache "$W/sim/cache" --out "$W/search" \
    "${common[@]}" --set model.name=autoheri --set search.alpha_log_every=10 --no-bundle >/dev/null
"$FUNNEL" -q compare --config "$W/sim/experiment.json" --cache "$W/sim/cache" --out "$W/cmp" \
    --models esmm,dnn,esm2 --seeds 2 "${common[@]}" --set train.epochs=1 >/dev/null 2>&1

"$FUNNEL" -q report "$W/run" "$W/search" "$W/cmp" --out "$W/report.html" >/dev/null
# A folder without results is a one-line error naming it.
mkdir "$W/empty"
if "$FUNNEL" -q report "$W/empty" --out "$W/bad.html" 2>"$W/err"; then
  echo "report accepted an empty folder"; exit 1
fi
grep -q "empty: not a result folder" "$W/err"

/usr/bin/python3 - "$W" <<'PYEOF'
import json, re, sys
w = sys.argv[1]
html = open(w + "/report.html").read()
# The loss log: a line per 10 steps (train.log_loss_every), steps increasing.
loss = [json.loads(l) for l in open(w + "/run/loss.jsonl")]
assert len(loss) >= 5 and all(b["step"] - a["step"] == 10 for a, b in zip(loss, loss[1:])), loss[:3]
# curves.json: the test split's rows in the bins; the cvr entry counts clicked rows only.
c = json.load(open(w + "/run/curves.json"))
m = json.load(open(w + "/run/metrics.json"))
for e in ("ctr", "cvr", "ctcvr"):
    assert sum(b["count"] for b in c["entries"][e]["reliability"]) == m["test"][e]["count"], e
    roc = c["entries"][e]["roc"]
    assert roc["fpr"][0] == 0 and roc["fpr"][-1] == 1 and roc["tpr"][-1] == 1, e
assert c["entries"]["cvr"]["rows"] < c["entries"]["ctr"]["rows"]
assert m["data"]["rows"]["train"] > 0 and m["machine"]["cpus"] >= 1
ev = json.load(open(w + "/eval_curves.json"))
assert ev["split"] == "test" and set(ev["entries"]) == set(c["entries"])
# Sections and figures by id.
ids = """overview fig-overview-validation summary-1 metrics-1 training-1 calibration-1
fig-loss-1 fig-validation-1 fig-reliability-ctr-1 fig-reliability-cvr-1 fig-roc-1
summary-2 arch-2 fig-arch-2 fig-alpha-1-2 training-2 summary-3 compare-3 fig-compare-auc-3
fig-compare-time-3 fig-compare-validation-3 runs-table-3""".split()
for i in ids:
    assert 'id="%s"' % i in html, i
open(w + "/ids", "w").write(",".join(ids))
# The oracle row and the gap in the train run's metrics table.
assert "gap to the oracle" in html and '<tr class="oracle">' in html
# The failed runs: both ESM2 seeds, marked failed with their error.
table = html[html.index('id="runs-table-3"'):]
table = table[:table.index("</table>")]
failed = re.findall(r'<tr class="failed"><td>esm2</td><td>(\d)</td><td><span class="status-failed">failed</span>', table)
assert sorted(failed) == ["1", "2"], failed
assert table.count("<td>ok</td>") == 4
# The bar chart: 2 models with results x 2 metrics + the oracle's 2 bars; ESM2 has none (n/a).
fig = html[html.index('id="fig-compare-auc-3"'):]
fig = fig[:fig.index("</figure>")]
assert fig.count('class="bar"') == 6, fig.count('class="bar"')
assert ">n/a<" in fig
PYEOF

/usr/bin/python3 "$SRC/scripts/check_report.py" "$W/report.html" --ids "$(cat "$W/ids")" >/dev/null
# The checker fails a page that is not self-contained or has a broken picture.
cat >"$W/broken.html" <<'EOF2'
<!DOCTYPE html><html><body><div id="x">x</div>
<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>
<img src="http://127.0.0.1:9/none.png"><script>console.error("boom")</script></body></html>
EOF2
set +e
/usr/bin/python3 "$SRC/scripts/check_report.py" "$W/broken.html" --ids x,missing 2>"$W/check_err"
rc=$?
set -e
test "$rc" -eq 1 || { echo "the checker returned $rc on a broken page"; cat "$W/check_err"; exit 1; }
for what in "not well-formed" "<img>" "<script>" "console message" "network request" \
    "id missing is not in the page"; do
  grep -q -- "$what" "$W/check_err" || { echo "the checker missed: $what"; cat "$W/check_err"; exit 1; }
done
echo "report ok"
