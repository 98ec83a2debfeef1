"""
MNIST: where to find the benchmark
==================================

The MNIST benchmark needs the Keras-format ``mnist.npz`` (not shipped with
ffsk) and minutes of training, so it is not run here. It lives in
``benchmarks/mnist.py``, with its presets (``reference``, ``sprint``, ``fast``,
``best``, ``hinton``) and a validation mode for choosing hyper-parameters::

    python benchmarks/mnist.py --data PATH/mnist.npz --preset fast --seed 0
    bash benchmarks/run_mnist_presets.sh PATH/mnist.npz   # every preset, seeds 0-2
    python benchmarks/mnist_table.py                      # the table of docs/benchmarks.md

The latest figures are on the :doc:`benchmarks page <../benchmarks>`. This
example prints the presets' parameters.

Run: ``python examples/mnist_benchmark.py``
"""

import importlib.util
from pathlib import Path

here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
script = here.parent / "benchmarks" / "mnist.py"
spec = importlib.util.spec_from_file_location("ffsk_mnist_benchmark", script)
benchmark = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark)
for name, params in benchmark.PRESETS.items():
    print(f"{name:>9}: {params}")
