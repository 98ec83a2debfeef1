import os

# scikit-learn's array-API estimator check only runs when SciPy's array API
# support is switched on before SciPy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest
from sklearn.datasets import load_digits


@pytest.fixture(scope="session")
def digits_split():
    """The embedded data set: scikit-learn's digits, pixels / 16, 75/25 split."""
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0)


@pytest.fixture
def blobs():
    """Small, well separated 3-class data for quick behavioural tests."""
    rng = np.random.RandomState(0)
    centers = np.array([[2.0, 0.0, 0.0, 1.0], [0.0, 2.0, 0.0, -1.0], [0.0, 0.0, 2.0, 0.0]])
    y = np.repeat([0, 1, 2], 40)
    X = centers[y] + 0.4 * rng.randn(len(y), 4)
    return X, y
