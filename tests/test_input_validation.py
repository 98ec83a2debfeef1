"""Every kind of bad or odd input: a correct result or a clear error in
scikit-learn's wording, never a torch error or a silent NaN."""

import numpy as np
import pandas as pd
import pytest

from ffsk import ForwardForwardClassifier

SMALL = dict(hidden_layer_sizes=(16,), epochs=10, random_state=0, device="cpu")
rng = np.random.RandomState(0)
X = rng.randn(60, 4)
y = np.repeat([0, 1, 2], 20)


def _fit(X_, y_, **params):
    return ForwardForwardClassifier(**{**SMALL, **params}).fit(X_, y_)


@pytest.mark.parametrize(
    "X_, y_, error, message",
    [
        (np.where(X > 2, np.nan, X), y, ValueError, "Input X contains NaN"),
        (np.where(X > 2, np.inf, X), y, ValueError, "Input X contains infinity"),
        (np.empty((0, 4)), np.empty(0), ValueError, r"Found array with 0 sample\(s\)"),
        (X[:1], y[:1], ValueError, "at least 2 classes"),
        (X + 1j, y, ValueError, "Complex data not supported"),
        (np.full((60, 2), "a", dtype=object), y, ValueError, "could not convert string to float"),
        (X[:, 0], y, ValueError, "Expected 2D array, got 1D array"),
        (X.reshape(60, 2, 2), y, ValueError, "Found array with dim 3"),
        (X, y[:-1], ValueError, "inconsistent numbers of samples: \\[60, 59\\]"),
        (X, np.where(y == 0, np.nan, y), ValueError, "Input y contains NaN"),
        (X, rng.randn(60), ValueError, "Unknown label type: continuous"),
    ],
    ids=[
        "nan",
        "inf",
        "empty",
        "single-sample",
        "complex",
        "object-strings",
        "1d-X",
        "3d-X",
        "y-wrong-length",
        "y-nan",
        "continuous-y",
    ],
)
def test_bad_input_raises_a_clear_error_and_leaves_the_estimator_unfitted(X_, y_, error, message):
    clf = ForwardForwardClassifier(**SMALL)
    with pytest.raises(error, match=message):
        clf.fit(X_, y_)
    assert not [key for key in vars(clf) if key.endswith("_")]


def _check_outputs(clf, X_):
    proba = clf.predict_proba(X_)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X_), clf.classes_[proba.argmax(axis=1)])
    return proba


def test_a_single_feature_learns():
    X1 = np.r_[rng.randn(30, 1) - 2, rng.randn(30, 1) + 2]
    y1 = np.repeat([0, 1], 30)
    clf = _fit(X1, y1, epochs=30)
    _check_outputs(clf, X1)
    assert clf.score(X1, y1) > 0.9


def test_constant_columns_and_duplicated_rows_train_normally(blobs):
    X_, y_ = blobs
    with_constant = np.c_[X_, np.ones(len(X_)), np.zeros(len(X_))]
    clf = _fit(with_constant, y_, hidden_layer_sizes=(32, 16), epochs=20)
    _check_outputs(clf, with_constant)
    assert clf.score(with_constant, y_) > 0.9
    duplicated = _fit(np.r_[X_, X_], np.r_[y_, y_], hidden_layer_sizes=(32, 16), epochs=20)
    _check_outputs(duplicated, X_)
    assert duplicated.score(X_, y_) > 0.9


def test_all_zero_rows_give_finite_probabilities():
    clf = _fit(np.r_[X, np.zeros((3, 4))], np.r_[y, 0, 1, 2])
    proba = _check_outputs(clf, np.zeros((2, 4)))
    assert proba.shape == (2, 3)


def test_more_classes_than_samples():
    clf = _fit(X[:5], [0, 1, 2, 3, 4])
    assert _check_outputs(clf, X[:5]).shape == (5, 5)


