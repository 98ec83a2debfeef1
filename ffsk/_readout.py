"""The one-pass softmax read-out (Hinton, 2022).

Scoring every label costs a forward pass per label. Instead, a linear softmax
classifier can read the class off one forward pass with a *neutral* label,
``1/k`` in every label slot. It is trained by its own cross-entropy on the
length-normalised activities of the layers (all but the first when there are
several), and the activities are constants to it: no gradient reaches the
Forward-Forward layers, which keep learning only from their local losses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ._network import (
    NORM_EPS,
    FFNetwork,
    adam,
    matmul_in,
    normalise_rows,
    readout_layer_indices,
)

Product = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def neutral_activities(
    features: torch.Tensor,
    label_values: torch.Tensor,
    feature_weight_t: torch.Tensor,
    label_rows: torch.Tensor,
    first_bias: torch.Tensor,
    hidden: Sequence[tuple[torch.Tensor, torch.Tensor]],
    product: Product,
    feature_product: torch.Tensor | None = None,
) -> list[torch.Tensor]:
    """Each layer's activity for rows embedded with the neutral label.

    The neutral label part is ``label_value / k`` in each of the ``k`` slots,
    so it adds ``label_value / k * sum_c W_label[:, c]`` to the first layer and
    ``label_value**2 / k`` to the squared row length. Weights are passed
    transposed (``feature_weight_t``: ``(d, h0)``, ``label_rows``: ``(k, h0)``,
    ``hidden``: pairs of ``(h_in, h_out)`` weight and bias), as in
    :func:`ffsk._network.summed_goodness`. ``feature_product`` may pass in
    ``features @ feature_weight_t`` when the caller has it already.
    """
    k = label_rows.shape[0]
    sq_length = features.square().sum(dim=1) + label_values.square() / k
    inv_length = 1.0 / (sq_length.sqrt() + NORM_EPS)
    if feature_product is None:
        feature_product = product(features, feature_weight_t)
    base = feature_product * inv_length[:, None]
    label_term = (label_values * inv_length / k)[:, None] * label_rows.sum(dim=0)
    activity = torch.relu_(base.add_(label_term).add_(first_bias))
    activities = [activity]
    for weight_t, bias in hidden:
        activity = torch.relu_(product(normalise_rows(activity), weight_t).add_(bias))
        activities.append(activity)
    return activities


def readout_inputs(activities: Sequence[torch.Tensor]) -> torch.Tensor:
    """The read-out's input: the normalised activities of its layers, side by side."""
    indices = readout_layer_indices(len(activities))
    return torch.cat([normalise_rows(activities[i]) for i in indices], dim=1)


class ReadoutTrainer:
    """Trains ``network.readout`` by cross-entropy, with its own Adam, on the
    neutral-label activities of the network's current weights."""

    def __init__(
        self,
        network: FFNetwork,
        *,
        learning_rate: float,
        weight_decay: float = 0.0,
        compute_dtype: torch.dtype | None = None,
    ):
        self.network = network
        self.product = matmul_in(compute_dtype)
        self.learning_rate = learning_rate
        readout = network.readout
        for param in readout.parameters():
            param.grad = torch.zeros_like(param)
        self.optimizer = adam(list(readout.parameters()), learning_rate, weight_decay)
        self._eye = torch.eye(
            network.n_classes, dtype=readout.bias.dtype, device=readout.bias.device
        )

    def set_learning_rate_factor(self, factor: float) -> None:
        """Scale the read-out's learning rate to ``factor`` times the initial one."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate * factor

    @torch.no_grad()
    def step(
        self,
        features: torch.Tensor,
        label_values: torch.Tensor,
        labels: torch.Tensor,
        feature_product: torch.Tensor | None = None,
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One cross-entropy step of the read-out on a mini-batch; returns the
        mean cross-entropy (a tensor on the device). ``feature_product``
        (``features @ W_features^T``) saves the first layer's product when the
        Forward-Forward step has computed it; ``weights`` (``(n,)``) multiply
        each row's cross-entropy."""
        network, readout = self.network, self.network.readout
        first = network.input_layer
        activities = neutral_activities(
            features,
            label_values,
            first.feature_weight.T,
            first.label_weight.T,
            first.bias,
            [(layer.weight.T, layer.bias) for layer in network.hidden_layers],
            self.product,
            feature_product,
        )
        inputs = readout_inputs(activities)
        logits = torch.addmm(readout.bias, inputs, readout.weight.T)
        log_p = torch.log_softmax(logits, dim=1)
        onehot = self._eye[labels]
        row_loss = -(log_p * onehot).sum(dim=1)
        grad_logits = (log_p.exp() - onehot) / labels.shape[0]
        if weights is None:
            loss = row_loss.mean()
        else:
            loss = (row_loss * weights).mean()
            grad_logits *= weights[:, None]
        torch.mm(grad_logits.T, inputs, out=readout.weight.grad)
        torch.sum(grad_logits, dim=0, out=readout.bias.grad)
        self.optimizer.step()
        return loss
