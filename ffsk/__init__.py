"""ffsk: Forward-Forward learning as a scikit-learn estimator."""

from ._classifier import ForwardForwardClassifier, TrainingDivergedError
from ._displays import GoodnessDisplay, LossCurveDisplay
from ._embedding import LabelEmbedding
from ._persistence import InconsistentVersionWarning
from ._saving import ModelFileError, load, save
from ._version import __version__

__all__ = [
    "ForwardForwardClassifier",
    "GoodnessDisplay",
    "LossCurveDisplay",
    "InconsistentVersionWarning",
    "LabelEmbedding",
    "ModelFileError",
    "TrainingDivergedError",
    "__version__",
    "load",
    "save",
]
