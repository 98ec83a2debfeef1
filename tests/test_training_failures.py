"""Training that fails well: divergence, interruption, float32 overflow."""

import pickle

import numpy as np
import pytest

from ffsk import ForwardForwardClassifier, TrainingDivergedError
from ffsk._network import LocalTrainer

SMALL = dict(hidden_layer_sizes=(16, 8), epochs=6, random_state=0, device="cpu")


def _interrupt_at_step(monkeypatch, step_number):
    original, calls = LocalTrainer.step, {"n": 0}

    def step(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == step_number:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(LocalTrainer, "step", step)


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


def test_keyboard_interrupt_keeps_the_last_completed_epoch(blobs, monkeypatch):
    X, y = blobs
    steps_per_epoch = int(np.ceil(len(y) / 50))  # batch_size="auto" gives 50 rows here
    expected = ForwardForwardClassifier(**{**SMALL, "epochs": 2}).fit(X, y)
    # Interrupt in the middle of the third epoch.
    _interrupt_at_step(monkeypatch, 2 * steps_per_epoch + 2)
    clf = ForwardForwardClassifier(**SMALL)
    with pytest.warns(UserWarning, match=r"interrupted .* during epoch 3; keeping the model after"):
        clf.fit(X, y)
    monkeypatch.undo()
    assert clf.n_iter_ == 2 and clf.loss_curve_.shape == (2, 2)
    # Exactly the model of a 2-epoch fit (the half-run third epoch is undone),
    # usable and picklable.
    np.testing.assert_array_equal(clf.predict_proba(X), expected.predict_proba(X))
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))


def test_keyboard_interrupt_in_the_first_epoch_propagates_and_changes_nothing(blobs, monkeypatch):
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL)
    _interrupt_at_step(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert not hasattr(clf, "classes_")
    monkeypatch.undo()
    clf.fit(X, y)
    before = clf.predict_proba(X)
    _interrupt_at_step(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        clf.partial_fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    assert clf.n_iter_ == SMALL["epochs"]


def test_values_beyond_float32_are_refused_at_fit_and_predict(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="too large for float32"):
        ForwardForwardClassifier(**SMALL).fit(X * 1e39, y)
    # Large or tiny but representable: rows are rescaled by an exact power of
    # two, so the model is the one fitted on X itself.
    reference = ForwardForwardClassifier(**SMALL).fit(X, y).predict_proba(X)
    for scale in (1e30, 1e-30):
        clf = ForwardForwardClassifier(**SMALL).fit(X * scale, y)
        np.testing.assert_allclose(clf.predict_proba(X * scale), reference, atol=1e-3)
    with pytest.raises(ValueError, match="too large for float32"):
        clf.predict(X * 1e39)


def test_hard_negatives_survive_non_finite_scores_until_the_divergence_check():
    import torch

    from ffsk._negatives import hard_wrong_labels

    scores = torch.tensor([[float("nan"), 1.0, 2.0], [float("inf"), float("-inf"), 0.0]])
    labels = torch.tensor([1, 2])
    drawn = hard_wrong_labels(scores, labels, torch.Generator().manual_seed(0))
    assert (drawn != labels).all() and ((drawn >= 0) & (drawn < 3)).all()
