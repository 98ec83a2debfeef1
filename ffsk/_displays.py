"""Pictures of a fitted model, following scikit-learn's Display API:
``Display.from_estimator(...)`` computes the data and plots it; the returned
object holds the data and the matplotlib figure, axes and artists.

matplotlib is an optional dependency (``pip install ffsk[plot]``).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data

from ._input_validation import encode_labels
from ._rows import as_float32_tensor


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised without matplotlib
        raise ImportError(
            "ffsk's displays need matplotlib: pip install matplotlib (or ffsk[plot])."
        ) from exc
    return plt


def _layer_axes(ax, n_layers: int):
    """``n_layers`` axes: new ones in one row, or the ones given."""
    plt = _pyplot()
    if ax is None:
        figure, axes = plt.subplots(1, n_layers, figsize=(4 * n_layers, 3.2), squeeze=False)
        return figure, list(axes[0])
    axes = list(np.ravel(ax))
    if len(axes) != n_layers:
        raise ValueError(f"ax must hold {n_layers} axes (one per layer), got {len(axes)}.")
    return axes[0].figure, axes


class GoodnessDisplay:
    """Per layer, the distributions of goodness of positive rows (each sample
    with its true label) and negative rows (the same sample with a wrong label).

    Forward-Forward has learned when, in each layer, the positive goodness
    lies clearly above the negative goodness (and, with
    ``loss="threshold"``, on the two sides of the threshold).

    Parameters
    ----------
    positive_goodness : ndarray of shape (n_samples, n_layers)
        Goodness of each sample with its true label, per layer.
    negative_goodness : ndarray of shape (n_samples, n_layers)
        Goodness of each sample with a wrong label, per layer.
    threshold : float or None, default=None
        Drawn as a vertical line when not None.

    Attributes
    ----------
    axes_ : list of matplotlib Axes
        One per layer.
    figure_ : matplotlib Figure
    """

    def __init__(self, *, positive_goodness, negative_goodness, threshold=None):
        self.positive_goodness = np.asarray(positive_goodness)
        self.negative_goodness = np.asarray(negative_goodness)
        self.threshold = threshold

    @classmethod
    def from_estimator(
        cls, estimator, X, y, *, negatives="random", random_state=0, ax=None, bins=40
    ) -> GoodnessDisplay:
        """Compute the goodness of ``X`` with the true and a wrong label, and plot.

        Parameters
        ----------
        estimator : ForwardForwardClassifier
            A fitted estimator.
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            True labels, all in ``estimator.classes_``.
        negatives : {"random", "hardest"}, default="random"
            The wrong label of each row: drawn uniformly, or the wrong label
            the model scores highest (the one that decides the prediction).
        random_state : int, default=0
            Seeds the random wrong labels.
        ax : matplotlib Axes or array of them, default=None
            One per layer; None makes a new figure.
        bins : int, default=40
            Histogram bins.

        Returns
        -------
        display : GoodnessDisplay
        """
        check_is_fitted(estimator)
        if negatives not in ("random", "hardest"):
            raise ValueError(f"negatives must be 'random' or 'hardest', got {negatives!r}.")
        X = validate_data(
            estimator, X, dtype=(np.float32, np.float64), reset=False, accept_sparse=False
        )
        y = np.asarray(y)
        check_consistent_length(X, y)
        codes = encode_labels(y, estimator.classes_, "classes_")
        k = len(estimator.classes_)
        if negatives == "random":
            offsets = np.random.RandomState(random_state).randint(1, k, size=len(codes))
            wrong = (codes + offsets) % k
        else:
            # Probabilities rise with the scores: the most probable wrong label
            # is the highest-scoring one.
            proba = estimator.predict_proba(X)
            proba[np.arange(len(codes)), codes] = -np.inf
            wrong = proba.argmax(axis=1)
        network, device = estimator.network_, estimator.device_
        embedding = estimator.label_embedding_
        rows = as_float32_tensor(X, device, embedding.feature_scale)
        features, label_values = embedding.split(rows)
        goodness = [
            network.layer_goodness(features, label_values, torch.as_tensor(labels, device=device))
            .cpu()
            .numpy()
            for labels in (codes, wrong)
        ]
        threshold = estimator.threshold if estimator.loss == "threshold" else None
        display = cls(
            positive_goodness=goodness[0], negative_goodness=goodness[1], threshold=threshold
        )
        return display.plot(ax=ax, bins=bins)

    def plot(self, ax=None, *, bins=40) -> GoodnessDisplay:
        """Draw one histogram pair per layer; returns ``self``."""
        n_layers = self.positive_goodness.shape[1]
        self.figure_, self.axes_ = _layer_axes(ax, n_layers)
        for layer, axis in enumerate(self.axes_):
            positive = self.positive_goodness[:, layer]
            negative = self.negative_goodness[:, layer]
            edges = np.histogram_bin_edges(np.r_[positive, negative], bins=bins)
            axis.hist(negative, bins=edges, alpha=0.6, color="tab:red", label="negative")
            axis.hist(positive, bins=edges, alpha=0.6, color="tab:blue", label="positive")
            if self.threshold is not None:
                axis.axvline(self.threshold, color="black", linestyle="--", label="threshold")
            axis.set_title(f"layer {layer + 1}")
            axis.set_xlabel("goodness (mean squared activity)")
        self.axes_[0].set_ylabel("rows")
        self.axes_[0].legend()
        return self


class LossCurveDisplay:
    """The local loss of each layer per epoch, with the validation accuracy
    per epoch when the model was fitted with ``early_stopping=True``.

    Parameters
    ----------
    loss_curve : ndarray of shape (n_epochs, n_layers)
    validation_scores : list of float or None, default=None

    Attributes
    ----------
    ax_ : matplotlib Axes
        The loss axes.
    validation_ax_ : matplotlib Axes or None
        The twin axes of the validation accuracy.
    lines_ : list of matplotlib Line2D
        One per layer.
    figure_ : matplotlib Figure
    """

    def __init__(self, *, loss_curve, validation_scores=None):
        self.loss_curve = np.asarray(loss_curve)
        self.validation_scores = validation_scores

    @classmethod
    def from_estimator(cls, estimator, *, ax=None) -> LossCurveDisplay:
        """Plot a fitted estimator's ``loss_curve_`` (and ``validation_scores_``)."""
        check_is_fitted(estimator)
        display = cls(
            loss_curve=estimator.loss_curve_,
            validation_scores=getattr(estimator, "validation_scores_", None),
        )
        return display.plot(ax=ax)

    def plot(self, ax=None) -> LossCurveDisplay:
        """Draw the curves; returns ``self``."""
        plt = _pyplot()
        if ax is None:
            self.figure_, ax = plt.subplots(figsize=(6, 3.5))
        else:
            self.figure_ = ax.figure
        epochs = np.arange(1, self.loss_curve.shape[0] + 1)
        self.lines_ = [
            ax.plot(epochs, self.loss_curve[:, layer], label=f"layer {layer + 1}")[0]
            for layer in range(self.loss_curve.shape[1])
        ]
        ax.set_xlabel("epoch")
        ax.set_ylabel("local loss")
        ax.legend(loc="upper right")
        self.ax_, self.validation_ax_ = ax, None
        if self.validation_scores:
            self.validation_ax_ = ax.twinx()
            scores = self.validation_scores
            # Scores belong to the last epochs: after a warm_start fit the
            # loss curve also holds the earlier fit's epochs.
            first = self.loss_curve.shape[0] - len(scores) + 1
            self.validation_ax_.plot(
                np.arange(first, first + len(scores)), scores, color="black", linestyle="--"
            )
            self.validation_ax_.set_ylabel("validation accuracy (dashed)")
        return self
