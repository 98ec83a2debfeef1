"""Early stopping (validation split, patience, best weights) and the verbose log."""

import re

import numpy as np
import pytest

from ffsk import ForwardForwardClassifier

# A constant schedule, so that a shorter replay of the training is the same training.
SMALL = dict(
    hidden_layer_sizes=(16,),
    epochs=60,
    learning_rate_schedule="constant",
    random_state=0,
    device="cpu",
)


def test_early_stopping_stops_and_keeps_the_best_epoch(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL, early_stopping=True, n_iter_no_change=3).fit(X, y)
    scores = clf.validation_scores_
    assert clf.n_iter_ == len(scores) < SMALL["epochs"]
    assert clf.best_validation_score_ == max(scores)
    # Stopped because the last 3 epochs did not beat the best one by tol.
    assert max(scores[-3:]) <= max(scores[:-3]) + clf.tol
    # The kept weights are the best epoch's: replay the same training for
    # that many epochs and compare. The validation split is reproducible.
    best_epoch = int(np.argmax(scores)) + 1
    replay = ForwardForwardClassifier(
        **{**SMALL, "epochs": best_epoch}, early_stopping=True, n_iter_no_change=1000
    ).fit(X, y)
    np.testing.assert_array_equal(replay.predict_proba(X), clf.predict_proba(X))


def test_validation_split_is_stratified_and_held_out(blobs, monkeypatch):
    X, y = blobs
    seen = {}
    original = ForwardForwardClassifier._split_validation

    def spy(self, *args):
        result = original(self, *args)
        seen["train_y"], seen["val_y"] = result[1], result[3][1]
        return result

    monkeypatch.setattr(ForwardForwardClassifier, "_split_validation", spy)
    ForwardForwardClassifier(**SMALL, early_stopping=True, validation_fraction=0.25).fit(X, y)
    assert len(seen["val_y"]) == 30 and len(seen["train_y"]) == 90
    assert np.bincount(seen["val_y"]).tolist() == [10, 10, 10]


def test_without_early_stopping_there_are_no_validation_scores(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(**{**SMALL, "epochs": 3}).fit(X, y)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    # partial_fit never holds rows out.
    clf = ForwardForwardClassifier(**SMALL).partial_fit(X, y, classes=[0, 1, 2])
    assert clf.validation_scores_ is None


def test_verbose_log_is_one_aligned_line_per_epoch(blobs, capsys):
    X, y = blobs
    ForwardForwardClassifier(
        **{**SMALL, "epochs": 12}, verbose=1, early_stopping=True, n_iter_no_change=100
    ).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 12
    pattern = re.compile(
        r"Epoch +(\d+)/12  local loss per layer: \[\d\.\d{3}e[+-]\d\d\]"
        r"  validation \d\.\d{4} +\d+\.\d\ds"
    )
    assert [int(pattern.fullmatch(line).group(1)) for line in lines] == list(range(1, 13))
    assert len({len(line) for line in lines}) == 1  # aligned


@pytest.mark.parametrize("value", [0.0, 1.0, -0.1])
def test_validation_fraction_must_be_inside_zero_one(blobs, value):
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = blobs
    with pytest.raises(InvalidParameterError, match="validation_fraction"):
        ForwardForwardClassifier(**SMALL, early_stopping=True, validation_fraction=value).fit(X, y)


def test_verbose_2_adds_a_progress_bar_over_mini_batches(blobs, capsys):
    pytest.importorskip("tqdm")
    X, y = blobs
    ForwardForwardClassifier(**{**SMALL, "epochs": 2}, verbose=2).fit(X, y)
    out = capsys.readouterr().out
    assert "Epoch 1: " in out and "batch" in out  # tqdm's bar, on stdout
    assert len(re.findall(r"Epoch \d/2  local loss per layer", out)) == 2


def test_verbose_2_without_tqdm_warns_and_prints_epoch_lines(blobs, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    X, y = blobs
    with pytest.warns(UserWarning, match="tqdm, which is not installed"):
        ForwardForwardClassifier(**{**SMALL, "epochs": 2}, verbose=2).fit(X, y)
    assert len(capsys.readouterr().out.strip().splitlines()) == 2


def test_the_loss_plateau_rule_counts_epochs_without_a_fall_of_tol():
    from ffsk._early_stopping import LossPlateau

    rule = LossPlateau(n_iter_no_change=2, tol=0.1)
    assert [rule.update(loss) for loss in (1.0, 0.8, 0.75, 0.74, 0.5, 0.45, 0.44)] == [
        False, False, False, True, False, False, True,
    ]  # fmt: skip
    assert rule.best_loss == 0.44


def test_a_default_fit_stops_when_its_training_loss_stops_falling(blobs):
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    X, y = blobs
    params = dict(hidden_layer_sizes=(16,), epochs=200, random_state=0, tol=1e-2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = ForwardForwardClassifier(**params, n_iter_no_change=3).fit(X, y)
    assert clf.n_iter_ < 200 and clf.validation_scores_ is None  # 120 rows: no rows held out
    losses = clf.loss_curve_.sum(axis=1)
    # each of the last n_iter_no_change epochs failed to beat the best loss
    # before it by tol
    n = len(losses)
    assert all(losses[i] >= losses[:i].min() - 1e-2 for i in range(n - 3, n))
    assert clf.score(X, y) > 0.9


def test_reaching_epochs_without_converging_warns(blobs):
    from sklearn.exceptions import ConvergenceWarning

    X, y = blobs
    clf = ForwardForwardClassifier(hidden_layer_sizes=(8,), epochs=3, n_iter_no_change=np.inf)
    with pytest.warns(ConvergenceWarning, match="ran all epochs=3 without converging"):
        clf.fit(X, y)
    assert clf.n_iter_ == 3


def test_auto_early_stopping_holds_rows_out_only_beyond_10000_rows():
    rng = np.random.RandomState(0)
    params = dict(hidden_layer_sizes=(4,), epochs=2, random_state=0, batch_size=500)
    for n_rows, held_out in ((10_000, False), (10_001, True)):
        X = rng.randn(n_rows, 3)
        y = (X[:, 0] > 0).astype(int)
        clf = ForwardForwardClassifier(**params).fit(X, y)
        assert (clf.validation_scores_ is not None) == held_out
    # partial_fit never holds rows out, and "auto" does not stop it
    clf = ForwardForwardClassifier(**params).partial_fit(X, y, classes=[0, 1])
    assert clf.validation_scores_ is None
