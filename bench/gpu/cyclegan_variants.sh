#!/usr/bin/env bash
# Issue 13 on the lent GPU: `experiment=cyclegan_digits` with the label-free anti-steganography terms
# (model.cycle_noise, model.lambda_shape), many runs side by side on one GPU; prints each run's val scores by
# epoch and its test scores. Run from the repository root on the device machine with .whl carried.
# Usage: bench/gpu/cyclegan_variants.sh VARIANTS  (a file of lines `name override ...`; writes under $OUT;
# RUN_SECONDS caps each run)
set -u
rm -rf .site
python3 -m pip install -q --no-index --no-deps --no-compile --target .site .whl/*.whl || exit 1
export PYTHONPATH=$PWD/.site:$PWD/src
mkdir -p .site/flik_lab-0.dist-info
printf 'Metadata-Version: 2.1\nName: flik-lab\nVersion: 0.0.0\n' > .site/flik_lab-0.dist-info/METADATA
ln -sfn "$PWD/conf" src/flik_lab/conf
export OMP_NUM_THREADS=1 FLIK_LAB_DATA_DIR=/tmp/flik_data
OUT=${OUT:-/tmp/out}
mkdir -p /tmp/logs "$OUT/metrics"
nvidia-smi -L
train() {  # name, overrides...
  local name=$1; shift
  timeout "${RUN_SECONDS:-330}" python3 -m flik_lab.cli train experiment=cyclegan_digits trainer=gpu \
    trainer.precision=32-true hydra.run.dir=/tmp/runs/$name "$@" > "/tmp/logs/$name.log" 2>&1
  cp /tmp/runs/$name/csv/metrics.csv "$OUT/metrics/$name.csv" 2>/dev/null || tail -5 "/tmp/logs/$name.log"
  cp "$(ls /tmp/runs/$name/translations/*.png 2>/dev/null | sort | tail -1)" "$OUT/$name.png" 2>/dev/null
}
# the domain and semantic classifiers are fitted once and cached in the data directory before the parallel runs
start=$(date +%s)
train prefit model.lambda_semantic=1 trainer.max_epochs=1 +trainer.limit_train_batches=2 +trainer.limit_val_batches=1 test=false
echo "prefit: $(( $(date +%s) - start )) s"
while read -r name overrides; do  # one run per line of the variants file: a name, then overrides
  [[ -z "$name" || "$name" == \#* ]] && continue
  # shellcheck disable=SC2086
  train "$name" $overrides &
done < "$1"
wait
echo "all runs: $(( $(date +%s) - start )) s"
python3 - "$OUT/metrics" <<'PY'
import csv, sys
from pathlib import Path
keys = ["content_a2b", "content_b2a", "style_a2b", "style_b2a", "fid_a2b", "fid_b2a"]
for path in sorted(Path(sys.argv[1]).glob("*.csv")):
    rows = list(csv.DictReader(path.open()))
    print(f"== {path.stem}")
    for stage in ("val", "test"):
        for row in rows:
            if row.get(f"{stage}/content_a2b"):
                values = " ".join(f"{k}={float(row[f'{stage}/{k}']):.3f}" for k in keys if row.get(f"{stage}/{k}"))
                print(f"  {stage} ep{row.get('epoch')}: {values}")
PY
