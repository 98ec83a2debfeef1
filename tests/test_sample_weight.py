"""``sample_weight`` and ``class_weight``: each row's local loss is scaled."""

import numpy as np
import pytest
import torch

from ffsk import ForwardForwardClassifier
from ffsk._losses import LOSS_GRADS, LOSSES

SMALL = dict(hidden_layer_sizes=(16, 8), epochs=15, random_state=0, device="cpu")


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_weighted_loss_gradients_match_autograd(loss):
    g = torch.rand(2, 6, dtype=torch.float64, requires_grad=True)
    weights = torch.tensor([0.0, 1.0, 2.0, 0.5, 3.0, 1.0], dtype=torch.float64)
    value = LOSSES[loss](g[0], g[1], threshold=0.4, sharpness=3.0, weights=weights)
    value.backward()
    closed, d_pos, d_neg = LOSS_GRADS[loss](
        g[0], g[1], threshold=0.4, sharpness=3.0, weights=weights
    )
    torch.testing.assert_close(closed, value)
    torch.testing.assert_close(torch.stack([d_pos, d_neg]), g.grad)
    # Each row's loss is scaled by its weight: a zero weight removes the row.
    assert d_pos[0] == 0 and d_neg[0] == 0


def test_unit_weights_change_nothing(blobs):
    X, y = blobs
    plain = ForwardForwardClassifier(**SMALL, readout="softmax").fit(X, y)
    weighted = ForwardForwardClassifier(**SMALL, readout="softmax").fit(
        X, y, sample_weight=np.ones(len(y))
    )
    np.testing.assert_array_equal(weighted.predict_proba(X), plain.predict_proba(X))
    balanced = ForwardForwardClassifier(**SMALL, class_weight="balanced").fit(X, y)
    np.testing.assert_array_equal(  # the blobs' classes are balanced already
        balanced.predict_proba(X), ForwardForwardClassifier(**SMALL).fit(X, y).predict_proba(X)
    )


def test_weights_scale_the_loss_curve(blobs):
    X, y = blobs
    plain = ForwardForwardClassifier(**SMALL).fit(X, y)
    doubled = ForwardForwardClassifier(**SMALL).fit(X, y, sample_weight=np.full(len(y), 2.0))
    # Adam's step ignores a constant gradient scale, so the training is the
    # same (up to rounding) and the reported loss doubles.
    np.testing.assert_allclose(doubled.loss_curve_, 2 * plain.loss_curve_, rtol=1e-3)


def test_zero_weight_rows_are_ignored(blobs):
    X, y = blobs
    rng = np.random.RandomState(0)
    # Rows with weight 0 get labels that contradict the data: they must not
    # matter.
    noisy_y = np.where(rng.rand(len(y)) < 0.3, (y + 1) % 3, y)
    weights = (noisy_y == y).astype(float)
    clf = ForwardForwardClassifier(**{**SMALL, "epochs": 30}).fit(X, noisy_y, sample_weight=weights)
    assert clf.score(X, y) > 0.95


def test_class_weight_favours_the_weighted_class():
    rng = np.random.RandomState(0)
    # Overlapping classes, 9:1 imbalance.
    X = np.r_[rng.randn(270, 2), rng.randn(30, 2) + 1.0]
    y = np.r_[np.zeros(270, int), np.ones(30, int)]
    params = dict(hidden_layer_sizes=(16,), epochs=30, random_state=0, device="cpu")
    plain = ForwardForwardClassifier(**params).fit(X, y)
    balanced = ForwardForwardClassifier(**params, class_weight="balanced").fit(X, y)
    manual = ForwardForwardClassifier(**params).fit(
        X, y, sample_weight=np.where(y == 1, 5.0, 0.5 * 300 / 270)
    )
    recall = [(model.predict(X[y == 1]) == 1).mean() for model in (plain, balanced)]
    assert recall[1] > recall[0] + 0.2
    # "balanced" is the matching sample_weight: n / (k * count) = 5 and 0.556.
    np.testing.assert_allclose(balanced.predict_proba(X), manual.predict_proba(X), atol=1e-5)
    as_dict = ForwardForwardClassifier(**params, class_weight={0: 1.0, 1: 9.0}).fit(X, y)
    assert (as_dict.predict(X[y == 1]) == 1).mean() > recall[0] + 0.2


