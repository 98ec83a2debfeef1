"""ffsk/_inference.py: scoring every label in bounded, padded blocks equals
naive k-pass scoring, and a row's scores never depend on its neighbours."""

import pytest
import torch
from _torch_helpers import make_network, naive_neutral_activities, naive_scores

from ffsk._inference import BLOCK_ROWS, LabelScorer
from ffsk._label_embedding import LabelEmbedding
from ffsk._network import normalise_rows


@pytest.mark.parametrize("n_rows", [1, 7, BLOCK_ROWS + 3])
def test_scorer_equals_naive_k_pass_scoring(n_rows):
    torch.manual_seed(1)
    embedding = LabelEmbedding("concat", n_features=6, n_classes=3, label_value=1.3)
    network = make_network()
    X = torch.randn(n_rows, 6)
    naive = naive_scores(network, embedding, X)
    scores = LabelScorer(network).scores(*embedding.split(X))
    torch.testing.assert_close(scores, naive, rtol=1e-5, atol=1e-5)


def test_skip_first_scores_leave_out_the_first_layer():
    embedding = LabelEmbedding("concat", n_features=6, n_classes=3, label_value=1.3)
    network = make_network()
    X = torch.randn(9, 6)
    naive = naive_scores(network, embedding, X, first_layer=1)
    scorer = LabelScorer(network, skip_first_goodness=True)
    torch.testing.assert_close(scorer.scores(*embedding.split(X)), naive, rtol=1e-5, atol=1e-5)


def test_scores_of_a_row_do_not_depend_on_the_other_rows():
    torch.manual_seed(2)
    # Odd sizes on purpose: BLAS kernels treat small odd shapes differently.
    embedding = LabelEmbedding("concat", n_features=13, n_classes=7, label_value=1.0)
    network = make_network(n_features=13, n_classes=7, sizes=(7, 33))
    X = torch.randn(700, 13)
    scorer = LabelScorer(network)
    full = scorer.scores(*embedding.split(X))
    for rows in (torch.arange(1), torch.randperm(700)[:37], torch.randperm(700)[:300]):
        assert torch.equal(scorer.scores(*embedding.split(X[rows])), full[rows])


def test_prediction_blocks_shrink_for_many_classes_and_stay_exact():
    embedding = LabelEmbedding("concat", n_features=5, n_classes=300, label_value=1.0)
    network = make_network(n_features=5, n_classes=300, sizes=(64, 64))
    scorer = LabelScorer(network)
    assert scorer.block_rows < BLOCK_ROWS
    assert scorer.block_rows * 300 * 64 <= 1 << 22
    X = torch.randn(2 * scorer.block_rows + 5, 5)
    torch.testing.assert_close(
        scorer.scores(*embedding.split(X)),
        naive_scores(network, embedding, X),
        rtol=1e-5,
        atol=1e-5,
    )


def _readout_network(sizes=(8, 5, 4)):
    network = make_network(sizes=sizes, readout=True)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # a non-trivial read-out (it starts at zero)
        network.readout.weight.uniform_(-1, 1, generator=generator)
        network.readout.bias.uniform_(-1, 1, generator=generator)
    return network


def naive_logits(network, X, label_value):
    activities = naive_neutral_activities(network, X, label_value)
    inputs = torch.cat([normalise_rows(a) for a in activities[1:]], dim=1)  # skips layer 1
    return inputs @ network.readout.weight.T + network.readout.bias


def test_scorer_readout_logits_equal_the_explicit_neutral_forward():
    network = _readout_network()
    embedding = LabelEmbedding("concat", n_features=6, n_classes=3, label_value=1.7)
    X = torch.randn(300, 6)
    logits = LabelScorer(network).readout_logits(*embedding.split(X))
    torch.testing.assert_close(logits, naive_logits(network, X, 1.7), rtol=1e-5, atol=1e-5)
    # a row's logits do not depend on the other rows predicted with it
    rows = torch.randperm(300)[:37]
    scorer = LabelScorer(network)
    assert torch.equal(scorer.readout_logits(*embedding.split(X[rows])), logits[rows])


def test_readout_logits_need_a_readout():
    with pytest.raises(ValueError, match="no softmax read-out"):
        LabelScorer(make_network()).readout_logits(torch.randn(2, 6), torch.ones(2))


def test_predict_keeps_no_score_matrix_of_all_rows(blobs):
    """predict takes the arg-max chunk by chunk: its numpy allocations stay
    far below the (n, k) float64 score matrix it no longer builds."""
    import tracemalloc

    import numpy as np

    from ffsk import ForwardForwardClassifier

    X, y = blobs
    clf = ForwardForwardClassifier(hidden_layer_sizes=(8,), epochs=1, random_state=0).fit(X, y)
    rows = np.random.RandomState(0).rand(200_000, 4).astype(np.float32)
    clf.predict(rows[:10])
    tracemalloc.start()
    predicted = clf.predict(rows)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    score_matrix_bytes = rows.shape[0] * 3 * 8
    assert predicted.shape == (200_000,)
    # the class indices and the labels (int64 each) plus a chunk's scores,
    # not the score matrix (4.8 MB here) on top
    assert peak < 2 * predicted.nbytes + score_matrix_bytes // 10
