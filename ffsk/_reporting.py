"""What a fit reports as it goes: one line per epoch (``verbose=1``) and a
progress bar over each epoch's mini-batches (``verbose=2``, with tqdm, an
optional dependency)."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable, Sequence


def progress_bar(batches: Iterable, description: str) -> Iterable:
    """``batches`` wrapped in a tqdm bar on stdout (where the epoch lines go),
    removed when the epoch ends; ``batches`` itself, with a warning, when tqdm
    is not installed."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warnings.warn(
            "verbose=2 shows a progress bar over mini-batches with tqdm, which is not "
            "installed (pip install tqdm); printing epoch lines only.",
            UserWarning,
            stacklevel=4,
        )
        return batches
    return tqdm(batches, desc=description, unit="batch", leave=False, file=sys.stdout)


def print_epoch(
    epoch: int,
    last_epoch: int,
    losses: Sequence[float],
    validation_score: float | None,
    seconds: float,
) -> None:
    """Print one aligned line for a completed epoch. Losses get four
    significant digits: late epochs' local losses can be far below 1e-4."""
    per_layer = " ".join(f"{value:.3e}" for value in losses)
    width = len(str(last_epoch))
    validation = "" if validation_score is None else f"  validation {validation_score:.4f}"
    print(
        f"Epoch {epoch:>{width}}/{last_epoch}  local loss per layer: [{per_layer}]"
        f"{validation}  {seconds:6.2f}s",
        flush=True,
    )
