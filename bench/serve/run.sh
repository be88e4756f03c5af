#!/usr/bin/env bash
# Serving benchmark (issue 17): `funnel serve` (ESMM, TAML) against ESMM served from Python
# (python_server.py), closed-loop load from load_client on 127.0.0.1, and the server's RSS
# under constant load.
#   bench/serve/run.sh [BUILD_DIR]
# Environment:
#   ROWS=200000          rows of the simulated aliccp-like data (the test split feeds requests)
#   DATA=DIR             keep / reuse the data, the trained bundles and the export here
#   OUT=DIR              keep the JSON results here (default: a temporary folder)
#   DURATION=10          seconds of timed load per cell (bounded also by MAX_REQUESTS)
#   MAX_REQUESTS=1000000 requests per connection per cell at most
#   WARMUP=50            warm-up requests per connection before each cell
#   MODELS=esmm,taml  THREADS=1,2  ITEMS=1,50,200,1000   the grid
#   PYTHON_REF=1         also the Python reference's grid (ESMM)
#   RSS_MINUTES=10       the RSS run (0 = none): ESMM, RSS_THREADS=2 server threads, one
#                        connection per size in RSS_ITEMS=50,1000, VmRSS every 10 s
#                        (RSS_SECONDS overrides the length, for a short try)
# Every process it starts is stopped at the end (trap); everything listens on 127.0.0.1.
# Results of the latest run: docs/serving_benchmark.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
ROWS=${ROWS:-200000}
DURATION=${DURATION:-10}
MAX_REQUESTS=${MAX_REQUESTS:-1000000}
WARMUP=${WARMUP:-50}
MODELS=${MODELS:-esmm,taml}
THREADS=${THREADS:-1,2}
ITEMS=${ITEMS:-1,50,200,1000}
PYTHON_REF=${PYTHON_REF:-1}
RSS_MINUTES=${RSS_MINUTES:-10}
RSS_THREADS=${RSS_THREADS:-2}
RSS_ITEMS=${RSS_ITEMS:-50,1000}
RSS_SECONDS=${RSS_SECONDS:-$((RSS_MINUTES * 60))}
PY=/usr/bin/python3   # Debian's python3-torch
FUNNEL="$BUILD/src/cli/funnel"
CLIENT="$BUILD/bench/serve/load_client"
EXPORT="$BUILD/bench/serve/export_reference"
for b in "$FUNNEL" "$CLIENT" "$EXPORT"; do
  [ -x "$b" ] || { echo "run.sh: $b is missing (cmake --build $BUILD --target funnel load_client export_reference)" >&2; exit 1; }
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/funnel-serve-bench.XXXXXX")
DATA=${DATA:-$TMP/data}
OUT=${OUT:-$TMP/out}
mkdir -p "$DATA" "$OUT"

# Every process started here, stopped on any exit.
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -TERM "$p" 2>/dev/null || true; fi
  done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
log() { echo "-- $* (load average $(loadavg))" >&2; }

# start_server NAME CMD...: runs CMD (which writes its port to $TMP/NAME.port) in the
# background; sets SERVER_PID and SERVER_PORT once /healthz answers (60 s at most).
start_server() {
  local name=$1
  shift
  rm -f "$TMP/$name.port"
  "$@" >"$OUT/$name.server.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 1 600); do
    [ -s "$TMP/$name.port" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/$name.server.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -s "$TMP/$name.port" ] || { echo "run.sh: $name did not start" >&2; exit 1; }
  SERVER_PORT=$(cat "$TMP/$name.port")
  "$PY" - "$SERVER_PORT" <<'PYEOF'
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=2).read()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit("run.sh: /healthz does not answer")
PYEOF
}

stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}

echo "== machine"
lscpu | grep -E "^Model name|^CPU\(s\)" | sed 's/  */ /g'
grep MemTotal /proc/meminfo
echo "load average: $(loadavg)"
echo "python: $($PY -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__)')"
echo

# --- data and models
SIM="$DATA/sim"
if [ ! -s "$SIM/test.csv" ]; then
  log "simulate $ROWS rows (aliccp-like)"
  "$FUNNEL" -q simulate --preset aliccp-like --rows "$ROWS" --csv --out "$SIM" >/dev/null
