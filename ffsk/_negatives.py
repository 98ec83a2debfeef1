"""Negative labels: for each row, a label that is not its own.

A negative-sampling strategy is an object with ``needs_scores`` and
``draw(labels, scores, generator)``, where ``scores(candidates=None)`` scores
the batch's rows with the current network: every label (``(n, k)``), or the
``m`` labels of each row in ``candidates`` (``(n, m)``). Only
:class:`HardNegatives` calls it, so :class:`RandomNegatives` costs nothing
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


def wrong_label_candidates(
    labels: torch.Tensor, n_classes: int, m: int, generator: torch.Generator
) -> torch.Tensor:
    """For each row, ``m`` distinct wrong labels drawn uniformly, ``(n, m)``."""
    offsets = torch.multinomial(
        torch.ones(labels.shape[0], n_classes - 1, device=labels.device),
        m,
        replacement=False,
        generator=generator,
    )
    return (labels[:, None] + offsets + 1) % n_classes


class HardNegatives:
    """Each row's negative label drawn in proportion to ``exp(score)`` over
    its wrong labels, scored by the current network (Hinton, 2022).

    With ``n_candidates`` below the number of wrong labels, each row scores
    only that many wrong labels, drawn uniformly, and its negative is drawn
    among them in proportion to ``exp(score)``: the cost of scoring no longer
    grows with the number of classes.
    """

    needs_scores = True

    def __init__(self, n_classes: int = 0, n_candidates: int | None = None):
        self.n_classes = n_classes
        self.n_candidates = n_candidates

    def draw(
        self,
        labels: torch.Tensor,
        scores: Callable[..., torch.Tensor],
        generator: torch.Generator,
    ) -> torch.Tensor:
        if self.n_candidates is None or self.n_candidates >= self.n_classes - 1:
            return hard_wrong_labels(scores(), labels, generator)
        candidates = wrong_label_candidates(labels, self.n_classes, self.n_candidates, generator)
        finite = torch.nan_to_num(scores(candidates).float(), nan=0.0, posinf=0.0, neginf=0.0)
        pick = torch.multinomial(torch.softmax(finite, dim=1), 1, generator=generator)
        return candidates.gather(1, pick)[:, 0]


def negative_sampler(
    name: str, n_classes: int, n_candidates: int | None = None
) -> RandomNegatives | HardNegatives:
    """The strategy the estimator's ``negatives`` parameter names
    (``n_candidates``: wrong labels scored per row by hard negatives)."""
    if name == "random":
        return RandomNegatives(n_classes)
    if name == "hard":
        return HardNegatives(n_classes, n_candidates)
    raise ValueError(f"Unknown negatives strategy {name!r}; use 'hard' or 'random'.")
