"""The mini-batch progress bar of ``verbose=2`` (tqdm, an optional dependency)."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable


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
