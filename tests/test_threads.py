"""ffsk/_threads.py: threads chosen from the cores other processes leave
idle, the user's torch setting restored after every call."""

import numpy as np
import pytest
import torch

import ffsk._threads as threads_module
from ffsk import ForwardForwardClassifier
from ffsk._local_trainer import LocalTrainer
from ffsk._threads import ThreadChooser, restored_torch_threads


def _fake_clock(monkeypatch, busy_other_per_second, own_per_second=1.0):
    """Simulate /proc/stat and our own CPU time: every call advances the clock
    by one second, in which other processes keep ``busy_other_per_second``
    cores busy."""
    clock = {"t": 0.0}

    def perf_counter():
        clock["t"] += 1.0
        return clock["t"]

    monkeypatch.setattr(threads_module.time, "perf_counter", perf_counter)
    monkeypatch.setattr(threads_module.time, "sleep", lambda seconds: None)
    threads_module._reset_measurements()
    monkeypatch.setattr(threads_module, "_own_seconds", lambda: clock["t"] * own_per_second)
    monkeypatch.setattr(
        threads_module,
        "_busy_seconds",
        lambda cpus: clock["t"] * (busy_other_per_second + own_per_second),
    )
    monkeypatch.setattr(threads_module.os, "getloadavg", lambda: (busy_other_per_second, 0, 0))


@pytest.mark.parametrize(("others", "expected"), [(0.0, 2), (1.0, 1), (0.3, 2), (1.8, 1)])
def test_auto_uses_the_cores_other_processes_leave_idle(monkeypatch, others, expected):
    _fake_clock(monkeypatch, others)
    chooser = ThreadChooser("auto", limit=2)
    chooser.cpus = {0, 1}
    assert chooser.choose() == expected  # from a first, short probe of the counters
    assert chooser.choose() == expected  # from the CPU counters since the last call
    # without CPU counters, from the load average
    monkeypatch.setattr(threads_module, "_busy_seconds", lambda cpus: None)
    threads_module._reset_measurements()
    assert chooser.choose() == expected


def test_auto_never_exceeds_torchs_own_limit_and_a_number_is_obeyed(monkeypatch):
    _fake_clock(monkeypatch, 0.0)
    chooser = ThreadChooser("auto", limit=1)
    chooser.cpus = {0, 1, 2, 3}
    assert chooser.choose() == 1
    assert ThreadChooser(3, limit=1).choose() == 3


@pytest.mark.parametrize("n_threads", ["auto", 1])
def test_the_users_torch_threads_are_restored_after_fit_and_predict(blobs, n_threads):
    X, y = blobs
    with restored_torch_threads():
        torch.set_num_threads(2)
        clf = ForwardForwardClassifier(
            hidden_layer_sizes=(8,), epochs=2, n_threads=n_threads, random_state=0
        )
        clf.fit(X, y)
        assert torch.get_num_threads() == 2
        clf.predict(X)
        assert torch.get_num_threads() == 2
        clf.partial_fit(X, y)
        assert torch.get_num_threads() == 2


def test_a_fixed_thread_count_is_used_while_training(blobs, monkeypatch):
    X, y = blobs
    seen = set()
    original = LocalTrainer.step

    def step(self, *args, **kwargs):
        seen.add(torch.get_num_threads())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(LocalTrainer, "step", step)
    with restored_torch_threads():
        torch.set_num_threads(2)
        ForwardForwardClassifier(hidden_layer_sizes=(8,), epochs=2, n_threads=1).fit(X, y)
    assert seen == {1}


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_thread_counts_change_the_model_only_by_rounding(digits_split, precision):
    """What "auto" picks depends on the machine's load; another thread count
    may round float32 products differently, nothing more."""
    X, _, y, _ = digits_split
    params = dict(epochs=2, random_state=0, precision=precision)
    one = ForwardForwardClassifier(**params, n_threads=1).fit(X, y)
    two = ForwardForwardClassifier(**params, n_threads=2).fit(X, y)
    np.testing.assert_allclose(one.predict_proba(X), two.predict_proba(X), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(one.predict(X), two.predict(X))


def test_the_cpu_counters_are_read_on_linux():
    import os

    if not os.path.exists("/proc/stat"):
        pytest.skip("no /proc/stat on this system")
    first = threads_module._busy_seconds(set(os.sched_getaffinity(0)))
    sum(i * i for i in range(200_000))  # keep a core busy for a moment
    second = threads_module._busy_seconds(set(os.sched_getaffinity(0)))
    assert 0 < first <= second


def test_a_second_call_soon_after_reuses_the_last_measurement(monkeypatch):
    threads_module._reset_measurements()
    calls = {"n": 0}
    original = threads_module._busy_seconds

    def counting(cpus):
        calls["n"] += 1
        return original(cpus)

    monkeypatch.setattr(threads_module, "_busy_seconds", counting)
    chooser = ThreadChooser("auto", limit=2)
    chooser.choose()
    first = calls["n"]
    chooser.choose()  # within 50 ms: no read of the counters, no new probe
    assert calls["n"] == first


def test_work_too_small_to_share_runs_on_one_thread_whatever_the_load(monkeypatch):
    _fake_clock(monkeypatch, 0.0)  # a quiet machine: "auto" alone would take both cores
    small = ThreadChooser("auto", limit=2, work=threads_module.SMALL_WORK - 1)
    small.cpus = {0, 1}
    assert small.choose() == 1
    large = ThreadChooser("auto", limit=2, work=threads_module.SMALL_WORK)
    large.cpus = {0, 1}
    assert large.choose() == 2
    # a number the user gave is obeyed, however small the work
    assert ThreadChooser(2, limit=2, work=1).choose() == 2


def test_products_work_counts_the_first_layer_once_and_deeper_layers_per_copy():
    # 10 rows: 10 * 5 * 4 for the first layer, then 3 copies of 10 rows through 4x6 and 6x2
    assert threads_module.products_work(10, 5, (4, 6, 2), copies=3) == 10 * (
        5 * 4 + 3 * (4 * 6 + 6 * 2)
    )
    assert threads_module.products_work(7, 3, (9,), copies=2) == 7 * 3 * 9


def test_a_tiny_fit_and_its_predict_run_on_one_thread(monkeypatch):
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    monkeypatch.setattr(threads_module, "_others_busy", lambda cpus: 0.0)  # a quiet machine
    # ... with two cores, whatever this runner has: "auto" alone would take both
    monkeypatch.setattr(threads_module.os, "sched_getaffinity", lambda pid: {0, 1})
    large = ThreadChooser("auto", limit=2, work=threads_module.SMALL_WORK)
    assert large.choose() == 2
    seen = set()
    original = threads_module.set_threads

    def recording(count):
        seen.add(count)
        original(count)

    import ffsk._classifier
    import ffsk._fit_loop

    monkeypatch.setattr(ffsk._fit_loop, "set_threads", recording)
    monkeypatch.setattr(ffsk._classifier, "set_threads", recording)
    with restored_torch_threads():
        torch.set_num_threads(2)
        clf = ForwardForwardClassifier(epochs=3, random_state=0).fit(X, y)
        clf.predict(X)
    assert seen == {1}
