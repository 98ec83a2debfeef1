"""Checks of input values that scikit-learn's ``validate_data`` does not make,
and labels turned into class indices with an error that names the culprits."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ._label_embedding import largest_magnitude
from ._sklearn_compat import InvalidParameterError


def _holds_strings(labels: np.ndarray) -> bool:
    """Whether ``labels`` are strings (any element of an object array)."""
    if labels.dtype.kind in "US":
        return True
    return labels.dtype.kind == "O" and any(isinstance(v, str | bytes) for v in labels.flat)


def unique_labels(labels, what: str) -> np.ndarray:
    """The sorted distinct values of ``labels``; a ValueError in scikit-learn's
    wording when strings and numbers are mixed (they cannot be sorted)."""
    try:
        return np.unique(labels)
    except TypeError as exc:
        raise ValueError(
            f"Mix of label input types (string and number) in {what}: use labels of one type."
        ) from exc


def encode_labels(y, classes: np.ndarray, what: str, hint: str = "") -> np.ndarray:
    """``y`` as indices into the sorted ``classes``; a ValueError naming the
    labels of ``y`` that are not among them (``what`` names ``classes`` in
    the message, ``hint`` is appended to it)."""
    y = np.asarray(y)
    unknown = np.setdiff1d(unique_labels(y, "y"), classes)
    if unknown.size:
        y_strings = _holds_strings(y)
        if y_strings != _holds_strings(classes):
            # e.g. classes=[0, "a", 1] is read by numpy as the strings "0", "a", "1".
            name = what.split()[0]
            strings, numbers = ("y", name) if y_strings else (name, "y")
            hint = (
                f" ({strings} holds strings and {numbers} numbers, and the string '1' is "
                f"not the number 1: pass labels of one type){hint}"
            )
        raise ValueError(f"y contains labels that are not in {what}: {unknown.tolist()}{hint}")
    return np.searchsorted(classes, y)


def check_float32_range(X, scale: float = 1.0, largest: float | None = None) -> None:
    """Refuse values that float32, ffsk's working precision, cannot hold once
    multiplied by the model's power-of-two ``scale`` (``largest``: X's largest
    magnitude, when the caller has it already)."""
    if largest is None:
        largest = largest_magnitude(X)
    if largest * scale > float(np.finfo(np.float32).max):
        raise ValueError(
            f"Input X contains values too large for float32 (largest magnitude "
            f"{largest:.3g}, {largest * scale:.3g} at the scale of the training data, "
            f"> {np.finfo(np.float32).max:.3g}); ffsk computes in float32. Rescale X, e.g. "
            "with sklearn.preprocessing.StandardScaler."
        )


def check_hidden_layer_sizes(sizes) -> tuple[int, ...]:
    """``hidden_layer_sizes`` (an int, or a non-empty sequence of positive
    ints, numpy ints included) as a tuple of Python ints."""
    as_tuple = (sizes,) if isinstance(sizes, Integral) else tuple(np.ravel(sizes).tolist())
    if not as_tuple or not all(
        isinstance(size, Integral) and not isinstance(size, bool) and size > 0 for size in as_tuple
    ):
        raise InvalidParameterError(
            "The 'hidden_layer_sizes' parameter of ForwardForwardClassifier must be "
            f"a positive int or a non-empty sequence of positive ints. Got {sizes!r} instead."
        )
    return tuple(int(size) for size in as_tuple)
