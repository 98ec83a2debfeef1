"""ffsk/_readout_trainer.py: the softmax read-out's own loss and gradients,
with no gradient into the Forward-Forward layers."""

import copy

import torch
from _torch_helpers import make_network
from test_inference import _readout_network, naive_logits

from ffsk._network import Products, neutral_activities, readout_inputs
from ffsk._readout_trainer import ReadoutTrainer


def test_readout_gradient_is_the_cross_entropy_gradient_of_detached_activities():
    network = _readout_network()
    reference = copy.deepcopy(network).requires_grad_(True)
    X, values = torch.randn(12, 6), torch.full((12,), 1.5)
    labels = torch.randint(0, 3, (12,))
    trainer = ReadoutTrainer(network, learning_rate=0.0)
    loss = trainer.step(X, values, labels)
    expected = torch.nn.functional.cross_entropy(naive_logits(reference, X, 1.5), labels)
    expected.backward()
    assert abs(loss.item() - expected.item()) < 1e-5
    torch.testing.assert_close(network.readout.weight.grad, reference.readout.weight.grad)
    torch.testing.assert_close(network.readout.bias.grad, reference.readout.bias.grad)
    # the FF layers got no gradient from the read-out's loss
    for layer in network.layers:
        assert all(p.grad is None for p in layer.parameters())


def test_row_weights_scale_each_rows_cross_entropy():
    network = _readout_network()
    reference = copy.deepcopy(network).requires_grad_(True)
    X, values = torch.randn(12, 6), torch.full((12,), 1.5)
    labels = torch.randint(0, 3, (12,))
    weights = torch.rand(12)
    ReadoutTrainer(network, learning_rate=0.0).step(X, values, labels, weights=weights)
    per_row = torch.nn.functional.cross_entropy(
        naive_logits(reference, X, 1.5), labels, reduction="none"
    )
    (per_row * weights).mean().backward()
    torch.testing.assert_close(network.readout.weight.grad, reference.readout.weight.grad)


def test_neutral_activities_feed_every_readout_layer():
    network = make_network(sizes=(8,))  # a single layer feeds the read-out itself
    acts = neutral_activities(torch.randn(4, 6), torch.ones(4), network.weights(), Products())
    assert readout_inputs(acts).shape == (4, 8)
