#!/usr/bin/env bash
# Trains and evaluates the supervised experiments, 3 seeds each, one after the other (one CPU-heavy
# job at a time): bash experiments/run_supervised.sh [EXPERIMENT ...] (default: all three).
# Runs go to runs/<experiment>/seed<N>; each gets classify.json (`bpdl eval classify`).
set -euo pipefail
cd "$(dirname "$0")/.."
bpdl=${BPDL:-target/release/bpdl}
exps=("$@")
[ ${#exps[@]} -eq 0 ] && exps=(mnist-supervised fashion-mnist-supervised mnist-semi-supervised)
for exp in "${exps[@]}"; do
  for seed in 1 2 3; do
    dir=runs/$exp/seed$seed
    mkdir -p "runs/$exp"
    # $BPDL_DATA_DIR names one dataset's folder: Fashion-MNIST is found in its system folder
    # (Debian package dataset-fashion-mnist) or ./data/fashion-mnist
    env=(); [[ $exp == fashion-* ]] && env=(-u BPDL_DATA_DIR)
    # a run folder that holds a checkpoint is continued (its config is the checkpoint's)
    if [ -f "$dir/checkpoint.safetensors" ]; then
      what=(--resume "$dir")
    else
      what=(--config "experiments/$exp/config.toml" --set "seed=$seed" --out "$dir")
    fi
    env "${env[@]}" "$bpdl" --threads 2 train "${what[@]}" > "$dir.log" 2>&1 \
      || { tail -n 20 "$dir.log"; exit 1; }
    grep -E '^(epoch|back-propagation|done)' "$dir.log" | tail -n 3
    env "${env[@]}" "$bpdl" --threads 2 eval classify --run "$dir" | tee -a "$dir.log"
  done
  python3 experiments/supervised_table.py runs/"$exp"/seed{1,2,3} > "runs/$exp/table.md"
  cat "runs/$exp/table.md"
done
