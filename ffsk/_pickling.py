"""Pickling: the estimator's ``__getstate__``/``__setstate__`` hooks and the
warning for a pickle written by another ffsk version.

A model fitted on a GPU must unpickle on a machine without one, so the
pickled state holds the fitted state in its portable form
(``_fitted_state.py``: the network's configuration and CPU tensors).
Unpickling rebuilds the network on the device the estimator's ``device``
parameter resolves to there (the CPU, with a warning, when an explicitly
requested CUDA device is missing).
"""

from __future__ import annotations

import warnings

from ._fitted_state import (
    get_fitted_state,
    portable_state,
    restore_portable_state,
    set_fitted_state,
)
from ._version import __version__


class InconsistentVersionWarning(UserWarning):
    """An estimator is unpickled by a different ffsk version than the one
    that pickled it (like scikit-learn's warning of the same name).

    Attributes
    ----------
    original_version : str
        The ffsk version that pickled the estimator.
    current_version : str
        The ffsk version that unpickled it.
    """

    def __init__(self, *, original_version: str, current_version: str):
        self.original_version = original_version
        self.current_version = current_version

    def __str__(self) -> str:
        return (
            f"Trying to unpickle a ForwardForwardClassifier pickled by ffsk "
            f"{self.original_version} with ffsk {self.current_version}. This might lead to "
            "breaking code or invalid results. Use at your own risk. ffsk.save/ffsk.load "
            "files are checked for compatibility instead."
        )


def warn_if_other_version(original_version: str | None) -> None:
    """Warn when a pickle was written by another ffsk version."""
    if original_version is not None and original_version != __version__:
        warnings.warn(
            InconsistentVersionWarning(
                original_version=original_version, current_version=__version__
            ),
            stacklevel=3,
        )


def pickle_state(estimator, state: dict) -> dict:
    """The state to pickle: ``state`` (the estimator's ``__dict__``, as
    ``BaseEstimator.__getstate__`` gives it) with the fitted state portable and
    the ffsk version recorded."""
    if "network_" in state:
        state = {**state, **portable_state(get_fitted_state(estimator))}
    return {**state, "_ffsk_version": __version__}


def unpickle_state(state: dict) -> dict:
    """``state`` without the version record (warning when it differs), for
    ``BaseEstimator.__setstate__``; then call :func:`restore_fitted_state`."""
    state = dict(state)
    warn_if_other_version(state.pop("_ffsk_version", None))
    return state


def restore_fitted_state(estimator) -> None:
    """After ``__setstate__``: rebuild the network where the estimator's
    ``device`` parameter resolves here."""
    if "network_" in estimator.__dict__:
        set_fitted_state(
            estimator, restore_portable_state(get_fitted_state(estimator), estimator.device)
        )
