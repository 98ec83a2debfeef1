"""Behaviour of the estimator: outputs, labels, inputs, errors, determinism."""

import pickle
import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from ffsk import ForwardForwardClassifier

FAST = dict(hidden_layer_sizes=(32, 16), epochs=20, random_state=0, device="cpu")


def test_outputs_have_the_documented_shapes_and_types(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**FAST).fit(X, y)
    proba = clf.predict_proba(X)
    scores = clf.decision_function(X)
    assert proba.shape == (len(X), 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert scores.shape == (len(X), 3)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[scores.argmax(axis=1)])
    np.testing.assert_array_equal(proba.argmax(axis=1), scores.argmax(axis=1))
    assert clf.score(X, y) > 0.9
    assert clf.n_iter_ == 20
    assert clf.loss_curve_.shape == (20, 2)
    assert clf.device_ == torch.device("cpu")
    assert isinstance(clf.network_, torch.nn.Module)


def test_binary_decision_function_is_the_score_difference(blobs):
    X, y = blobs
    mask = y < 2
    clf = ForwardForwardClassifier(**FAST).fit(X[mask], np.where(y[mask] == 0, "no", "yes"))
    full = clf._label_scores(X[mask])
    decision = clf.decision_function(X[mask])
    assert decision.shape == (mask.sum(),)
    np.testing.assert_allclose(decision, full[:, 1] - full[:, 0])
    assert set(clf.predict(X[mask])) <= {"no", "yes"}


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["cat", "dog", "bird"]),
        np.array([10, -3, 7]),
        np.array([True, False, True]),
    ],
    ids=["str", "int", "bool"],
)
def test_any_labels_work(blobs, labels):
    X, y = blobs
    if labels.dtype == bool:
        X, y = X[y < 2], y[y < 2]
    y_labels = labels[y]
    clf = ForwardForwardClassifier(**FAST).fit(X, y_labels)
    np.testing.assert_array_equal(clf.classes_, np.unique(y_labels))
    assert clf.score(X, y_labels) > 0.9


def test_pandas_categorical_labels_and_feature_names(blobs):
    X, y = blobs
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    labels = pd.Series(pd.Categorical(np.array(["x", "y", "z"])[y]))
    clf = ForwardForwardClassifier(**FAST).fit(frame, labels)
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    assert clf.score(frame, labels) > 0.9


def test_float32_float64_lists_and_sparse_give_the_same_model(blobs):
    X, y = blobs
    reference = ForwardForwardClassifier(**FAST).fit(X.astype(np.float32), y).predict_proba(X)
    for variant in (X, X.tolist(), sp.csr_matrix(X), sp.csc_matrix(X)):
        proba = ForwardForwardClassifier(**FAST).fit(variant, y).predict_proba(variant)
        np.testing.assert_allclose(proba, reference, rtol=1e-5, atol=1e-6)


def test_overlay_encoding_learns_and_refuses_too_few_features(blobs):
    X, y = blobs
    padded = np.hstack([np.zeros((len(X), 3)), X])  # first k columns carry nothing
    clf = ForwardForwardClassifier(label_encoding="overlay", **FAST).fit(padded, y)
    assert clf.score(padded, y) > 0.9
    with pytest.raises(ValueError, match="only 2 features"):
        ForwardForwardClassifier(label_encoding="overlay", **FAST).fit(X[:, :2], y)


