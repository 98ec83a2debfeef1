#!/usr/bin/env bash
# The whole GPU path of ffsk in one prepared call, under 10 minutes on one GPU:
#   1. the test suite with CUDA present (no test may skip for want of a GPU;
#      the tests that leave device="auto" train and predict on the GPU);
#   2. the MNIST `fast` preset on CUDA, scored after every epoch, with its
#      per-epoch times, predict throughput and the MLPClassifier baseline;
#   3. one JSON with both, in OUT_DIR/gpu_check.json.
#
# Usage: bash benchmarks/gpu_check.sh [MNIST_NPZ] [OUT_DIR]
# (defaults: ../shared/data/mnist.npz, then $OUT, then benchmarks/results).
# Runs from the working tree with PYTHONPATH, so it needs no install where
# torch, scikit-learn and pytest are already there (as on the lent GPUs).
# Exit status: 0 when everything passed, 3 without CUDA, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/mnist.npz}
out=${2:-${OUT:-benchmarks/results}}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

if ! python3 -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: CUDA is not available here" >&2
    exit 3
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

started=$(date +%s)
timeout 330 python3 -m pytest -q -rs -p no:cacheprovider tests \
    --deselect tests/test_docs.py 2>&1 | tee "$out/gpu_pytest.log"
pytest_status=${PIPESTATUS[0]}
pytest_seconds=$(( $(date +%s) - started ))

timeout 210 python3 benchmarks/mnist.py --data "$data" --preset fast \
    --params '{"device": "cuda"}' --every-epoch --out "$out/gpu_mnist_fast.json"
mnist_status=$?

python3 - "$out" "$pytest_status" "$pytest_seconds" "$mnist_status" <<'PY'
import json, re, sys
from pathlib import Path

import torch

out, pytest_status, pytest_seconds, mnist_status = Path(sys.argv[1]), *map(int, sys.argv[2:])
log = (out / "gpu_pytest.log").read_text()
summary = [line for line in log.splitlines() if re.search(r"\d+ (passed|failed)", line)]
cuda_skips = [line for line in log.splitlines() if "needs a CUDA GPU" in line]
record = {
    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    "torch": torch.__version__,
    "pytest": {
        "status": pytest_status,
        "seconds": pytest_seconds,
        "summary": summary[-1] if summary else None,
        "skipped_for_want_of_a_gpu": cuda_skips,
    },
    "mnist_fast": None,
    "mnist_status": mnist_status,
}
mnist = out / "gpu_mnist_fast.json"
if mnist_status == 0 and mnist.is_file():
    run = json.loads(mnist.read_text())
    cumulative = [0.0] + [point["fit_seconds"] for point in run["accuracy_curve"]]
    run["epoch_seconds"] = [b - a for a, b in zip(cumulative, cumulative[1:])]
    run["predict_rows_per_second"] = run["predict_rows"] / run["predict_seconds"]
    record["mnist_fast"] = run
(out / "gpu_check.json").write_text(json.dumps(record, indent=2) + "\n")
ok = pytest_status == 0 and not cuda_skips and mnist_status == 0
print(f"gpu_check: {'passed' if ok else 'FAILED'}; pytest: {record['pytest']['summary']}; "
      f"CUDA skips: {len(cuda_skips)}; fast preset: "
      + (f"{record['mnist_fast']['test_accuracy']:.4f}, median epoch "
         f"{sorted(record['mnist_fast']['epoch_seconds'])[len(record['mnist_fast']['epoch_seconds']) // 2]:.2f} s, "
         f"predict {record['mnist_fast']['predict_rows_per_second']:.0f} rows/s"
         if record["mnist_fast"] else "failed"))
sys.exit(0 if ok else 1)
PY
