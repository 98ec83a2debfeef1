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


@pytest.fixture(autouse=True)
def quiet_machine_for_threads(monkeypatch, request):
    """n_threads="auto" follows the machine's load, and float32 products may
    round differently with another thread count: tests that compare two fits
    bit for bit must not depend on what else the machine is doing. So tests
    see a quiet machine (auto = torch's thread count), except those of
    ``tests/test_threads.py``, which simulate the load they need."""
    if request.module.__name__.endswith("test_threads"):
        return
    import ffsk._threads as threads

    monkeypatch.setattr(threads.ThreadChooser, "choose", lambda self: (
        int(self.n_threads) if self.n_threads != "auto" else self.limit
    ))  # fmt: skip
