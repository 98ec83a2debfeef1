"""Property-based tests (Hypothesis) over shapes, dtypes, label types, class
counts and batch sizes."""

import tempfile
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import ffsk  # noqa: E402
from ffsk import ForwardForwardClassifier  # noqa: E402

LABEL_KINDS = ("int", "str", "bool", "mixed-width-str", "object-str", "negative-int")


def _labels(kind: str, n_classes: int) -> np.ndarray:
    if kind == "int":
        return np.arange(n_classes) * 3 + 1
    if kind == "negative-int":
        return np.arange(n_classes) - n_classes // 2
    if kind == "bool":
        return np.array([False, True])
    if kind == "mixed-width-str":
        return np.array(["c" * (i % 7 + 1) + str(i) for i in range(n_classes)])
    if kind == "object-str":
        return np.array([f"class {i}" for i in range(n_classes)], dtype=object)
    return np.array([f"L{i}" for i in range(n_classes)])


@st.composite
def problems(draw):
    kind = draw(st.sampled_from(LABEL_KINDS))
    n_classes = 2 if kind == "bool" else draw(st.integers(2, 50))
    n_features = draw(st.integers(1, 6))
    n_samples = n_classes + draw(st.integers(0, 40))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    batch_size = draw(st.one_of(st.just("auto"), st.integers(1, 64)))
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    X = (rng.randn(n_samples, n_features) * draw(st.sampled_from([1e-3, 1.0, 1e3]))).astype(dtype)
    # Every class appears at least once.
    codes = np.r_[np.arange(n_classes), rng.randint(n_classes, size=n_samples - n_classes)]
    rng.shuffle(codes)
    return X, _labels(kind, n_classes)[codes], batch_size, draw(st.integers(1, 17))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(problems())
def test_outputs_are_consistent_for_any_problem(problem):
    X, y, batch_size, prediction_chunk = problem
    clf = ForwardForwardClassifier(
        hidden_layer_sizes=(8,), epochs=2, batch_size=batch_size, random_state=0, device="cpu"
    ).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, np.unique(y))
    proba = clf.predict_proba(X)
    assert proba.shape == (X.shape[0], len(clf.classes_))
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    predicted = clf.predict(X)
    assert np.isin(predicted, clf.classes_).all()
    np.testing.assert_array_equal(predicted, clf.classes_[proba.argmax(axis=1)])
    # Results do not depend on how rows are grouped into prediction calls.
    pieces = [
        clf.predict_proba(X[i : i + prediction_chunk]) for i in range(0, len(X), prediction_chunk)
    ]
    np.testing.assert_array_equal(np.concatenate(pieces), proba)
    # The pickle-free file round trip is exact.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.ffsk"
        ffsk.save(clf, path)
        loaded = ffsk.load(path)
    assert loaded.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)
    np.testing.assert_array_equal(loaded.predict(X), predicted)
