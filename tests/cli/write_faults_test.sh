#!/usr/bin/env bash
# Fault injection for writes (issue 20): `funnel train` (the cache, log.jsonl, the checkpoints,
# metrics.json, the bundle), `funnel data convert` and `funnel simulate` run with the largest
# file they may write capped (RLIMIT_FSIZE, through prlimit) at sizes that cut each kind of
# file. Two ways to fail:
#   error: SIGXFSZ ignored, so the write fails with EFBIG: the command must exit non-zero
#          with a message naming the file and the OS error, and leave no temporary file;
#   kill:  SIGXFSZ's default action kills the process in the middle of the write.
# Either way every file under its final name is complete (JSON that parses, log lines that
# parse, a bundle that scores, a cache that opens, a checkpoint with all its parts) or absent,
# never partial. The runs go into a copy of a complete run (--overwrite), so "the old
# complete file" is there to be kept or replaced.
set -euo pipefail
FUNNEL=$1
SRC=$2
W=$(mktemp -d)
[ -n "${KEEP:-}" ] && echo "work dir $W" >&2
[ -n "${KEEP:-}" ] || trap 'rm -rf "$W"' EXIT
cd "$W"
CFG="$SRC/examples/aliccp_rechub.json"
TEST_CSV="$SRC/tests/data/real-samples/aliccp_rechub_test.csv"
common=(--set model.name=esmm --set 'model.towers=[16,8]' --set train.batch_size=16
        --set train.epochs=2 --set train.patience=0)
fail() { echo "FAIL: $*" >&2; exit 1; }

"$FUNNEL" -q train --config "$CFG" --out ref "${common[@]}" >/dev/null
"$FUNNEL" -q train --config "$CFG" --out small "${common[@]}" --set 'model.towers=[4]' \
    --set embedding.optimizer=sgd >/dev/null
for r in ref small; do
  [ -f $r/model.bundle ] && [ -f $r/checkpoint/last/state.json ] || fail "reference run $r incomplete"
done

# Checks every file of run folder $1 under its final name; $2 = error|kill.
check_run() {
  local dir=$1 mode=$2
  if [ "$mode" = error ]; then
    local left
    left=$(find "$dir" -name '*.tmp' | head -5)
    [ -z "$left" ] || fail "$dir: temporary files left after a failed write: $left"
  fi
  /usr/bin/python3 - "$dir" <<'PYEOF' || fail "$dir: a file under its final name is partial"
import json, os, sys
d = sys.argv[1]
for root, _, files in os.walk(d):
    if root.endswith(".tmp") or "/cache.tmp" in root or ".tmp/" in root:
        continue  # a temporary folder: not a final name
    for f in files:
        p = os.path.join(root, f)
        if f.endswith(".json"):
            json.load(open(p))
        elif f.endswith(".jsonl"):
            for n, line in enumerate(open(p), 1):
                assert line.endswith("\n"), f"{p}:{n}: partial last line"
                json.loads(line)
PYEOF
  # A checkpoint folder is renamed into place when complete: all parts, the LibTorch archives
  # whole zip files, the tables of the size of a complete checkpoint of one of the two models
  # (an old run's or the new one's).
  for ck in "$dir"/checkpoint/best "$dir"/checkpoint/last; do
    [ -d "$ck" ] || continue
    for part in dense.pt dense_optimizer.pt sparse.bin state.json; do
      [ -f "$ck/$part" ] || fail "$ck: checkpoint without $part"
    done
    /usr/bin/python3 -c 'import sys, zipfile
for p in sys.argv[1:]:
    assert zipfile.ZipFile(p).testzip() is None, p' "$ck/dense.pt" "$ck/dense_optimizer.pt" ||
      fail "$ck: a LibTorch archive is not whole"
    local size
    size=$(stat -c %s "$ck/sparse.bin")
    [ "$size" = "$(stat -c %s ref/checkpoint/last/sparse.bin)" ] ||
      [ "$size" = "$(stat -c %s small/checkpoint/last/sparse.bin)" ] ||
      fail "$ck/sparse.bin: $size bytes, not a complete table's"
  done
  if [ -f "$dir/model.bundle" ]; then
    "$FUNNEL" -q predict --bundle "$dir/model.bundle" --input "$TEST_CSV" --out "$W/scores.csv" \
        >/dev/null 2>"$W/predict.err" || fail "$dir/model.bundle does not load: $(cat "$W/predict.err")"
  fi
  if [ -f "$dir/cache/meta.json" ]; then
    "$FUNNEL" -q data stats --cache "$dir/cache" >/dev/null 2>"$W/stats.err" ||
      fail "$dir/cache does not open: $(cat "$W/stats.err")"
  fi
}

