"""Helpers shared by the torch-side unit tests: small networks and trainers,
given negatives, and naive reference forward passes written from the
algorithm's definition (explicitly embedded rows, one label at a time)."""

import torch

from ffsk._local_trainer import LocalTrainer
from ffsk._negatives import RandomNegatives
from ffsk._network import FFNetwork, goodness, normalise_rows


def make_network(n_features=6, n_classes=3, sizes=(8, 5, 4), seed=0, readout=False):
    generator = torch.Generator().manual_seed(seed)
    return FFNetwork(n_features, n_classes, sizes, generator, readout=readout)


class GivenNegatives:
    """A negative-sampling strategy that hands out fixed labels."""

    needs_scores = False

    def __init__(self, labels):
        self.labels = labels

    def draw(self, labels, scores, generator):
        return self.labels


def make_trainer(network, loss="symba", negatives=None, **options):
    negatives = negatives if negatives is not None else RandomNegatives(network.n_classes)
    return LocalTrainer(
        network,
        learning_rate=0.01,
        loss=loss,
        threshold=1.0,
        sharpness=4.0,
        negatives=negatives,
        **options,
    )


def rows_passed_to(monkeypatch, module, name: str) -> list[int]:
    """Replace ``module.name`` by a wrapper that records the number of rows
    of its first argument at every call; returns the list it fills."""
    rows = []
    original = getattr(module, name)

    def spy(first, *args, **kwargs):
        rows.append(first.shape[0])
        return original(first, *args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return rows


def make_batch(n=10, n_features=6, n_classes=3, seed=0):
    """``features, label_values, pos, neg`` (neg never equals pos)."""
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(n, n_features, generator=generator)
    pos = torch.randint(0, n_classes, (n,), generator=generator)
    neg = (pos + torch.randint(1, n_classes, (n,), generator=generator)) % n_classes
    return features, torch.full((n,), 1.5), pos, neg


def naive_forward(network, embedded, encoding="concat"):
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


def naive_scores(network, embedding, X, first_layer=0):
    """Reference k-pass scoring: embed each label explicitly, sum goodness
    over the layers from ``first_layer`` on."""
    n, k = X.shape[0], embedding.n_classes
    per_label = []
    for label in range(k):
        embedded = embedding.embed(X, torch.full((n,), label))
        activities = naive_forward(network, embedded)[first_layer:]
        per_label.append(sum(goodness(a) for a in activities))
    return torch.stack(per_label, dim=1)


def naive_neutral_activities(network, X, label_value):
    """Explicit neutral embedding (1/k of the label value in each slot)."""
    k = network.n_classes
    embedded = torch.cat([X, torch.full((len(X), k), label_value / k)], dim=1)
    return naive_forward(network, embedded)
