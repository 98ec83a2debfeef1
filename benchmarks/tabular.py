"""ffsk on real tables, side by side with scikit-learn's classifiers, in one run.

Data: UCI Adult (a pandas ``ColumnTransformer`` pipeline: median-imputed,
standardised numeric columns; most-frequent-imputed, one-hot categorical
columns), UCI Pen-Based Digits (standardised), and scikit-learn's bundled
digits (pixels / 16), breast cancer and wine (standardised, 75/25 split).
Models: ``LogisticRegression``, ``HistGradientBoostingClassifier``,
``MLPClassifier`` defaults, ``MLPClassifier((500, 500), early_stopping=True)``,
ffsk with its defaults and with the documented fast settings. Every model is
fitted once per seed; the table reports medians, and times as ratios to the
better MLP measured in the same run.

Usage::

    python benchmarks/tabular.py --data ../shared/data [--seeds 0 1 2]
        [--datasets adult pendigits digits] [--models ffsk_defaults mlp_500x500_es]
        [--out benchmarks/results/tabular.json]

Adult and Pen Digits are skipped (with a message) when their files are absent.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import ffsk
from ffsk import ForwardForwardClassifier
from ffsk._datasets import ADULT_NUMERIC, load_adult, load_pendigits

#: ffsk's documented fast settings for tables (user guide, "Real tables").
FAST_SETTINGS = {"negatives": "random", "readout": "softmax", "early_stopping": True}


def _models(seed: int) -> dict:
    return {
        "logistic_regression": LogisticRegression(max_iter=2000),
        "hist_gradient_boosting": HistGradientBoostingClassifier(random_state=seed),
        "mlp_defaults": MLPClassifier(random_state=seed),
        "mlp_500x500_es": MLPClassifier((500, 500), early_stopping=True, random_state=seed),
        "ffsk_defaults": ForwardForwardClassifier(random_state=seed),
        "ffsk_fast": ForwardForwardClassifier(random_state=seed, **FAST_SETTINGS),
    }


def _adult(data: Path):
    X_train, X_test, y_train, y_test = load_adult(data / "adult")
    categorical = [c for c in X_train.columns if c not in ADULT_NUMERIC]
    preprocess = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
             list(ADULT_NUMERIC)),
            ("categorical", make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            ), categorical),
        ]
    )  # fmt: skip
    return X_train, X_test, y_train, y_test, preprocess


def _pendigits(data: Path):
    return (*load_pendigits(data / "pendigits"), StandardScaler())


def _bundled(loader, divide_by=None):
    def load(data: Path):
        X, y = loader(return_X_y=True)
        if divide_by:
            X = X / divide_by
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
        return X_train, X_test, y_train, y_test, None if divide_by else StandardScaler()

    return load


DATASETS = {
    "adult": _adult,
    "pendigits": _pendigits,
    "digits": _bundled(load_digits, 16.0),
    "breast_cancer": _bundled(load_breast_cancer),
    "wine": _bundled(load_wine),
}


def run_one(model, preprocess, X_train, X_test, y_train, y_test) -> dict:
    from sklearn.base import clone

    pipeline = make_pipeline(clone(preprocess), model) if preprocess is not None else model
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    accuracy = float(np.mean(pipeline.predict(X_test) == y_test))
    predict_seconds = time.perf_counter() - started
    epochs = getattr(model, "n_iter_", None)
    return {
        "accuracy": accuracy,
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "epochs": None if epochs is None else int(np.max(epochs)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data", type=Path)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--out", default=Path(__file__).parent / "results" / "tabular.json")
    args = parser.parse_args()
    record = {
        "command": "python benchmarks/tabular.py "
        + " ".join(
            f"--{k} {' '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in vars(args).items()
            if v is not None
        ),  # fmt: skip
        "machine": {
            "cpus": torch.get_num_threads(),
            "platform": platform.platform(),
            "cuda": torch.cuda.is_available(),
        },
        "versions": {
            "ffsk": ffsk.__version__,
            "torch": torch.__version__,
            "sklearn": sklearn.__version__,
        },  # fmt: skip
        "fast_settings": FAST_SETTINGS,
        "results": {},
    }
    for name in args.datasets:
        try:
            X_train, X_test, y_train, y_test, preprocess = DATASETS[name](args.data)
        except FileNotFoundError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        runs: dict[str, list] = {}
        for seed in args.seeds:
            for model_name, model in _models(seed).items():
                if args.models and model_name not in args.models:
                    continue
                result = run_one(model, preprocess, X_train, X_test, y_train, y_test)
                runs.setdefault(model_name, []).append(result)
                print(
                    f"{name} seed {seed} {model_name}: accuracy {result['accuracy']:.4f}, "
                    f"fit {result['fit_seconds']:.1f} s, predict {result['predict_seconds']:.2f} s"
                    f", epochs {result['epochs']}",
                    flush=True,
                )
        summary = {
            model_name: {
                key: statistics.median(r[key] for r in results)
                for key in ("accuracy", "fit_seconds", "predict_seconds")
            }
            | {"epochs": [r["epochs"] for r in results], "runs": results}
            for model_name, results in runs.items()
        }
        mlp = [summary[m] for m in ("mlp_defaults", "mlp_500x500_es") if m in summary]
        if mlp:
            best = max(mlp, key=lambda r: r["accuracy"])
            for result in summary.values():
                result["fit_seconds_ratio_to_better_mlp"] = (
                    result["fit_seconds"] / best["fit_seconds"]
                )
                result["accuracy_minus_better_mlp"] = result["accuracy"] - best["accuracy"]
        record["results"][name] = {"n_train": len(y_train), "n_test": len(y_test),
                                   "models": summary}  # fmt: skip
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
