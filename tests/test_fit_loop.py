"""ffsk/_fit_loop.py: the epoch loop — schedule, divergence, host
round trips, streamed rows, and Ctrl-C wherever it lands."""

import os
import pickle
import signal

import numpy as np
import pytest
import torch

import ffsk._fit_loop as fit_loop
from ffsk import ForwardForwardClassifier, TrainingDivergedError
from ffsk._early_stopping import EarlyStopping
from ffsk._fit_loop import FitConfig, fit_epochs, learning_rate_factor
from ffsk._label_embedding import LabelEmbedding
from ffsk._local_trainer import LocalTrainer
from ffsk._network import FFNetwork
from ffsk._rows import TrainingRows

SMALL = dict(
    hidden_layer_sizes=(16, 8),
    epochs=6,
    random_state=0,
    device="cpu",
    learning_rate_schedule="constant",
    batch_size=50,
)


def test_linear_decay_schedule_is_constant_then_falls_to_two_over_epochs():
    factors = [learning_rate_factor("linear_decay", e, 10) for e in range(10)]
    assert factors[:6] == [1.0] * 6
    assert factors[6:] == pytest.approx([0.8, 0.6, 0.4, 0.2])
    assert all(learning_rate_factor("constant", e, 10) == 1.0 for e in range(10))


def _config(**changes):
    options = dict(
        learning_rate=0.01,
        learning_rate_schedule="constant",
        schedule_epochs=3,
        loss="symba",
        threshold=2.0,
        sharpness=10.0,
        weight_decay=0.0,
        negatives="hard",
        skip_first_goodness=False,
        peer_normalization=0.0,
        precision="float32",
        compile=False,
        batch_size=10,
    )
    return FitConfig(**{**options, **changes})


def _fit_directly(X, y, keep_on_host):
    generator = torch.Generator().manual_seed(0)
    network = FFNetwork(X.shape[1], 3, (16, 8), generator)
    embedding = LabelEmbedding("concat", X.shape[1], 3, 1.0)
    rows = TrainingRows(X, torch.device("cpu"), keep_on_host=keep_on_host)
    result = fit_epochs(network, embedding, rows, y, generator, _config(), range(3))
    return network, result


def test_streamed_host_batches_train_the_same_network_as_device_batches(blobs):
    X, y = blobs
    on_device, result = _fit_directly(X, y, keep_on_host=False)
    streamed, _ = _fit_directly(X, y, keep_on_host=True)
    # On the CPU both draw the same permutations: the networks are identical.
    pairs = zip(on_device.state_dict().items(), streamed.state_dict().values(), strict=True)
    for (name, a), b in pairs:
        assert torch.equal(a, b), name
    assert len(result.loss_curve) == 3 and result.validation_scores is None
    assert set(result.training_state) == {"trainer", "generator_device", "generator"}


def test_fit_reads_back_from_the_device_once_per_epoch_not_per_batch(blobs, monkeypatch):
    """Host round trips happen once per epoch, whatever the number of batches."""
    X, y = blobs
    calls = {"n": 0}
    for name in ("cpu", "item", "numpy", "tolist", "__float__", "__int__", "__bool__"):
        original = getattr(torch.Tensor, name)

        def counting(self, *args, _original=original, **kwargs):
            calls["n"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counting)
    batches_per_epoch = len(X) // 10
    _fit_directly(X, y, keep_on_host=False)
    assert batches_per_epoch == 12
    # per epoch: one .cpu(), one .numpy() and the health check's comparisons
    # of the host copy; construction and the final state add a fixed few
    per_epoch = calls["n"] / 3
    assert per_epoch < batches_per_epoch


def test_divergence_stops_with_a_clear_error_and_keeps_the_previous_model(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL).fit(X, y)
    before = clf.predict_proba(X)
    clf.set_params(learning_rate=1e30)
    with pytest.raises(TrainingDivergedError, match=r"epoch 1: .*nan.*learning_rate=1e\+30"):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    assert clf.learning_rate == 1e30 and clf.n_iter_ == SMALL["epochs"]

    fresh = ForwardForwardClassifier(**{**SMALL, "learning_rate": 1e30})
    with pytest.raises(TrainingDivergedError, match="previous state"):
        fresh.fit(X, y)
    assert not hasattr(fresh, "classes_")


