"""Training and prediction rows as float32 tensors on the compute device.

The training data is converted to float32 once per fit. When it fits in the
device's memory it is moved there once and mini-batches are gathered on the
device with a permutation tensor; otherwise (a large data set on a GPU) it
stays in host memory and each mini-batch is gathered there and sent through
pinned memory. Sparse matrices stay sparse until their mini-batch.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
import torch

#: Share of the free GPU memory the training data may take on the device.
DEVICE_DATA_FRACTION = 0.5


def as_float32_tensor(rows, device: torch.device, scale: float = 1.0) -> torch.Tensor:
    """Rows times ``scale`` (a power of two) as one float32 tensor on
    ``device``: no copy for float32 rows on the CPU when ``scale`` is 1;
    otherwise the product is taken in float64 first, so values that float32
    cannot hold before scaling (1e-300, 1e39) are not lost."""
    if scale != 1.0:
        rows = np.multiply(rows, scale, dtype=np.float64)
    with warnings.catch_warnings():
        # Read-only arrays (e.g. joblib's memory maps in a grid search) are
        # shared, not copied: ffsk never writes to its input tensors.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.as_tensor(np.asarray(rows), dtype=torch.float32, device=device)


def fits_on_device(n_bytes: int, device: torch.device) -> bool:
    """Whether ``n_bytes`` of training data should be moved to ``device``."""
    if device.type != "cuda":
        return True
    free_bytes, _ = torch.cuda.mem_get_info(device)
    return n_bytes <= DEVICE_DATA_FRACTION * free_bytes


class TrainingRows:
    """Gathers mini-batches of training rows on the training device.

    Parameters
    ----------
    X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
    device : torch.device
        Where the mini-batches are needed.
    scale : float, default=1.0
        The label embedding's ``feature_scale``, applied while converting.
    keep_on_host : bool or None
        Force (True) or forbid (False) keeping dense data in host memory;
        None decides from the data size and the device's free memory.
    """

    def __init__(
        self, X, device: torch.device, keep_on_host: bool | None = None, scale: float = 1.0
    ):
        self.device = device
        self.sparse = sp.issparse(X)
        if self.sparse:
            self.rows = (X.astype(np.float64) * scale if scale != 1.0 else X).tocsr()
            self.on_device = False
        else:
            if keep_on_host is None:
                keep_on_host = not fits_on_device(X.shape[0] * X.shape[1] * 4, device)
            self.on_device = not keep_on_host
            self.rows = as_float32_tensor(
                X, device if self.on_device else torch.device("cpu"), scale
            )
        #: Where permutations of row indices should be drawn.
        self.index_device = device if self.on_device else torch.device("cpu")

    def batch(self, indices: torch.Tensor) -> torch.Tensor:
        """The rows at ``indices`` (on :attr:`index_device`), on the device."""
        if self.on_device:
            return self.rows[indices]
        if self.sparse:
            return as_float32_tensor(self.rows[indices.numpy()].toarray(), self.device)
        gathered = self.rows.index_select(0, indices)
        if self.device.type == "cuda":
            return gathered.pin_memory().to(self.device, non_blocking=True)
        return gathered.to(self.device)


def iter_row_tensors(
    X, chunk_rows: int, device: torch.device, scale: float = 1.0
) -> Iterator[torch.Tensor]:
    """Consecutive chunks of ``X`` times ``scale`` as float32 tensors on
    ``device``; sparse chunks are densified one at a time."""
    for start in range(0, X.shape[0], chunk_rows):
        rows = X[start : start + chunk_rows]
        yield as_float32_tensor(rows.toarray() if sp.issparse(rows) else rows, device, scale)
