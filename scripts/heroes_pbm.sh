#!/bin/bash
# HEROES+ under position bias (docs/heroes.md, "Unbiased LTR"): simulate lists-pbm (clicks and
# the relevance-labelled twin), train HEROES, HEROES+ and HEROES+comb (and ESMM) on the clicks,
# evaluate against relevance. Builds nothing; FUNNEL=build/src/cli/funnel by default.
#   OUT=/tmp/pbm SEEDS="1 2 3" TAUS="0 0.5 2" ROWS=300000 scripts/heroes_pbm.sh
set -euo pipefail
FUNNEL=${FUNNEL:-$(pwd)/build/src/cli/funnel}
OUT=${OUT:-/tmp/heroes_pbm}
ROWS=${ROWS:-300000}
SEEDS=${SEEDS:-1 2 3}
TAUS=${TAUS:-}  # extra tau values, one train seed each (tau 1 is the table)
mkdir -p "$OUT/runs"
cd "$OUT"
sim() {  # sim DIR [--set ...]
  local d=$1; shift
  [ -d "$d" ] || nice -n 10 "$FUNNEL" simulate --preset lists-pbm --seed 1 --rows "$ROWS" --out "$d" "$@" > "$d.log"
}
sim pbm
sim pbm-rel --csv --set labels=relevance  # the same lists; eval reads text
# One config per model; the simulator's training settings, one thread, one epoch.
python3 - <<'PY'
import json
j = json.load(open('pbm/experiment.json'))
j['data']['cache'] = 'pbm/cache'
j['train']['threads'] = 1
models = {'esmm': j['model'], 'heroes': {'name': 'heroes'},
          'heroes_nohawkes': {'name': 'heroes', 'hawkes': False},
          'heroes_plus': {'name': 'heroes', 'objective': 'survival', 'hawkes': False},
          'heroes_plus_comb': {'name': 'heroes', 'objective': 'survival'}}
for name, model in models.items():
    json.dump(dict(j, model=model), open(f'{name}.json', 'w'), indent=1)
PY
run() {  # run NAME MODEL SEED [--set ...]
  local out=runs/$1; shift
  local m=$1 seed=$2; shift 2
  [ -f "$out/relevance.json" ] && return
  rm -rf "$out"
  nice -n 10 "$FUNNEL" train --config "$m.json" --out "$out" --set train.seed="$seed" \
      --set train.epochs=1 "$@" > "$out.log" 2>&1
  nice -n 10 "$FUNNEL" eval --bundle "$out/model.bundle" --config pbm-rel/experiment.json \
      --split test --json "$out/relevance.json" >> "$out.log" 2>&1
  echo "$(date +%T) $out"
}
for seed in $SEEDS; do
  for m in heroes heroes_plus heroes_plus_comb esmm heroes_nohawkes; do run "t3_${m}_s$seed" "$m" "$seed"; done
done
for tau in $TAUS; do
  sim "pbm_tau$tau" --set tau="$tau"
  for m in heroes heroes_plus; do
    run "tau${tau}_${m}_s1" "$m" 1 --set data.cache="$OUT/pbm_tau$tau/cache"
  done
done