def test_copies_per_row_count_every_row_a_step_runs_through_the_deeper_layers():
    copies = fit_loop._copies_per_row
    assert copies(_config(negatives="random"), 10) == 2  # positive and negative
    assert copies(_config(negatives="hard"), 10) == 12  # ... and all 10 labels scored
    assert copies(_config(negatives="hard", negative_candidates=3), 10) == 6
    assert copies(_config(loss="softmax"), 10) == 10  # every label
    assert copies(_config(loss="softmax", negative_candidates=4), 100) == 5


def test_the_divergence_message_names_the_settings_of_the_loss_in_use():
    losses = np.array([np.nan, 0.5])
    threshold = fit_loop._divergence_message(0, losses, _config(loss="threshold", sharpness=7.0))
    # the threshold loss scales goodness by sharpness too (Hinton's is sharpness=h)
    assert "threshold=2.0" in threshold and "sharpness=7.0" in threshold
    assert "layer(s) 1 became nan" in threshold
    symba = fit_loop._divergence_message(0, losses, _config())
    assert "sharpness=10.0" in symba and "threshold=" not in symba


def _interrupt_on_call(monkeypatch, owner, name, call_number):
    """Make the ``call_number``-th call of ``owner.name`` raise KeyboardInterrupt."""
    original, calls = getattr(owner, name), {"n": 0}

    def interrupting(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call_number:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    if isinstance(owner, type):
        monkeypatch.setattr(owner, name, lambda self, *a, **k: interrupting(self, *a, **k))
    else:
        monkeypatch.setattr(owner, name, interrupting)


STEPS_PER_EPOCH = 3  # 120 rows in batches of 50


# Each point: where the interrupt lands, and for the Nth call there, how
# many epochs are complete and kept (0: the interrupt propagates).
POINTS = {
    "first step of epoch 1": (LocalTrainer, "step", 1, 0),
    "step in epoch 3": (LocalTrainer, "step", 2 * STEPS_PER_EPOCH + 2, 2),
    "validation scoring of epoch 1": (fit_loop, "predict_scores", 1, 0),
    "validation scoring of epoch 2": (fit_loop, "predict_scores", 2, 1),
    "epoch 1's verbose line": (fit_loop, "print_epoch", 1, 1),
    "epoch 4's verbose line": (fit_loop, "print_epoch", 4, 4),
    "the last epoch's verbose line": (fit_loop, "print_epoch", 6, 6),
}


CASES = [
    (point, early_stopping)
    for point in POINTS
    for early_stopping in (False, True)
    # validation scoring runs only with early stopping
    if early_stopping or "validation" not in point
]


@pytest.mark.parametrize(("point", "early_stopping"), CASES)
def test_an_interrupt_anywhere_leaves_one_consistent_completed_epoch(
    blobs, monkeypatch, point, early_stopping
):
    X, y = blobs
    params = {**SMALL, "verbose": 1, "early_stopping": early_stopping, "n_iter_no_change": 50}
    owner, name, call, kept = POINTS[point]
    _interrupt_on_call(monkeypatch, owner, name, call)
    clf = ForwardForwardClassifier(**params)
    if kept == 0:
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, y)
        assert not hasattr(clf, "classes_")
        return
    with pytest.warns(UserWarning, match=rf"keeping the model after epoch {kept} "):
        clf.fit(X, y)
    monkeypatch.undo()
    assert clf.n_iter_ == kept and clf.loss_curve_.shape == (kept, 2)
    expected = ForwardForwardClassifier(**{**params, "epochs": kept, "verbose": 0}).fit(X, y)
    np.testing.assert_array_equal(clf.loss_curve_, expected.loss_curve_)
    np.testing.assert_array_equal(clf.predict_proba(X), expected.predict_proba(X))
    if early_stopping:
        assert clf.validation_scores_ == expected.validation_scores_
        assert len(clf.validation_scores_) == kept
    # The optimiser state and generator are those of the kept epoch too: one
    # more epoch goes on exactly as from a fit of that many epochs.
    clf.set_params(early_stopping=False).partial_fit(X, y)
    expected.set_params(early_stopping=False).partial_fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), expected.predict_proba(X))
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))


