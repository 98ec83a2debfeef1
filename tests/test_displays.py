"""GoodnessDisplay and LossCurveDisplay, rendered with the Agg backend."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ffsk import ForwardForwardClassifier, GoodnessDisplay, LossCurveDisplay  # noqa: E402

SMALL = dict(hidden_layer_sizes=(16, 8), epochs=30, random_state=0, device="cpu")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_goodness_display_separates_positive_from_negative_rows(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL).fit(X, y)
    display = GoodnessDisplay.from_estimator(clf, X, y)
    assert display.positive_goodness.shape == display.negative_goodness.shape == (len(y), 2)
    assert len(display.axes_) == 2 and display.figure_ is display.axes_[0].figure
    # A trained network gives its positive rows more goodness, in every layer.
    assert (display.positive_goodness.mean(axis=0) > display.negative_goodness.mean(axis=0)).all()
    # Summed over layers, positive beats the hardest negative where the
    # model predicts right.
    hardest = GoodnessDisplay.from_estimator(clf, X, y, negatives="hardest")
    correct = clf.predict(X) == y
    margin = hardest.positive_goodness.sum(axis=1) - hardest.negative_goodness.sum(axis=1)
    assert (margin[correct] > 0).all()
    assert display.threshold is None  # SymBa has no threshold
    display.figure_.canvas.draw()  # renders


def test_goodness_display_draws_the_threshold_and_uses_given_axes(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**{**SMALL, "loss": "threshold", "threshold": 1.0}).fit(X, y)
    figure, axes = plt.subplots(1, 2)
    display = GoodnessDisplay.from_estimator(clf, X, y, ax=axes)
    assert display.threshold == 1.0 and display.figure_ is figure
    assert any(line.get_xdata()[0] == 1.0 for line in axes[0].get_lines())
    with pytest.raises(ValueError, match="one per layer"):
        GoodnessDisplay.from_estimator(clf, X, y, ax=axes[:1])
    with pytest.raises(ValueError, match="not in classes_"):
        GoodnessDisplay.from_estimator(clf, X, np.full(len(y), 9))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        GoodnessDisplay.from_estimator(clf, X, y[:10])


def test_loss_curve_display_holds_the_curves(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL, early_stopping=True, n_iter_no_change=100).fit(X, y)
    display = LossCurveDisplay.from_estimator(clf)
    assert len(display.lines_) == 2
    np.testing.assert_array_equal(display.lines_[1].get_ydata(), clf.loss_curve_[:, 1])
    np.testing.assert_array_equal(
        display.validation_ax_.get_lines()[0].get_ydata(), clf.validation_scores_
    )
    plain = LossCurveDisplay.from_estimator(ForwardForwardClassifier(**SMALL).fit(X, y))
    assert plain.validation_ax_ is None
    plain.figure_.savefig(__import__("io").BytesIO(), format="png")


def test_loss_curve_display_puts_validation_scores_at_their_epochs(blobs):
    """After a warm_start fit the loss curve holds both fits' epochs, the
    validation scores only the last fit's: they belong to its epochs."""
    X, y = blobs
    params = dict(SMALL, epochs=3, early_stopping=True, n_iter_no_change=100, warm_start=True)
    clf = ForwardForwardClassifier(**params).fit(X, y).fit(X, y)
    assert clf.loss_curve_.shape[0] == 6 and len(clf.validation_scores_) == 3
    display = LossCurveDisplay.from_estimator(clf)
    np.testing.assert_array_equal(display.lines_[0].get_xdata(), np.arange(1, 7))
    np.testing.assert_array_equal(
        display.validation_ax_.get_lines()[0].get_xdata(), np.arange(4, 7)
    )
