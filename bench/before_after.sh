#!/usr/bin/env bash
# Before/after: run the registry, serving, monitoring and scale benchmarks on an earlier revision
# and on the working tree, alternating, in one run on one machine (the same venv; the earlier
# revision's src/ goes first on PYTHONPATH). Sizes are reduced so the whole run takes ~25 minutes
# on 2 cores; the full-size commands are in docs/benchmarks.md.
#
#   bash bench/before_after.sh REV [OUT_DIR]     e.g. bash bench/before_after.sh 3557d91
#
# Each result lands in OUT_DIR (default /tmp/civicml-before-after) as
# {registry,serving,drift,scale}-{before,after}.txt; compare them side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
REV=${1:?usage: bench/before_after.sh REV [OUT_DIR]}
OUT=${2:-/tmp/civicml-before-after}
PY=${PY:-$PWD/.venv/bin/python}
BASE=/tmp/civicml-before-$REV
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"
if [ ! -d "$BASE" ]; then git worktree add --detach "$BASE" "$REV" >/dev/null; fi
SCALE_DATA=/tmp/civicml-scale-1m
if [ ! -f "$SCALE_DATA/part-000.parquet" ]; then
  "$PY" bench/scale/generate.py --rows 1000000 --out "$SCALE_DATA" >/dev/null
fi

run() {  # run LABEL NAME COMMAND...: the benchmark from the tree LABEL (before|after)
  local label=$1 name=$2; shift 2
  local src=$PWD/src dir=$PWD
  if [ "$label" = before ]; then src=$BASE/src; dir=$BASE; fi
  echo "== $name $label (load $(cut -d' ' -f1 /proc/loadavg))" | tee -a "$OUT/$name-$label.txt"
  (cd "$dir" && PYTHONPATH=$src "$PY" "$@") >>"$OUT/$name-$label.txt" 2>&1
}

for round in 1 2; do
  for label in before after; do
    run $label registry bench/registry/bench_registry.py --backend both --versions 1000 --models 100
    run $label drift bench/monitoring/run.py --rows 1000000 --skip-evidently --out "$OUT/drift-$label.json"
    run $label scale bench/scale/run.py --data "$SCALE_DATA" --parts 10 --work "/tmp/civicml-scale-work-$label" \
      --stages contract,bundle,score,raw,search_local
    run $label serving bench/serving/run.py --seconds 10 --skip mlflow --skip mlserver
  done
done
echo "results in $OUT"
