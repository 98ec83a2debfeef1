"""Continued training: ``partial_fit`` and ``warm_start``."""

import pickle

import numpy as np
import pytest

from ffsk import ForwardForwardClassifier

SMALL = dict(hidden_layer_sizes=(24, 16), epochs=4, batch_size=50, random_state=0, device="cpu")
# Every piece of state a continued fit must carry over: Adam moments (also the
# read-out's), peer-normalisation means, the schedule and the generator.
ALL_STATE = dict(
    negatives="hard",
    readout="softmax",
    peer_normalization=0.03,
    learning_rate_schedule="linear_decay",
)


def _weights(clf):
    return [t.clone() for t in clf.network_.state_dict().values()]


def _assert_same_network(a, b):
    for wa, wb in zip(_weights(a), _weights(b), strict=True):
        assert np.array_equal(wa.numpy(), wb.numpy())


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_partial_fit_epochs_times_trains_the_same_network_as_fit(blobs, precision):
    X, y = blobs
    params = {**SMALL, **ALL_STATE, "precision": precision}
    fitted = ForwardForwardClassifier(**params).fit(X, y)
    incremental = ForwardForwardClassifier(**params)
    for _ in range(params["epochs"]):
        incremental.partial_fit(X, y, classes=np.unique(y))
    _assert_same_network(incremental, fitted)
    np.testing.assert_array_equal(incremental.loss_curve_, fitted.loss_curve_)
    assert incremental.n_iter_ == fitted.n_iter_ == params["epochs"]
    np.testing.assert_array_equal(incremental.predict_proba(X), fitted.predict_proba(X))


def test_warm_start_continues_where_the_last_fit_stopped(blobs):
    X, y = blobs
    params = {**SMALL, **ALL_STATE, "learning_rate_schedule": "constant"}
    straight = ForwardForwardClassifier(**{**params, "epochs": 5}).fit(X, y)
    warm = ForwardForwardClassifier(**{**params, "epochs": 3, "warm_start": True}).fit(X, y)
    warm.set_params(epochs=2).fit(X, y)
    _assert_same_network(warm, straight)
    assert warm.n_iter_ == 5 and warm.loss_curve_.shape == (5, 2)

    # Without warm_start, a second fit starts over from a new network.
    cold = ForwardForwardClassifier(**{**params, "epochs": 3}).fit(X, y)
    cold.set_params(epochs=2).fit(X, y)
    _assert_same_network(cold, ForwardForwardClassifier(**{**params, "epochs": 2}).fit(X, y))
    assert cold.n_iter_ == 2


def test_continuing_after_a_pickle_round_trip_is_exact(blobs):
    X, y = blobs
    classes = np.unique(y)
    reference = ForwardForwardClassifier(**{**SMALL, **ALL_STATE})
    for _ in range(3):
        reference.partial_fit(X, y, classes=classes)
    resumed = ForwardForwardClassifier(**{**SMALL, **ALL_STATE})
    resumed.partial_fit(X, y, classes=classes).partial_fit(X, y)
    resumed = pickle.loads(pickle.dumps(resumed))
    resumed.partial_fit(X, y)
    _assert_same_network(resumed, reference)


def test_partial_fit_learns_from_chunks_and_knows_all_classes(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL)
    order = np.random.RandomState(0).permutation(len(y))
    classes = np.array([0, 1, 2, 3])  # class 3 never appears in the data
    for _ in range(15):
        for chunk in np.array_split(order, 4):
            clf.partial_fit(X[chunk], y[chunk], classes=classes)
    np.testing.assert_array_equal(clf.classes_, classes)
    assert clf.predict_proba(X).shape == (len(y), 4)
    assert clf.score(X, y) > 0.9
    assert clf.n_iter_ == 60


def test_partial_fit_needs_classes_first_and_refuses_unknown_labels(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    assert not hasattr(clf, "n_features_in_")
    with pytest.raises(ValueError, match=r"not in classes: \[2\]"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=r"1-D array-like of labels, got shape \(1, 3\)"):
        clf.partial_fit(X, y, classes=[[0, 1, 2]])
    assert not hasattr(clf, "classes_")

    clf.partial_fit(X, y, classes=[0, 1, 2])
    before = _weights(clf)
    with pytest.raises(ValueError, match=r"not in classes_ \[0, 1, 2\]: \[7\]"):
        clf.partial_fit(X, np.where(y == 2, 7, y))
    with pytest.raises(ValueError, match="4 features"):
        clf.partial_fit(X[:, :3], y)
    # A failed continued fit leaves the model exactly as it was.
    for old, new in zip(before, _weights(clf), strict=True):
        assert np.array_equal(old.numpy(), new.numpy())
    assert clf.n_iter_ == 1


@pytest.mark.parametrize(
    "change, message",
    [
        ({"hidden_layer_sizes": (8,)}, "hidden_layer_sizes"),
        ({"readout": "softmax"}, "readout"),
        ({"label_encoding": "overlay"}, "label_encoding"),
    ],
)
def test_a_continued_fit_cannot_change_the_network_structure(blobs, change, message):
    X, y = blobs
    clf = ForwardForwardClassifier(**{**SMALL, "warm_start": True}).fit(X, y)
    clf.set_params(**change)
    with pytest.raises(ValueError, match=f"cannot change the network's structure.*{message}"):
        clf.fit(X, y)
    with pytest.raises(ValueError, match=message):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == SMALL["epochs"]


def test_a_later_partial_fit_with_other_classes_raises_as_in_scikit_learn(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL).partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X, y, classes=[2, 1, 0])  # the same classes, in any order
    before = _weights(clf)
    with pytest.raises(ValueError, match=r"`classes=\[0, 1, 2, 3\]` is not the same .* was"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    for old, new in zip(before, _weights(clf), strict=True):
        assert np.array_equal(old.numpy(), new.numpy())
    assert clf.n_iter_ == 2


def test_partial_fit_refuses_early_stopping(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL, early_stopping=True)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert not hasattr(clf, "classes_")


def test_n_iter_no_change_inf_never_stops_early_and_keeps_the_best_epoch(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(
        **{**SMALL, "epochs": 6}, early_stopping=True, n_iter_no_change=np.inf, tol=10.0
    ).fit(X, y)
    assert clf.n_iter_ == 6 and len(clf.validation_scores_) == 6
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_continuing_after_a_decaying_fit_learns_new_data(blobs):
    """After fit's linear decay ends at 2/epochs of the rate, partial_fit starts
    a new cycle at the full rate (a warm restart) and learns what it is given."""
    X, y = blobs
    clf = ForwardForwardClassifier(**{**SMALL, "epochs": 50}).fit(X, y)
    # New data: the same inputs, with the labels moved around.
    y_new = (y + 1) % 3
    assert clf.score(X, y_new) < 0.2
    for _ in range(20):
        clf.partial_fit(X, y_new)
    assert clf.n_iter_ == 70
    assert clf.score(X, y_new) > 0.9


def test_the_learning_rate_schedule_repeats_for_further_partial_fit_calls(blobs, monkeypatch):
    from ffsk._local_trainer import LocalTrainer

    X, y = blobs
    factors = []
    original = LocalTrainer.set_learning_rate_factor

    def record(self, factor):
        factors.append(factor)
        original(self, factor)

    monkeypatch.setattr(LocalTrainer, "set_learning_rate_factor", record)
    clf = ForwardForwardClassifier(**{**SMALL, "epochs": 4})
    for _ in range(6):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert factors == pytest.approx([1.0, 1.0, 1.0, 0.5, 1.0, 1.0])
