"""Accuracy of ``ForwardForwardClassifier`` on scikit-learn's bundled data sets.

The tests' setup: digits with pixels / 16; breast cancer and iris standardised
(``StandardScaler`` fitted on the training rows); ``train_test_split(test_size=0.25,
random_state=0)``. Each data set is fitted with ``random_state`` 0, 1 and 2.

Usage::

    python benchmarks/bundled.py [--params '{"negatives": "random"}'] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from ffsk import ForwardForwardClassifier

LOADERS = {"digits": load_digits, "breast_cancer": load_breast_cancer, "iris": load_iris}


def split(name: str):
    X, y = LOADERS[name](return_X_y=True)
    if name == "digits":
        X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    if name != "digits":
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    return X_train, X_test, y_train, y_test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", default="{}", help="JSON of estimator parameters")
    parser.add_argument("--out", default=Path(__file__).parent / "results" / "bundled.json")
    args = parser.parse_args()
    params = json.loads(args.params)
    record = {"params": params, "results": {}}
    for name in LOADERS:
        X_train, X_test, y_train, y_test = split(name)
        accuracies, seconds = [], []
        for seed in (0, 1, 2):
            started = time.perf_counter()
            clf = ForwardForwardClassifier(**params, random_state=seed).fit(X_train, y_train)
            seconds.append(time.perf_counter() - started)
            accuracies.append(float(clf.score(X_test, y_test)))
        record["results"][name] = {"accuracy": accuracies, "fit_seconds": seconds}
        print(
            f"{name}: accuracy {' / '.join(f'{a:.4f}' for a in accuracies)}, "
            f"median fit {np.median(seconds):.1f} s"
        )
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
