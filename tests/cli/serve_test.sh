#!/usr/bin/env bash
# `funnel serve` as a process: it prints its URL (a free loopback port), answers the rows of a
# CSV file with the scores `funnel predict` writes for them (to 1e-6), reports its metrics,
# reloads its bundle on request, and stops on SIGTERM with exit status 0.
set -euo pipefail
FUNNEL=$1
W=$(mktemp -d)
SERVER=
cleanup() {
  if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then kill -KILL "$SERVER"; fi
  rm -rf "$W"
}
trap cleanup EXIT
"$FUNNEL" -q simulate --preset aliccp-like --rows 20000 --set users=2000 --set items=5000 \
    --csv --out "$W/sim" >/dev/null
"$FUNNEL" -q train --config "$W/sim/experiment.json" --cache "$W/sim/cache" --out "$W/run" \
    --set 'model.towers=[16,8]' --set train.epochs=1 --set embedding.dim=8 >/dev/null
head -41 "$W/sim/test.csv" >"$W/rows.csv"
"$FUNNEL" -q predict --bundle "$W/run/model.bundle" --input "$W/rows.csv" --out "$W/pred.csv"

"$FUNNEL" serve --bundle "esmm=$W/run/model.bundle" --port 0 --port-file "$W/port" \
    --threads 2 >"$W/serve.out" 2>"$W/serve.err" &
SERVER=$!
for _ in $(seq 1 100); do [ -s "$W/port" ] && break; sleep 0.1; done
PORT=$(cat "$W/port")
grep -q "serving esmm on http://127.0.0.1:$PORT" "$W/serve.out"

/usr/bin/python3 - "$PORT" "$W" <<'PYEOF'
import csv, json, sys, urllib.request
port, w = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}"
def call(path, body=None):
    req = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        r = urllib.request.urlopen(req, timeout=10)
        return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
status, text = call("/v1/models")
assert status == 200, text
fields = json.loads(text)["models"][0]["fields"]
rows = list(csv.DictReader(open(w + "/rows.csv")))
items = []
for k, r in enumerate(rows):
    item = {"id": k}
    for f in fields:
        v = r[f["name"]]
        item[f["name"]] = float(v) if f["kind"] == "numeric" else v
    items.append(item)
status, text = call("/v1/score", {"items": items})
assert status == 200, text
answer = json.loads(text)
assert answer["model"] == "esmm" and answer["events"] == ["click", "purchase"], answer.keys()
pred = list(csv.DictReader(open(w + "/pred.csv")))
assert len(pred) == len(items) == len(answer["scores"]) == 40
for k, (s, p) in enumerate(zip(answer["scores"], pred)):
    assert s["id"] == k
    for col in ("pctr", "pcvr", "pctcvr"):
        assert abs(s[col] - float(p[col])) <= 1e-6 + 1e-5 * abs(float(p[col])), (k, col, s[col], p[col])
status, text = call("/v1/score", {"items": [{"id": 1}]})
assert status == 400 and "missing" in json.loads(text)["error"], text
status, text = call("/v1/reload", {})
assert status == 200 and json.loads(text)["esmm"]["status"] == "reloaded", text
status, text = call("/metrics")
assert 'funnel_items_scored_total{model="esmm"} 40' in text, text
assert 'funnel_requests_total{route="/v1/score",status="400"} 1' in text, text
print("served", len(items), "items equal to funnel predict")
PYEOF

# SIGTERM drains: a request whose body is still arriving when the signal comes is answered.
/usr/bin/python3 - "$PORT" "$SERVER" "$W" <<'PYEOF'
import csv, json, os, signal, socket, sys, time
port, pid, w = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rows = list(csv.DictReader(open(w + "/rows.csv")))
fields = [c for c in rows[0] if c not in ("click", "purchase") and not c.startswith("true_")]
body = json.dumps({"items": [{f: rows[0][f] for f in fields}]}).encode()
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10])
time.sleep(0.3)
os.kill(pid, signal.SIGTERM)
time.sleep(0.3)
s.sendall(body[10:])
s.settimeout(10)
answer = b""
while b"\r\n\r\n" not in answer:
    chunk = s.recv(4096)
    if not chunk:
        break
    answer += chunk
assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
print("in-flight request answered after SIGTERM")
PYEOF
status=0
wait "$SERVER" || status=$?
SERVER=
[ "$status" -eq 0 ] || { echo "funnel serve exited $status after SIGTERM"; cat "$W/serve.err"; exit 1; }
grep -q "SIGTERM" "$W/serve.err"

# A list model (issue 15): a request is one list, its items in the order shown, scored as
# funnel predict scores the same list in a file; and the same items as two requests of five
# are two lists, so the second half scores differently (it has no history).
"$FUNNEL" -q simulate --preset lists --rows 30000 --set users=2000 --set items=5000 --csv \
    --out "$W/lists" >/dev/null
/usr/bin/python3 - "$W/lists/experiment.json" "$W/lists/lstm.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
j["model"] = {"name": "lstm", "hidden": 8, "encoder": [8]}
json.dump(j, open(sys.argv[2], "w"))
PYEOF
"$FUNNEL" -q train --config "$W/lists/lstm.json" --cache "$W/lists/cache" --out "$W/lstm" \
    --set train.epochs=1 --set train.batch_size=500 >/dev/null
head -11 "$W/lists/test.csv" >"$W/list.csv"
"$FUNNEL" -q predict --bundle "$W/lstm/model.bundle" --input "$W/list.csv" --out "$W/list_pred.csv"
"$FUNNEL" serve --bundle "$W/lstm/model.bundle" --port 0 --port-file "$W/lport" \
    >"$W/lserve.out" 2>"$W/lserve.err" &
SERVER=$!
for _ in $(seq 1 100); do [ -s "$W/lport" ] && break; sleep 0.1; done
/usr/bin/python3 - "$(cat "$W/lport")" "$W" <<'PYEOF'
import csv, json, sys, urllib.request
port, w = sys.argv[1], sys.argv[2]
def score(items):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/score",
                                 data=json.dumps({"items": items}).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=10).read().decode())["scores"]
req = urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=10)
fields = json.loads(req.read().decode())["models"][0]["fields"]
rows = list(csv.DictReader(open(w + "/list.csv")))
assert len({r["session"] for r in rows}) == 1, "the first 10 test rows are one list"
items = [{f["name"]: float(r[f["name"]]) if f["kind"] == "numeric" else r[f["name"]]
          for f in fields} for r in rows]
whole = score(items)
pred = list(csv.DictReader(open(w + "/list_pred.csv")))
assert len(whole) == len(pred) == 10
for s, p in zip(whole, pred):
    for col in ("pctr", "pcvr", "pctcvr"):
        assert abs(s[col] - float(p[col])) <= 1e-6 + 1e-5 * abs(float(p[col])), (col, s, p)
halves = score(items[:5]) + score(items[5:])
assert all(abs(a["pctr"] - b["pctr"]) < 1e-7 for a, b in zip(halves[:5], whole[:5]))
assert any(abs(a["pctr"] - b["pctr"]) > 1e-6 for a, b in zip(halves[5:], whole[5:]))
print("a list model serves a request as one list")
PYEOF
kill -TERM "$SERVER"
status=0
wait "$SERVER" || status=$?
SERVER=
[ "$status" -eq 0 ] || { echo "funnel serve (lstm) exited $status"; cat "$W/lserve.err"; exit 1; }
echo "ok"
