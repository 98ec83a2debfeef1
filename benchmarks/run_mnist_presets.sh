#!/usr/bin/env bash
# Every preset of benchmarks/mnist.py with seeds 0, 1 and 2, one after the
# other (never in parallel: the fit times are the benchmark).
# Usage: bash benchmarks/run_mnist_presets.sh PATH/TO/mnist.npz [PRESET ...]
set -euo pipefail
data=${1:?usage: run_mnist_presets.sh DATA.npz [PRESET ...]}
shift
presets=${*:-reference fast best}
here=$(dirname "$0")
for preset in $presets; do
  for seed in 0 1 2; do
    python "$here/mnist.py" --data "$data" --preset "$preset" --seed "$seed"
  done
done
