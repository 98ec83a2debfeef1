"""Same random_state, same model: across runs, clones and GridSearchCV's n_jobs."""

import numpy as np
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from ffsk import ForwardForwardClassifier

SMALL = dict(hidden_layer_sizes=(16, 8), epochs=8, random_state=3, device="cpu")


def _weights(clf):
    return [t.numpy().copy() for t in clf.network_.state_dict().values()]


def test_same_random_state_gives_bit_identical_weights(blobs):
    X, y = blobs
    params = {**SMALL, "negatives": "hard", "readout": "softmax", "peer_normalization": 0.03}
    first = ForwardForwardClassifier(**params).fit(X, y)
    second = ForwardForwardClassifier(**params).fit(X, y)
    for a, b in zip(_weights(first), _weights(second), strict=True):
        np.testing.assert_array_equal(a, b)
    refit = clone(first).fit(X, y)
    for a, b in zip(_weights(first), _weights(refit), strict=True):
        np.testing.assert_array_equal(a, b)
    different = ForwardForwardClassifier(**{**params, "random_state": 4}).fit(X, y)
    assert not np.array_equal(_weights(first)[0], _weights(different)[0])


def test_fit_neither_reads_nor_changes_the_global_torch_rng(blobs):
    X, y = blobs
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = ForwardForwardClassifier(**SMALL).fit(X, y)
    assert torch.equal(torch.get_rng_state(), state)  # not changed
    torch.manual_seed(456)  # another global state: the same model (not read)
    second = ForwardForwardClassifier(**SMALL).fit(X, y)
    for a, b in zip(_weights(first), _weights(second), strict=True):
        np.testing.assert_array_equal(a, b)


def test_grid_search_results_do_not_depend_on_n_jobs(blobs):
    X, y = blobs
    grid = {"hidden_layer_sizes": [(8,), (16,)], "epochs": [3, 6]}
    searches = [
        GridSearchCV(ForwardForwardClassifier(**{**SMALL, "epochs": 3}), grid, cv=2, n_jobs=n).fit(
            X, y
        )
        for n in (1, 2)
    ]
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(searches[0].cv_results_[key], searches[1].cv_results_[key])
    np.testing.assert_array_equal(searches[0].predict_proba(X), searches[1].predict_proba(X))
