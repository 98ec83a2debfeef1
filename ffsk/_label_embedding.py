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
        """Return ``(features, label_values)`` for rows ``X`` already multiplied
        by ``feature_scale`` (``_rows.py`` applies it while converting rows to
        float32, in float64 where the input is float64, so that no value
        underflows or overflows on the way)."""
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
#: Largest label value: its square must stay far inside float32's range.
MAX_LABEL_VALUE = 2.0**60


def power_of_two_scale(rms_row_length: float) -> float:
    """The factor ``2**-e`` bringing ``rms_row_length`` near 1 when it lies
    outside the safe range (1.0 inside it). Multiplying by a power of two is
    exact, and the network is invariant to the rows' scale."""
    if rms_row_length <= 0:
        return 1.0
    exponent = math.floor(math.log2(rms_row_length))
    if abs(exponent) < SAFE_LENGTH_EXPONENT:
        return 1.0
    try:
        return math.ldexp(1.0, -exponent)
    except OverflowError:
        raise ValueError(
            f"The rows of X are too small to be represented: their root-mean-square "
            f"length is {rms_row_length:.3g}. Rescale X, e.g. with "
            "sklearn.preprocessing.StandardScaler."
        ) from None


def concat_label_value(rms_row_length: float, label_scale: float) -> float:
    """``label_scale`` times the root-mean-square row length of the (scaled)
    training data (times 1 if all rows are zero). A ValueError names
    ``label_scale`` when the value is too large for float32 arithmetic."""
    value = label_scale * (rms_row_length if rms_row_length > 0 else 1.0)
    if not value < MAX_LABEL_VALUE:
        raise ValueError(
            f"label_scale={label_scale!r} makes the embedded label {value:.3g} times larger "
            "than a feature value, beyond what float32 arithmetic can square. Use a "
            "label_scale between about 0.01 and 100."
        )
    return value


def largest_magnitude(X) -> float:
    """The largest absolute value in ``X`` (dense or sparse; 0 when empty),
    from its max and min: no temporary the size of ``X``."""
    values = X.data if sp.issparse(X) else X
    if values.size == 0:
        return 0.0
    return max(float(values.max()), -float(values.min()))


def rms_row_length(X, largest: float | None = None) -> float:
    """Root-mean-square Euclidean row length (dense or sparse), in float64,
    without overflow or underflow whatever the scale of ``X``. ``largest``:
    :func:`largest_magnitude` of ``X``, when the caller has it already."""
    if largest is None:
        largest = largest_magnitude(X)
    if X.shape[0] == 0 or largest == 0.0:
        return 0.0
    # Squares of float64 values outside about [1e-150, 1e150] under- or
    # overflow: divide by the largest value first (a copy, for such data only).
    divisor = 1.0 if 1e-100 < largest < 1e100 else largest
    scaled = X / divisor if divisor != 1.0 else X
    if sp.issparse(X):
        mean_square = float(scaled.multiply(scaled).sum() / X.shape[0])
    else:
        mean_square = float(np.einsum("ij,ij->", scaled, scaled, dtype=np.float64) / X.shape[0])
    return divisor * mean_square**0.5
