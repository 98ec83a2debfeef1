"""ffsk: Forward-Forward learning as a scikit-learn estimator."""

from ._classifier import ForwardForwardClassifier
from ._embedding import LabelEmbedding

__version__ = "0.1.0"

__all__ = ["ForwardForwardClassifier", "LabelEmbedding", "__version__"]
