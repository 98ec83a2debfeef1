"""Which network, batch size and rate learn fastest on small tables.

ffsk's defaults (up to 10,000 rows: one layer of 200 units, 200-row batches,
rate 0.1) against a narrower and a wider layer, a smaller rate, the softmax
loss, and the two layers of 500 that were the default before, on Pen Digits
(standardised) and the bundled digits (pixels / 16, stratified 75/25 split,
``random_state=0``), seeds 0 and 1, beside ``MLPClassifier()`` (seed 0).
Reports test accuracy, fit seconds and epochs run, and writes them as JSON.

Usage::

    python benchmarks/small_table_settings.py --data ../shared/data
        [--out benchmarks/results/small_table_settings.json]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from ffsk import ForwardForwardClassifier
from ffsk._datasets import load_pendigits

CONFIGS = {
    "defaults": {},
    "one_layer_100": {"hidden_layer_sizes": (100,)},
    "one_layer_500": {"hidden_layer_sizes": (500,)},
    "one_layer_rate_0.03": {"learning_rate": 0.03},
    "softmax_loss": {"loss": "softmax"},
    # the previous default network, with the current batches and rate rule
    "two_layers_500": {"hidden_layer_sizes": (500, 500)},
    # the previous defaults: two layers of 500, 67-row batches at rate 0.01
    # on digits (374 rows at 0.065 on Pen Digits)
    "previous_defaults": {"hidden_layer_sizes": (500, 500), "batch_size": "previous"},
}


def _data(name: str, data: Path):
    if name == "pendigits":
        X_train, X_test, y_train, y_test = load_pendigits(data / "pendigits")
        scaler = StandardScaler().fit(X_train)
        return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.25, random_state=0, stratify=y)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data", type=Path)
    parser.add_argument("--out", default="benchmarks/results/small_table_settings.json")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    results = {}
    for name in ("digits", "pendigits"):
        X_train, X_test, y_train, y_test = _data(name, args.data)
        started = time.perf_counter()
        mlp = MLPClassifier(random_state=0).fit(X_train, y_train)
        record = {
            "mlp_defaults": {
                "accuracy": [mlp.score(X_test, y_test)],
                "fit_seconds": [time.perf_counter() - started],
            }
        }
        print(name, "mlp_defaults", record["mlp_defaults"], flush=True)
        for config, params in CONFIGS.items():
            runs = {"accuracy": [], "fit_seconds": [], "epochs": []}
            for seed in (0, 1):
                started = time.perf_counter()
                if params.get("batch_size") == "previous":
                    # the rule before: min(500, max(50, n // 20)), rate from the batch
                    batch = min(500, max(50, len(y_train) // 20))
                    fit_params = {**params, "batch_size": batch}
                    fit_params["learning_rate"] = max(0.01, 0.0002 * batch - 0.01)
                else:
                    fit_params = params
                clf = ForwardForwardClassifier(random_state=seed, **fit_params)
                clf.fit(X_train, y_train)
                runs["fit_seconds"].append(time.perf_counter() - started)
                runs["accuracy"].append(clf.score(X_test, y_test))
                runs["epochs"].append(clf.n_iter_)
            record[config] = {
                "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
                **runs,
            }
            print(name, config, runs, flush=True)
        results[name] = record
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"command": "python benchmarks/small_table_settings.py", "results": results}, indent=2
        )
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
