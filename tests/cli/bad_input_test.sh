#!/usr/bin/env bash
# Bad input through the command line (issue 20): each case failed before the fix.
#  1. --on-bad-row skip with bad rows holding bytes that are not UTF-8, or a value whose UTF-8
#     the message cut inside a character: the conversion, `data stats --json` and `train` end
#     normally with the rows counted (was: "internal error ... invalid UTF-8 byte", exit 2).
#  3. Options out of range are errors naming the key and the range: train.batch_size=-1 (was:
#     one batch per epoch), train.lr=1e400 (was: "internal error ... number overflow" without
#     the key). towers=[] is legitimate (a logistic head per event) and trains.
#  Also: -q after the subcommand; predict --out - writes to stdout (was: a file named "-");
#  --id-column naming no column says so (was: "the schema's aux column ...").
set -euo pipefail
FUNNEL=$1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
{
  echo "rid,click,buy,user,item,hist,price"
  for i in $(seq 0 299); do echo "$i,$((i % 2)),0,u$((i % 7)),i$((i % 11)),h1:1,1.5"; done
  printf '900,1,0,u,i,,\xff1\n'
  printf '901,1,0,u,i,,a'; for _ in $(seq 1 200); do printf '\xc3\xa9'; done; printf '\n'
} >bad.csv
head -301 bad.csv >good.csv
cat >exp.json <<'JSON'
{"data": {"train": ["bad.csv"], "labels": ["click", "buy"],
          "categorical": ["user", "item", {"name": "hist", "multi": true, "weighted": true}],
          "numeric": ["price"], "aux": ["rid"], "vocab": {"min_count": 2},
          "validation_ratio": 0.2},
 "model": {"name": "esmm", "towers": [8]}, "train": {"epochs": 1}}
JSON
sed 's/"bad.csv"/"good.csv"/' exp.json >good.json

fail() { echo "FAILED: $*" >&2; [ -s err ] && cat err >&2; exit 1; }

# 1. Invalid and cut UTF-8 in skipped rows.
"$FUNNEL" -q data convert --config exp.json --out cache --set data.on_bad_row=skip --json stats.json 2>err ||
  fail "data convert --on-bad-row skip"
/usr/bin/python3 - stats.json <<'PYEOF'
import json, sys
raw = open(sys.argv[1], "rb").read()
raw.decode("utf-8")  # strict: the file is valid UTF-8
s = json.loads(raw)
bad = s["inputs"]["train"]["bad_rows"]
assert bad == 2, bad
print("convert: 2 bad rows counted, stats.json valid UTF-8")
PYEOF
"$FUNNEL" -q data stats --config exp.json --set data.on_bad_row=skip --json stats2.json >/dev/null 2>err ||
  fail "data stats --on-bad-row skip"
"$FUNNEL" -q train --config exp.json --out run --set data.on_bad_row=skip >/dev/null 2>err ||
  fail "train --on-bad-row skip"
[ -s run/model.bundle ] || fail "train wrote no bundle"

# 3. Options out of range.
expect_error() {  # expect_error WHAT-MUST-APPEAR ARGS...
  local want=$1
  shift
  if "$FUNNEL" -q train --config good.json --out "run_$RANDOM" "$@" >/dev/null 2>err; then
    fail "train $* must fail"
  fi
  grep -qF -- "$want" err || fail "train $*: the message does not say '$want'"
  if grep -q "internal error" err; then fail "train $*: an internal error"; fi
}
expect_error "train.batch_size: expected an integer in [0, " --set train.batch_size=-1
expect_error "train.batch_size: expected a value in [1, 16777216], got 0" --set train.batch_size=0
expect_error "--set train.lr: the number '1e400' is out of range" --set train.lr=1e400
expect_error "train.epochs: expected a value in [1, 100000], got 0" --set train.epochs=0
expect_error "model.towers: expected a list of layer widths in [1, 65536]" --set 'model.towers=[8,0]'
"$FUNNEL" -q train --config good.json --out logistic --set 'model.towers=[]' >/dev/null 2>err ||
  fail "towers=[] (a logistic head) must train"

# The command line.
"$FUNNEL" predict --bundle run/model.bundle --input good.csv --out - -q >pred.csv 2>err ||
  fail "predict --out - -q"
[ ! -e ./- ] || fail "predict --out - wrote a file named -"
[ "$(wc -l <pred.csv)" = 301 ] || fail "predict --out -: $(wc -l <pred.csv) lines, expected 301"
[ ! -s err ] || fail "-q after the subcommand: stderr not empty"
if "$FUNNEL" -q predict --bundle run/model.bundle --input good.csv --out p.csv --id-column nosuch 2>err; then
  fail "--id-column nosuch must fail"
fi
grep -qF -- "--id-column nosuch: good.csv has no column 'nosuch'" err || fail "--id-column message"
[ ! -e p.csv ] && [ ! -e p.csv.tmp ] || fail "a failed predict left p.csv or p.csv.tmp"
# train --help lists the models with their summaries.
"$FUNNEL" train --help >help.txt
for m in esmm dnn taml autoheri; do grep -qE "^  $m +[A-Za-z]" help.txt || fail "train --help does not list $m"; done
# Skipped rows write no line: without an id the output would not line up with the input.
if "$FUNNEL" -q predict --bundle run/model.bundle --input bad.csv --out p.csv --on-bad-row skip 2>err; then
  fail "predict --on-bad-row skip without --id-column must fail"
fi
grep -qF -- "--on-bad-row skip needs --id-column" err || fail "predict skip message"
"$FUNNEL" predict --bundle run/model.bundle --input bad.csv --out p.csv --on-bad-row skip \
    --id-column rid 2>err || fail "predict --on-bad-row skip --id-column rid"
[ "$(wc -l <p.csv)" = 301 ] || fail "predict skip: $(wc -l <p.csv) lines, expected 301"
grep -q "2 bad rows skipped" err || fail "predict skip: the skipped rows are not counted"
echo "ok"
