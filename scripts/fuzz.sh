#!/usr/bin/env bash
# Runs each fuzz target for SECONDS from its seeds (make fuzz; docs/reliability.md).
#   scripts/fuzz.sh BUILD_DIR SECONDS TARGET...
# Per target: the corpus grows in BUILD_DIR/corpus/<t>/ (kept between runs), a crash leaves
# its input in BUILD_DIR/findings/<t>/, and one summary line says CPU seconds (user + sys:
# with other work on the cores, less than SECONDS), executions, coverage and findings. Exits
# non-zero when any target found something.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$1
SECONDS_EACH=$2
shift 2
status=0
for t in "$@"; do
  corpus="$BUILD/corpus/$t"
  findings="$BUILD/findings/$t"
  mkdir -p "$corpus" "$findings"
  seeds=("$ROOT/tests/fuzz/$t")
  case $t in
    delimited) seeds+=("$ROOT/tests/data/real-samples") ;;
    tokens) seeds+=("$ROOT/tests/data/real-samples") ;;
    data_config) seeds+=("$ROOT/examples") ;;
  esac
  log="$BUILD/fuzz_$t.log"
  start=$(date +%s)
  /usr/bin/time -f "%U %S" -o "$BUILD/fuzz_$t.cpu" \
    "$BUILD/fuzz/fuzz_$t" "$corpus" "${seeds[@]}" -max_total_time="$SECONDS_EACH" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$findings/" -print_final_stats=1 \
      >"$log" 2>&1
  rc=$?
  cpu=$(awk 'END {printf "%.0f", $1 + $2}' "$BUILD/fuzz_$t.cpu")
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  found=$(find "$findings" -type f | wc -l)
  echo "fuzz_$t: ${cpu:-?} CPU-s ($(($(date +%s) - start)) s wall), ${execs:-?} executions, coverage ${cov:-?} edges, corpus $(find "$corpus" -type f | wc -l) inputs, findings $found (exit $rc)"
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    status=1
    tail -40 "$log"
  fi
done
exit $status
