"""Summarise ``benchmarks/results/mnist_<preset>_seed<S>.json`` as the
markdown table of docs/benchmarks.md: per preset, the median and range over
seeds of the test accuracy, fit time, predict time and time to 97.64 %, and,
where the records carry their own MLPClassifier baseline, the time to
97.64 % as a ratio to the MLP's and the fit time in MLP epochs.

Usage::

    python benchmarks/mnist_table.py [--results benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

ORDER = ("reference", "sprint", "fast", "best", "hinton")


def _spread(values: list[float], fmt: str) -> str:
    median = statistics.median(values)
    if len(values) == 1:
        return format(median, fmt)
    return f"{format(median, fmt)} ({format(min(values), fmt)}–{format(max(values), fmt)})"


def _ratio(runs: list[dict], key: str, fmt: str) -> str:
    values = [r[key] for r in runs if r.get(key) is not None]
    return _spread(values, fmt) if values else "—"


def table(results: Path) -> str:
    records: dict[str, list[dict]] = {}
    for path in sorted(results.glob("mnist_*_seed*.json")):
        if path.stem.endswith("_validation"):
            continue
        record = json.loads(path.read_text())
        records.setdefault(record["preset"], []).append(record)
    lines = [
        "| preset | network, recipe | seeds | test accuracy, median (min–max) | fit s "
        "| predict s (10,000 rows) | s to 97.64 % | ÷ MLP's s to 97.64 % | fit in MLP epochs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for preset in sorted(records, key=lambda p: ORDER.index(p) if p in ORDER else 99):
        runs = records[preset]
        params = runs[0]["params"]
        loss = params.get("loss", "symba")
        negatives = (
            "every label" if loss == "softmax" else f"{params.get('negatives', 'hard')} negatives"
        )
        recipe = (
            f"{'x'.join(map(str, params['hidden_layer_sizes']))}, "
            f"{params.get('epochs')} epochs, batch {params.get('batch_size', 'auto')}, "
            f"{loss} loss, {negatives}, "
            f"{params.get('learning_rate_schedule', 'linear_decay').replace('_', ' ')} rate "
            f"{params.get('learning_rate', 0.01)}"
        )
        reached = [r["seconds_to_97_64"] for r in runs if r["seconds_to_97_64"] is not None]
        to_target = (
            _spread(reached, ".1f")
            + ("" if len(reached) == len(runs) else f" ({len(reached)} of {len(runs)} seeds)")
            if reached
            else "never"
        )
        lines.append(
            f"| {preset} | {recipe} | {', '.join(str(r['seed']) for r in runs)} "
            f"| {_spread([r['test_accuracy'] for r in runs], '.4f')} "
            f"| {_spread([r['fit_seconds'] for r in runs], '.1f')} "
            f"| {_spread([r['predict_seconds'] for r in runs], '.3f')} | {to_target} "
            f"| {_ratio(runs, 'seconds_to_97_64_ratio', '.2f')} "
            f"| {_ratio(runs, 'fit_seconds_in_mlp_epochs', '.1f')} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default=Path(__file__).parent / "results", type=Path)
    print(table(parser.parse_args().results))


if __name__ == "__main__":
    main()