def test_an_interrupt_in_a_partial_fit_epoch_undoes_or_keeps_that_whole_epoch(blobs, monkeypatch):
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL, verbose=1).fit(X, y)
    before = clf.predict_proba(X)
    # During the training step: the epoch is undone and the interrupt propagates.
    _interrupt_on_call(monkeypatch, LocalTrainer, "step", 1)
    with pytest.raises(KeyboardInterrupt):
        clf.partial_fit(X, y)
    monkeypatch.undo()
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    assert clf.n_iter_ == SMALL["epochs"]
    # During its verbose line, after the epoch was committed: it is kept.
    expected = pickle.loads(pickle.dumps(clf)).set_params(verbose=0).partial_fit(X, y)
    _interrupt_on_call(monkeypatch, fit_loop, "print_epoch", 1)
    with pytest.warns(UserWarning, match=f"after epoch {SMALL['epochs'] + 1} "):
        clf.partial_fit(X, y)
    monkeypatch.undo()
    assert clf.n_iter_ == len(clf.loss_curve_) == SMALL["epochs"] + 1
    np.testing.assert_array_equal(clf.predict_proba(X), expected.predict_proba(X))


def test_a_real_sigint_during_the_commit_is_deferred_and_keeps_that_epoch(blobs, monkeypatch):
    """Ctrl-C that arrives while an epoch is being committed (its losses,
    early-stopping record and checkpoint) waits until the commit is whole."""
    X, y = blobs
    original, calls = EarlyStopping.update, {"n": 0}

    def update(self, score):
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGINT)  # delivered mid-commit
        return original(self, score)

    monkeypatch.setattr(EarlyStopping, "update", update)
    clf = ForwardForwardClassifier(**SMALL, early_stopping=True, n_iter_no_change=50)
    with pytest.warns(UserWarning, match="keeping the model after epoch 3 "):
        clf.fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.validation_scores_) == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


_RANDOM_SIGINTS = """
import json, os, signal, threading, warnings
import numpy as np
from ffsk import ForwardForwardClassifier

rng = np.random.RandomState(0)
centers = np.array([[2.0, 0.0, 0.0, 1.0], [0.0, 2.0, 0.0, -1.0], [0.0, 0.0, 2.0, 0.0]])
y = np.tile(np.repeat([0, 1, 2], 40), 8)
X = centers[y] + 0.4 * rng.randn(len(y), 4)
outcomes, failures = [], []
for trial in range(30):
    clf = ForwardForwardClassifier(
        hidden_layer_sizes=(32, 16), epochs=12, batch_size=50, early_stopping=True,
        n_iter_no_change=50,
    )
    outcome = None
    timer = threading.Timer(rng.uniform(0.0, 0.4), os.kill, (os.getpid(), signal.SIGINT))
    try:
        timer.start()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                clf.fit(X, y)
            messages = [str(w.message) for w in caught if "interrupted" in str(w.message)]
            outcome = ("kept", messages[0]) if messages else ("finished", "")
        except KeyboardInterrupt:
            outcome = ("propagated", "")
        timer.cancel()
        timer.join()
    except KeyboardInterrupt:  # one SIGINT per trial: it landed after fit returned
        timer.cancel()
        timer.join()
    if outcome is None:
        outcome = ("late", "")
    outcomes.append(outcome[0])
    if outcome[0] == "propagated":
        if hasattr(clf, "classes_"):
            failures.append(f"trial {trial}: propagated but fitted")
        continue
    n = clf.n_iter_
    if clf.loss_curve_.shape != (n, 2) or len(clf.validation_scores_) != n:
        failures.append(f"trial {trial}: n_iter_ {n}, loss curve {clf.loss_curve_.shape}, "
                        f"{len(clf.validation_scores_)} validation scores")
    if outcome[0] == "kept" and f"after epoch {n} " not in outcome[1]:
        failures.append(f"trial {trial}: warning {outcome[1]!r} but n_iter_ {n}")
    if not np.isfinite(clf.predict_proba(X[:5])).all():
        failures.append(f"trial {trial}: non-finite probabilities")
print(json.dumps({"outcomes": outcomes, "failures": failures}))
"""


def test_real_sigints_at_random_moments_always_leave_a_consistent_model():
    """30 fits with early stopping, each sent a real SIGINT after a random
    delay (in a child process, so that no stray signal reaches pytest):
    either the interrupt propagates and the estimator stays unfitted, or it
    keeps one completed epoch, described alike by every attribute."""
    import json
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", _RANDOM_SIGINTS], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["failures"] == []
    assert {"kept", "propagated"} & set(report["outcomes"]), report["outcomes"]
