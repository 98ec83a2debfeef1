"""ffsk/_local_trainer.py: one training step — layer isolation, gradients
equal to autograd of each local loss, hard negatives from the live scores."""

import copy

import pytest
import torch
from _torch_helpers import (
    GivenNegatives,
    make_batch,
    make_network,
    make_trainer,
    naive_scores,
    rows_passed_to,
)

from ffsk._inference import LabelScorer
from ffsk._label_embedding import LabelEmbedding
from ffsk._losses import LOSSES, softmax_loss
from ffsk._negatives import HardNegatives
from ffsk._network import goodness
from ffsk._readout_trainer import ReadoutTrainer


class _NoStep:
    def step(self):
        pass


def test_first_layer_gradient_is_the_same_with_or_without_deeper_layers():
    """No gradient crosses a layer boundary: deeper layers' losses do not
    change the first layer's gradient."""
    features, values, pos, neg = make_batch()
    full = make_network()
    make_trainer(full, negatives=GivenNegatives(neg)).step(features, values, pos)
    alone = make_network()
    alone.hidden_layers = torch.nn.ModuleList()  # no deeper layer at all
    make_trainer(alone, negatives=GivenNegatives(neg)).step(features, values, pos)
    for name, param in alone.input_layer.named_parameters():
        reference = dict(full.input_layer.named_parameters())[name]
        assert torch.equal(param.grad, reference.grad)
        assert torch.count_nonzero(param.grad) > 0


@pytest.mark.parametrize("loss", ["symba", "threshold"])
def test_closed_form_gradients_equal_autograd_of_each_local_loss(loss):
    """The trainer's hand-derived gradients are those of each layer's own
    loss, with the layer's input treated as a constant."""
    features, values, pos, neg = make_batch()
    network = make_network()
    reference = copy.deepcopy(network).requires_grad_(True)
    trainer = make_trainer(network, loss, negatives=GivenNegatives(neg))
    trainer.optimizers = [_NoStep() for _ in trainer.optimizers]  # keep weights fixed
    losses = trainer.step(features, values, pos)

    loss_fn = LOSSES[loss]
    first = reference.input_layer
    embedded = torch.cat([torch.cat([features, features]), torch.zeros(2 * len(pos), 3)], dim=1)
    embedded[torch.arange(2 * len(pos)), 6 + torch.cat([pos, neg])] = 1.5
    weight = torch.cat([first.feature_weight, first.label_weight], dim=1)
    normalised = embedded / (embedded.norm(dim=1, keepdim=True) + 1e-6)
    activity = torch.relu(normalised @ weight.T + first.bias)
    inputs = [None, *[None] * len(reference.hidden_layers)]
    for index, layer in enumerate(reference.layers):
        if index > 0:
            inputs[index] = activity.detach()
            activity = layer(inputs[index])
        g = goodness(activity)
        local = loss_fn(g[: len(pos)], g[len(pos) :], threshold=1.0, sharpness=4.0)
        local.backward(retain_graph=True)
        assert local.item() == pytest.approx(losses[index].item(), rel=1e-5)
        for (name, param), mine in zip(
            layer.named_parameters(), network.layers[index].parameters(), strict=True
        ):
            torch.testing.assert_close(mine.grad, param.grad, rtol=1e-4, atol=1e-6, msg=name)
    assert all(x is None or not x.requires_grad for x in inputs)


