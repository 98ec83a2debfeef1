"""The ``ffsk`` command line: ``ffsk demo [--data PATH.npz]``.

torch, scikit-learn and the classifier are imported inside the demo, after the
arguments are parsed, so that ``ffsk --help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

DESCRIPTION = (
    "Forward-Forward learning as a scikit-learn estimator. "
    "'ffsk demo' trains ffsk's ForwardForwardClassifier with its default parameters "
    "and prints the progress per epoch, the test accuracy, the fit time and the "
    "predict time."
)

DEMO_DESCRIPTION = (
    "Train a ForwardForwardClassifier with its default parameters (at most 100 epochs, "
    "stopping on its own) on scikit-learn's bundled digits (1,347 training and 450 test "
    "rows, 64 features: one layer of 200 units), or on the Keras-format .npz given by "
    "--data (more than 10,000 rows: two layers of 500), and report the test accuracy, "
    "fit time and predict time. On the digits the default run takes a second or two "
    "on 2 CPU cores; --epochs N shortens it."
)


def _demo(args: argparse.Namespace) -> int:
    from ._datasets import load_digits_split, load_keras_npz

    if args.data:
        X_train, X_test, y_train, y_test = load_keras_npz(args.data)
        name = args.data
    else:
        X_train, X_test, y_train, y_test = load_digits_split()
        name = "scikit-learn digits (embedded)"
    # Imported only now: a bad --data path is reported without loading torch.
    import torch

    from ._classifier import ForwardForwardClassifier

    params = {"random_state": args.seed, "verbose": 1, "device": args.device}
    if args.epochs is not None:
        params["epochs"] = args.epochs
    clf = ForwardForwardClassifier(**params)
    print(
        f"Data: {name}: {X_train.shape[0]} training and {X_test.shape[0]} test rows, "
        f"{X_train.shape[1]} features"
    )
    print(f"Model: {clf!r}; torch threads: {torch.get_num_threads()}")
    started = time.perf_counter()
    clf.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    y_pred = clf.predict(X_test)
    predict_seconds = time.perf_counter() - started
    accuracy = float((y_pred == y_test).mean())
    print(f"Device: {clf.device_}; matrix products in {clf.precision_}")
    print(f"Test accuracy: {accuracy:.4f}")
    print(f"Fit time: {fit_seconds:.2f} s")
    print(f"Predict time: {predict_seconds:.3f} s for {X_test.shape[0]} rows")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ffsk`` console script and ``python -m ffsk``."""
    parser = argparse.ArgumentParser(prog="ffsk", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="train on the embedded digits data (or a Keras npz) and report accuracy",
        description=DEMO_DESCRIPTION,
    )
    demo.add_argument("--data", help="Keras-format .npz (x_train, y_train, x_test, y_test)")
    demo.add_argument("--epochs", type=int, help="number of epochs (default: the estimator's 100)")
    demo.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    demo.add_argument("--device", default="auto", help="'auto', 'cpu', 'cuda', ... (default auto)")
    args = parser.parse_args(argv)
    try:
        return _demo(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"ffsk: error: {exc}", file=sys.stderr)
        return 2
