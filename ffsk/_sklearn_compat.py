"""The private scikit-learn helpers ffsk relies on, imported in one place.

scikit-learn does not promise that ``_fit_context``, ``_param_validation``
and ``_check_sample_weight`` stay as they are; when one moves, this module is
the only one to change. CI runs the test suite against the oldest
scikit-learn that ``pyproject.toml`` allows and against the newest.
"""

from __future__ import annotations

from sklearn.base import _fit_context
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.validation import _check_sample_weight


def validate_params(estimator) -> None:
    """Check ``estimator``'s parameters against its ``_parameter_constraints``
    (raises ``InvalidParameterError``, a ValueError), as ``fit`` does."""
    estimator._validate_params()


__all__ = [
    "Interval",
    "InvalidParameterError",
    "Options",
    "StrOptions",
    "_check_sample_weight",
    "_fit_context",
    "validate_params",
]