fi
train() {  # train NAME [--set ...]
  local name=$1
  shift
  if [ ! -s "$DATA/$name/model.bundle" ]; then
    log "train $name"
    /usr/bin/time -f "$name: %e s wall, %M KB peak RSS" \
      "$FUNNEL" -q train --config "$SIM/experiment.json" --cache "$SIM/cache" --out "$DATA/$name" \
      --set train.epochs=1 "$@" >/dev/null
  fi
}
IFS=, read -r -a MODEL_LIST <<<"$MODELS"
IFS=, read -r -a THREAD_LIST <<<"$THREADS"
IFS=, read -r -a ITEM_LIST <<<"$ITEMS"
for m in "${MODEL_LIST[@]}"; do
  if [ "$m" = esmm ]; then train esmm; else train "$m" --set "model={\"name\":\"$m\"}"; fi
done
TEST_CSV="$SIM/test.csv"
echo "test rows: $(($(wc -l <"$TEST_CSV") - 1)) ($TEST_CSV)"
for m in "${MODEL_LIST[@]}"; do
  echo "$m bundle: $(du -h "$DATA/$m/model.bundle" | cut -f1)"
done

# --- the Python reference: export, then check its scores against Funnel's before any timing
if [ "$PYTHON_REF" = 1 ]; then
  [ -d "$DATA/esmm" ] || { echo "run.sh: PYTHON_REF=1 needs esmm in MODELS" >&2; exit 1; }
  log "export the ESMM bundle for the Python reference"
  "$EXPORT" --bundle "$DATA/esmm/model.bundle" --csv "$TEST_CSV" --out "$DATA/ref" | tee "$OUT/export.json"
  start_server funnel_check "$FUNNEL" -q serve --bundle "esmm=$DATA/esmm/model.bundle" --port 0 \
      --port-file "$TMP/funnel_check.port" --threads 1
  FUNNEL_PID=$SERVER_PID FUNNEL_PORT=$SERVER_PORT
  start_server python_check "$PY" "$ROOT/bench/serve/python_server.py" "$DATA/ref" --port 0 \
      --port-file "$TMP/python_check.port" --torch-threads 1
  PYTHON_PID=$SERVER_PID PYTHON_PORT=$SERVER_PORT
  for k in "${ITEM_LIST[@]}"; do
    "$CLIENT" --port "$FUNNEL_PORT" --csv "$TEST_CSV" --items "$k" --write-requests "$TMP/check_$k.jsonl" \
        --count 5 >/dev/null
  done
  log "check: Python reference == Funnel on the same requests (1e-5)"
  "$PY" - "$FUNNEL_PORT" "$PYTHON_PORT" "$TMP"/check_*.jsonl <<'PYEOF' | tee "$OUT/check.txt"
