#!/usr/bin/env bash
# The model zoo's acceptance runs (issue 14; docs/compare.md, "Acceptance runs (issue 14)"):
# every registry model but autoheri (its architecture comes from funnel search,
# docs/autoheri.md), TAML's three Fig. 3 ablations as compare variants, on the simulator's
# aliccp-like and ads-3stage presets, SEEDS seeds each. One simulated data set per preset
# (simulator seed 1, the rates of bench/autoheri/ablation.sh so that the test split holds
# ~3 000 conversions); the two presets run at once, one single-threaded process each.
#
#   bench/compare/zoo_acceptance.sh                    # defaults below
#   ROWS=1000000 SEEDS=3 OUT=/tmp/zoo bench/compare/zoo_acceptance.sh
set -euo pipefail
FUNNEL=${FUNNEL:-build/src/cli/funnel}
OUT=${OUT:-/tmp/zoo_acceptance}
ROWS=${ROWS:-1000000}
SEEDS=${SEEDS:-3}
EPOCHS=${EPOCHS:-1}
PRESETS=${PRESETS:-"aliccp-like ads-3stage"}
MODELS=${MODELS:-"esmm,shared_bottom,dnn,dnn_os,mmoe,ple,aitm,dbmtl,multi_dr,esm2,escm2_ips,escm2_dr,dcmt,taml,taml_1learner,taml_nokd,taml_nohtakr"}
SIM_aliccp_like=${SIM_aliccp_like:-"--set ctr=0.1 --set cvr=0.15"}
SIM_ads_3stage=${SIM_ads_3stage:-"--set ctr=0.1 --set vr=0.25"}

run_preset() {
  local preset=$1 dir="$OUT/$1" extra_var="SIM_${1//-/_}"
  mkdir -p "$dir"
  # shellcheck disable=SC2086
  "$FUNNEL" -q simulate --preset "$preset" --rows "$ROWS" --seed 1 ${!extra_var} \
      --out "$dir/sim" --overwrite >/dev/null
  local start=$SECONDS
  # Towers [200, 80, 20] for the tower models through the shared model.towers; the models
  # with their own layer options keep their defaults (towers: null).
  "$FUNNEL" -q compare --config "$dir/sim/experiment.json" --cache "$dir/sim/cache" \
      --out "$dir/cmp" --overwrite --seeds "$SEEDS" --models "$MODELS" \
      --set 'model.towers=[200,80,20]' --set train.epochs="$EPOCHS" --set train.threads=1 \
      --set 'compare.models.shared_bottom={"towers":null}' \
      --set 'compare.models.mmoe={"towers":null}' --set 'compare.models.ple={"towers":null}' \
      --set 'compare.models.dbmtl={"towers":null}' --set 'compare.models.taml={"towers":null}' \
      --set 'compare.variants.taml_1learner={"model":"taml","learners":1}' \
      --set 'compare.variants.taml_nokd={"model":"taml","distill_first":0,"distill_later":0}' \
      --set 'compare.variants.taml_nohtakr={"model":"taml","htakr":false}' \
      --markdown "$dir/table.md" >"$dir/stdout.txt"
  echo "$preset: $((SECONDS - start)) s" >"$dir/wall.txt"
}

for preset in $PRESETS; do run_preset "$preset" & done
wait
for preset in $PRESETS; do cat "$OUT/$preset/wall.txt"; done