def test_rescaling_X_changes_nothing(blobs):
    """The label value follows the data's scale, and every layer normalises."""
    X, y = blobs
    # float32 products: bfloat16 rounding of the (equal up to float32 rounding)
    # normalised rows would make the two fits drift apart by more than 1e-3.
    params = {**FAST, "precision": "float32"}
    a = ForwardForwardClassifier(**params).fit(X, y).predict_proba(X)
    b = ForwardForwardClassifier(**params).fit(X * 1000, y).predict_proba(X * 1000)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def test_same_random_state_gives_identical_results_and_leaves_global_rng_alone(blobs):
    X, y = blobs
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = ForwardForwardClassifier(**FAST).fit(X, y)
    assert torch.equal(torch.get_rng_state(), before)
    b = ForwardForwardClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = ForwardForwardClassifier(**{**FAST, "random_state": 1}).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_prediction_does_not_depend_on_how_rows_are_grouped(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**FAST).fit(X, y)
    big = np.repeat(X, 60, axis=0)  # more rows than one prediction chunk
    full = clf.predict_proba(big)
    np.testing.assert_array_equal(full[: len(X) * 60 : 60], clf.predict_proba(X))
    np.testing.assert_array_equal(clf.predict_proba(X[5:6]), full[5 * 60 : 5 * 60 + 1])


def test_all_zero_row_gives_finite_scores(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**FAST).fit(X, y)
    assert np.all(np.isfinite(clf.predict_proba(np.zeros((1, 4)))))


def test_verbose_prints_one_line_per_epoch(blobs, capsys):
    X, y = blobs
    ForwardForwardClassifier(**{**FAST, "epochs": 3, "verbose": 1}).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Epoch 1/3") and "local loss per layer" in lines[0]
    ForwardForwardClassifier(**{**FAST, "epochs": 3}).fit(X, y)
    assert capsys.readouterr().out == ""


