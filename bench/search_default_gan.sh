#!/usr/bin/env bash
# The measurements behind the default experiment (experiment=gan_mnist5k): candidate settings,
# each trained once on the shipped digits with the real framework; compare wall time, the last
# val/fid in each run's metrics.csv, and the final sample grids. Results: bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
run() {  # name, overrides...
  local name=$1; shift
  local start=$(date +%s)
  .venv/bin/flik-lab train hydra.run.dir=outputs/search/$name test=false callbacks.progress_bar=null "$@" \
    > /dev/null 2>&1
  local csv=outputs/search/$name/csv/metrics.csv
  local fid=$(.venv/bin/python -c "import pandas as pd, sys; print(round(pd.read_csv(sys.argv[1])[\"val/fid\"].dropna().iloc[-1], 1))" "$csv")
  echo "$name  wall=$(( $(date +%s) - start ))s  last val/fid=$fid"
}
# widths, batch size, learning rates (G, D) and epochs are all set explicitly: the run does not depend
# on the defaults they were chosen for
w() { echo "model.generator.width=$1 model.discriminator.width=$2"; }
lr() { echo "model.lr_g=$1 model.lr_d=$2"; }
run A_w32_b64_lr2e-4 $(w 32 32) $(lr 2e-4 2e-4) data.batch_size=64 trainer.max_epochs=12
run B_w32_b32_lr2e-4 $(w 32 32) $(lr 2e-4 2e-4) data.batch_size=32 trainer.max_epochs=8
run C_w32_b64_lr4e-4 $(w 32 32) data.batch_size=64 $(lr 4e-4 4e-4) trainer.max_epochs=12
run D_w64_b64_lr2e-4 $(w 64 64) $(lr 2e-4 2e-4) data.batch_size=64 trainer.max_epochs=5
run E_w32x16_b32_lr2e-4 $(w 32 16) $(lr 2e-4 2e-4) data.batch_size=32 trainer.max_epochs=10
# round 2: the same ideas at about the full two-minute budget
run F_w32_b32_lr4e-4 $(w 32 32) data.batch_size=32 $(lr 4e-4 4e-4) trainer.max_epochs=20
run G_w32_b64_lr4e-4 $(w 32 32) data.batch_size=64 $(lr 4e-4 4e-4) trainer.max_epochs=28
run H_w64_b64_lr2e-4 $(w 64 64) $(lr 2e-4 2e-4) data.batch_size=64 trainer.max_epochs=13
run J_w32x16_b32_lr4e-4 $(w 32 16) data.batch_size=32 $(lr 4e-4 4e-4) trainer.max_epochs=22
# round 3: around the best of round 2 (F)
run K_w32_b32_lrg4e-4_lrd2e-4 $(w 32 32) data.batch_size=32 $(lr 4e-4 2e-4) trainer.max_epochs=20
run L_w32_b32_lr6e-4 $(w 32 32) data.batch_size=32 $(lr 6e-4 6e-4) trainer.max_epochs=20
