"""ffsk/_network.py: the forward pass, written once, against the algorithm's
definition on explicitly embedded rows."""

import pytest
import torch
from _torch_helpers import make_network, naive_forward, naive_neutral_activities

from ffsk._label_embedding import LabelEmbedding
from ffsk._network import (
    Products,
    first_layer_activity,
    goodness,
    hidden_forward,
    normalise_rows,
    readout_inputs,
)


def test_normalise_rows_gives_unit_length_and_keeps_zero_rows():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    out = normalise_rows(x)
    assert torch.allclose(out[0], torch.tensor([0.6, 0.8]), atol=1e-6)
    assert torch.equal(out[1], torch.zeros(2))


def test_normalise_rows_writes_the_product_dtype_and_reuses_given_lengths():
    """Written straight in bfloat16 it is the float32 result rounded once, and
    lengths passed in (the goodness pass has them) give the same rows."""
    x = torch.randn(6, 9)
    x[2] = 0.0
    expected = normalise_rows(x)
    as_bf16 = normalise_rows(x, torch.bfloat16)
    assert as_bf16.dtype == torch.bfloat16
    assert torch.equal(as_bf16, expected.to(torch.bfloat16))
    lengths = torch.linalg.vector_norm(x, dim=1)
    assert torch.equal(normalise_rows(x, length=lengths), expected)
    assert torch.equal(as_bf16[2].float(), torch.zeros(9))


@pytest.mark.parametrize("dtype", [None, torch.bfloat16])
def test_products_compute_in_their_dtype_and_return_float32(dtype):
    products = Products(dtype)
    a, b, bias = torch.randn(5, 7), torch.randn(7, 3), torch.randn(3)
    cast = (lambda t: t) if dtype is None else (lambda t: t.to(dtype).float())
    expected = cast(a) @ cast(b)
    for result in (products(a, b), products.affine(a, b, bias) - bias):
        assert result.dtype == torch.float32
        torch.testing.assert_close(result, expected, rtol=1e-2, atol=1e-2)
    # Operands already in the product dtype are used as they are, not copied.
    ready = products.operand(a)
    assert products.operand(ready) is ready


def test_products_cast_a_networks_weight_matrices_once():
    network = make_network()
    weights = network.weights()
    assert Products(None).weights(weights) is weights
    cast = Products(torch.bfloat16).weights(weights)
    assert cast.feature_weight_t.dtype == torch.bfloat16
    assert all(w.dtype == torch.bfloat16 for w, _ in cast.hidden)
    # Biases and label columns are used element-wise: they stay float32.
    assert cast.first_bias.dtype == cast.label_rows.dtype == torch.float32
    assert all(bias.dtype == torch.float32 for _, bias in cast.hidden)


def test_hidden_forward_in_bfloat16_matches_float32_to_its_precision():
    network = make_network(sizes=(8, 16))
    layer = network.hidden_layers[0]
    previous = torch.relu(torch.randn(10, 8))
    _, reference = hidden_forward(previous, layer.weight.T, layer.bias, Products())
    normalised, activity = hidden_forward(
        previous, layer.weight.T, layer.bias, Products(torch.bfloat16)
    )
    assert normalised.dtype == torch.bfloat16 and activity.dtype == torch.float32
    torch.testing.assert_close(activity, reference, rtol=2e-2, atol=2e-2)


def test_goodness_is_mean_of_squares():
    assert torch.allclose(goodness(torch.tensor([[1.0, 2.0, 2.0]])), torch.tensor([3.0]))


@pytest.mark.parametrize("encoding", ["concat", "overlay"])
def test_forward_with_labels_equals_the_explicitly_embedded_rows(encoding):
    """The shared first-layer product plus the label's column is the first
    layer applied to the whole embedded row, and every deeper layer sees
    the length-normalised activity of the one before."""
    torch.manual_seed(0)
    embedding = LabelEmbedding(encoding, n_features=7, n_classes=3, label_value=0.8)
    network = make_network(n_features=embedding.n_network_features)
    X = torch.randn(9, 7)
    labels = torch.randint(0, 3, (9,))
    activities = network(*embedding.split(X), labels)
    explicit = naive_forward(network, embedding.embed(X, labels), encoding)
    assert len(activities) == len(explicit) == 3
    for mine, reference in zip(activities, explicit, strict=True):
        torch.testing.assert_close(mine, reference, rtol=1e-5, atol=1e-5)


def test_forward_without_labels_uses_the_neutral_label():
    network = make_network()
    X = torch.randn(5, 6)
    activities = network(X, torch.full((5,), 1.7))
    for mine, reference in zip(activities, naive_neutral_activities(network, X, 1.7), strict=True):
        torch.testing.assert_close(mine, reference, rtol=1e-5, atol=1e-5)


def test_a_deeper_layer_depends_only_on_the_direction_of_its_input():
    network = make_network()
    layer = network.hidden_layers[0]
    previous = torch.rand(4, 8)
    torch.testing.assert_close(layer(previous), layer(previous * 37.0))


def test_layer_goodness_is_the_goodness_of_each_layers_activity():
    network = make_network()
    X, values, labels = torch.randn(6, 6), torch.ones(6), torch.tensor([0, 1, 2, 0, 1, 2])
    per_layer = network.layer_goodness(X, values, labels)
    assert per_layer.shape == (6, 3)
    for i, activity in enumerate(network(X, values, labels)):
        torch.testing.assert_close(per_layer[:, i], goodness(activity))


def test_readout_inputs_skip_the_first_of_several_layers_and_keep_a_single_one():
    several = [torch.rand(4, 8), torch.rand(4, 5), torch.rand(4, 4)]
    assert readout_inputs(several).shape == (4, 9)
    assert readout_inputs(several[:1]).shape == (4, 8)
    norms = readout_inputs(several)[:, :5].norm(dim=1)
    torch.testing.assert_close(norms, torch.ones(4))


def test_every_label_block_is_row_major():
    """The (rows, labels, units) block scoring and the softmax loss build
    from the network's label rows is contiguous, so no pass over it strides
    and reshaping it copies nothing."""
    network = make_network(n_features=6, n_classes=3, sizes=(8,))
    weights = network.weights()
    assert weights.label_rows.shape == (3, 8) and weights.label_rows.is_contiguous()
    base, coef = torch.randn(5, 8), torch.rand(5)
    block = first_layer_activity(
        base[:, None, :], coef[:, None], weights.label_rows, weights.first_bias
    )
    assert block.shape == (5, 3, 8) and block.is_contiguous()
    torch.testing.assert_close(weights.label_rows, network.input_layer.label_weight.T)
