"""Fit time on a busy machine: quiet, then beside one CPU-bound process.

For each model, the median of ``--repeats`` fits quiet and the median beside
a competing process (a pure-Python busy loop, one core), and their ratio.
Models: ffsk with ``n_threads="auto"`` (the default), ffsk with
``n_threads`` fixed to torch's thread count (the old behaviour), and
``MLPClassifier((500, 500))`` for the same number of epochs. Data: the
embedded digits demo and a 6,000-row MNIST subset (when ``--data`` has it).

Usage::

    python benchmarks/busy_machine.py [--data ../shared/data/mnist.npz]
        [--repeats 3] [--out benchmarks/results/busy_machine.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time
import warnings
from pathlib import Path

import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from ffsk import ForwardForwardClassifier
from ffsk._datasets import load_digits_split, load_keras_npz


def _spin(seconds: float) -> None:
    end = time.time() + seconds
    while time.time() < end:
        pass


def _models(epochs: int) -> dict:
    threads = torch.get_num_threads()
    return {
        "ffsk_auto_threads": lambda: ForwardForwardClassifier(epochs=epochs, random_state=0),
        f"ffsk_{threads}_threads": lambda: ForwardForwardClassifier(
            epochs=epochs, random_state=0, n_threads=threads
        ),
        "mlp_500x500": lambda: MLPClassifier(
            (500, 500), max_iter=epochs, random_state=0, tol=0.0, n_iter_no_change=epochs + 1
        ),
    }


def _median_fit_seconds(make, X, y, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            make().fit(X, y)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data/mnist.npz")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=Path(__file__).parent / "results" / "busy_machine.json")
    args = parser.parse_args()
    sets = {"digits": (*load_digits_split()[::2], 10)}
    if Path(args.data).is_file():
        X, _, y, _ = load_keras_npz(args.data)
        sets["mnist_6000"] = (X[:6000], y[:6000], 3)
    record = {"torch_threads": torch.get_num_threads(), "repeats": args.repeats, "results": {}}
    for name, (X, y, epochs) in sets.items():
        for model, make in _models(epochs).items():
            quiet = _median_fit_seconds(make, X, y, args.repeats)
            competitor = multiprocessing.Process(target=_spin, args=(600.0,), daemon=True)
            competitor.start()
            time.sleep(1.0)  # let the load average and the counters see it
            try:
                busy = _median_fit_seconds(make, X, y, args.repeats)
            finally:
                competitor.terminate()
                competitor.join()
            record["results"][f"{name}/{model}"] = {
                "quiet_seconds": quiet,
                "busy_seconds": busy,
                "busy_over_quiet": busy / quiet,
            }
            print(
                f"{name} {model}: quiet {quiet:.2f} s, beside a busy process {busy:.2f} s, "
                f"ratio {busy / quiet:.2f}",
                flush=True,
            )
            time.sleep(1.0)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
