#!/usr/bin/env bash
# Splits the Criteo attribution file into train/validation/test.tsv by list (HEROES §5.1: the
# lists are (uid, conversion_id) sequences, split 6:2:2 "by queries"), keeping the header and
# the file's time order in each part. A list goes to one part by a fixed hash of its uid and
# conversion_id, so the split is the same on every machine.
#   scripts/criteo_split.sh criteo_attribution_dataset.tsv.gz OUT_DIR
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 criteo_attribution_dataset.tsv[.gz] OUT_DIR" >&2
  exit 2
fi
in="$1"
out="$2"
mkdir -p "$out"
cat_cmd=cat
case "$in" in *.gz) cat_cmd=zcat ;; esac
"$cat_cmd" "$in" | awk -F'\t' -v out="$out" '
NR == 1 {
  for (i = 1; i <= NF; ++i) col[$i] = i
  if (!("uid" in col) || !("conversion_id" in col)) {
    print "criteo_split: the header has no uid or conversion_id column" > "/dev/stderr"
    exit 1
  }
  u = col["uid"]; c = col["conversion_id"]
  print > (out "/train.tsv"); print > (out "/validation.tsv"); print > (out "/test.tsv")
  next
}
{
  # Exact in double precision: both factors stay below 2^53 / 10^6.
  h = (($u % 1000003) * 7919 + (($c + 1) % 1000003) * 104729) % 10
  if (h < 6) print > (out "/train.tsv")
  else if (h < 8) print > (out "/validation.tsv")
  else print > (out "/test.tsv")
}'