import json, sys, urllib.request
fport, pport, files = sys.argv[1], sys.argv[2], sys.argv[3:]
def post(port, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/score", data=body.encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 200, r.status
        return json.loads(r.read())
worst, n_req, n_items, oov = 0.0, 0, 0, 0
for path in files:
    for line in open(path):
        f, p = post(fport, line), post(pport, line)
        for k in ("model", "version", "events"):
            if f[k] != p[k]:
                sys.exit(f"CHECK FAILED: {k}: funnel {f[k]!r}, python {p[k]!r}")
        if f.get("unknown_values", {}) != p.get("unknown_values", {}):
            sys.exit(f"CHECK FAILED: unknown_values: funnel {f.get('unknown_values')}, python {p.get('unknown_values')}")
        oov += sum(f.get("unknown_values", {}).values())
        if len(f["scores"]) != len(p["scores"]):
            sys.exit("CHECK FAILED: number of scores differs")
        for a, b in zip(f["scores"], p["scores"]):
            if a["id"] != b["id"]:
                sys.exit(f"CHECK FAILED: ids {a['id']} vs {b['id']}")
            for c in ("pctr", "pcvr", "pctcvr"):
                d = abs(a[c] - b[c])
                worst = max(worst, d)
                if d > 1e-5:
                    sys.exit(f"CHECK FAILED: item {a['id']} {c}: funnel {a[c]}, python {b[c]} (|diff| {d:.3g} > 1e-5)")
            n_items += 1
        n_req += 1
print(f"check passed: {n_req} requests, {n_items} items, max |funnel - python| = {worst:.3g} "
      f"(<= 1e-5), {oov} out-of-vocabulary values in both")
PYEOF
  SERVER_PID=$FUNNEL_PID stop_server
  SERVER_PID=$PYTHON_PID stop_server
fi

# --- the grid
# Connections per cell: 1, as many as server threads, and one more (a connection waits).
conns() { printf "%s\n" 1 "$1" $(($1 + 1)) | sort -nu; }
# cell LABEL PORT ITEMS CONNECTIONS [--metrics]
cell() {
  local label=$1 port=$2 k=$3 c=$4
  shift 4
  log "$label: $k items, $c connections"
  "$CLIENT" --port "$port" --csv "$TEST_CSV" --items "$k" --connections "$c" --seconds "$DURATION" \
      --requests "$MAX_REQUESTS" --warmup "$WARMUP" "$@" >"$OUT/$label.k$k.c$c.json"
}
for m in "${MODEL_LIST[@]}"; do
  for t in "${THREAD_LIST[@]}"; do
    start_server "funnel_${m}_t$t" "$FUNNEL" -q serve --bundle "$m=$DATA/$m/model.bundle" --port 0 \
        --port-file "$TMP/funnel_${m}_t$t.port" --threads "$t"
    for k in "${ITEM_LIST[@]}"; do
      for c in $(conns "$t"); do cell "funnel_${m}_t$t" "$SERVER_PORT" "$k" "$c" --metrics; done
    done
    stop_server
  done
done
if [ "$PYTHON_REF" = 1 ]; then
  for t in "${THREAD_LIST[@]}"; do
    start_server "python_esmm_t$t" "$PY" "$ROOT/bench/serve/python_server.py" "$DATA/ref" --port 0 \
        --port-file "$TMP/python_esmm_t$t.port" --torch-threads "$t"
    for k in "${ITEM_LIST[@]}"; do
      for c in $(conns "$t"); do cell "python_esmm_t$t" "$SERVER_PORT" "$k" "$c"; done
    done
    stop_server
  done
fi

# --- RSS under constant load
if [ "$RSS_SECONDS" != 0 ]; then
  IFS=, read -r -a RSS_ITEM_LIST <<<"$RSS_ITEMS"
  start_server funnel_rss "$FUNNEL" -q serve --bundle "esmm=$DATA/esmm/model.bundle" --port 0 \
      --port-file "$TMP/funnel_rss.port" --threads "$RSS_THREADS"
  RSS_PID=$SERVER_PID
  rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$RSS_PID/status"; }
  seconds=$RSS_SECONDS
  log "RSS run: $seconds s, items ${RSS_ITEMS}, $RSS_THREADS server threads"
  echo "idle_after_start_kb $(rss_kb)" >"$OUT/rss.tsv"
  CLIENTS=()
  for k in "${RSS_ITEM_LIST[@]}"; do
    "$CLIENT" --port "$SERVER_PORT" --csv "$TEST_CSV" --items "$k" --connections 1 --seconds "$seconds" \
        --requests 100000000 --warmup 0 >"$OUT/rss_client.k$k.json" &
    CLIENTS+=($!)
    PIDS+=($!)
  done
  start_s=$(date +%s.%N)
  # A sample every 10 s, bounded in count; the clients stop themselves after $seconds.
  for i in $(seq 1 $((seconds / 10))); do
    sleep $(awk -v s="$start_s" -v i="$i" -v now="$(date +%s.%N)" 'BEGIN {d = s + 10 * i - now; print (d > 0 ? d : 0)}')
    printf "%d\t%s\t%s\n" $((i * 10)) "$(rss_kb)" "$(loadavg)" >>"$OUT/rss.tsv"
  done
  for p in "${CLIENTS[@]}"; do wait "$p"; done
  echo "after_load_kb $(rss_kb)" >>"$OUT/rss.tsv"
  curl_metrics() {
    "$PY" -c "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$SERVER_PORT/metrics', timeout=10).read().decode())"
  }
  curl_metrics >"$OUT/rss_metrics.txt"
  stop_server
fi

# --- summary
"$PY" - "$OUT" "$MODELS" "$THREADS" "$ITEMS" "$PYTHON_REF" <<'PYEOF' | tee "$OUT/summary.md"
import glob, json, os, sys
out, models, threads, items, pyref = sys.argv[1], sys.argv[2].split(","), \
    [int(t) for t in sys.argv[3].split(",")], [int(k) for k in sys.argv[4].split(",")], sys.argv[5] == "1"
def load(label, k, c):
    p = f"{out}/{label}.k{k}.c{c}.json"
    return json.load(open(p)) if os.path.exists(p) else None
def f(v, p=2):
    return "-" if v is None or v != v else f"{v:.{p}f}"
rows = []
print("| server | model | thr | items | conn | client p50 | p99 | p99.9 (ms) | req/s | items/s | errors "
      "| server mean | p50~ | p99~ (ms) | <= 2 ms | parse | encode | forward | serialise (ms/req) | samples | load |")
print("|" + "---|" * 21)
labels = [("funnel", m) for m in models] + ([("python", "esmm")] if pyref else [])
for server, m in labels:
    for t in threads:
        for k in items:
            for c in sorted({1, t, t + 1}):
                r = load(f"{server}_{m}_t{t}", k, c)
                if r is None:
                    continue
                s, l = r.get("server", {}), r["latency_ms"]
                ph = s.get("phase_ms_per_request", {})
                print(f"| {server} | {m} | {t} | {k} | {c} | {f(l['p50'], 3)} | {f(l['p99'], 3)} | {f(l['p999'], 3)} "
                      f"| {f(r['requests_per_s'], 0)} | {f(r['items_per_s'], 0)} | {r['errors']} "
                      f"| {f(s.get('mean_ms'), 3)} | {f(s.get('p50_ms_interpolated'), 2)} | {f(s.get('p99_ms_interpolated'), 2)} "
                      f"| {f(100 * s['fraction_le_2ms'], 1) + ' %' if s.get('fraction_le_2ms') is not None else '-'} "
                      f"| {f(ph.get('parse'), 3)} | {f(ph.get('encode'), 3)} | {f(ph.get('forward'), 3)} | {f(ph.get('serialise'), 3)} "
                      f"| {r['requests']} | {r['load_average'][0]:.2f} |")
                rows.append({"server": server, "model": m, "threads": t, "items": k, "connections": c, **r})
if pyref:
    print()
    print("Funnel ESMM / Python ESMM, same threads, items and connections:")
    print("| thr | items | throughput ratio (conn 1) | (conn = thr) | (conn = thr + 1) | p50 ratio python/funnel (conn 1) | p99 ratio (conn 1) |")
    print("|---|---|---|---|---|---|---|")
    for t in threads:
        for k in items:
            cells = {c: (load(f"funnel_esmm_t{t}", k, c), load(f"python_esmm_t{t}", k, c)) for c in (1, t, t + 1)}
            if not all(a and b for a, b in cells.values()):
                continue
            ratio = {c: a["items_per_s"] / b["items_per_s"] for c, (a, b) in cells.items()}
            f1, p1 = cells[1]
            print(f"| {t} | {k} | {ratio[1]:.1f}x | {ratio[t]:.1f}x | {ratio[t + 1]:.1f}x "
                  f"| {p1['latency_ms']['p50'] / f1['latency_ms']['p50']:.1f}x | {p1['latency_ms']['p99'] / f1['latency_ms']['p99']:.1f}x |")
rss = os.path.join(out, "rss.tsv")
if os.path.exists(rss):
    lines = [l.split() for l in open(rss)]
    samples = [(int(l[0]), int(l[1])) for l in lines if l[0].isdigit()]
    extra = {l[0]: int(l[1]) for l in lines if not l[0].isdigit()}
    if samples:
        first, last = samples[0][1], samples[-1][1]
        mx = max(v for _, v in samples)
        print()
        print(f"RSS under load ({len(samples)} samples every 10 s, {samples[-1][0]} s): idle after start "
              f"{extra.get('idle_after_start_kb', 0) / 1024:.1f} MiB, first (10 s) {first / 1024:.1f} MiB, "
              f"last {last / 1024:.1f} MiB, max {mx / 1024:.1f} MiB, drift last/first {100 * (last - first) / first:+.2f} %, "
              f"max/first {100 * (mx - first) / first:+.2f} %; after the load {extra.get('after_load_kb', 0) / 1024:.1f} MiB")
        # After a warm-up minute (the first large requests set the working set).
        warm = [v for t, v in samples if t >= 60]
        if len(warm) > 1:
            w0, wmax = warm[0], max(warm)
            print(f"  after the first minute: {w0 / 1024:.1f} MiB at 60 s, max {wmax / 1024:.1f} MiB "
                  f"({100 * (wmax - w0) / w0:+.2f} %), min {min(warm) / 1024:.1f} MiB, last {warm[-1] / 1024:.1f} MiB "
                  f"({100 * (warm[-1] - w0) / w0:+.2f} %)")
        for p in sorted(glob.glob(f"{out}/rss_client.k*.json")):
            r = json.load(open(p))
            print(f"  load {r['items']} items x {r['connections']} conn: {r['requests']} requests, {r['errors']} errors, "
                  f"{r['requests_per_s']:.0f} req/s, p50 {r['latency_ms']['p50']:.3f} ms, p99 {r['latency_ms']['p99']:.3f} ms")
        rows.append({"rss_kb": samples, **extra})
json.dump(rows, open(f"{out}/summary.json", "w"), indent=1)
PYEOF
echo "results: $OUT"
echo "load average at the end: $(loadavg)"
