"""ffsk/_fitted_state.py: one list of fitted attributes serves fit, pickling
and the model file — every attribute survives both round trips."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch

import ffsk
from ffsk import ForwardForwardClassifier
from ffsk._fitted_state import FITTED_ATTRIBUTES, get_fitted_state, set_fitted_state


def _assert_same(a, b, where):
    if isinstance(a, torch.nn.Module):
        assert a.state_dict().keys() == b.state_dict().keys(), where
        for name, tensor in a.state_dict().items():
            assert torch.equal(tensor.cpu(), b.state_dict()[name].cpu()), f"{where}.{name}"
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a.cpu(), b.cpu()), where
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
        assert a.dtype == b.dtype, where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.randn(90, 3), columns=["a", "b", "c"])
    y = np.array(["x", "y", "z"])[rng.randint(0, 3, 90)]
    clf = ForwardForwardClassifier(
        hidden_layer_sizes=(8, 4),
        epochs=5,
        early_stopping=True,
        readout="softmax",
        peer_normalization=0.03,
        random_state=0,
        device="cpu",
    )
    return clf.fit(X, y), X


def test_fit_sets_every_listed_attribute(fitted):
    clf, _ = fitted
    assert set(get_fitted_state(clf)) == set(FITTED_ATTRIBUTES)
    assert clf.validation_scores_ is not None and clf.best_validation_score_ is not None


@pytest.mark.parametrize("round_trip", ["model file", "pickle"])
def test_every_fitted_attribute_survives_the_round_trip(fitted, tmp_path, round_trip):
    clf, X = fitted
    if round_trip == "model file":
        ffsk.save(clf, tmp_path / "model.ffsk")
        loaded = ffsk.load(tmp_path / "model.ffsk")
    else:
        loaded = pickle.loads(pickle.dumps(clf))
    for name in FITTED_ATTRIBUTES:
        assert hasattr(loaded, name), name
        _assert_same(getattr(clf, name), getattr(loaded, name), name)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_setting_a_state_without_an_optional_attribute_removes_it(fitted):
    clf, _ = fitted
    state = get_fitted_state(clf)
    other = ForwardForwardClassifier()
    other.feature_names_in_ = np.array(["stale"], dtype=object)
    set_fitted_state(other, {k: v for k, v in state.items() if k != "feature_names_in_"})
    assert not hasattr(other, "feature_names_in_")
    with pytest.raises(ValueError, match="lacks"):
        set_fitted_state(ForwardForwardClassifier(), {"classes_": state["classes_"]})