def test_threshold_loss_learns(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(
        loss="threshold",
        threshold=1.0,
        learning_rate=0.01,
        hidden_layer_sizes=(32,),
        epochs=60,
        random_state=0,
    ).fit(X, y)
    assert clf.score(X, y) > 0.9


def test_softmax_loss_learns_and_beats_symba_on_digits_at_equal_epochs():
    """loss="softmax" trains every layer on every label at once; on digits
    (one layer of 200, 15 epochs, seeds 0 and 1) it was 0.9-1.3 points ahead of
    SymBa with one hard negative per row."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    common = dict(hidden_layer_sizes=(200,), epochs=15, early_stopping=False, device="cpu")
    for seed in (0, 1):
        softmax = ForwardForwardClassifier(**common, loss="softmax", random_state=seed)
        symba = ForwardForwardClassifier(**common, loss="symba", random_state=seed)
        softmax_score = softmax.fit(X_train, y_train).score(X_test, y_test)
        assert softmax_score > 0.95
        assert softmax_score > symba.fit(X_train, y_train).score(X_test, y_test)


def test_softmax_loss_with_candidates_peer_normalisation_and_weights_learns(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(
        **FAST, loss="softmax", negative_candidates=1, peer_normalization=0.03
    ).fit(X, y, sample_weight=np.linspace(0.5, 1.5, len(y)))
    assert clf.score(X, y) > 0.9
    again = ForwardForwardClassifier(
        **FAST, loss="softmax", negative_candidates=1, peer_normalization=0.03
    ).fit(X, y, sample_weight=np.linspace(0.5, 1.5, len(y)))
    np.testing.assert_array_equal(clf.predict_proba(X), again.predict_proba(X))


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_X_is_refused(blobs, bad):
    X, y = blobs
    X = X.copy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        ForwardForwardClassifier(**FAST).fit(X, y)


def test_single_class_is_refused_with_a_message_about_classes(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="class"):
        ForwardForwardClassifier(**FAST).fit(X, np.zeros(len(X)))


def test_wrong_number_of_features_at_predict_names_both_counts(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match=re.escape("X has 3 features") + ".*expecting 4 features"):
        clf.predict(X[:, :3])


def test_predict_before_fit_raises_not_fitted(blobs):
    X, _ = blobs
    for method in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(NotFittedError):
            getattr(ForwardForwardClassifier(), method)(X)


@pytest.mark.parametrize(
    "params",
    [
        {"threshold": 0.0},
        {"threshold": -1.0},
        {"hidden_layer_sizes": ()},
        {"hidden_layer_sizes": (10, 0)},
        {"hidden_layer_sizes": (10, -5)},
        {"hidden_layer_sizes": 0},
        {"negatives": "bogus"},
        {"label_encoding": "bogus"},
        {"batch_size": 0},
        {"epochs": 0},
        {"learning_rate": 0.0},
        {"loss": "bogus"},
    ],
)
def test_invalid_parameters_raise_invalid_parameter_error(blobs, params):
    X, y = blobs
    clf = ForwardForwardClassifier(**{**FAST, **params})
    with pytest.raises(InvalidParameterError):
        clf.fit(X, y)
    assert not hasattr(clf, "classes_") and not hasattr(clf, "n_features_in_")


def test_failed_fit_leaves_no_half_fitted_estimator(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**FAST)
    with pytest.raises(ValueError):
        clf.fit(X, np.zeros(len(X)))  # fails after validate_data set n_features_in_
    assert not [key for key in vars(clf) if key.endswith("_")]
    with pytest.raises(NotFittedError):
        clf.predict(X)

    clf.fit(X, y)
    before = clf.predict_proba(X)
    with pytest.raises(ValueError):
        clf.fit(X[:, :2], np.zeros(len(X)))
    assert clf.n_features_in_ == 4  # the previous fitted state is intact
    np.testing.assert_array_equal(clf.predict_proba(X), before)


def test_cuda_request_without_cuda_fails_clearly_at_fit(blobs, monkeypatch):
    X, y = blobs
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    clf = ForwardForwardClassifier(**{**FAST, "device": "cuda"})
    with pytest.raises(ValueError, match="CUDA is not available"):
        clf.fit(X, y)
    assert not hasattr(clf, "n_features_in_")


def test_sparse_and_dense_input_give_the_same_label_value_on_large_data():
    rng = np.random.RandomState(0)
    X = rng.rand(12_000, 5) * (rng.rand(12_000, 5) > 0.5)
    X[10_000:] *= 10  # rows past the first 10,000 must count too
    y = rng.randint(0, 2, 12_000)
    params = dict(hidden_layer_sizes=(4,), epochs=1, random_state=0, device="cpu")
    dense = ForwardForwardClassifier(**params).fit(X, y)
    sparse = ForwardForwardClassifier(**params).fit(sp.csr_matrix(X), y)
    expected = 0.5 * np.sqrt(np.mean(np.sum(X**2, axis=1)))
    assert dense.label_embedding_.label_value == pytest.approx(expected, rel=1e-6)
    assert sparse.label_embedding_.label_value == pytest.approx(expected, rel=1e-6)


def test_non_deterministic_tag_follows_the_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert not ForwardForwardClassifier().__sklearn_tags__().non_deterministic
    assert ForwardForwardClassifier(device="cuda").__sklearn_tags__().non_deterministic
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert ForwardForwardClassifier().__sklearn_tags__().non_deterministic
    assert not ForwardForwardClassifier(device="cpu").__sklearn_tags__().non_deterministic


def test_auto_sizes_switch_from_small_to_large_data_beyond_10000_rows():
    from ffsk._classifier import auto_batch_size, auto_hidden_layer_sizes

    rows = (10, 1347, 10_000, 10_001, 60_000)
    assert [auto_batch_size(n) for n in rows] == [200, 200, 200, 500, 500]
    assert [auto_hidden_layer_sizes(n) for n in rows] == [(200,)] * 3 + [(500, 500)] * 2


def test_auto_learning_rate_grows_with_the_batch_and_is_larger_for_one_layer():
    from ffsk._classifier import auto_learning_rate

    deep = [auto_learning_rate(b, n_layers=2) for b in (1, 50, 100, 300, 500)]
    assert deep == pytest.approx([0.01, 0.01, 0.01, 0.05, 0.09])
    one = [auto_learning_rate(b, n_layers=1) for b in (20, 200, 400, 500, 1000)]
    assert one == pytest.approx([0.01, 0.1, 0.2, 0.2, 0.2])


def test_auto_network_is_one_layer_of_200_on_small_data_and_kept_by_continued_fits():
    rng = np.random.RandomState(0)
    X, y = rng.rand(60, 4), np.arange(60) % 3
    clf = ForwardForwardClassifier(epochs=2, random_state=0).fit(X, y)
    assert clf.network_.hidden_layer_sizes == (200,)
    # A continued fit with "auto" keeps the network, whatever the rows.
    clf.set_params(warm_start=True).fit(np.tile(X, (2, 1)), np.tile(y, 2))
    assert clf.network_.hidden_layer_sizes == (200,) and clf.n_iter_ == 4
    explicit = ForwardForwardClassifier(hidden_layer_sizes=(7, 5), epochs=1).fit(X, y)
    assert explicit.network_.hidden_layer_sizes == (7, 5)


def test_auto_network_is_two_layers_of_500_beyond_10000_rows(monkeypatch):
    """The switch reads the rows given to fit, before any are held out."""
    import ffsk._classifier as classifier

    monkeypatch.setattr(classifier, "LARGE_DATA_ROWS", 50)
    rng = np.random.RandomState(0)
    X, y = rng.rand(60, 4), np.arange(60) % 3
    clf = ForwardForwardClassifier(epochs=1, random_state=0).fit(X, y)
    assert clf.network_.hidden_layer_sizes == (500, 500)
    assert clf.validation_scores_ is not None  # early_stopping="auto" held rows out


@pytest.mark.parametrize(("loss", "named"), [("threshold", 1.0), ("symba", 10.0)])
def test_auto_sharpness_trains_exactly_as_the_sharpness_it_names(loss, named):
    """``sharpness="auto"`` is 1 for the threshold loss (the reference
    example's loss, unscaled) and 10 for the others; the threshold loss now
    depends on sharpness."""
    rng = np.random.RandomState(0)
    X, y = rng.rand(120, 5), np.arange(120) % 3
    common = dict(hidden_layer_sizes=(8,), epochs=3, random_state=0, loss=loss)
    auto = ForwardForwardClassifier(**common).fit(X, y)
    explicit = ForwardForwardClassifier(**common, sharpness=named).fit(X, y)
    other = ForwardForwardClassifier(**common, sharpness=3.0).fit(X, y)
    np.testing.assert_array_equal(auto.predict_proba(X), explicit.predict_proba(X))
    assert not np.array_equal(auto.predict_proba(X), other.predict_proba(X))


def test_auto_learning_rate_trains_exactly_as_the_rate_it_names():
    """``learning_rate="auto"`` is the rate ``auto_learning_rate`` gives for
    the batch size in use, the batch clipped to the number of rows."""
    from ffsk._classifier import auto_learning_rate

    rng = np.random.RandomState(0)
    X, y = rng.rand(120, 5), np.arange(120) % 3
    common = dict(hidden_layer_sizes=(8,), epochs=3, random_state=0, batch_size=300)
    auto = ForwardForwardClassifier(**common).fit(X, y)
    explicit = ForwardForwardClassifier(
        **common, learning_rate=auto_learning_rate(120, n_layers=1)
    ).fit(X, y)
    other = ForwardForwardClassifier(**common, learning_rate=0.01).fit(X, y)
    np.testing.assert_array_equal(auto.predict_proba(X), explicit.predict_proba(X))
    assert not np.array_equal(auto.predict_proba(X), other.predict_proba(X))


def test_hard_negatives_learn_and_are_reproducible(blobs):
    X, y = blobs
    params = {**FAST, "negatives": "hard"}
    clf = ForwardForwardClassifier(**params).fit(X, y)
    assert clf.score(X, y) > 0.9
    again = ForwardForwardClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), again.predict_proba(X))


def test_schedule_weight_decay_and_skip_first_scoring_through_the_estimator(blobs):
    X, y = blobs
    plain = ForwardForwardClassifier(**FAST).fit(X, y)
    tuned = ForwardForwardClassifier(
        **{**FAST, "epochs": 60},
        learning_rate_schedule="linear_decay",
        goodness_layers="skip_first",  # only the small second layer scores
    ).fit(X, y)
    assert tuned.score(X, y) > 0.9
    assert not np.array_equal(plain.predict_proba(X), tuned.predict_proba(X))
    decayed = ForwardForwardClassifier(**FAST, weight_decay=0.5).fit(X, y)

    def weight_norm(clf):
        return sum(float(p.norm()) for p in clf.network_.parameters())

    assert weight_norm(decayed) < weight_norm(plain)


def test_peer_normalization_through_the_estimator(blobs):
    X, y = blobs
    plain = ForwardForwardClassifier(**FAST).fit(X, y)
    peer = ForwardForwardClassifier(**FAST, peer_normalization=0.03).fit(X, y)
    assert peer.score(X, y) > 0.9
    assert not np.array_equal(plain.predict_proba(X), peer.predict_proba(X))


PARAMS = dict(hidden_layer_sizes=(16, 8), epochs=3, batch_size=10, random_state=0, device="cpu")


def test_bfloat16_products_train_and_predict_close_to_float32(blobs):
    X, y = blobs
    full = ForwardForwardClassifier(**{**PARAMS, "epochs": 20, "precision": "float32"}).fit(X, y)
    assert full.precision_ == "float32"
    half = ForwardForwardClassifier(**{**PARAMS, "epochs": 20, "precision": "bfloat16"}).fit(X, y)
    assert half.score(X, y) > 0.9
    assert np.mean(half.predict(X) == full.predict(X)) > 0.9
    assert all(p.dtype == torch.float32 for p in half.network_.parameters())
    # same weights, bfloat16 products: scores differ only by rounding
    assert half.precision_ == "bfloat16"
    half_scores = half._label_scores(X)
    half.precision_ = "float32"
    np.testing.assert_allclose(half_scores, half._label_scores(X), rtol=0.05, atol=0.02)


def test_compiled_training_step_matches_the_eager_one(blobs):
    X, y = blobs
    eager = ForwardForwardClassifier(**PARAMS).fit(X, y)
    compiled = ForwardForwardClassifier(**{**PARAMS, "compile": True}).fit(X, y)
    np.testing.assert_allclose(compiled.loss_curve_, eager.loss_curve_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        compiled.predict_proba(X), eager.predict_proba(X), rtol=1e-4, atol=1e-5
    )


def test_softmax_readout_leaves_the_ff_layers_exactly_as_without_it(blobs):
    X, y = blobs
    goodness = ForwardForwardClassifier(**FAST).fit(X, y)
    softmax = ForwardForwardClassifier(**FAST, readout="softmax").fit(X, y)
    for name, param in goodness.network_.state_dict().items():
        assert torch.equal(param, softmax.network_.state_dict()[name]), name
    assert softmax.score(X, y) > 0.9
    logits = softmax.decision_function(X)
    assert logits.shape == (len(X), 3)
    np.testing.assert_allclose(
        softmax.predict_proba(X),
        torch.softmax(torch.as_tensor(logits), dim=1).numpy(),
        rtol=1e-6,
    )
    restored = pickle.loads(pickle.dumps(softmax))
    np.testing.assert_array_equal(restored.predict_proba(X), softmax.predict_proba(X))


def test_parameters_are_keyword_only_and_named_as_in_scikit_learn():
    with pytest.raises(TypeError):
        ForwardForwardClassifier((8,))
    with pytest.raises(TypeError, match="alpha"):
        ForwardForwardClassifier(alpha=1e-4)  # scikit-learn's L2 penalty is weight_decay here
    assert ForwardForwardClassifier(sharpness=4.0).get_params()["sharpness"] == 4.0


@pytest.mark.parametrize("readout", ["goodness", "softmax"])
def test_predict_log_proba_is_the_log_of_predict_proba(blobs, readout):
    X, y = blobs
    clf = ForwardForwardClassifier(**FAST, readout=readout).fit(X, y)
    log_proba = clf.predict_log_proba(X)
    np.testing.assert_allclose(np.exp(log_proba), clf.predict_proba(X), rtol=1e-12)
    scale = 10.0 if readout == "goodness" else 1.0  # the SymBa loss's sharpness="auto"
    np.testing.assert_allclose(
        log_proba, np.log(softmax_of(scale * clf.decision_function(X))), rtol=1e-9, atol=1e-12
    )


def softmax_of(scores):
    scores = scores - scores.max(axis=1, keepdims=True)
    return np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)


@pytest.mark.parametrize(
    ("loss", "sharpness", "scale"),
    [("symba", "auto", 10.0), ("threshold", "auto", 1.0), ("softmax", 4.0, 4.0)],
)
def test_predict_proba_is_the_softmax_of_the_scores_at_the_losss_sharpness(
    blobs, loss, sharpness, scale
):
    """Not a linear normalisation, and at the scale each layer's loss
    compared goodness in training: the guide promises both."""
    X, y = blobs
    clf = ForwardForwardClassifier(**FAST, loss=loss, sharpness=sharpness).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), softmax_of(scale * clf.decision_function(X)))


def test_probabilities_at_the_loss_scale_are_calibrated_better(digits_split):
    """The softmax of the raw goodness was far too flat (here its largest
    probability averages about 0.2 at 96 % accuracy); at the loss's scale
    the log-loss is a fraction of it."""
    from sklearn.metrics import log_loss

    X_train, X_test, y_train, y_test = digits_split
    clf = ForwardForwardClassifier(hidden_layer_sizes=64, epochs=15, random_state=0)
    clf.fit(X_train, y_train)
    proba = clf.predict_proba(X_test)
    raw = softmax_of(clf.decision_function(X_test))
    assert proba.max(axis=1).mean() > 0.5 > raw.max(axis=1).mean()
    assert log_loss(y_test, proba, labels=clf.classes_) < 0.3 * log_loss(
        y_test, raw, labels=clf.classes_
    )


def test_random_negatives_are_wrong_labels_and_learn(blobs, monkeypatch):
    from ffsk._negatives import RandomNegatives

    X, y = blobs
    draws = []
    original = RandomNegatives.draw

    def spy(self, labels, scores, generator):
        negatives = original(self, labels, scores, generator)
        draws.append((labels.clone(), negatives.clone()))
        return negatives

    monkeypatch.setattr(RandomNegatives, "draw", spy)
    clf = ForwardForwardClassifier(**FAST, negatives="random").fit(X, y)
    assert draws and all(not torch.any(pos == neg) for pos, neg in draws)
    assert clf.score(X, y) > 0.9


def test_decision_function_is_the_reference_forward_forward_score(blobs):
    """The estimator's scores are those of the algorithm's definition, computed
    naively from the fitted weights: embed each label explicitly, normalise
    every layer's input to unit length, sum the goodness over layers."""
    X, y = blobs
    clf = ForwardForwardClassifier(**FAST, precision="float32").fit(X, y)
    network, embedding = clf.network_, clf.label_embedding_
    rows = torch.as_tensor(X, dtype=torch.float32)
    first = network.input_layer
    weight = torch.cat([first.feature_weight, first.label_weight], dim=1)
    scores = []
    for label in range(3):
        embedded = embedding.embed(rows, torch.full((len(X),), label))
        unit = embedded / embedded.norm(dim=1, keepdim=True)
        activity = torch.relu(unit @ weight.T + first.bias)
        total = activity.square().mean(dim=1)
        for layer in network.hidden_layers:
            unit = activity / activity.norm(dim=1, keepdim=True)
            activity = torch.relu(unit @ layer.weight.T + layer.bias)
            total += activity.square().mean(dim=1)
        scores.append(total)
    np.testing.assert_allclose(
        clf.decision_function(X), torch.stack(scores, dim=1).numpy(), rtol=1e-4, atol=1e-6
    )
