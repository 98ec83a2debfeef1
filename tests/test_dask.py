"""Scale-out on Dask: a grid search on a LocalCluster through joblib's dask
backend, and larger-than-memory data through dask-ml's ``Incremental``."""

import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
dask_array = pytest.importorskip("dask.array")

import joblib  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from ffsk import ForwardForwardClassifier  # noqa: E402

SMALL = dict(hidden_layer_sizes=(16,), epochs=5, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def test_grid_search_on_a_dask_cluster_matches_a_local_search(client, blobs):
    X, y = blobs
    grid = {"hidden_layer_sizes": [(8,), (16,)], "epochs": [3, 6]}
    started = time.perf_counter()
    with joblib.parallel_backend("dask"):
        on_cluster = GridSearchCV(ForwardForwardClassifier(**SMALL), grid, cv=3, n_jobs=-1).fit(
            X, y
        )
    print(f"dask grid search: {time.perf_counter() - started:.1f} s")
    local = GridSearchCV(ForwardForwardClassifier(**SMALL), grid, cv=3, n_jobs=1).fit(X, y)
    # The same fits ran in worker processes: identical scores on the CPU.
    np.testing.assert_array_equal(
        on_cluster.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert on_cluster.best_params_ == local.best_params_
    assert on_cluster.best_score_ > 0.9


def test_incremental_learning_over_dask_array_chunks(client, blobs):
    dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = blobs
    order = np.random.RandomState(0).permutation(len(y))
    X_chunks = dask_array.from_array(X[order], chunks=(30, 4))
    y_chunks = dask_array.from_array(y[order], chunks=30)
    model = dask_ml_wrappers.Incremental(ForwardForwardClassifier(**SMALL), scoring="accuracy")
    for _ in range(10):  # each call passes every chunk once through partial_fit
        model.partial_fit(X_chunks, y_chunks, classes=[0, 1, 2])
    fitted = model.estimator_
    assert fitted.n_iter_ == 10 * 4  # 4 chunks per pass
    assert model.score(X_chunks, y_chunks) > 0.9
    np.testing.assert_array_equal(fitted.classes_, [0, 1, 2])