@pytest.mark.parametrize("candidates", [None, 1])
@pytest.mark.parametrize("weighted", [False, True])
def test_softmax_loss_gradients_equal_autograd_over_every_trained_label(candidates, weighted):
    """Under loss="softmax" each layer's gradient is that of the
    cross-entropy of its goodness over the labels each row is trained on
    (every label, or the true one and ``candidates`` wrong ones), with the
    layer's input a constant, and the true label is always among them."""
    features, values, pos, _ = make_batch(n=12)
    network = make_network()
    reference = copy.deepcopy(network).requires_grad_(True)
    trainer = make_trainer(network, "softmax", label_candidates=candidates)
    trainer.optimizers = [_NoStep() for _ in trainer.optimizers]  # keep weights fixed
    drawn = {}
    original = trainer._trained_labels

    def recording(labels, generator):
        drawn["labels"], drawn["target"] = original(labels, generator)
        return drawn["labels"], drawn["target"]

    trainer._trained_labels = recording
    weights = torch.rand(12, generator=torch.Generator().manual_seed(1)) if weighted else None
    losses = trainer.step(features, values, pos, torch.Generator().manual_seed(0), weights)

    n, k = len(pos), 3
    if candidates is None:
        assert drawn["labels"] is None and torch.equal(drawn["target"], pos)
        labels, target = torch.arange(k).repeat(n, 1), pos
    else:
        labels, target = drawn["labels"], drawn["target"]
        assert labels.shape == (n, candidates + 1) and torch.equal(labels[:, 0], pos)
        assert torch.all(labels[:, 1:] != pos[:, None]) and torch.all(target == 0)
    m = labels.shape[1]
    embedded = torch.cat([features.repeat_interleave(m, 0), torch.zeros(n * m, k)], dim=1)
    embedded[torch.arange(n * m), 6 + labels.reshape(-1)] = 1.5
    first = reference.input_layer
    weight = torch.cat([first.feature_weight, first.label_weight], dim=1)
    normalised = embedded / (embedded.norm(dim=1, keepdim=True) + 1e-6)
    activity = torch.relu(normalised @ weight.T + first.bias)
    for index, layer in enumerate(reference.layers):
        if index > 0:
            activity = layer(activity.detach())
        g = goodness(activity).view(n, m)
        local = softmax_loss(g, target, sharpness=4.0, weights=weights)
        local.backward()
        assert local.item() == pytest.approx(losses[index].item(), rel=1e-5)
        for (name, param), mine in zip(
            layer.named_parameters(), network.layers[index].parameters(), strict=True
        ):
            torch.testing.assert_close(mine.grad, param.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_training_step_reduces_the_local_losses():
    torch.manual_seed(0)
    network = make_network(n_features=4, n_classes=2, sizes=(16, 16))
    X = torch.randn(64, 4)
    y = (X[:, 0] > 0).long()
    trainer = make_trainer(network, loss="threshold", negatives=GivenNegatives(1 - y))
    values = torch.ones(64)
    first = trainer.step(X, values, y)
    for _ in range(200):
        last = trainer.step(X, values, y)
    assert torch.all(last < first)


def test_training_time_label_scores_equal_the_prediction_scorer():
    embedding = LabelEmbedding("concat", n_features=6, n_classes=3, label_value=1.3)
    network = make_network()
    trainer = make_trainer(network)
    features, values = embedding.split(torch.randn(11, 6))
    torch.testing.assert_close(
        trainer.label_scores(features, values), LabelScorer(network).scores(features, values)
    )


def test_skip_first_training_scores_leave_out_the_first_layer():
    embedding = LabelEmbedding("concat", n_features=6, n_classes=3, label_value=1.3)
    network = make_network()
    X = torch.randn(9, 6)
    trainer = make_trainer(network, skip_first_goodness=True)
    torch.testing.assert_close(
        trainer.label_scores(*embedding.split(X)),
        naive_scores(network, embedding, X, first_layer=1),
        rtol=1e-5,
        atol=1e-5,
    )


def test_hard_negatives_are_drawn_from_the_scores_of_the_weights_before_the_step():
    features, values, pos, _ = make_batch(n=64)
    network = make_network()
    expected = make_trainer(copy.deepcopy(network)).label_scores(features, values)
    seen = {}

    class Spy(HardNegatives):
        def draw(self, labels, scores, generator):
            seen["scores"] = scores()
            return super().draw(labels, scores, generator)

    before = copy.deepcopy(network)
    trainer = make_trainer(network, negatives=Spy())
    losses = trainer.step(features, values, pos, torch.Generator().manual_seed(0))
    torch.testing.assert_close(seen["scores"], expected)
    assert losses.shape == (3,) and torch.all(torch.isfinite(losses))
    assert not torch.equal(before.input_layer.label_weight, network.input_layer.label_weight)


def test_learning_rate_factor_scales_every_layers_rate():
    trainer = make_trainer(make_network())
    trainer.set_learning_rate_factor(0.25)
    assert all(
        group["lr"] == pytest.approx(0.0025)
        for optimizer in trainer.optimizers
        for group in optimizer.param_groups
    )


def test_peer_normalization_evens_out_unit_activity():
    features, values, pos, neg = make_batch(n=64)

    def activity_spread(strength):
        network = make_network(sizes=(8,))
        trainer = make_trainer(network, negatives=GivenNegatives(neg), peer_normalization=strength)
        for _ in range(200):
            trainer.step(features, values, pos)
        unit_means = network(features, values, pos)[0].mean(dim=0)
        return float(unit_means.std() / unit_means.mean())

    assert activity_spread(1.0) < activity_spread(0.0)


def test_state_dict_round_trip_continues_identically():
    features, values, pos, neg = make_batch(n=32)
    network = make_network(readout=True)

    def trainer_of(network):
        return make_trainer(
            network,
            negatives=GivenNegatives(neg),
            peer_normalization=0.1,
            readout_trainer=ReadoutTrainer(network, learning_rate=0.01),
        )

    trainer = trainer_of(network)
    for _ in range(3):
        trainer.step(features, values, pos)
    copy_network = copy.deepcopy(network)
    other = trainer_of(copy_network)
    other.load_state_dict(trainer.state_dict())
    trainer.step(features, values, pos)
    other.step(features, values, pos)
    pairs = zip(network.state_dict().items(), copy_network.state_dict().values(), strict=True)
    for (name, a), b in pairs:
        assert torch.equal(a, b), name


@pytest.mark.parametrize("n_classes", [10, 100])
def test_hard_negative_scoring_work_does_not_grow_with_the_classes(n_classes, monkeypatch):
    """With 9 candidates, the deeper layers score at most 10 labels per row
    (10 classes: all of them; 100 classes: 9 wrong ones)."""
    import ffsk._network as network_module

    rows_seen = rows_passed_to(monkeypatch, network_module, "hidden_forward")
    network = make_network(n_classes=n_classes, sizes=(16, 8))
    features, values, pos, _ = make_batch(n=20, n_classes=n_classes)
    trainer = make_trainer(network, negatives=HardNegatives(n_classes, n_candidates=9))
    trainer.step(features, values, pos, torch.Generator().manual_seed(0))
    # the scoring pass through the deeper layer (training uses its own step)
    assert rows_seen == [20 * (10 if n_classes == 10 else 9)]


def test_a_bfloat16_step_casts_each_weight_matrix_once(monkeypatch):
    """The step's bfloat16 copy of each weight serves hard-negative scoring
    and the layer's own forward product: one cast per matrix and step."""
    from torch.utils._python_dispatch import TorchDispatchMode

    network = make_network(n_features=6, n_classes=4, sizes=(16, 12, 8))
    weight_shapes = {tuple(layer.weight.shape[::-1]) for layer in network.hidden_layers}
    weight_shapes.add(tuple(network.input_layer.feature_weight.shape[::-1]))
    casts = []

    class CountCasts(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func is torch.ops.aten._to_copy.default and kwargs.get("dtype") == torch.bfloat16:
                casts.append(tuple(args[0].shape))
            return func(*args, **kwargs)

    trainer = make_trainer(network, negatives=HardNegatives(4), compute_dtype=torch.bfloat16)
    features, values, pos, _ = make_batch(n=20, n_classes=4)
    with CountCasts():
        trainer.step(features, values, pos, torch.Generator().manual_seed(0))
    weight_casts = [shape for shape in casts if shape in weight_shapes]
    assert sorted(weight_casts) == sorted(weight_shapes)


@pytest.mark.parametrize("with_candidates", [False, True])
def test_blockwise_scoring_equals_one_block_and_respects_the_budget(monkeypatch, with_candidates):
    import ffsk._local_trainer as trainer_module
    from ffsk._network import Products, first_layer_base, summed_goodness

    network = make_network(n_features=6, n_classes=5, sizes=(16, 12))
    features, values, pos, _ = make_batch(n=37, n_classes=5)
    live = network.weights()
    _, inv_length, base = first_layer_base(features, values, live.feature_weight_t, Products())
    coef = values * inv_length
    candidates = torch.stack([(pos + 1) % 5, (pos + 2) % 5], dim=1) if with_candidates else None
    whole = summed_goodness(base, coef, live, [1.0, 1.0], Products(), candidates)
    block_sizes = rows_passed_to(monkeypatch, trainer_module, "summed_goodness")
    labels = 2 if with_candidates else 5
    budget = 10 * labels * 16  # about 10 rows per block
    blocked = trainer_module.blockwise_summed_goodness(
        base, coef, live, [1.0, 1.0], Products(), candidates, block_floats=budget
    )
    torch.testing.assert_close(blocked, whole)
    assert sum(block_sizes) == 37 and len(block_sizes) == 4
    assert max(block_sizes) * labels * 16 <= budget
