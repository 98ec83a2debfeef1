"""The pure-torch network: losses, layer isolation, shared label products."""

import copy
import math

import pytest
import torch

from ffsk._embedding import LabelEmbedding
from ffsk._negatives import random_wrong_labels
from ffsk._network import (
    LOSSES,
    FFNetwork,
    LocalTrainer,
    goodness,
    goodness_layer_weights,
    learning_rate_factor,
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


def _trainer(network, loss="symba", **options):
    return LocalTrainer(network, learning_rate=0.01, loss=loss, threshold=1.0, alpha=4.0, **options)


def _naive_scores(network, embedding, X, first_layer=0):
    """Reference k-pass scoring: embed each label explicitly, sum goodness
    over the layers from ``first_layer`` on."""
    n, k = X.shape[0], embedding.n_classes
    per_label = []
    for label in range(k):
        embedded = embedding.embed(X, torch.full((n,), label))
        activities = _naive_forward(network, embedded)[first_layer:]
        per_label.append(sum(goodness(a) for a in activities))
    return torch.stack(per_label, dim=1)


def _batch(n=10, n_features=6, n_classes=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(n, n_features, generator=generator)
    pos = torch.randint(0, n_classes, (n,), generator=generator)
    neg = (pos + torch.randint(1, n_classes, (n,), generator=generator)) % n_classes
    return features, torch.full((n,), 1.5), pos, neg


def test_first_layer_gradient_is_the_same_with_or_without_deeper_layers():
    """No gradient crosses a layer boundary: deeper layers' losses do not
    change the first layer's gradient."""
    batch = _batch()
    full = _network()
    _trainer(full).step(*batch)
    alone = _network()
    alone.hidden_layers = torch.nn.ModuleList()  # no deeper layer at all
    _trainer(alone).step(*batch)
    for name, param in alone.input_layer.named_parameters():
        reference = dict(full.input_layer.named_parameters())[name]
        assert torch.equal(param.grad, reference.grad)
        assert torch.count_nonzero(param.grad) > 0


@pytest.mark.parametrize("loss", ["symba", "threshold"])
def test_closed_form_gradients_equal_autograd_of_each_local_loss(loss):
    """The trainer's hand-derived gradients are those of each layer's own
    loss, with the layer's input treated as a constant."""
    batch = _batch()
    features, values, pos, neg = batch
    network = _network()
    reference = copy.deepcopy(network).requires_grad_(True)
    trainer = _trainer(network, loss)
    trainer.optimizers = [_NoStep() for _ in trainer.optimizers]  # keep weights fixed
    losses = trainer.step(*batch)

    loss_fn = LOSSES[loss]
    base, coef = reference.input_layer.shared_terms(features, values)
    activity = reference.input_layer.forward_labels(base, coef, torch.cat([pos, neg]))
    inputs = [None, *[None] * len(reference.hidden_layers)]
    for index, layer in enumerate(reference.layers):
        if index > 0:
            inputs[index] = activity.detach()
            activity = layer(inputs[index])
        g = goodness(activity)
        local = loss_fn(g[: len(pos)], g[len(pos) :], threshold=1.0, alpha=4.0)
        local.backward(retain_graph=True)
        assert local.item() == pytest.approx(losses[index].item(), rel=1e-5)
        for (name, param), mine in zip(
            layer.named_parameters(), network.layers[index].parameters(), strict=True
        ):
            torch.testing.assert_close(mine.grad, param.grad, rtol=1e-4, atol=1e-6, msg=name)
    assert all(x is None or not x.requires_grad for x in inputs)


class _NoStep:
    def step(self):
        pass


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
    naive = _naive_scores(network, embedding, X)
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
    trainer = _trainer(network, loss="threshold")
    X = torch.randn(64, 4)
    y = (X[:, 0] > 0).long()
    values = torch.ones(64)
    first = trainer.step(X, values, y, 1 - y)
    for _ in range(200):
        last = trainer.step(X, values, y, 1 - y)
    assert torch.all(last < first)


def test_random_negatives_are_never_the_true_label_and_cover_all_wrong_ones():
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(5).repeat(2000)
    negatives = random_wrong_labels(labels, 5, generator)
    assert not torch.any(negatives == labels)
    for label in range(5):
        drawn = negatives[labels == label]
        counts = torch.bincount(drawn, minlength=5).float()
        wrong = counts[torch.arange(5) != label]
        assert counts[label] == 0
        # uniform over the 4 wrong labels: 500 expected each, sd about 19
        assert torch.all((wrong - 500).abs() < 100)


def test_hard_negatives_never_pick_the_true_label_and_favour_high_scores():
    from ffsk._negatives import hard_wrong_labels

    generator = torch.Generator().manual_seed(0)
    n = 4000
    scores = torch.tensor([[9.0, 3.0, 1.0, 0.0]]).repeat(n, 1)  # label 0 scores highest
    labels = torch.zeros(n, dtype=torch.long)
    drawn = hard_wrong_labels(scores, labels, generator)
    assert not torch.any(drawn == labels)  # never the true label, however high it scores
    freq = torch.bincount(drawn, minlength=4).float() / n
    expected = torch.softmax(torch.tensor([3.0, 1.0, 0.0]), dim=0)
    torch.testing.assert_close(freq[1:], expected, atol=0.03, rtol=0)
    assert freq[1] > freq[2] > freq[3]


def test_training_time_label_scores_equal_the_prediction_scorer():
    embedding = LabelEmbedding("concat", n_features=6, n_classes=3, label_value=1.3)
    network = _network()
    trainer = _trainer(network)
    X = torch.randn(11, 6)
    features, values = embedding.split(X)
    base, coef = network.input_layer.shared_terms(features, values)
    training = trainer._label_scores(base, coef)
    torch.testing.assert_close(training, LabelScorer(network).scores(features, values))


def test_hard_negative_step_trains_against_the_top_scoring_wrong_label():
    features, values, pos, _ = _batch(n=64)
    network = _network()
    before = copy.deepcopy(network)
    losses = _trainer(network).step(features, values, pos, None, torch.Generator().manual_seed(0))
    assert losses.shape == (3,) and torch.all(torch.isfinite(losses))
    assert not torch.equal(before.input_layer.label_weight, network.input_layer.label_weight)


def test_skip_first_scores_leave_out_the_first_layer():
    embedding = LabelEmbedding("concat", n_features=6, n_classes=3, label_value=1.3)
    network = _network()
    X = torch.randn(9, 6)
    naive = _naive_scores(network, embedding, X, first_layer=1)
    scorer = LabelScorer(network, skip_first_goodness=True)
    torch.testing.assert_close(scorer.scores(*embedding.split(X)), naive, rtol=1e-5, atol=1e-5)
    trainer = _trainer(network, skip_first_goodness=True)
    base, coef = network.input_layer.shared_terms(*embedding.split(X))
    torch.testing.assert_close(trainer._label_scores(base, coef), naive, rtol=1e-5, atol=1e-5)
    # a one-layer network keeps its only layer
    assert goodness_layer_weights(1, skip_first=True) == [1.0]


def test_linear_decay_schedule_is_constant_then_falls_to_two_over_epochs():
    factors = [learning_rate_factor("linear_decay", e, 10) for e in range(10)]
    assert factors[:6] == [1.0] * 6
    assert factors[6:] == pytest.approx([0.8, 0.6, 0.4, 0.2])
    assert all(learning_rate_factor("constant", e, 10) == 1.0 for e in range(10))
    trainer = _trainer(_network())
    trainer.set_learning_rate_factor(0.25)
    assert all(
        group["lr"] == pytest.approx(0.0025)
        for optimizer in trainer.optimizers
        for group in optimizer.param_groups
    )


def test_peer_normalization_gradient_matches_autograd():
    from ffsk._network import peer_normalization_grad

    torch.manual_seed(0)
    pre = torch.randn(16, 6, requires_grad=True)
    running = torch.rand(6)
    expected_running = 0.9 * running + 0.1 * torch.relu(pre).mean(dim=0)
    loss = 0.03 * (expected_running - expected_running.mean()).square().sum()
    loss.backward()
    got = peer_normalization_grad(torch.relu(pre).detach(), running, 0.03)
    torch.testing.assert_close(running, expected_running.detach())
    torch.testing.assert_close(got, pre.grad)


def test_peer_normalization_evens_out_unit_activity():
    features, values, pos, neg = _batch(n=64)

    def activity_spread(strength):
        network = _network(sizes=(8,))
        trainer = _trainer(network, peer_normalization=strength)
        for _ in range(200):
            trainer.step(features, values, pos, neg)
        base, coef = network.input_layer.shared_terms(features, values)
        unit_means = network.input_layer.forward_labels(base, coef, pos).mean(dim=0)
        return float(unit_means.std() / unit_means.mean())

    assert activity_spread(1.0) < activity_spread(0.0)
