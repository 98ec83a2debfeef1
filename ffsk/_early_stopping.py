"""Early stopping on a held-out validation score, restoring the best weights."""

from __future__ import annotations

import torch

from ._snapshots import WeightSnapshot


class EarlyStopping:
    """Tracks a validation score per epoch; says when to stop and keeps a copy
    of the weights of the best epoch (copies allocated once).

    Training stops after ``n_iter_no_change`` epochs in a row without a score
    above ``best + tol`` (the rule of scikit-learn's ``SGDClassifier``;
    ``MLPClassifier`` stops one epoch later).
    """

    def __init__(self, network: torch.nn.Module, n_iter_no_change: int, tol: float):
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.scores: list[float] = []
        self.best_score: float | None = None
        self._epochs_without_improvement = 0
        self._best_weights = WeightSnapshot(network)

    def update(self, score: float) -> bool:
        """Record an epoch's score; return True when training should stop."""
        self.scores.append(score)
        if self.best_score is None or score > self.best_score + self.tol:
            self._epochs_without_improvement = 0
        else:
            self._epochs_without_improvement += 1
        if self.best_score is None or score > self.best_score:
            self.best_score = score
            self._best_weights.save()
        return self._epochs_without_improvement >= self.n_iter_no_change

    def restore_best(self) -> None:
        """Put the best epoch's weights back into the network."""
        self._best_weights.restore()


class LossPlateau:
    """Says when the training loss has stopped falling: after
    ``n_iter_no_change`` epochs in a row whose loss is not below the best
    loss so far minus ``tol`` (``MLPClassifier``'s rule without early stopping,
    counted as :class:`EarlyStopping` counts)."""

    def __init__(self, n_iter_no_change: float, tol: float):
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.best_loss: float | None = None
        self._epochs_without_improvement = 0

    def update(self, loss: float) -> bool:
        """Record an epoch's loss; return True when training should stop."""
        if self.best_loss is None or loss < self.best_loss - self.tol:
            self._epochs_without_improvement = 0
        else:
            self._epochs_without_improvement += 1
        if self.best_loss is None or loss < self.best_loss:
            self.best_loss = loss
        return self._epochs_without_improvement >= self.n_iter_no_change