# Runs "$@" with files capped at $2 bytes, failing in mode $1; sets rc and checks the message
# (read through a pipe: the cap applies to every file the command writes, stderr's too).
limited() {
  local mode=$1 limit=$2
  shift 2
  local err
  rc=0
  if [ "$mode" = error ]; then
    err=$( (trap '' XFSZ; exec prlimit --fsize="$limit" -- "$@" 2>&1 >/dev/null) ) || rc=$?
  else
    err=$( (exec prlimit --fsize="$limit" -- "$@" 2>&1 >/dev/null) ) || rc=$?
  fi
  if [ "$rc" -ne 0 ] && [ "$mode" = error ]; then
    grep -q "File too large" <<<"$err" || fail "limit $limit: no OS error in: $err"
    grep -q "$W" <<<"$err" || fail "limit $limit: no path in: $err"
    ! grep -q "internal error" <<<"$err" || fail "limit $limit: $err"
  fi
  if [ "$rc" -ne 0 ]; then failed=$((failed + 1)); fi
}

# Sizes that cut the cache's columns and meta.json, log.jsonl, metrics.json, the checkpoint's
# parts and the bundle (their sizes in the reference run: 100 B - 120 KB).
failed=0
for mode in error kill; do
  for limit in 150 900 2500 9000 20000 50000 70000 95000 112000; do
    rm -rf run && cp -r ref run && rm -f run/.lock
    limited "$mode" "$limit" "$FUNNEL" -q train --config "$CFG" --out "$W/run" --overwrite \
        "${common[@]}"
    check_run "$W/run" "$mode"
  done
  # Small towers, embeddings without optimizer state: the bundle (~69 KB) is the largest
  # file, so a cap between the checkpoint's parts (<= 40 KB) and it cuts the bundle; a high
  # cap lets the run finish (its files checked the same way).
  for limit in 55000 400000; do
    limited "$mode" "$limit" "$FUNNEL" -q train --config "$CFG" --out "$W/run" --overwrite \
        "${common[@]}" --set 'model.towers=[4]' --set embedding.optimizer=sgd
    if [ "$limit" = 400000 ] && [ "$rc" -ne 0 ]; then fail "uncapped run failed"; fi
    if [ "$limit" = 55000 ] && [ -f run/checkpoint/last/state.json ] && [ "$rc" -eq 0 ]; then
      fail "a cap below the bundle's size did not fail the run"
    fi
    check_run "$W/run" "$mode"
  done
  # The cache alone, and the simulator's cache.
  for limit in 150 2500 20000; do
    rm -rf conv
    limited "$mode" "$limit" "$FUNNEL" -q data convert --config "$CFG" --out "$W/conv"
    [ "$rc" -eq 0 ] || [ ! -e conv ] || fail "a failed convert left $(ls conv)"
    rm -rf sim
    limited "$mode" "$limit" "$FUNNEL" -q simulate --preset aliccp-like --rows 3000 --out "$W/sim"
    check_run "$W/sim" "$mode"
  done
done
# The caps must have made writes fail (else this tested nothing).
[ "$failed" -ge 30 ] || fail "only $failed of 34 capped runs failed"
echo "write faults: $failed capped runs failed; every final file complete or absent"
