"""ffsk inside scikit-learn's machinery: pipelines, column transformers,
grid search with parallel jobs, clone and joblib persistence."""

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

from ffsk import ForwardForwardClassifier


def test_pipeline_with_min_max_scaler(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    pipe = make_pipeline(
        MinMaxScaler(),
        ForwardForwardClassifier(hidden_layer_sizes=(64,), epochs=10, random_state=0),
    )
    pipe.fit(X_train, y_train)
    assert pipe.score(X_test, y_test) > 0.85


@pytest.mark.parametrize("sparse_threshold", [0.0, 1.0], ids=["dense", "sparse"])
def test_column_transformer_on_a_dataframe_with_string_labels(sparse_threshold):
    rng = np.random.RandomState(0)
    n = 300
    colour = rng.choice(["red", "green", "blue"], size=n)
    size = rng.normal(size=n)
    weight = rng.normal(size=n)
    label = np.where(colour == "red", "apple", np.where(size + weight > 0, "melon", "grape"))
    frame = pd.DataFrame({"colour": colour, "size": size, "weight": weight})
    X_train, X_test, y_train, y_test = train_test_split(frame, label, random_state=0)
    model = Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [
                        ("categorical", OneHotEncoder(), ["colour"]),
                        ("numeric", StandardScaler(), ["size", "weight"]),
                    ],
                    sparse_threshold=sparse_threshold,
                ),
            ),
            ("ff", ForwardForwardClassifier(hidden_layer_sizes=(32,), epochs=40, random_state=0)),
        ]
    )
    model.fit(X_train, y_train)
    assert sp.issparse(model[:-1].transform(X_test)) == (sparse_threshold == 1.0)
    assert set(model.classes_) == {"apple", "grape", "melon"}
    assert model.score(X_test, y_test) > 0.85


def test_grid_search_with_parallel_jobs_and_refit(blobs):
    X, y = blobs
    search = GridSearchCV(
        # threshold only matters to the threshold loss.
        ForwardForwardClassifier(random_state=0, loss="threshold"),
        {"threshold": [0.5, 2.0], "hidden_layer_sizes": [(8,), (16, 16)], "epochs": [10, 60]},
        cv=3,
        n_jobs=2,
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.n_iter_ == search.best_params_["epochs"]
    assert search.score(X, y) > 0.9


def test_clone_gives_an_unfitted_copy_that_refits_identically(blobs):
    X, y = blobs
    clf = ForwardForwardClassifier(
        hidden_layer_sizes=(16,), epochs=10, random_state=3, device="cpu"
    ).fit(X, y)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "network_")
    np.testing.assert_array_equal(copy.fit(X, y).predict_proba(X), clf.predict_proba(X))


def test_joblib_dump_and_load(blobs, tmp_path):
    X, y = blobs
    clf = ForwardForwardClassifier(
        hidden_layer_sizes=(16,), epochs=10, random_state=0, device="cpu"
    ).fit(X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    restored = joblib.load(path)
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.classes_, clf.classes_)
