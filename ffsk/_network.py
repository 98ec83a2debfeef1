"""The Forward-Forward network in plain PyTorch: layers, goodness, local losses
and the local training step.

Nothing here knows about scikit-learn. The estimator in ``_classifier.py``
builds a :class:`FFNetwork`, feeds it tensors and reads tensors back.

Shapes used throughout: ``n`` rows, ``d`` feature columns (the part of the
input that is not the label), ``k`` classes, ``h`` units of a layer.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._negatives import hard_wrong_labels

#: Added to a row's length before dividing by it, so that an all-zero row
#: normalises to zero instead of NaN.
NORM_EPS = 1e-6


def normalise_rows(x: torch.Tensor) -> torch.Tensor:
    """Scale each row of ``x`` to unit Euclidean length (zero rows stay zero)."""
    return x / (torch.linalg.vector_norm(x, dim=-1, keepdim=True) + NORM_EPS)


def goodness(activity: torch.Tensor) -> torch.Tensor:
    """Goodness of each row: the mean of its squared activities."""
    return activity.square().mean(dim=-1)


def _mean(values: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """The mean of ``values``, each first multiplied by its row's weight."""
    return values.mean() if weights is None else (values * weights).mean()


def threshold_loss(
    g_pos: torch.Tensor,
    g_neg: torch.Tensor,
    *,
    threshold: float,
    alpha: float,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Hinton's loss: push positive goodness above and negative goodness below
    ``threshold``; ``softplus(threshold - g_pos) + softplus(g_neg - threshold)``
    averaged over rows (each row's loss times its weight in ``weights``, if
    given). ``alpha`` is unused (kept for a common signature)."""
    del alpha
    return _mean(F.softplus(threshold - g_pos) + F.softplus(g_neg - threshold), weights)


def symba_loss(
    g_pos: torch.Tensor,
    g_neg: torch.Tensor,
    *,
    threshold: float,
    alpha: float,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """SymBa loss (Lee & Song, 2023): ``softplus(-alpha * (g_pos - g_neg))``
    averaged over rows. It only asks positive goodness to exceed the negative
    goodness of the same row, so no layer first has to learn to hit an
    absolute threshold. ``threshold`` is unused (kept for a common signature)."""
    del threshold
    return _mean(F.softplus(-alpha * (g_pos - g_neg)), weights)


LOSSES = {"threshold": threshold_loss, "symba": symba_loss}


def threshold_loss_grads(
    g_pos: torch.Tensor,
    g_neg: torch.Tensor,
    *,
    threshold: float,
    alpha: float,
    weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`threshold_loss` and its derivatives with respect to ``g_pos``
    and ``g_neg`` (in closed form, so the training step needs no autograd)."""
    n = g_pos.shape[0]
    loss = threshold_loss(g_pos, g_neg, threshold=threshold, alpha=alpha, weights=weights)
    scale = 1.0 / n if weights is None else weights / n
    return loss, torch.sigmoid(threshold - g_pos) * -scale, torch.sigmoid(g_neg - threshold) * scale


def symba_loss_grads(
    g_pos: torch.Tensor,
    g_neg: torch.Tensor,
    *,
    threshold: float,
    alpha: float,
    weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`symba_loss` and its derivatives with respect to ``g_pos`` and
    ``g_neg``."""
    margin = -alpha * (g_pos - g_neg)
    loss = _mean(F.softplus(margin), weights)
    weight = torch.sigmoid(margin) * (alpha / g_pos.shape[0])
    if weights is not None:
        weight = weight * weights
    return loss, -weight, weight


LOSS_GRADS = {"threshold": threshold_loss_grads, "symba": symba_loss_grads}


def matmul_in(dtype: torch.dtype | None) -> Callable[..., torch.Tensor]:
    """A function ``product(a, b, out=None)`` computing ``a @ b`` with both
    operands cast to ``dtype`` (None: float32 as they are) and returning the
    result as float32 (written into ``out`` when given)."""

    def product(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        if dtype is None:
            return torch.mm(a, b, out=out)
        result = torch.mm(a.to(dtype), b.to(dtype))
        return result.float() if out is None else out.copy_(result)

    return product


def goodness_layer_weights(n_layers: int, skip_first: bool) -> list[float]:
    """Which layers' goodness counts in a label's score (1.0) and which not
    (0.0). Hinton (2022) found scores better without the first hidden layer
    when there are several; a single layer always counts."""
    return [0.0 if skip_first and n_layers > 1 and i == 0 else 1.0 for i in range(n_layers)]


def summed_goodness(
    base: torch.Tensor,
    label_coef: torch.Tensor,
    label_rows: torch.Tensor,
    first_bias: torch.Tensor,
    hidden: Sequence[tuple[torch.Tensor, torch.Tensor]],
    widths: Sequence[int],
    layer_weights: Sequence[float],
    product: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Goodness summed over layers for every label of every row, ``(n, k)``.

    Starts from the first layer's feature product ``base`` (``W_f x / |v|``,
    shape ``(n, h0)``), shared by all ``k`` labels: the label columns
    ``label_rows`` (``W_label^T``, ``(k, h0)``) scaled by ``label_coef``
    (``(n,)``) are broadcast onto it, then the deeper layers (``hidden``: pairs
    of transposed weight and bias) run on one ``(n * k, h)`` block. ``widths``
    are the layers' true widths (tensors may carry zero padding), and
    ``layer_weights`` say which layers count (see
    :func:`goodness_layer_weights`); ``product`` computes ``a @ b``.
    """
    n, k = base.shape[0], label_rows.shape[0]
    activity = torch.relu_(
        (base[:, None, :] + label_coef[:, None, None] * label_rows).add_(first_bias)
    )
    activity = activity.reshape(n * k, -1)
    total = activity.square().sum(dim=1) * (layer_weights[0] / widths[0])
    for (weight_t, bias), width, layer_weight in zip(
        hidden, widths[1:], layer_weights[1:], strict=True
    ):
        activity = torch.relu_(product(normalise_rows(activity), weight_t).add_(bias))
        total += activity.square().sum(dim=1) * (layer_weight / width)
    return total.view(n, k)


#: Momentum of the running mean of each unit's activity (Hinton's code: 0.9).
PEER_MOMENTUM = 0.9


def peer_normalization_grad(
    pos_activity: torch.Tensor, running_mean: torch.Tensor, strength: float
) -> torch.Tensor:
    """Peer normalisation (Hinton, 2022): keep every unit about as active as its
    peers, so that none dies or dominates.

    Updates ``running_mean`` (per unit, over positive rows) in place to
    ``m * running + (1 - m) * batch_mean`` and returns the gradient, with
    respect to the positive rows' pre-activations, of
    ``strength * sum_j (running_j - mean(running))**2`` (zero where the ReLU is
    off; the deviations sum to zero, so the mean term adds nothing).
    """
    running_mean.mul_(PEER_MOMENTUM).add_(pos_activity.mean(dim=0), alpha=1 - PEER_MOMENTUM)
    deviation = running_mean - running_mean.mean()
    scale = 2.0 * strength * (1 - PEER_MOMENTUM) / pos_activity.shape[0]
    return (pos_activity > 0) * (scale * deviation)


def learning_rate_factor(schedule: str, epoch: int, epochs: int) -> float:
    """Multiplier of the learning rate in ``epoch`` (0-based) of ``epochs``.

    ``"constant"``: 1. ``"linear_decay"`` (Hinton's schedule): 1 for the first
    half, then decreasing linearly to ``2 / epochs`` in the last epoch.
    """
    if schedule == "constant":
        return 1.0
    return min(1.0, 2.0 * (epochs - epoch) / epochs)


def _parameter(
    shape: tuple[int, ...],
    fan_in: int,
    generator: torch.Generator | None,
    device: torch.device,
) -> nn.Parameter:
    """A parameter drawn from nn.Linear's default range with our own
    generator (so a fit never reads or changes torch's global random state),
    or left uninitialised when ``generator`` is None (to be loaded).

    Parameters do not require grad: training computes gradients in closed
    form (see :class:`LocalTrainer`), never through autograd.
    """
    tensor = torch.empty(shape, device=device)
    if generator is not None:
        bound = 1.0 / math.sqrt(fan_in)
        tensor.uniform_(-bound, bound, generator=generator)
    return nn.Parameter(tensor, requires_grad=False)


class FFHiddenLayer(nn.Module):
    """A layer fed by the previous layer: normalise, linear map, ReLU."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        generator: torch.Generator | None,
        device: torch.device,
    ):
        super().__init__()
        self.weight = _parameter((out_features, in_features), in_features, generator, device)
        self.bias = _parameter((out_features,), in_features, generator, device)

    def forward(self, previous: torch.Tensor) -> torch.Tensor:
        # Only the direction of the previous layer's activity passes on.
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
        self,
        n_features: int,
        n_classes: int,
        out_features: int,
        generator: torch.Generator | None,
        device: torch.device,
    ):
        super().__init__()
        fan_in = n_features + n_classes
        self.feature_weight = _parameter((out_features, n_features), fan_in, generator, device)
        self.label_weight = _parameter((out_features, n_classes), fan_in, generator, device)
        self.bias = _parameter((out_features,), fan_in, generator, device)

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


def readout_layer_indices(n_layers: int) -> tuple[int, ...]:
    """Layers whose activities feed the softmax read-out: all but the first
    when there are several (as in Hinton, 2022), else the only one."""
    return tuple(range(1, n_layers)) if n_layers > 1 else (0,)


class FFReadout(nn.Module):
    """Linear softmax classifier on the normalised activities of the layers
    :func:`readout_layer_indices` names (weights start at zero)."""

    def __init__(self, in_features: int, n_classes: int, device: torch.device):
        super().__init__()
        self.weight = nn.Parameter(
            torch.zeros(n_classes, in_features, device=device), requires_grad=False
        )
        self.bias = nn.Parameter(torch.zeros(n_classes, device=device), requires_grad=False)


class FFNetwork(nn.Module):
    """A stack of Forward-Forward layers of sizes ``hidden_layer_sizes``,
    optionally with a softmax read-out (``readout=True``).

    With a ``generator`` the weights are initialised from it (on the
    generator's device); without one they are left uninitialised on
    ``device``, ready for ``load_state_dict``.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden_layer_sizes: Sequence[int],
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        readout: bool = False,
    ):
        super().__init__()
        device = generator.device if generator is not None else torch.device(device or "cpu")
        sizes = tuple(int(size) for size in hidden_layer_sizes)
        self.n_features = n_features
        self.n_classes = n_classes
        self.hidden_layer_sizes = sizes
        self.input_layer = FFInputLayer(n_features, n_classes, sizes[0], generator, device)
        self.hidden_layers = nn.ModuleList(
            FFHiddenLayer(a, b, generator, device)
            for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.readout = None
        if readout:
            width = sum(sizes[i] for i in readout_layer_indices(len(sizes)))
            self.readout = FFReadout(width, n_classes, device)

    @property
    def layers(self) -> list[nn.Module]:
        """All layers, input layer first."""
        return [self.input_layer, *self.hidden_layers]

    @torch.no_grad()
    def layer_goodness(
        self, features: torch.Tensor, label_values: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """Goodness ``(n, n_layers)`` of each row with its label in ``labels``
        embedded, layer by layer (float32 products; for inspection, e.g.
        :class:`ffsk.GoodnessDisplay`, not for the hot paths)."""
        base, label_coef = self.input_layer.shared_terms(features, label_values)
        activity = self.input_layer.forward_labels(base, label_coef, labels)
        per_layer = [goodness(activity)]
        for layer in self.hidden_layers:
            activity = layer(activity)  # the layer normalises its input
            per_layer.append(goodness(activity))
        return torch.stack(per_layer, dim=1)


class LocalTrainer:
    """Trains every layer of an :class:`FFNetwork` by its own local loss.

    Each layer has its own Adam optimizer, and the positive and negative rows
    of a mini-batch go through each layer in one stacked pass. A layer's input
    is a constant to it (the previous layer's activity, computed before that
    layer's update), so no gradient crosses a layer boundary and the only
    gradient a layer needs is that of its own weights. Those gradients are
    computed in closed form into buffers allocated once: with ``a = relu(z)``
    and goodness ``g = mean(a**2)``, ``dL/dz = (2 / h) * a * dL/dg`` (``a`` is
    already zero where the ReLU is off), and the weight gradient is one
    product ``(dL/dz)^T @ input``. This is exactly what autograd would compute
    (a test checks it), without the autograd graph, the input-gradient product
    or a fresh gradient allocation per step.

    ``compute_dtype=torch.bfloat16`` runs the matrix products in bfloat16
    (weights, gradients and optimiser state stay float32); ``compile=True``
    fuses the element-wise work of each layer's loss with ``torch.compile``.
    """

    def __init__(
        self,
        network: FFNetwork,
        *,
        learning_rate: float,
        loss: str,
        threshold: float,
        alpha: float,
        compute_dtype: torch.dtype | None = None,
        compile: bool = False,
        weight_decay: float = 0.0,
        skip_first_goodness: bool = False,
        peer_normalization: float = 0.0,
        readout_trainer=None,
    ):
        self.network = network
        #: Trains the network's softmax read-out (if any) in the same step,
        #: before any layer's update, sharing the first layer's product.
        self.readout_trainer = readout_trainer
        self.peer_normalization = peer_normalization
        self._running_means = [torch.zeros_like(layer.bias) for layer in network.layers]
        self.product = matmul_in(compute_dtype)
        self.learning_rate = learning_rate
        self._score_weights = goodness_layer_weights(len(network.layers), skip_first_goodness)
        self._activity_grad = _activity_grad_fn(LOSS_GRADS[loss], threshold, alpha)
        if compile:
            self._activity_grad = torch.compile(self._activity_grad, dynamic=True)
        for layer in network.layers:
            for param in layer.parameters():
                param.grad = torch.zeros_like(param)
        self.optimizers = [
            adam(list(layer.parameters()), learning_rate, weight_decay) for layer in network.layers
        ]
        first = network.input_layer
        self._label_eye = torch.eye(
            network.n_classes, dtype=first.bias.dtype, device=first.bias.device
        )

    def _local_grad(
        self, index: int, activity: torch.Tensor, weights: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer ``index``'s local loss (rows weighted by ``weights``) and its
        gradient w.r.t. the pre-activation, peer normalisation included."""
        loss, grad_pre = self._activity_grad(activity, weights)
        if self.peer_normalization > 0:
            n_pos = activity.shape[0] // 2
            grad_pre[:n_pos] += peer_normalization_grad(
                activity[:n_pos], self._running_means[index], self.peer_normalization
            )
        return loss, grad_pre

    def _step_input_layer(
        self, features, label_values, pos_labels, neg_labels, generator, weights
    ) -> tuple[torch.Tensor, torch.Tensor]:
        layer = self.network.input_layer
        inv_length = 1.0 / (
            (features.square().sum(dim=1) + label_values.square()).sqrt() + NORM_EPS
        )
        scaled = features * inv_length[:, None]
        base = self.product(scaled, layer.feature_weight.T)
        if self.readout_trainer is not None:  # base / inv_length = features @ W_f^T
            self.readout_trainer.step(
                features, label_values, pos_labels, base / inv_length[:, None], weights
            )
        if neg_labels is None:
            scores = self._label_scores(base, label_values * inv_length)
            neg_labels = hard_wrong_labels(scores, pos_labels, generator)
        labels = torch.cat([pos_labels, neg_labels])
        label_coef = (label_values * inv_length).repeat(2)
        pre = base.repeat(2, 1).addcmul_(label_coef[:, None], layer.label_weight.T[labels])
        activity = torch.relu_(pre.add_(layer.bias))
        loss, grad_pre = self._local_grad(0, activity, weights)
        n = features.shape[0]
        # The feature product was shared by the positive and negative rows.
        self.product((grad_pre[:n] + grad_pre[n:]).T, scaled, out=layer.feature_weight.grad)
        # One-hot product rather than index_add: deterministic on CUDA too.
        torch.mm(
            (grad_pre * label_coef[:, None]).T, self._label_eye[labels], out=layer.label_weight.grad
        )
        torch.sum(grad_pre, dim=0, out=layer.bias.grad)
        self.optimizers[0].step()
        return loss, activity

    def _step_hidden_layer(self, index, previous, weights) -> tuple[torch.Tensor, torch.Tensor]:
        layer = self.network.hidden_layers[index]
        normalised = normalise_rows(previous)
        activity = torch.relu_(self.product(normalised, layer.weight.T).add_(layer.bias))
        loss, grad_pre = self._local_grad(index + 1, activity, weights)
        self.product(grad_pre.T, normalised, out=layer.weight.grad)
        torch.sum(grad_pre, dim=0, out=layer.bias.grad)
        self.optimizers[index + 1].step()
        return loss, activity

    def _label_scores(self, base: torch.Tensor, label_coef: torch.Tensor) -> torch.Tensor:
        """Scores ``(n, k)`` of every label of the batch's rows with the current
        weights, from the first layer's shared feature product ``base``."""
        network = self.network
        first = network.input_layer
        return summed_goodness(
            base,
            label_coef,
            first.label_weight.T,
            first.bias,
            [(layer.weight.T, layer.bias) for layer in network.hidden_layers],
            [layer.bias.shape[0] for layer in network.layers],
            self._score_weights,
            self.product,
        )

    def state_dict(self) -> dict:
        """What continuing a fit needs besides the weights: every optimiser's
        moments and the peer-normalisation running means (not copied)."""
        state = {
            "optimizers": [optimizer.state_dict() for optimizer in self.optimizers],
            "running_means": list(self._running_means),
        }
        if self.readout_trainer is not None:
            state["readout_optimizer"] = self.readout_trainer.optimizer.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Continue from a :meth:`state_dict` (copied, so the trainer never
        changes ``state``). This trainer keeps its own learning rate and
        weight decay; only the optimisers' moments and step counts are taken."""
        for optimizer, saved in zip(self.optimizers, state["optimizers"], strict=True):
            load_optimizer_moments(optimizer, saved)
        for mean, saved in zip(self._running_means, state["running_means"], strict=True):
            mean.copy_(saved)
        if self.readout_trainer is not None and "readout_optimizer" in state:
            load_optimizer_moments(self.readout_trainer.optimizer, state["readout_optimizer"])

    def set_learning_rate_factor(self, factor: float) -> None:
        """Scale every layer's learning rate to ``factor`` times the initial one."""
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = self.learning_rate * factor
        if self.readout_trainer is not None:
            self.readout_trainer.set_learning_rate_factor(factor)

    @torch.no_grad()
    def step(
        self,
        features: torch.Tensor,
        label_values: torch.Tensor,
        pos_labels: torch.Tensor,
        neg_labels: torch.Tensor | None,
        generator: torch.Generator | None = None,
        row_weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One optimisation step of every layer on one mini-batch.

        ``row_weights`` (``(n,)``, optional) multiply each row's local loss
        (``sample_weight``); None weighs every row 1.

        With ``neg_labels=None`` the negatives are hard ones, drawn with
        ``generator`` from the current network's scores of the batch (see
        :func:`ffsk._negatives.hard_wrong_labels`).

        Returns the local loss of each layer as a tensor of shape
        ``(n_layers,)`` on the network's device (no host synchronisation).
        """
        loss, activity = self._step_input_layer(
            features, label_values, pos_labels, neg_labels, generator, row_weights
        )
        losses = [loss]
        for index in range(len(self.network.hidden_layers)):
            loss, activity = self._step_hidden_layer(index, activity, row_weights)
            losses.append(loss)
        return torch.stack(losses)


def _activity_grad_fn(loss_grads, threshold: float, alpha: float):
    """A function of a layer's activity returning its local loss and the
    loss's gradient with respect to the layer's pre-activation."""

    def activity_grad(
        activity: torch.Tensor, weights: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n_pos = activity.shape[0] // 2
        g = goodness(activity)
        loss, d_pos, d_neg = loss_grads(
            g[:n_pos], g[n_pos:], threshold=threshold, alpha=alpha, weights=weights
        )
        d_goodness = torch.cat([d_pos, d_neg]) * (2.0 / activity.shape[1])
        return loss, activity * d_goodness[:, None]

    return activity_grad


def adam(params: list[nn.Parameter], learning_rate: float, weight_decay: float) -> torch.optim.Adam:
    # The fused kernel updates all of a layer's tensors in one pass over
    # memory, which matters at small batch sizes where the update costs about
    # as much as the layer's matrix products. Older torch builds have no fused
    # CPU kernel: fall back to the default implementation there.
    try:
        return torch.optim.Adam(params, lr=learning_rate, weight_decay=weight_decay, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.Adam(params, lr=learning_rate, weight_decay=weight_decay)


def load_optimizer_moments(optimizer: torch.optim.Optimizer, saved: dict) -> None:
    """Load ``saved``'s per-parameter state (Adam's moments and step counts)
    into ``optimizer``, keeping ``optimizer``'s own hyper-parameters."""
    hyper_parameters = [
        {key: value for key, value in group.items() if key != "params"}
        for group in optimizer.param_groups
    ]
    # load_state_dict keeps tensors that already sit on the right device and
    # dtype, so copy first: the saved state must survive this training.
    optimizer.load_state_dict(copy.deepcopy(saved))
    for group, values in zip(optimizer.param_groups, hyper_parameters, strict=True):
        group.update(values)
