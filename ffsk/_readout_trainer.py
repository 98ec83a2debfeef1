"""Training the one-pass softmax read-out (Hinton, 2022).

Scoring every label costs a forward pass per label. Instead, a linear softmax
classifier can read the class off one forward pass with a *neutral* label,
``1/k`` in every label slot. It is trained by its own cross-entropy on the
length-normalised activities of the layers (all but the first when there are
several), and the activities are constants to it: no gradient reaches the
Forward-Forward layers, which keep learning only from their local losses.
"""

from __future__ import annotations

import torch

from ._network import FFNetwork, NetworkWeights, Products, neutral_activities, readout_inputs
from ._optimizers import adam, load_optimizer_moments


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
        self.product = Products(compute_dtype)
        self.learning_rate = learning_rate
        readout = network.readout
        for param in readout.parameters():
            param.grad = torch.zeros_like(param)
        self.optimizer = adam(list(readout.parameters()), learning_rate, weight_decay)
        self._eye = torch.eye(
            network.n_classes, dtype=readout.bias.dtype, device=readout.bias.device
        )

    def state_dict(self) -> dict:
        """The read-out optimiser's state (moments and step counts)."""
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        """Continue from a :meth:`state_dict`, keeping this trainer's own
        learning rate and weight decay."""
        load_optimizer_moments(self.optimizer, state)

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
        network_weights: NetworkWeights | None = None,
    ) -> torch.Tensor:
        """One cross-entropy step of the read-out on a mini-batch; returns the
        mean cross-entropy (a tensor on the device). ``feature_product``
        (``features @ W_features^T``) saves the first layer's product when the
        Forward-Forward step has computed it; ``weights`` (``(n,)``) multiply
        each row's cross-entropy; ``network_weights`` passes in the step's
        weights already cast to the product dtype (see ``Products.weights``)."""
        readout = self.network.readout
        if network_weights is None:
            network_weights = self.product.weights(self.network.weights())
        activities = neutral_activities(
            features, label_values, network_weights, self.product, feature_product
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
