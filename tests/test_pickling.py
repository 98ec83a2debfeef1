"""ffsk/_pickling.py: pickles hold CPU tensors, unpickle on machines
without the GPU they were fitted on, and warn across ffsk versions."""

import pickle
import warnings

import numpy as np
import pytest
import torch

import ffsk
from ffsk import ForwardForwardClassifier, InconsistentVersionWarning

FAST = dict(hidden_layer_sizes=(32, 16), epochs=20, random_state=0, device="cpu")
SMALL = dict(hidden_layer_sizes=(8,), epochs=3, random_state=0, device="cpu")


# -------------------------------------------------------------- persistence
def test_pickle_round_trip_gives_identical_probabilities(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**FAST).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_model_fitted_on_cuda_unpickles_on_a_machine_without_cuda(blobs, monkeypatch):
    """Simulated: a model whose device was 'cuda' is loaded where CUDA is absent."""
    X, y = blobs
    clf = ForwardForwardClassifier(**FAST).fit(X, y)
    expected = clf.predict_proba(X)
    clf.device = "cuda"  # as if it had been fitted with device="cuda"
    payload = pickle.dumps(clf)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="using the CPU"):
        restored = pickle.loads(payload)
    assert restored.device_ == torch.device("cpu")
    assert all(p.device.type == "cpu" for p in restored.network_.parameters())
    np.testing.assert_array_equal(restored.predict_proba(X), expected)


@pytest.mark.parametrize("device", ["tpu", "garbage"])
def test_a_device_set_after_fit_that_cannot_be_used_still_unpickles_on_the_cpu(blobs, device):
    X, y = blobs
    clf = ForwardForwardClassifier(**FAST).fit(X, y)
    expected = clf.predict_proba(X)
    clf.set_params(device=device)  # set_params validates nothing; fit would refuse it
    with pytest.warns(UserWarning, match=f"device='{device}' cannot be used.*using the CPU"):
        restored = pickle.loads(pickle.dumps(clf))
    assert restored.device_ == torch.device("cpu")
    np.testing.assert_array_equal(restored.predict_proba(X), expected)
    with pytest.raises(ValueError, match=f"device='{device}'"):
        restored.fit(X, y)


def test_pickled_state_holds_cpu_tensors_and_leaves_the_live_model_alone(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**FAST).fit(X, y)
    state = clf.__getstate__()
    tensors = state["network_"]["tensors"]
    assert set(tensors) == set(clf.network_.state_dict())
    assert all(t.device.type == "cpu" for t in tensors.values())
    assert isinstance(clf.network_, torch.nn.Module)  # the live estimator is unchanged


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_model_fitted_on_a_real_gpu_unpickles_without_cuda(blobs, monkeypatch):
    X, y = blobs
    clf = ForwardForwardClassifier(**{**FAST, "device": "cuda"}).fit(X, y)
    assert clf.device_.type == "cuda"
    assert all(p.device.type == "cuda" for p in clf.network_.parameters())
    expected = clf.predict_proba(X)
    payload = pickle.dumps(clf)
    assert clf.device_.type == "cuda"  # pickling did not move the live model
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="using the CPU"):
        restored = pickle.loads(payload)
    assert restored.device_ == torch.device("cpu")
    # TF32 products on the GPU against float32 on the CPU.
    np.testing.assert_allclose(restored.predict_proba(X), expected, atol=1e-2)
    assert np.mean(restored.predict(X) == clf.predict(X)) > 0.95


def test_unpickling_under_another_ffsk_version_warns(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL).fit(X, y)
    state = clf.__getstate__()
    assert state["_ffsk_version"] == ffsk.__version__
    state["_ffsk_version"] = "0.0.1"
    restored = ForwardForwardClassifier.__new__(ForwardForwardClassifier)
    with pytest.warns(InconsistentVersionWarning, match="pickled by ffsk 0.0.1"):
        restored.__setstate__(state)
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))

    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        pickle.loads(pickle.dumps(clf))  # same version: silent
