"""benchmarks/mnist.py: every preset is a recipe of plain estimator
parameters that trains on any 28x28, 10-class data, not an MNIST constant."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from ffsk import ForwardForwardClassifier

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "mnist.py"
_spec = importlib.util.spec_from_file_location("benchmarks_mnist", _PATH)
mnist = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mnist)


@pytest.mark.parametrize("preset", sorted(mnist.PRESETS))
def test_each_preset_trains_on_any_28x28_ten_class_data(preset):
    rng = np.random.RandomState(0)
    X = rng.rand(60, 784).astype(np.float32)
    y = np.arange(60) % 10
    params = {**mnist.PRESETS[preset], "epochs": 1}
    clf = ForwardForwardClassifier(**params, random_state=0).fit(X, y)
    assert clf.n_iter_ == 1
    assert set(clf.predict(X)) <= set(range(10))


def test_the_presets_the_issue_names_exist():
    assert {"reference", "sprint", "fast", "best", "hinton"} <= set(mnist.PRESETS)
    hinton = mnist.PRESETS["hinton"]
    assert hinton["hidden_layer_sizes"] == (2000, 2000, 2000, 2000)
    assert hinton["negatives"] == "hard" and hinton["epochs"] == 60
