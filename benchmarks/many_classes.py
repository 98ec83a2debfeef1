"""Training cost per epoch against the number of classes, same rows and network.

Synthetic data (``make_classification``, 20,000 rows, 32 features, 16
informative), ``hidden_layer_sizes=(500, 500)``, the default hard negatives:
the median epoch time of ``--repeats`` 3-epoch fits with 10 and with 100
classes, and their ratio; the same with every wrong label scored
(``negative_candidates`` = k - 1, the cost before candidates existed), for
comparison. Test accuracy on a 25 % split after 10 epochs is reported for the
100-class problem with both settings.

Usage::

    python benchmarks/many_classes.py [--repeats 3] [--out benchmarks/results/many_classes.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from ffsk import ForwardForwardClassifier


def _data(n_classes: int):
    X, y = make_classification(
        n_samples=20_000,
        n_features=32,
        n_informative=16,
        n_classes=n_classes,
        n_clusters_per_class=1,
        class_sep=2.0,
        random_state=0,
    )
    return train_test_split(X, y, test_size=0.25, random_state=0)


def _fit(X, y, epochs: int, **params) -> tuple[ForwardForwardClassifier, float]:
    clf = ForwardForwardClassifier(
        epochs=epochs, early_stopping=False, n_iter_no_change=np.inf, random_state=0, **params
    )
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    return clf, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=Path(__file__).parent / "results" / "many_classes.json")
    args = parser.parse_args()
    record = {"epoch_seconds": {}, "accuracy_100_classes": {}}
    for n_classes in (10, 100):
        X_train, X_test, y_train, y_test = _data(n_classes)
        settings = {
            "candidates_auto": {},
            "all_wrong_labels": {"negative_candidates": n_classes - 1},
        }
        for name, params in settings.items():
            times = [_fit(X_train, y_train, 3, **params)[1] / 3 for _ in range(args.repeats)]
            record["epoch_seconds"][f"{n_classes}/{name}"] = statistics.median(times)
            print(f"{n_classes} classes, {name}: {statistics.median(times):.2f} s per epoch")
            if n_classes == 100:
                clf, seconds = _fit(X_train, y_train, 10, **params)
                accuracy = float(clf.score(X_test, y_test))
                record["accuracy_100_classes"][name] = {"accuracy": accuracy, "fit_s": seconds}
                print(f"  10 epochs: test accuracy {accuracy:.4f} in {seconds:.1f} s", flush=True)
    seconds = record["epoch_seconds"]
    record["ratio_100_over_10"] = seconds["100/candidates_auto"] / seconds["10/candidates_auto"]
    record["ratio_100_over_10_all_wrong_labels"] = (
        seconds["100/all_wrong_labels"] / seconds["10/all_wrong_labels"]
    )
    print(
        f"epoch cost, 100 over 10 classes: {record['ratio_100_over_10']:.2f} "
        f"(every wrong label scored: {record['ratio_100_over_10_all_wrong_labels']:.2f})"
    )
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
