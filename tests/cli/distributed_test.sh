#!/usr/bin/env bash
# `funnel train --workers N` end to end on loopback (docs/distributed.md): 2 and 3 ranks reach
# the test metrics of one process on the same data and seed (the same global batch), only
# rank 0 writes, the bundle scores like the run's own evaluation, a killed rank fails the run
# with an error naming it, and a 2-rank run resumed after kill -9 ends like an uninterrupted
# one. Every process binds 127.0.0.1 and every run is bounded in time.
set -euo pipefail
FUNNEL=$1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$FUNNEL" -q simulate --preset aliccp-like --rows 30000 --set users=2000 --set items=4000 \
    --set cvr=0.1 --csv --out "$W/sim" >/dev/null
SET=(--set train.epochs=2 --set train.batch_size=512 --set 'model.towers=[32,16]'
     --set embedding.dim=8 --set train.threads=1)
timeout 300 "$FUNNEL" -q train --config "$W/sim/experiment.json" --cache "$W/sim/cache" \
    --out "$W/one" "${SET[@]}" >/dev/null
for n in 2 3; do
  timeout 300 "$FUNNEL" -q train --config "$W/sim/experiment.json" --cache "$W/sim/cache" \
      --out "$W/w$n" --workers "$n" --dist-check-every 20 "${SET[@]}" >/dev/null
done
/usr/bin/python3 - "$W" <<'PYEOF'
import json, os, sys
w = sys.argv[1]
one = json.load(open(f"{w}/one/metrics.json"))
for n in (2, 3):
    m = json.load(open(f"{w}/w{n}/metrics.json"))
    d = m["distributed"]
    assert d["world_size"] == n, d
    # Every row trained on but those of global batches too small to cut (none here).
    assert m["timing"]["samples"] + d["dropped_rows"] == one["timing"]["samples"], m["timing"]
    for e in ("ctr", "cvr", "ctcvr"):
        a, b = one["test"][e]["auc"], m["test"][e]["auc"]
        print(f"{n} ranks {e}: AUC {b:.5f} (one process {a:.5f})")
        assert abs(a - b) < 3e-3, (n, e, a, b)
    # Rank 0 writes the run; every rank keeps its own checkpoint.
    for f in ("metrics.json", "model.bundle", "log.jsonl", "curves.json"):
        assert os.path.exists(f"{w}/w{n}/{f}"), f
    ranks = sorted(os.listdir(f"{w}/w{n}/checkpoint/last"))
    assert ranks == [f"rank-{r}" for r in range(n)], ranks
    assert d["all_to_all_bytes_per_step"] > 0 and d["all_reduce_bytes_per_step"] > 0, d
PYEOF
# The bundle holds the whole tables: funnel eval on the test split gives the run's metrics.
"$FUNNEL" -q eval --bundle "$W/w2/model.bundle" --config "$W/sim/experiment.json" \
    --json "$W/eval.json" >/dev/null
/usr/bin/python3 - "$W" <<'PYEOF'
import json, sys
w = sys.argv[1]
m = json.load(open(f"{w}/w2/metrics.json"))["test"]
e = json.load(open(f"{w}/eval.json"))["test"]
for k in ("ctr", "cvr", "ctcvr"):
    assert abs(m[k]["auc"] - e[k]["auc"]) < 1e-6, (k, m[k]["auc"], e[k]["auc"])
print("bundle of the 2-rank run scores like its evaluation")
PYEOF
# A rank killed with SIGKILL at step 5: the run fails, naming it, well within the timeout.
start=$(date +%s)
if FUNNEL_TEST_KILL_RANK=1:5 timeout 120 "$FUNNEL" -q train --config "$W/sim/experiment.json" \
    --cache "$W/sim/cache" --out "$W/killed" --workers 2 "${SET[@]}" 2>"$W/killed.err"; then
  echo "a run with a killed rank succeeded"; exit 1
fi
took=$(( $(date +%s) - start ))
grep -q "rank 1 was killed by signal 9" "$W/killed.err" || { cat "$W/killed.err"; exit 1; }
[ "$took" -lt 60 ] || { echo "the failure took ${took}s to surface"; exit 1; }
echo "killed rank reported in ${took}s: $(tail -1 "$W/killed.err")"
# Resume: rank 1 killed in epoch 2 (step 50 of ~47 per epoch); --resume goes on from the
# checkpoint of epoch 1 and ends like the uninterrupted 2-rank run.
if FUNNEL_TEST_KILL_RANK=1:50 timeout 120 "$FUNNEL" -q train --config "$W/sim/experiment.json" \
    --cache "$W/sim/cache" --out "$W/resumed" --workers 2 "${SET[@]}" 2>/dev/null; then
  echo "the run to resume did not fail"; exit 1
fi
timeout 300 "$FUNNEL" -q train --config "$W/sim/experiment.json" --cache "$W/sim/cache" \
    --out "$W/resumed" --workers 2 --resume "${SET[@]}" >/dev/null
/usr/bin/python3 - "$W" <<'PYEOF'
import json, sys
w = sys.argv[1]
a = json.load(open(f"{w}/w2/metrics.json"))["test"]
b = json.load(open(f"{w}/resumed/metrics.json"))["test"]
for k in ("ctr", "cvr", "ctcvr"):
    print(f"resumed {k}: AUC {b[k]['auc']:.6f} (uninterrupted {a[k]['auc']:.6f})")
    assert abs(a[k]["auc"] - b[k]["auc"]) < 1e-4, (k, a[k]["auc"], b[k]["auc"])
PYEOF
echo "ok"
