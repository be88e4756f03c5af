#!/bin/bash
# The measurements of docs/quality.md: the epoch-2 collapse and the multi-epoch embedding
# remedies on `funnel simulate --preset aliccp-like` (2.86 M impressions: 2.0 M train), and
# shared vs per-task embeddings. Sequential, one thread, nice'd (a shared 2-core machine):
# about 50 minutes. Usage: bench/quality/run.sh FUNNEL_BINARY OUT_DIR; then
#   python3 bench/quality/summarize.py OUT_DIR
set -euo pipefail
F=${1:?funnel binary}
OUT=${2:?output folder}
mkdir -p "$OUT/runs"
[ -f "$OUT/sim/experiment.json" ] ||
  "$F" simulate --preset aliccp-like --rows 2860000 --seed 1 --out "$OUT/sim"
C=$OUT/sim/experiment.json

run() {  # name seed --set assignments...
  local name=$1 seed=$2
  shift 2
  local out=$OUT/runs/${name}_s${seed}
  [ -f "$out/metrics.json" ] && return
  local sets=(--set train.threads=1 --set train.seed="$seed" --set train.patience=0)
  for s in "$@"; do sets+=(--set "$s"); done
  nice -n 10 /usr/bin/time -v "$F" train --config "$C" --out "$out" --overwrite "${sets[@]}" \
    >"$out.log" 2>&1
}

# The collapse: validation every 100 steps across the epoch boundary (seed 1).
run curve 1 train.epochs=2 train.eval_every_steps=100
for seed in 1 2 3; do
  # The single-epoch baseline, then two epochs ending on the last state (no selection).
  run one "$seed" train.epochs=1
  run plain2 "$seed" train.epochs=2 train.restore_best=false
  run meda2 "$seed" train.epochs=2 train.restore_best=false train.embedding_reset=epoch
  run lr01_2 "$seed" train.epochs=2 train.restore_best=false train.embedding_lr_scale=0.1
  run frozen2 "$seed" train.epochs=2 train.restore_best=false train.embedding_lr_scale=0
  run freq01_1 "$seed" train.epochs=1 embedding.frequency_weight_decay=0.01
  for lambda in 0.01 0.001; do
    run "freq${lambda#0.}_2" "$seed" train.epochs=2 train.restore_best=false \
      embedding.frequency_weight_decay=$lambda
  done
done
# Shared vs per-task embeddings, one epoch.
for seed in 1 2 3; do
  run esmm_pt "$seed" train.epochs=1 embedding.sharing=per_task
  run dnn_sh "$seed" train.epochs=1 model.name=dnn
  run dnn_pt "$seed" train.epochs=1 model.name=dnn embedding.sharing=per_task
done
# AutoHERI with every hierarchical connection (a fixed architecture), shared vs per-task.
ARCH=$(dirname "$0")/arch_all_aliccp.json
for seed in 1 2 3; do
  run_arch() {
    local name=$1
    shift
    local out=$OUT/runs/${name}_s${seed}
    [ -f "$out/metrics.json" ] && return
    local sets=(--set train.threads=1 --set train.seed="$seed" --set train.patience=0
      --set train.epochs=1)
    for s in "$@"; do sets+=(--set "$s"); done
    nice -n 10 /usr/bin/time -v "$F" train --config "$C" --arch "$ARCH" --out "$out" --overwrite \
      "${sets[@]}" >"$out.log" 2>&1
  }
  run_arch aheri_sh
  run_arch aheri_pt embedding.sharing=per_task
done
