"""Negative labels: for each row, a label that is not its own."""

from __future__ import annotations

import torch


def random_wrong_labels(
    labels: torch.Tensor, n_classes: int, generator: torch.Generator
) -> torch.Tensor:
    """Draw, for each row, a label uniformly from the ``n_classes - 1`` wrong
    ones (never the true label, unlike a shuffle of the batch's labels)."""
    offsets = torch.randint(1, n_classes, labels.shape, generator=generator, device=labels.device)
    return (labels + offsets) % n_classes
