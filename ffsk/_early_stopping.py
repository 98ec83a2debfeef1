"""Stopping rules: the training loss's plateau, and early stopping on a
held-out validation score with the best weights restored."""

from __future__ import annotations

import torch

from ._snapshots import WeightSnapshot


class LossPlateau:
    """Says when the training loss has stopped falling: after
    ``n_iter_no_change`` epochs in a row whose loss is not below the best
    loss so far minus ``tol`` (the counting rule of scikit-learn's
    ``SGDClassifier``; ``MLPClassifier`` stops one epoch later)."""

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


class EarlyStopping:
    """Tracks a validation score per epoch; says when to stop (the
    :class:`LossPlateau` rule on the negated score: ``n_iter_no_change``
    epochs in a row without a score above ``best + tol``) and keeps a copy of
    the weights of the best epoch (copies allocated once)."""

    def __init__(self, network: torch.nn.Module, n_iter_no_change: float, tol: float):
        self.scores: list[float] = []
        self.best_score: float | None = None
        self._rule = LossPlateau(n_iter_no_change, tol)
        self._best_weights = WeightSnapshot(network)

    def update(self, score: float) -> bool:
        """Record an epoch's score; return True when training should stop."""
        self.scores.append(score)
        stop = self._rule.update(-score)
        if self.best_score is None or score > self.best_score:
            self.best_score = score
            self._best_weights.save()
        return stop

    def restore_best(self) -> None:
        """Put the best epoch's weights back into the network."""
        self._best_weights.restore()