def test_bad_weights_are_refused(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        ForwardForwardClassifier(**SMALL).fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(3,\), expected \(120,\)"):
        ForwardForwardClassifier(**SMALL).fit(X, y, sample_weight=[1, 2, 3])
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit"):
        ForwardForwardClassifier(**SMALL, class_weight="balanced").partial_fit(
            X, y, classes=[0, 1, 2]
        )


def test_class_weight_multiplies_sample_weight():
    """The row weights are sample_weight times the class's weight (not one
    replacing the other): the same model as the product passed as weights."""
    X, y = _digits_subset()
    sample_weight = np.where(np.arange(len(y)) % 3 == 0, 0.5, 2.0)
    class_weight = {label: (4.0 if label % 2 else 0.25) for label in np.unique(y)}
    params = dict(hidden_layer_sizes=(16,), epochs=3, random_state=0, device="cpu")
    both = ForwardForwardClassifier(**params, class_weight=class_weight)
    both.fit(X, y, sample_weight=sample_weight)
    product = sample_weight * np.array([class_weight[label] for label in y])
    reference = ForwardForwardClassifier(**params).fit(X, y, sample_weight=product)
    np.testing.assert_array_equal(both.predict_proba(X), reference.predict_proba(X))
    only_class = ForwardForwardClassifier(**params, class_weight=class_weight).fit(X, y)
    assert not np.array_equal(only_class.predict_proba(X), both.predict_proba(X))


def test_the_softmax_readout_learns_with_the_sample_weights():
    """Rows of weight 0 teach the read-out nothing: a class whose rows all
    weigh 0 is (almost) never predicted, though its rows are easy to tell."""
    X, y = _digits_subset()
    params = dict(hidden_layer_sizes=(64, 64), epochs=15, random_state=0, readout="softmax")
    weights = np.where(y == 0, 0.0, 1.0)
    weighted = ForwardForwardClassifier(**params).fit(X, y, sample_weight=weights)
    plain = ForwardForwardClassifier(**params).fit(X, y)
    zeros = y == 0
    assert np.mean(plain.predict(X[zeros]) == 0) > 0.8
    assert np.mean(weighted.predict(X[zeros]) == 0) < 0.2


def _digits_subset():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def test_partial_fit_chunks_may_lack_a_weighted_class(blobs):
    """Class weights are looked up among all the classes, as in
    SGDClassifier.partial_fit: a chunk without class 0 trains with the same
    row weights as those passed explicitly."""
    X, y = blobs
    class_weight = {0: 5.0, 1: 1.0}
    weights = np.array([class_weight.get(label, 1.0) for label in y])
    chunk = y != 0
    params = dict(SMALL, readout="softmax")
    weighted = ForwardForwardClassifier(**params, class_weight=class_weight)
    weighted.partial_fit(X, y, classes=[0, 1, 2]).partial_fit(X[chunk], y[chunk])
    explicit = ForwardForwardClassifier(**params)
    explicit.partial_fit(X, y, classes=[0, 1, 2], sample_weight=weights)
    explicit.partial_fit(X[chunk], y[chunk], sample_weight=weights[chunk])
    np.testing.assert_array_equal(weighted.predict_proba(X), explicit.predict_proba(X))


def test_scaling_every_weight_changes_neither_training_nor_stopping(blobs):
    """The stopping rule's tol applies on the scale of unit weights: weights
    normalised to sum to 1 stop after as many epochs as no weights."""
    X, y = blobs
    params = dict(
        hidden_layer_sizes=(16,), epochs=40, n_iter_no_change=3, random_state=0,
        precision="float32", device="cpu",
    )  # fmt: skip
    plain = ForwardForwardClassifier(**params).fit(X, y)
    assert plain.n_iter_ < 40  # the rule stopped it
    for scale in (1.0 / len(y), 2.0):
        scaled = ForwardForwardClassifier(**params).fit(X, y, sample_weight=np.full(len(y), scale))
        assert scaled.n_iter_ == plain.n_iter_
        np.testing.assert_allclose(scaled.loss_curve_, plain.loss_curve_ * scale, rtol=1e-3)
        np.testing.assert_allclose(scaled.predict_proba(X), plain.predict_proba(X), atol=1e-3)


def test_the_validation_accuracy_is_weighted_like_the_training_rows(blobs):
    """Held-out rows of weight 0 (here with contradicting labels) do not
    count in the early-stopping score, as in MLPClassifier."""
    X, y = blobs
    rng = np.random.RandomState(0)
    noisy_y = np.where(rng.rand(len(y)) < 0.3, (y + 1) % 3, y)
    weights = (noisy_y == y).astype(float)
    params = {**SMALL, "epochs": 30, "early_stopping": True, "validation_fraction": 0.3}
    weighted = ForwardForwardClassifier(**params).fit(X, noisy_y, sample_weight=weights)
    assert max(weighted.validation_scores_) > 0.95
    unweighted = ForwardForwardClassifier(**params).fit(X, noisy_y)
    assert max(unweighted.validation_scores_) < 0.9  # the noisy rows count there
