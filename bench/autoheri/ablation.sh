#!/usr/bin/env bash
# AutoHERI ablation (Table 3-like) and acceptance runs on the simulator (docs/autoheri.md,
# "Ablation on the simulator"). One simulated data set per preset (simulator seed 1); every
# variant is trained with each of SEEDS (train.seed: initialisation, shuffling, evolution
# draws). Runs one process at a time (single-threaded, deterministic by seed).
#
#   bench/autoheri/ablation.sh                         # defaults below
#   ROWS=1000000 SEEDS="1 2 3" EVO_SEEDS="1" OUT=/tmp/ah bench/autoheri/ablation.sh
#   python3 bench/autoheri/aggregate.py /tmp/ah        # the tables
set -euo pipefail
FUNNEL=${FUNNEL:-build/src/cli/funnel}
OUT=${OUT:-/tmp/autoheri_ablation}
ROWS=${ROWS:-1000000}
SEEDS=${SEEDS:-"1 2 3"}
PRESETS=${PRESETS:-"aliccp-like ads-3stage"}
TOWERS=${TOWERS:-"[200,80,20]"}
EPOCHS=${EPOCHS:-1}
BATCH=${BATCH:-2000}
# Evolution budget: POP + CYCLES candidates of STEPS training steps each.
EVO_SEEDS=${EVO_SEEDS-"1"}  # seeds that also run the evolutionary variant ("" = none)
POP=${POP:-4}
SAMPLE=${SAMPLE:-2}
CYCLES=${CYCLES:-4}
STEPS=${STEPS:-100}
# Also run ESMM and AutoHERI with AutoHERI's footnote 1 (no CTCVR gradient into the CTR tower);
# "" = skip.
STOPGRAD=${STOPGRAD-1}
# Also run AutoHERI with the alpha step judged on click space (search.alpha_space=click: the
# post-click events' conditional losses on the held-out clicked rows); "" = skip.
CLICK=${CLICK-1}
# Also run AutoHERI with the validated derivation (search.validate=true: the number of kept
# connections chosen on validation CVR AUC after retraining); "" = skip.
VALIDATE=${VALIDATE-1}
# Rates raised above the presets' so that the test split holds enough conversions for a
# meaningful CVR AUC (1 M impressions: ~3 000 test conversions instead of ~120).
SIM_aliccp_like=${SIM_aliccp_like:-"--set ctr=0.1 --set cvr=0.15"}
SIM_ads_3stage=${SIM_ads_3stage:-"--set ctr=0.1 --set vr=0.25"}

timed() {  # timed DIR cmd...: runs cmd, records its wall seconds in DIR/wall_seconds
  local dir=$1; shift
  [ -f "$dir/wall_seconds" ] && return 0  # done by an earlier invocation (resumable)
  mkdir -p "$dir"
  local t0; t0=$(date +%s.%N)
  "$@" > "$dir/stdout.txt" 2> "$dir/stderr.txt"
  echo "$(date +%s.%N) - $t0" | bc > "$dir/wall_seconds"
}

mkdir -p "$OUT"
for preset in $PRESETS; do
  data=$OUT/$preset/data
  sim_var=SIM_${preset//-/_}
  if [ ! -f "$data/cache/meta.json" ]; then
    # shellcheck disable=SC2086
    "$FUNNEL" simulate --preset "$preset" --rows "$ROWS" --seed 1 ${!sim_var} --out "$data" \
      > "$OUT/$preset.simulate.txt"
  fi
  cfg=$data/experiment.json
  for seed in $SEEDS; do
    run=$OUT/$preset/seed$seed
    common=(--config "$cfg" --cache "$data/cache" --overwrite --set "train.seed=$seed"
            --set "train.epochs=$EPOCHS" --set "train.batch_size=$BATCH" --set "train.threads=1"
            --set "train.patience=0" --set "model.towers=$TOWERS")
    ah=(--set model.name=autoheri)
    timed "$run/esmm" "$FUNNEL" train "${common[@]}" --out "$run/esmm"
    for scheme in hierarchical parallel; do
      timed "$run/search_$scheme" "$FUNNEL" search "${common[@]}" "${ah[@]}" \
        --set "model.scheme=$scheme" --no-bundle --out "$run/search_$scheme"
      timed "$run/retrain_$scheme" "$FUNNEL" train "${common[@]}" \
        --arch "$run/search_$scheme/arch.json" --out "$run/retrain_$scheme"
    done
    # Every candidate connection, no search (what the search chose against).
    if [ ! -f "$run/full_arch.json" ]; then
      "$FUNNEL" arch derive "$run/search_hierarchical/arch.json" --threshold 0 \
        --out "$run/full_arch.json" > /dev/null
    fi
    timed "$run/retrain_full" "$FUNNEL" train "${common[@]}" --arch "$run/full_arch.json" \
      --out "$run/retrain_full"
    if [ -n "$STOPGRAD" ]; then
      sg=(--set train.stop_ctcvr_grad_to_ctr=true)
      timed "$run/esmm_sg" "$FUNNEL" train "${common[@]}" "${sg[@]}" --out "$run/esmm_sg"
      timed "$run/search_hierarchical_sg" "$FUNNEL" search "${common[@]}" "${sg[@]}" "${ah[@]}" \
        --no-bundle --out "$run/search_hierarchical_sg"
      timed "$run/retrain_hierarchical_sg" "$FUNNEL" train "${common[@]}" "${sg[@]}" \
        --arch "$run/search_hierarchical_sg/arch.json" --out "$run/retrain_hierarchical_sg"
    fi
    if [ -n "$CLICK" ]; then
      timed "$run/search_hierarchical_click" "$FUNNEL" search "${common[@]}" "${ah[@]}" \
        --set search.alpha_space=click --no-bundle --out "$run/search_hierarchical_click"
      timed "$run/retrain_hierarchical_click" "$FUNNEL" train "${common[@]}" \
        --arch "$run/search_hierarchical_click/arch.json" --out "$run/retrain_hierarchical_click"
    fi
    if [ -n "$VALIDATE" ]; then
      timed "$run/search_hierarchical_validated" "$FUNNEL" search "${common[@]}" "${ah[@]}" \
        --set search.validate=true --no-bundle --out "$run/search_hierarchical_validated"
      timed "$run/retrain_hierarchical_validated" "$FUNNEL" train "${common[@]}" \
        --arch "$run/search_hierarchical_validated/arch.json" \
        --out "$run/retrain_hierarchical_validated"
    fi
    if [[ " $EVO_SEEDS " == *" $seed "* ]]; then
      timed "$run/search_evolution" "$FUNNEL" search --method evolution "${common[@]}" "${ah[@]}" \
        --set "evolution.population=$POP" --set "evolution.sample_size=$SAMPLE" \
        --set "evolution.cycles=$CYCLES" --set "evolution.steps_per_candidate=$STEPS" \
        --set "evolution.seed=$seed" --out "$run/search_evolution"
      timed "$run/retrain_evolution" "$FUNNEL" train "${common[@]}" \
        --arch "$run/search_evolution/arch.json" --out "$run/retrain_evolution"
    fi
  done
done
