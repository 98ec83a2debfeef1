"""ffsk: Forward-Forward learning as a scikit-learn estimator.

The public names are imported on first access (PEP 562), so that importing
``ffsk`` (e.g. for ``ffsk --help``) does not import torch and scikit-learn.
``from ffsk import ForwardForwardClassifier`` works as usual.
"""

import importlib
from typing import TYPE_CHECKING

from ._version import __version__

if TYPE_CHECKING:  # what static type checkers see; at run time, __getattr__ below
    from ._classifier import ForwardForwardClassifier
    from ._displays import GoodnessDisplay, LossCurveDisplay
    from ._fit_loop import TrainingDivergedError
    from ._model_file import ModelFileError, load, save
    from ._pickling import InconsistentVersionWarning

# Public name -> the module (relative to this package) that defines it.
_LAZY_IMPORTS = {
    "ForwardForwardClassifier": "._classifier",
    "TrainingDivergedError": "._fit_loop",
    "GoodnessDisplay": "._displays",
    "LossCurveDisplay": "._displays",
    "InconsistentVersionWarning": "._pickling",
    "ModelFileError": "._model_file",
    "load": "._model_file",
    "save": "._model_file",
}

__all__ = [
    "ForwardForwardClassifier",
    "GoodnessDisplay",
    "LossCurveDisplay",
    "InconsistentVersionWarning",
    "ModelFileError",
    "TrainingDivergedError",
    "__version__",
    "load",
    "save",
]


def __getattr__(name):
    module_name = _LAZY_IMPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
