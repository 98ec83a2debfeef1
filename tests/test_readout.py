"""The one-pass softmax read-out: its own loss, its own gradients, no
gradient into the Forward-Forward layers, and batch-invariant prediction."""

import copy
import pickle

import numpy as np
import torch

from ffsk import ForwardForwardClassifier
from ffsk._embedding import LabelEmbedding
from ffsk._network import FFNetwork, normalise_rows
from ffsk._readout import ReadoutTrainer, neutral_activities, readout_inputs
from ffsk._scoring import LabelScorer

FAST = dict(hidden_layer_sizes=(32, 16), epochs=20, random_state=0, device="cpu")


def _network(n_features=6, n_classes=3, sizes=(8, 5, 4)):
    generator = torch.Generator().manual_seed(0)
    network = FFNetwork(n_features, n_classes, sizes, generator, readout=True)
    with torch.no_grad():  # a non-trivial read-out (it starts at zero)
        network.readout.weight.uniform_(-1, 1, generator=generator)
        network.readout.bias.uniform_(-1, 1, generator=generator)
    return network


def _naive_logits(network, X, label_value):
    """Explicit neutral embedding (1/k in each label slot), full forward."""
    k = network.n_classes
    embedded = torch.cat([X, torch.full((len(X), k), label_value / k)], dim=1)
    first = network.input_layer
    weight = torch.cat([first.feature_weight, first.label_weight], dim=1)
    activity = torch.relu(normalise_rows(embedded) @ weight.T + first.bias)
    activities = [activity]
    for layer in network.hidden_layers:
        activity = torch.relu(normalise_rows(activity) @ layer.weight.T + layer.bias)
        activities.append(activity)
    inputs = torch.cat([normalise_rows(a) for a in activities[1:]], dim=1)  # skips layer 1
    return inputs @ network.readout.weight.T + network.readout.bias


def test_scorer_readout_logits_equal_the_explicit_neutral_forward():
    network = _network()
    embedding = LabelEmbedding("concat", n_features=6, n_classes=3, label_value=1.7)
    X = torch.randn(300, 6)
    logits = LabelScorer(network).readout_logits(*embedding.split(X))
    torch.testing.assert_close(logits, _naive_logits(network, X, 1.7), rtol=1e-5, atol=1e-5)
    # a row's logits do not depend on the other rows predicted with it
    rows = torch.randperm(300)[:37]
    scorer = LabelScorer(network)
    assert torch.equal(scorer.readout_logits(*embedding.split(X[rows])), logits[rows])


def test_readout_gradient_is_the_cross_entropy_gradient_of_detached_activities():
    network = _network()
    reference = copy.deepcopy(network).requires_grad_(True)
    X, values = torch.randn(12, 6), torch.full((12,), 1.5)
    labels = torch.randint(0, 3, (12,))
    trainer = ReadoutTrainer(network, learning_rate=0.0)
    loss = trainer.step(X, values, labels)
    logits = _naive_logits(reference, X, 1.5)
    expected = torch.nn.functional.cross_entropy(logits, labels)
    expected.backward()
    assert abs(loss.item() - expected.item()) < 1e-5
    torch.testing.assert_close(network.readout.weight.grad, reference.readout.weight.grad)
    torch.testing.assert_close(network.readout.bias.grad, reference.readout.bias.grad)
    # the FF layers got no gradient from the read-out's loss
    for layer in network.layers:
        assert all(p.grad is None for p in layer.parameters())


def test_neutral_activities_feed_every_readout_layer():
    network = _network(sizes=(8,))  # a single layer feeds the read-out itself
    first = network.input_layer
    acts = neutral_activities(
        torch.randn(4, 6),
        torch.ones(4),
        first.feature_weight.T,
        first.label_weight.T,
        first.bias,
        [],
        torch.mm,
    )
    assert readout_inputs(acts).shape == (4, 8)


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
