"""Throughput of ffsk against the machine's own matrix-product speed.

For each network and batch size, in one run on the same machine:

1. training samples/s through the public estimator API, and the achieved
   GFLOP/s, counting the forward and weight-gradient products of every layer
   for positive and negative rows (``8 * n_in * n_out`` FLOPs per sample and
   layer, the textbook count);
2. the GFLOP/s of bare ``torch.mm`` on the products ffsk runs per mini-batch
   (the first layer's feature product is shared by a row's positive and
   negative copies, so it runs on ``batch`` rows, the deeper layers on
   ``2 * batch``), and the efficiency ratio: the bare products' time over
   ffsk's time per mini-batch (1 = ffsk costs only its matrix products);
3. ``predict`` and ``predict_proba`` samples/s against the bare products that
   prediction cannot avoid (first layer once per row, deeper layers once per
   row and label), and the peak memory of predicting many rows;
4. the epoch time of scikit-learn's ``MLPClassifier`` with the same hidden
   sizes and batch size on the same float32 data (backprop, positives only);
5. at the precision ``precision="auto"`` resolves to on this machine
   (bfloat16 on CPUs with bfloat16 units), training efficiency with random
   and hard negatives and ``predict`` efficiency against the bare products in
   that precision (operands already cast; hard negatives' scoring products
   included), beside the bound one fused AdamW step per mini-batch sets.

Data is random and MNIST-shaped (784 features, 10 classes): throughput does
not depend on the values. Every time is the median of ``--repeats`` runs.

Usage::

    python benchmarks/throughput.py [--repeats 3] [--out benchmarks/results/throughput.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from ffsk import ForwardForwardClassifier
from ffsk._devices import compute_dtype
from ffsk._inference import LabelScorer
from ffsk._optimizers import adam as ffsk_adam

N_FEATURES, N_CLASSES = 784, 10
#: name: (hidden sizes, training rows per measured epoch)
NETWORKS = {
    "784-500-500": ((500, 500), 20_000),
    "784-4x2000": ((2000, 2000, 2000, 2000), 5_000),
}
#: Small products: the batch ``batch_size="auto"`` picked for MNIST before it
#: grew to 500 rows, and what tables of 2,000 to 4,000 rows still get.
SMALL_BATCH = 100
LARGE_BATCH = 500


def _median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _random_data(n_rows: int, seed: int = 0):
    rng = np.random.RandomState(seed)
    return rng.rand(n_rows, N_FEATURES).astype(np.float32), rng.randint(0, N_CLASSES, n_rows)


def _epoch_seconds(make_estimator, X, y, repeats: int) -> float:
    """Seconds per epoch: (fit with 3 epochs - fit with 1 epoch) / 2, so the
    one-time validation and set-up costs are not counted as epoch time."""
    one = _median_seconds(lambda: make_estimator(1).fit(X, y), repeats)
    three = _median_seconds(lambda: make_estimator(3).fit(X, y), repeats)
    return max(three - one, 1e-9) / 2


def _bare_training_seconds(
    sizes,
    batch_size: int,
    repeats: int,
    dtype: torch.dtype = torch.float32,
    scored_labels: int = 0,
) -> float:
    """Seconds per mini-batch of the matrix products one training step runs,
    done bare on operands already in ``dtype``: the first layer's shared
    feature product and its weight gradient, the label columns' gradient
    (float32 in ffsk whatever the precision), every deeper layer's forward
    and weight-gradient products on the positive and negative rows, and, for
    hard negatives (``scored_labels`` > 0), the deeper layers' forward
    products on the ``batch * scored_labels`` rows that scoring costs."""
    rows, h0 = 2 * batch_size, sizes[0]  # positive and negative rows

    def rand(*shape):
        return torch.rand(*shape).to(dtype)

    pairs = [
        (rand(batch_size, N_FEATURES), rand(N_FEATURES, h0)),
        (rand(h0, batch_size), rand(batch_size, N_FEATURES)),
        (torch.rand(h0, rows), torch.rand(rows, N_CLASSES)),
    ]
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        inputs = rand(rows, n_in)
        pairs += [(inputs, rand(n_in, n_out)), (rand(rows, n_out).T, inputs)]
        if scored_labels:
            pairs.append((rand(batch_size * scored_labels, n_in), rand(n_in, n_out)))

    def products():
        for a, b in pairs:
            torch.mm(a, b)

    products()
    steps = 20
    return _median_seconds(lambda: [products() for _ in range(steps)], 2 * repeats + 1) / steps


def _mm_flops(sizes, batch_size: int) -> int:
    """FLOPs of the products timed by :func:`_bare_training_seconds`."""
    rows, h0 = 2 * batch_size, sizes[0]
    flops = 2 * (2 * batch_size * N_FEATURES * h0) + 2 * h0 * rows * N_CLASSES
    return flops + sum(2 * (2 * rows * a * b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def _bare_predict_seconds_per_row(
    sizes, block_rows: int, repeats: int, dtype: torch.dtype = torch.float32
) -> float:
    first = (
        torch.rand(block_rows, N_FEATURES).to(dtype),
        torch.rand(N_FEATURES, sizes[0]).to(dtype),
    )
    deeper = [
        (torch.rand(block_rows * N_CLASSES, n_in).to(dtype), torch.rand(n_in, n_out).to(dtype))
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
    ]

    def products():
        torch.mm(*first)
        for activity, weight in deeper:
            torch.mm(activity, weight)

    products()
    blocks = 10
    return _median_seconds(lambda: [products() for _ in range(blocks)], repeats) / (
        blocks * block_rows
    )


def _flops_per_training_sample(sizes) -> int:
    dims = [N_FEATURES, *sizes]
    return sum(8 * a * b for a, b in zip(dims[:-1], dims[1:], strict=True))


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _peak_memory_child(sizes: tuple[int, ...], n_rows: int) -> dict:
    """Run in a fresh process: peak RSS growth while predicting ``n_rows``."""
    X_small, y_small = _random_data(2000)
    clf = ForwardForwardClassifier(
        hidden_layer_sizes=sizes, epochs=1, random_state=0, precision="float32"
    )
    clf.fit(X_small, y_small)
    # Filled in chunks so that building X does not itself raise the peak.
    X = np.empty((n_rows, N_FEATURES), dtype=np.float32)
    rng = np.random.RandomState(1)
    for start in range(0, n_rows, 10_000):
        X[start : start + 10_000] = rng.rand(min(10_000, n_rows - start), N_FEATURES)
    before = _rss_bytes()
    peak = [before]
    done = threading.Event()

    def watch():  # sample the resident set size while predict runs
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.perf_counter()
    y_pred = clf.predict(X)
    seconds = time.perf_counter() - started
    done.set()
    watcher.join()
    return {
        "rows": n_rows,
        "input_bytes": int(X.nbytes),
        "peak_rss_increase_bytes": int(max(peak[0], _rss_bytes()) - before),
        "predict_seconds": seconds,
        "predictions": int(y_pred.shape[0]),
    }


def _peak_memory(sizes, n_rows: int) -> dict:
    here = str(Path(__file__).parent)
    code = (
        f"import json, sys; sys.path.insert(0, {here!r}); import throughput; "
        f"print(json.dumps(throughput._peak_memory_child({tuple(sizes)!r}, {n_rows})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _training_record(name, sizes, n_rows, batch_size, repeats) -> dict:
    X, y = _random_data(n_rows)

    def ffsk(epochs):  # float32 products, like the bare ones they are compared with
        return ForwardForwardClassifier(
            hidden_layer_sizes=sizes,
            batch_size=batch_size,
            epochs=epochs,
            random_state=0,
            precision="float32",
        )

    def mlp(epochs):
        return MLPClassifier(
            hidden_layer_sizes=sizes, batch_size=batch_size, max_iter=epochs, random_state=0
        )

    # The bare products are timed before and after ffsk's epochs, and the
    # median taken, so a drift in the machine's speed affects both sides.
    bare_before = _bare_training_seconds(sizes, batch_size, repeats)
    ff_epoch = _epoch_seconds(ffsk, X, y, repeats)
    bare_step = statistics.median([bare_before, _bare_training_seconds(sizes, batch_size, repeats)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp_epoch = _epoch_seconds(mlp, X, y, repeats)
    samples_per_s = n_rows / ff_epoch
    ff_step = ff_epoch * batch_size / n_rows
    return {
        "network": name,
        "batch_size": batch_size,
        "rows_per_epoch": n_rows,
        "train_samples_per_s": samples_per_s,
        "train_gflops": samples_per_s * _flops_per_training_sample(sizes) / 1e9,
        "bare_mm_gflops": _mm_flops(sizes, batch_size) / bare_step / 1e9,
        "train_efficiency": bare_step / ff_step,
        "ffsk_epoch_s": ff_epoch,
        "mlp_epoch_s": mlp_epoch,
        "ffsk_over_mlp_epoch": ff_epoch / mlp_epoch,
    }


def _bare_adam_seconds(sizes, repeats: int) -> float:
    """Seconds of one fused AdamW step over float32 parameters of the
    network's shapes: the optimiser's pass over weights, gradients and
    moments that every training step needs besides its products."""
    dims = [N_FEATURES + N_CLASSES, *sizes]
    params = []
    for n_in, n_out in zip(dims[:-1], dims[1:], strict=True):
        for shape in ((n_out, n_in), (n_out,)):
            param = torch.nn.Parameter(torch.rand(shape), requires_grad=False)
            param.grad = torch.rand(shape)
            params.append(param)
    optimizer = ffsk_adam(params, 1e-3, 0.0)
    optimizer.step()
    steps = 20
    return _median_seconds(lambda: [optimizer.step() for _ in range(steps)], repeats) / steps


def _resolved_precision_record(name, sizes, n_rows, batch_size, negatives, repeats) -> dict:
    """Training efficiency at the precision ``precision="auto"`` resolves to
    on this machine, against the bare products in that precision."""
    X, y = _random_data(n_rows)

    def ffsk(epochs):
        return ForwardForwardClassifier(
            hidden_layer_sizes=sizes,
            batch_size=batch_size,
            epochs=epochs,
            negatives=negatives,
            early_stopping=False,
            random_state=0,
        )

    probe = ffsk(1).fit(X[:200], y[:200])
    dtype = compute_dtype(probe.precision_) or torch.float32
    scored = N_CLASSES if negatives == "hard" else 0
    bare_before = _bare_training_seconds(sizes, batch_size, repeats, dtype, scored)
    ff_epoch = _epoch_seconds(ffsk, X, y, repeats)
    bare_after = _bare_training_seconds(sizes, batch_size, repeats, dtype, scored)
    bare_step = statistics.median([bare_before, bare_after])
    adam_step = _bare_adam_seconds(sizes, repeats)
    return {
        "network": name,
        "batch_size": batch_size,
        "negatives": negatives,
        "precision": probe.precision_,
        "ffsk_epoch_s": ff_epoch,
        "bare_step_s": bare_step,
        "train_efficiency": bare_step / (ff_epoch * batch_size / n_rows),
        # The optimiser's memory pass is not a product: this is the
        # efficiency a step that did nothing but its products and one fused
        # AdamW step would reach.
        "adam_step_s": adam_step,
        "efficiency_bound_with_adam": bare_step / (bare_step + adam_step),
    }


def _resolved_predict_record(name, sizes, n_rows, repeats) -> dict:
    """``predict`` at the resolved precision against the bare products it
    cannot avoid, in that precision."""
    X, y = _random_data(2000)
    clf = ForwardForwardClassifier(hidden_layer_sizes=sizes, epochs=1, random_state=0).fit(X, y)
    dtype = compute_dtype(clf.precision_) or torch.float32
    X_pred, _ = _random_data(n_rows, seed=2)
    clf.predict(X_pred[:10])
    predict_s = _median_seconds(lambda: clf.predict(X_pred), repeats)
    block_rows = LabelScorer(clf.network_).block_rows
    bound = _bare_predict_seconds_per_row(sizes, block_rows, repeats, dtype)
    return {
        "network": name,
        "rows": n_rows,
        "precision": clf.precision_,
        "predict_samples_per_s": n_rows / predict_s,
        "bare_bound_samples_per_s": 1.0 / bound,
        "predict_efficiency": n_rows / predict_s * bound,
    }


def _options_record(name, sizes, n_rows, repeats) -> dict:
    """Epoch time of the optional precision and compile settings against the
    defaults, at the default batch size, measured side by side."""
    X, y = _random_data(n_rows)

    def epoch_seconds(**options):
        def make(epochs):
            return ForwardForwardClassifier(
                hidden_layer_sizes=sizes,
                batch_size=SMALL_BATCH,
                epochs=epochs,
                random_state=0,
                **options,
            )

        make(1).fit(X[:500], y[:500])  # warm-up (and compilation caches)
        return _epoch_seconds(make, X, y, repeats)

    default = epoch_seconds(precision="float32")
    record = {"network": name, "batch_size": SMALL_BATCH, "float32_epoch_s": default}
    for label, options in (
        ("bfloat16", {"precision": "bfloat16"}),
        ("compile", {"compile": True, "precision": "float32"}),
    ):
        record[f"{label}_epoch_s"] = epoch_seconds(**options)
        record[f"{label}_speedup"] = default / record[f"{label}_epoch_s"]
    return record


def _predict_record(name, sizes, n_rows, repeats, memory_rows) -> dict:
    X, y = _random_data(2000)
    clf = ForwardForwardClassifier(
        hidden_layer_sizes=sizes, epochs=1, random_state=0, precision="float32"
    ).fit(X, y)
    X_pred, _ = _random_data(n_rows, seed=2)
    clf.predict(X_pred[:10])  # warm up
    predict_s = _median_seconds(lambda: clf.predict(X_pred), repeats)
    proba_s = _median_seconds(lambda: clf.predict_proba(X_pred), repeats)
    block_rows = LabelScorer(clf.network_).block_rows
    bound_s_per_row = _bare_predict_seconds_per_row(sizes, block_rows, repeats)
    predict_rate = n_rows / predict_s
    return {
        "network": name,
        "rows": n_rows,
        "predict_samples_per_s": predict_rate,
        "predict_proba_samples_per_s": n_rows / proba_s,
        "bare_bound_samples_per_s": 1.0 / bound_s_per_row,
        "predict_efficiency": predict_rate * bound_s_per_row,
        "peak_memory": _peak_memory(sizes, memory_rows),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--networks",
        nargs="+",
        choices=sorted(NETWORKS),
        default=sorted(NETWORKS),
        help="networks to measure (default: all)",
    )
    parser.add_argument("--out", default="benchmarks/results/throughput.json")
    parser.add_argument(
        "--memory-rows",
        type=int,
        default=1_000_000,
        help="rows predicted for the peak-memory figure of the 784-500-500 network",
    )
    parser.add_argument(
        "--resolved-only",
        action="store_true",
        help="measure only the efficiency at the resolved precision (section 5); "
        "the default --out becomes benchmarks/results/throughput_resolved.json",
    )
    args = parser.parse_args(argv)
    if args.resolved_only and args.out == parser.get_default("out"):
        args.out = "benchmarks/results/throughput_resolved.json"

    machine = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "scikit_learn": sklearn.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": "cpu",
    }
    # Epoch counts here are fixed on purpose; the warning that they were not
    # enough to converge says nothing about throughput.
    warnings.simplefilter("ignore", ConvergenceWarning)
    training, prediction, options, resolved = [], [], [], []
    for name in args.networks:
        sizes, train_rows = NETWORKS[name]
        for batch_size in () if args.resolved_only else (SMALL_BATCH, LARGE_BATCH):
            record = _training_record(name, sizes, train_rows, batch_size, args.repeats)
            training.append(record)
            print(
                f"train {name} batch {batch_size}: {record['train_samples_per_s']:.0f} samples/s, "
                f"{record['train_gflops']:.0f} GFLOP/s (bare mm {record['bare_mm_gflops']:.0f}; "
                f"efficiency {record['train_efficiency']:.2f}); epoch "
                f"{record['ffsk_epoch_s']:.2f} s vs MLPClassifier {record['mlp_epoch_s']:.2f} s "
                f"({record['ffsk_over_mlp_epoch']:.2f}x)",
                flush=True,
            )
        if not args.resolved_only:
            record = _options_record(name, sizes, train_rows, args.repeats)
            options.append(record)
            print(
                f"options {name} batch {SMALL_BATCH}: "
                f"float32 epoch {record['float32_epoch_s']:.2f} s; "
                f"bfloat16 {record['bfloat16_epoch_s']:.2f} s "
                f"({record['bfloat16_speedup']:.2f}x); "
                f"compile {record['compile_epoch_s']:.2f} s ({record['compile_speedup']:.2f}x)",
                flush=True,
            )
        for batch_size, negatives in (
            (SMALL_BATCH, "random"),
            (SMALL_BATCH, "hard"),
            (LARGE_BATCH, "hard"),
        ):
            record = _resolved_precision_record(
                name, sizes, train_rows, batch_size, negatives, args.repeats
            )
            resolved.append(record)
            print(
                f"resolved precision ({record['precision']}) {name} batch {batch_size}, "
                f"{negatives} negatives: efficiency {record['train_efficiency']:.2f} of the "
                f"bare products (bound with one fused AdamW step: "
                f"{record['efficiency_bound_with_adam']:.2f})",
                flush=True,
            )
        small = sizes == (500, 500)
        if small:
            record = _resolved_predict_record(name, sizes, 20_000, args.repeats)
            resolved.append(record)
            print(
                f"resolved precision ({record['precision']}) predict {name}: efficiency "
                f"{record['predict_efficiency']:.2f} of the bare products",
                flush=True,
            )
        if args.resolved_only:
            continue
        record = _predict_record(
            name,
            sizes,
            n_rows=20_000 if small else 2_000,
            repeats=args.repeats,
            memory_rows=args.memory_rows if small else 20_000,
        )
        prediction.append(record)
        memory = record["peak_memory"]
        print(
            f"predict {name}: {record['predict_samples_per_s']:.0f} samples/s "
            f"(predict_proba {record['predict_proba_samples_per_s']:.0f}), bare bound "
            f"{record['bare_bound_samples_per_s']:.0f} (efficiency "
            f"{record['predict_efficiency']:.2f}); peak memory +"
            f"{memory['peak_rss_increase_bytes'] / 2**20:.0f} MiB predicting {memory['rows']} rows "
            f"({memory['input_bytes'] / 2**20:.0f} MiB input)",
            flush=True,
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": machine,
                "training": training,
                "options": options,
                "prediction": prediction,
                "resolved_precision": resolved,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
