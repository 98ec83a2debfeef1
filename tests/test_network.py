"""The pure-torch network: losses, layer isolation, shared label products."""

import math

import pytest
import torch

from ffsk._embedding import LabelEmbedding
from ffsk._network import (
    FFNetwork,
    LocalTrainer,
    goodness,
    normalise_rows,
    symba_loss,
    threshold_loss,
)
from ffsk._scoring import BLOCK_ROWS, LabelScorer


def _network(n_features=6, n_classes=3, sizes=(8, 5, 4), seed=0):
    generator = torch.Generator().manual_seed(seed)
    return FFNetwork(n_features, n_classes, sizes, generator)


def _naive_forward(network, embedded, encoding="concat"):
    """Reference forward pass on explicitly embedded rows, layer by layer."""
    first = network.input_layer
    blocks = [first.feature_weight, first.label_weight]
    weight = torch.cat(blocks[::-1] if encoding == "overlay" else blocks, dim=1)
    activity = torch.relu(normalise_rows(embedded) @ weight.T + first.bias)
    activities = [activity]
    for layer in network.hidden_layers:
        activity = torch.relu(normalise_rows(activity) @ layer.weight.T + layer.bias)
        activities.append(activity)
    return activities


def test_normalise_rows_gives_unit_length_and_keeps_zero_rows():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    out = normalise_rows(x)
    assert torch.allclose(out[0], torch.tensor([0.6, 0.8]), atol=1e-6)
    assert torch.equal(out[1], torch.zeros(2))


def test_goodness_is_mean_of_squares():
    assert torch.allclose(goodness(torch.tensor([[1.0, 2.0, 2.0]])), torch.tensor([3.0]))


def test_losses_match_hand_computed_values():
    g_pos, g_neg = torch.tensor([2.0, 0.5]), torch.tensor([1.0, 3.0])
    softplus = lambda v: math.log1p(math.exp(v))  # noqa: E731
    expected = (
        (softplus(1.5 - 2.0) + softplus(1.0 - 1.5)) + (softplus(1.5 - 0.5) + softplus(3.0 - 1.5))
    ) / 2
    got = threshold_loss(g_pos, g_neg, threshold=1.5, alpha=0.0)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    expected = (softplus(-4 * (2.0 - 1.0)) + softplus(-4 * (0.5 - 3.0))) / 2
    assert symba_loss(g_pos, g_neg, threshold=0.0, alpha=4.0).item() == pytest.approx(
        expected, rel=1e-6
    )


def test_no_gradient_crosses_a_layer_boundary():
    """Layer 1's update is the same whether or not deeper layers train."""
    torch.manual_seed(0)
    features = torch.randn(10, 6)
    values = torch.full((10,), 1.0)
    pos, neg = torch.randint(0, 3, (10,)), torch.randint(0, 3, (10,))

    full = _network()
    LocalTrainer(full, learning_rate=0.01, loss="symba", threshold=1.0, alpha=4.0).step(
        features, values, pos, neg
    )
    alone = _network()
    trainer = LocalTrainer(alone, learning_rate=0.01, loss="symba", threshold=1.0, alpha=4.0)
    trainer.optimizers = trainer.optimizers[:1]
    alone.hidden_layers = torch.nn.ModuleList()  # no deeper layer at all
    trainer.step(features, values, pos, neg)
    for name, param in alone.input_layer.named_parameters():
        assert torch.equal(param, dict(full.input_layer.named_parameters())[name])


def test_layer_input_is_detached_so_deeper_loss_gives_no_first_layer_gradient():
    network = _network()
    base, coef = network.input_layer.shared_terms(torch.randn(4, 6), torch.ones(4))
    first = network.input_layer.forward_labels(base, coef, torch.tensor([0, 1, 2, 0]))
    deeper = network.hidden_layers[0](first.detach())
    goodness(deeper).sum().backward()
    assert all(p.grad is None for p in network.input_layer.parameters())
    assert network.hidden_layers[0].weight.grad is not None


@pytest.mark.parametrize("encoding", ["concat", "overlay"])
def test_shared_first_layer_equals_explicit_embedding(encoding):
    torch.manual_seed(0)
    embedding = LabelEmbedding(encoding, n_features=7, n_classes=3, label_value=0.8)
    network = _network(n_features=embedding.n_network_features)
    X = torch.randn(9, 7)
    labels = torch.randint(0, 3, (9,))
    features, values = embedding.split(X)
    base, coef = network.input_layer.shared_terms(features, values)
    shared = network.input_layer.forward_labels(base, coef, labels)
    explicit = _naive_forward(network, embedding.embed(X, labels), encoding)[0]
    torch.testing.assert_close(shared, explicit, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n_rows", [1, 7, BLOCK_ROWS + 3])
def test_scorer_equals_naive_k_pass_scoring(n_rows):
    torch.manual_seed(1)
    embedding = LabelEmbedding("concat", n_features=6, n_classes=3, label_value=1.3)
    network = _network()
    X = torch.randn(n_rows, 6)
    naive = torch.stack(
        [
            sum(
                goodness(a)
                for a in _naive_forward(network, embedding.embed(X, torch.full((n_rows,), c)))
            )
            for c in range(3)
        ],
        dim=1,
    )
    scores = LabelScorer(network).scores(*embedding.split(X))
    torch.testing.assert_close(scores, naive, rtol=1e-5, atol=1e-5)


def test_scores_of_a_row_do_not_depend_on_the_other_rows():
    torch.manual_seed(2)
    # Odd sizes on purpose: BLAS kernels treat small odd shapes differently.
    embedding = LabelEmbedding("concat", n_features=13, n_classes=7, label_value=1.0)
    network = _network(n_features=13, n_classes=7, sizes=(7, 33))
    X = torch.randn(700, 13)
    scorer = LabelScorer(network)
    full = scorer.scores(*embedding.split(X))
    for rows in (torch.arange(1), torch.randperm(700)[:37], torch.randperm(700)[:300]):
        assert torch.equal(scorer.scores(*embedding.split(X[rows])), full[rows])


def test_training_step_reduces_the_local_losses():
    torch.manual_seed(0)
    network = _network(n_features=4, n_classes=2, sizes=(16, 16))
    trainer = LocalTrainer(network, learning_rate=0.01, loss="threshold", threshold=1.0, alpha=1.0)
    X = torch.randn(64, 4)
    y = (X[:, 0] > 0).long()
    values = torch.ones(64)
    first = trainer.step(X, values, y, 1 - y)
    for _ in range(200):
        last = trainer.step(X, values, y, 1 - y)
    assert torch.all(last < first)
