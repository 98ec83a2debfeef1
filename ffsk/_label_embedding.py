"""How a label is embedded in an input row.

Two layouts, both ``[features, label_value * onehot(label)]`` up to the order
of the columns:

* ``"concat"`` appends ``k`` label columns after the ``d`` features. The label
  value is ``label_scale`` times the root-mean-square length of the training
  rows, so the label weighs the same against the features whatever their
  units (scaling ``X`` by a constant changes nothing).
* ``"overlay"`` writes the one-hot over the first ``k`` features (as in
  Hinton's MNIST experiments), which therefore must carry no information. The
  label value is ``label_scale`` times the row's largest absolute value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

ENCODINGS = ("concat", "overlay")


@dataclass(frozen=True)
class LabelEmbedding:
    """Splits raw rows into the network's feature part and label values.

    Parameters
    ----------
    encoding : {"concat", "overlay"}
        ``"concat"`` appends the label columns after the features;
        ``"overlay"`` writes them over the first ``n_classes`` features.
    n_features : int
        Number of columns of the raw input ``X``.
    n_classes : int
        Number of classes, i.e. of label columns.
    label_value : float
        For ``"concat"``, the value written in the label's column; for
        ``"overlay"``, the factor applied to each row's largest absolute value.
    feature_scale : float, default=1.0
        A power of two every row is multiplied by first (exactly), chosen so
        that squared row lengths neither overflow nor underflow float32.
    """

    encoding: str
    n_features: int
    n_classes: int
    label_value: float
    feature_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise ValueError(f"Unknown label encoding {self.encoding!r}.")
        if self.encoding == "overlay" and self.n_features <= self.n_classes:
            raise ValueError(
                f"label_encoding='overlay' writes the one-hot label over the first "
                f"n_classes={self.n_classes} features and needs more features than that, "
                f"but X has only {self.n_features} features. Use label_encoding='concat'."
            )

    @property
    def n_network_features(self) -> int:
        """Number of feature columns the network sees besides the label."""
        if self.encoding == "overlay":
            return self.n_features - self.n_classes
        return self.n_features

    def split(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(features, label_values)`` for raw rows ``X``."""
        if self.feature_scale != 1.0:
            X = X * self.feature_scale
        if self.encoding == "overlay":
            # The first k columns are overwritten by the label, so they do not
            # count towards the row's maximum.
            features = X[:, self.n_classes :]
            return features, self.label_value * features.abs().amax(dim=1)
        return X, X.new_full((X.shape[0],), self.label_value)

    def embed(self, X: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The full embedded rows, label columns included (for inspection and
        for checking the network's shared-product shortcut)."""
        features, values = self.split(X)
        onehot = torch.nn.functional.one_hot(labels, self.n_classes).to(X.dtype)
        label_part = onehot * values[:, None]
        if self.encoding == "overlay":
            return torch.cat([label_part, features], dim=1)
        return torch.cat([features, label_part], dim=1)


#: Rows whose root-mean-square length lies outside [2**-32, 2**32] are scaled
#: by a power of two: float32 squares of their values would otherwise overflow
#: to inf or underflow to 0 when rows are length-normalised.
SAFE_LENGTH_EXPONENT = 32


def power_of_two_scale(rms_row_length: float) -> float:
    """The factor ``2**-e`` bringing ``rms_row_length`` near 1 when it lies
    outside the safe range (1.0 inside it). Multiplying by a power of two is
    exact, and the network is invariant to the rows' scale."""
    if rms_row_length <= 0:
        return 1.0
    exponent = math.floor(math.log2(rms_row_length))
    if abs(exponent) < SAFE_LENGTH_EXPONENT:
        return 1.0
    return 2.0**-exponent


def concat_label_value(mean_square_row_length: float, label_scale: float) -> float:
    """``label_scale`` times the root-mean-square row length of the training
    data (times 1 if all rows are zero)."""
    rms = mean_square_row_length**0.5
    return label_scale * (rms if rms > 0 else 1.0)


def mean_square_row_length(X) -> float:
    """Mean over rows of the squared Euclidean row length (dense or sparse)."""
    if X.shape[0] == 0:
        return 0.0
    if sp.issparse(X):
        return float(X.multiply(X).sum() / X.shape[0])
    return float(np.einsum("ij,ij->", X, X, dtype=np.float64) / X.shape[0])
