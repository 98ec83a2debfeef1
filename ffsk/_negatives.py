"""Negative labels: for each row, a label that is not its own.

A negative-sampling strategy is an object with ``needs_scores`` and
``draw(labels, scores, generator)``. The trainer asks for the current
network's scores of every label of the batch only when the strategy needs
them (:class:`HardNegatives`), so :class:`RandomNegatives` costs nothing
beyond the draw.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def random_wrong_labels(
    labels: torch.Tensor, n_classes: int, generator: torch.Generator
) -> torch.Tensor:
    """Draw, for each row, a label uniformly from the ``n_classes - 1`` wrong
    ones (never the true label, unlike a shuffle of the batch's labels)."""
    offsets = torch.randint(1, n_classes, labels.shape, generator=generator, device=labels.device)
    return (labels + offsets) % n_classes


def hard_wrong_labels(
    scores: torch.Tensor, labels: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Hinton's hard negatives: for each row, draw a wrong label with
    probability proportional to ``exp(score)`` over the wrong labels only, so
    the labels the current model confuses with the true one are drawn most.

    ``scores`` has shape ``(n, k)`` (goodness summed over layers per label);
    the cost is linear in ``n``.
    """
    # Non-finite scores mean training diverged; draw uniformly then, so the
    # epoch ends and its divergence check reports it clearly.
    finite = torch.nan_to_num(scores.float(), nan=0.0, posinf=0.0, neginf=0.0)
    logits = finite.scatter(1, labels[:, None], float("-inf"))
    probabilities = torch.softmax(logits, dim=1)
    return torch.multinomial(probabilities, 1, generator=generator)[:, 0]


class RandomNegatives:
    """Each row's negative label drawn uniformly from its wrong labels."""

    needs_scores = False

    def __init__(self, n_classes: int):
        self.n_classes = n_classes

    def draw(
        self,
        labels: torch.Tensor,
        scores: Callable[[], torch.Tensor],
        generator: torch.Generator,
    ) -> torch.Tensor:
        del scores
        return random_wrong_labels(labels, self.n_classes, generator)


class HardNegatives:
    """Each row's negative label drawn in proportion to ``exp(score)`` over
    its wrong labels, scored by the current network (Hinton, 2022)."""

    needs_scores = True

    def draw(
        self,
        labels: torch.Tensor,
        scores: Callable[[], torch.Tensor],
        generator: torch.Generator,
    ) -> torch.Tensor:
        return hard_wrong_labels(scores(), labels, generator)


def negative_sampler(name: str, n_classes: int) -> RandomNegatives | HardNegatives:
    """The strategy the estimator's ``negatives`` parameter names."""
    if name == "random":
        return RandomNegatives(n_classes)
    if name == "hard":
        return HardNegatives()
    raise ValueError(f"Unknown negatives strategy {name!r}; use 'hard' or 'random'.")
