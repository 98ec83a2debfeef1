"""The Forward-Forward network in plain PyTorch: layers, goodness, local losses
and the local training step.

Nothing here knows about scikit-learn. The estimator in ``_classifier.py``
builds a :class:`FFNetwork`, feeds it tensors and reads tensors back.

Shapes used throughout: ``n`` rows, ``d`` feature columns (the part of the
input that is not the label), ``k`` classes, ``h`` units of a layer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

#: Added to a row's length before dividing by it, so that an all-zero row
#: normalises to zero instead of NaN.
NORM_EPS = 1e-6


def normalise_rows(x: torch.Tensor) -> torch.Tensor:
    """Scale each row of ``x`` to unit Euclidean length (zero rows stay zero)."""
    return x / (torch.linalg.vector_norm(x, dim=-1, keepdim=True) + NORM_EPS)


def goodness(activity: torch.Tensor) -> torch.Tensor:
    """Goodness of each row: the mean of its squared activities."""
    return activity.square().mean(dim=-1)


def threshold_loss(
    g_pos: torch.Tensor, g_neg: torch.Tensor, *, threshold: float, alpha: float
) -> torch.Tensor:
    """Hinton's loss: push positive goodness above and negative goodness below
    ``threshold``; ``softplus(threshold - g_pos) + softplus(g_neg - threshold)``
    averaged over rows. ``alpha`` is unused (kept for a common signature)."""
    del alpha
    return (F.softplus(threshold - g_pos) + F.softplus(g_neg - threshold)).mean()


def symba_loss(
    g_pos: torch.Tensor, g_neg: torch.Tensor, *, threshold: float, alpha: float
) -> torch.Tensor:
    """SymBa loss (Lee & Song, 2023): ``softplus(-alpha * (g_pos - g_neg))``
    averaged over rows. It only asks positive goodness to exceed the negative
    goodness of the same row, so no layer first has to learn to hit an
    absolute threshold. ``threshold`` is unused (kept for a common signature)."""
    del threshold
    return F.softplus(-alpha * (g_pos - g_neg)).mean()


LOSSES = {"threshold": threshold_loss, "symba": symba_loss}


def _uniform_(tensor: torch.Tensor, fan_in: int, generator: torch.Generator) -> None:
    # nn.Linear's default range, drawn from our own generator so that a fit
    # never reads or changes torch's global random state.
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        tensor.uniform_(-bound, bound, generator=generator)


class FFHiddenLayer(nn.Module):
    """A layer fed by the previous layer: normalise, linear map, ReLU."""

    def __init__(self, in_features: int, out_features: int, generator: torch.Generator):
        super().__init__()
        device = generator.device
        self.weight = nn.Parameter(torch.empty(out_features, in_features, device=device))
        self.bias = nn.Parameter(torch.empty(out_features, device=device))
        _uniform_(self.weight, in_features, generator)
        _uniform_(self.bias, in_features, generator)

    def forward(self, previous: torch.Tensor) -> torch.Tensor:
        # ``previous`` is always detached: only the direction of the previous
        # layer's activity passes on, and no gradient flows back into it.
        return F.relu(F.linear(normalise_rows(previous), self.weight, self.bias))


class FFInputLayer(nn.Module):
    """The first layer, fed by features plus an embedded one-hot label.

    Its input row is ``v = [features, label_value * onehot(label)]`` (columns
    in the order the label embedding puts them). Because the one-hot part only
    adds ``label_value * W_label[:, label]`` to ``W v``, the weight is kept as
    two blocks and the feature product is computed once and shared by every
    label of a row (positive, negative, or all ``k`` at scoring time).
    """

    def __init__(
        self, n_features: int, n_classes: int, out_features: int, generator: torch.Generator
    ):
        super().__init__()
        device = generator.device
        fan_in = n_features + n_classes
        self.feature_weight = nn.Parameter(torch.empty(out_features, n_features, device=device))
        self.label_weight = nn.Parameter(torch.empty(out_features, n_classes, device=device))
        self.bias = nn.Parameter(torch.empty(out_features, device=device))
        for tensor in (self.feature_weight, self.label_weight, self.bias):
            _uniform_(tensor, fan_in, generator)

    def shared_terms(
        self, features: torch.Tensor, label_values: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(W_f f / |v|, label_value / |v|)`` for each row, where
        ``|v|`` is the length of the whole embedded row (the same for every
        label, since a one-hot label adds ``label_value**2`` to it)."""
        sq_length = features.square().sum(dim=1) + label_values.square()
        inv_length = 1.0 / (sq_length.sqrt() + NORM_EPS)
        base = (features @ self.feature_weight.T) * inv_length[:, None]
        return base, label_values * inv_length

    def forward_labels(
        self, base: torch.Tensor, label_coef: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """Activities for one label per row of ``base`` (``labels`` may hold
        several stacked label vectors: its length is a multiple of ``n``)."""
        repeats = labels.shape[0] // base.shape[0]
        label_term = self.label_weight.T[labels] * label_coef.repeat(repeats)[:, None]
        return F.relu(base.repeat(repeats, 1) + label_term + self.bias)


class FFNetwork(nn.Module):
    """A stack of Forward-Forward layers of sizes ``hidden_layer_sizes``."""

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden_layer_sizes: Sequence[int],
        generator: torch.Generator,
    ):
        super().__init__()
        sizes = [int(size) for size in hidden_layer_sizes]
        self.n_features = n_features
        self.n_classes = n_classes
        self.input_layer = FFInputLayer(n_features, n_classes, sizes[0], generator)
        self.hidden_layers = nn.ModuleList(
            FFHiddenLayer(a, b, generator) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )

    @property
    def layers(self) -> list[nn.Module]:
        """All layers, input layer first."""
        return [self.input_layer, *self.hidden_layers]


class LocalTrainer:
    """Trains every layer of an :class:`FFNetwork` by its own local loss.

    Each layer has its own Adam optimizer and sees a detached input, so no
    gradient ever crosses a layer boundary; the positive and negative rows of
    a mini-batch go through each layer in one stacked pass.
    """

    def __init__(
        self,
        network: FFNetwork,
        *,
        learning_rate: float,
        loss: str,
        threshold: float,
        alpha: float,
    ):
        self.network = network
        self.loss_fn = LOSSES[loss]
        self.threshold = threshold
        self.alpha = alpha
        self.optimizers = [
            torch.optim.Adam(layer.parameters(), lr=learning_rate) for layer in network.layers
        ]

    def _local_update(
        self, activity: torch.Tensor, optimizer: torch.optim.Optimizer
    ) -> torch.Tensor:
        n_pos = activity.shape[0] // 2
        g = goodness(activity)
        loss = self.loss_fn(g[:n_pos], g[n_pos:], threshold=self.threshold, alpha=self.alpha)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()

    def step(
        self,
        features: torch.Tensor,
        label_values: torch.Tensor,
        pos_labels: torch.Tensor,
        neg_labels: torch.Tensor,
    ) -> torch.Tensor:
        """One optimisation step of every layer on one mini-batch.

        Returns the local loss of each layer as a detached tensor of shape
        ``(n_layers,)`` on the network's device (no host synchronisation).
        """
        network = self.network
        base, label_coef = network.input_layer.shared_terms(features, label_values)
        activity = network.input_layer.forward_labels(
            base, label_coef, torch.cat([pos_labels, neg_labels])
        )
        losses = [self._local_update(activity, self.optimizers[0])]
        for layer, optimizer in zip(network.hidden_layers, self.optimizers[1:], strict=True):
            activity = layer(activity.detach())
            losses.append(self._local_update(activity, optimizer))
        return torch.stack(losses)