def test_extreme_but_representable_values_predict_like_unscaled_data():
    reference = _fit(X, y).predict(X)
    clf = _fit(X * 1e30, y)
    _check_outputs(clf, X * 1e30)
    np.testing.assert_array_equal(clf.predict(X * 1e30), reference)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_predict_checks_features_like_fit():
    clf = _fit(pd.DataFrame(X, columns=list("abcd")), y)
    with pytest.raises(ValueError, match="The feature names should match"):
        clf.predict(pd.DataFrame(X, columns=list("abce")))
    with pytest.raises(ValueError, match="X has 3 features"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.predict(np.full((2, 4), np.nan))
    with pytest.raises(ValueError, match="too large for float32"):
        clf.predict(np.full((2, 4), 1e39))


def test_partial_fit_refuses_a_label_it_was_not_told_about():
    clf = ForwardForwardClassifier(**SMALL).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"not in classes_ \[0, 1, 2\]: \[5\]"):
        clf.partial_fit(X, np.where(y == 2, 5, y))


def test_partial_fit_classes_of_mixed_types_are_named():
    clf = ForwardForwardClassifier(**SMALL)
    with pytest.raises(
        ValueError, match=r"Mix of label input types \(string and number\) in classes"
    ):
        clf.partial_fit(X, y, classes=np.array([0, "a", 1, 2], dtype=object))
    # numpy reads the list as the strings "0", "a", "1", "2"
    with pytest.raises(ValueError, match="classes holds strings and y numbers"):
        clf.partial_fit(X, y, classes=[0, "a", 1, 2])
    assert not hasattr(clf, "classes_")
    clf.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="y holds strings and classes_ numbers"):
        clf.partial_fit(X, y.astype(str))


SMALL = dict(hidden_layer_sizes=(16, 8), epochs=6, random_state=0, device="cpu")


@pytest.mark.parametrize(
    "scale", [1e-9, 1e-8, 1e-12, 1e-30, 1e-45, 1e-300, 3.0, 1e9, 1e30, 1e39, 1e300]
)
def test_every_float64_scale_gives_the_model_of_scale_1(blobs, scale):
    """Rows far from unit length are rescaled by an exact power of two (in
    float64, before float32 conversion), and the normalisation's epsilon is far
    below any row length: the same model, up to float32 rounding."""
    X, y = blobs
    params = {**SMALL, "precision": "float32"}
    reference = ForwardForwardClassifier(**params).fit(X, y)
    clf = ForwardForwardClassifier(**params).fit(X * scale, y)
    np.testing.assert_array_equal(clf.predict(X * scale), reference.predict(X))
    np.testing.assert_allclose(
        clf.predict_proba(X * scale), reference.predict_proba(X), rtol=0, atol=1e-5
    )
    np.testing.assert_allclose(clf.loss_curve_, reference.loss_curve_, rtol=1e-4)


def test_a_power_of_two_scale_gives_the_bit_identical_model(blobs):
    X, y = blobs
    reference = ForwardForwardClassifier(**SMALL).fit(X, y)
    for exponent in (-100, -40, 10, 40):
        clf = ForwardForwardClassifier(**SMALL).fit(np.ldexp(X, exponent), y)
        np.testing.assert_array_equal(
            clf.predict_proba(np.ldexp(X, exponent)), reference.predict_proba(X)
        )


def test_values_beyond_float32_at_the_training_scale_are_refused_at_predict(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="too large for float32"):
        clf.predict(X * 1e39)


def test_a_label_scale_beyond_float32_is_a_clear_parameter_error(blobs):
    X, y = blobs
    for encoding in ("concat", "overlay"):
        clf = ForwardForwardClassifier(**SMALL, label_scale=1e39, label_encoding=encoding)
        with pytest.raises(ValueError, match="label_scale=1e\\+39 makes the embedded label"):
            clf.fit(np.c_[np.zeros((len(X), 3)), X], y)
        assert not hasattr(clf, "classes_")
