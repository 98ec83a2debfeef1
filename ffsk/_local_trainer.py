"""One Forward-Forward training step: every layer trained by its own local loss.

Nothing here knows about scikit-learn; the epoch loop around the step lives
in ``_fit_loop.py``.
"""

from __future__ import annotations

import torch

from ._losses import activity_grad_fn, label_block_grad, peer_normalization_grad
from ._negatives import HardNegatives, RandomNegatives, wrong_label_candidates
from ._network import (
    FFNetwork,
    NetworkWeights,
    Products,
    first_layer_activity,
    first_layer_base,
    goodness_layer_weights,
    hidden_forward,
    summed_goodness,
)
from ._optimizers import adam, load_optimizer_moments
from ._readout_trainer import ReadoutTrainer

#: Floats of the widest activity block (``rows * labels * width``) that
#: scoring hard negatives builds at once: 4 MiB of float32. A larger batch is
#: scored in equal blocks of rows, so that each block's element-wise passes
#: run in cache instead of streaming a batch-sized block through memory.
SCORING_BLOCK_FLOATS = 1 << 20


def blockwise_summed_goodness(
    base: torch.Tensor,
    label_coef: torch.Tensor,
    weights: NetworkWeights,
    layer_weights: list[float],
    product: Products,
    candidates: torch.Tensor | None = None,
    block_floats: int = SCORING_BLOCK_FLOATS,
) -> torch.Tensor:
    """:func:`summed_goodness` over equal blocks of rows of at most about
    ``block_floats`` activities each; every row's scores are its own, so the
    blocks only change how the work is cut."""
    n_rows = base.shape[0]
    n_labels = weights.label_rows.shape[0] if candidates is None else candidates.shape[1]
    blocks = -(-n_rows * n_labels * max(weights.widths) // block_floats)
    if blocks <= 1:
        return summed_goodness(base, label_coef, weights, layer_weights, product, candidates)
    step = -(-n_rows // blocks)
    return torch.cat(
        [
            summed_goodness(
                base[i : i + step],
                label_coef[i : i + step],
                weights,
                layer_weights,
                product,
                None if candidates is None else candidates[i : i + step],
            )
            for i in range(0, n_rows, step)
        ]
    )


class LocalTrainer:
    """Trains every layer of an :class:`FFNetwork` by its own local loss.

    Each layer has its own Adam optimizer, and the positive and negative rows
    of a mini-batch go through each layer in one stacked pass. A layer's input
    is a constant to it (the previous layer's activity, computed before that
    layer's update), so no gradient crosses a layer boundary and the only
    gradient a layer needs is that of its own weights. Those gradients are
    computed in closed form (``_losses.py``) into buffers allocated once: the
    weight gradient is one product ``(dL/dz)^T @ input``. This is exactly what
    autograd would compute (a test checks it), without the autograd graph, the
    input-gradient product or a fresh gradient allocation per step.

    ``negatives`` is the negative-sampling strategy (``_negatives.py``);
    ``compute_dtype=torch.bfloat16`` runs the matrix products in bfloat16
    (weights, gradients and optimiser state stay float32; each weight matrix
    is cast once per step, before any layer's update, and that copy serves
    the scoring of hard negatives and the layer's own forward product);
    ``compile=True``
    fuses the element-wise work of each layer's loss with ``torch.compile``.
    ``readout_trainer`` trains the network's softmax read-out (if any) in the
    same step, before any layer's update, sharing the first layer's product.

    ``loss="softmax"`` trains each layer on every label of each row at once
    (``negatives`` is then unused): ``label_candidates`` below the number of
    wrong labels limits that to the true label and as many wrong ones, drawn
    uniformly per row.
    """

    def __init__(
        self,
        network: FFNetwork,
        *,
        learning_rate: float,
        loss: str,
        threshold: float,
        sharpness: float,
        negatives: RandomNegatives | HardNegatives,
        compute_dtype: torch.dtype | None = None,
        compile: bool = False,
        weight_decay: float = 0.0,
        skip_first_goodness: bool = False,
        peer_normalization: float = 0.0,
        readout_trainer: ReadoutTrainer | None = None,
        label_candidates: int | None = None,
    ):
        self.network = network
        self.negatives = negatives
        self.readout_trainer = readout_trainer
        self.peer_normalization = peer_normalization
        self._running_means = [torch.zeros_like(layer.bias) for layer in network.layers]
        self.product = Products(compute_dtype)
        self.learning_rate = learning_rate
        self._score_weights = goodness_layer_weights(len(network.layers), skip_first_goodness)
        self.sharpness = sharpness
        self.softmax = loss == "softmax"
        self.label_candidates = label_candidates
        # The softmax loss trains on every label's activity block instead.
        self._activity_grad = None if self.softmax else activity_grad_fn(loss, threshold, sharpness)
        if compile and not self.softmax:
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
                activity[:n_pos],
                self._running_means[index],
                self.peer_normalization,
                self.sharpness,
            )
        return loss, grad_pre

    def _first_layer_start(
        self, features, label_values, pos_labels, weights, live: NetworkWeights
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """What every first-layer step starts with: the normalised rows (in
        the product dtype), each row's label coefficient ``label_value / |v|``
        and the shared feature product; the read-out, if any, trains on that
        product here, before any layer's update."""
        scaled, inv_length, base = first_layer_base(
            features, label_values, live.feature_weight_t, self.product
        )
        if self.readout_trainer is not None:  # base / inv_length = features @ W_f^T
            self.readout_trainer.step(
                features, label_values, pos_labels, base / inv_length[:, None], weights, live
            )
        return scaled, label_values * inv_length, base

    def _step_input_layer(
        self, features, label_values, pos_labels, generator, weights, live: NetworkWeights
    ) -> tuple[torch.Tensor, torch.Tensor]:
        layer = self.network.input_layer
        scaled, label_coef, base = self._first_layer_start(
            features, label_values, pos_labels, weights, live
        )

        def scores(candidates: torch.Tensor | None = None) -> torch.Tensor:
            return blockwise_summed_goodness(
                base, label_coef, live, self._score_weights, self.product, candidates
            )

        neg_labels = self.negatives.draw(pos_labels, scores, generator)
        labels = torch.cat([pos_labels, neg_labels])
        n, width = base.shape
        # Positive and negative rows share the feature product: (2, n, h).
        activity = first_layer_activity(
            base, label_coef, live.label_rows[labels].view(2, n, width), live.first_bias
        ).view(2 * n, width)
        loss, grad_pre = self._local_grad(0, activity, weights)
        # The positive and negative rows' gradients summed, in the product
        # dtype, which ``scaled`` is in already (added in float32, then cast:
        # see normalise_rows).
        row_grad = torch.add(grad_pre[:n], grad_pre[n:]).to(scaled.dtype)
        self.product(row_grad.T, scaled, out=layer.feature_weight.grad)
        # One-hot product rather than index_add: deterministic on CUDA too.
        torch.mm(
            (grad_pre * label_coef.repeat(2)[:, None]).T,
            self._label_eye[labels],
            out=layer.label_weight.grad,
        )
        torch.sum(grad_pre, dim=0, out=layer.bias.grad)
        self.optimizers[0].step()
        return loss, activity

    def _trained_labels(
        self, pos_labels: torch.Tensor, generator: torch.Generator | None
    ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """The labels each row is trained on by the softmax loss, and the
        column of its true label: every label (``None``; the column is the
        label itself) or, where ``negative_candidates`` is below the number
        of wrong labels, the true label first and that many wrong ones drawn
        uniformly (as hard negatives score them)."""
        k, m = self.network.n_classes, self.label_candidates
        if m is None or m >= k - 1:
            return None, pos_labels
        wrong = wrong_label_candidates(pos_labels, k, m, generator)
        return torch.cat([pos_labels[:, None], wrong], dim=1), torch.zeros_like(pos_labels)

    def _peer_grad(self, index: int, activity: torch.Tensor, target: torch.Tensor):
        """Peer normalisation's gradient for the true labels' rows of an
        ``(n, m, h)`` block (``(n, h)``), or None without it."""
        if self.peer_normalization == 0:
            return None
        rows = torch.arange(activity.shape[0], device=activity.device)
        return peer_normalization_grad(
            activity[rows, target],
            self._running_means[index],
            self.peer_normalization,
            self.sharpness,
        )

    def _softmax_step(
        self, features, label_values, pos_labels, generator, weights, live: NetworkWeights
    ) -> torch.Tensor:
        """One step of every layer under the softmax loss: each row goes
        through each layer with every label it is trained on, one
        ``(n, m, h)`` block per layer, and the layer's loss is the
        cross-entropy of its goodness over those labels."""
        first = self.network.input_layer
        scaled, label_coef, base = self._first_layer_start(
            features, label_values, pos_labels, weights, live
        )
        candidates, target = self._trained_labels(pos_labels, generator)
        label_rows = live.label_rows if candidates is None else live.label_rows[candidates]
        activity = first_layer_activity(
            base[:, None, :], label_coef[:, None], label_rows, live.first_bias
        )
        n, m, width = activity.shape
        loss, scale, length = label_block_grad(activity, target, self.sharpness, weights)
        # The gradient block scale * activity is never built: every label of
        # a row shares the row's features, so the feature weight needs only
        # each row's sum over labels, and each label column a sum over rows.
        row_grad = torch.bmm(scale[:, None, :], activity)[:, 0]
        coef_scale = scale * label_coef[:, None]
        if candidates is None:  # column c holds label c for every row
            first.label_weight.grad.copy_(torch.einsum("nc,nch->hc", coef_scale, activity))
        else:  # one-hot product rather than index_add: deterministic on CUDA too
            torch.mm(
                (activity * coef_scale[..., None]).view(n * m, width).T,
                self._label_eye[candidates.reshape(-1)],
                out=first.label_weight.grad,
            )
        peer = self._peer_grad(0, activity, target)
        if peer is not None:  # the true labels' rows only
            row_grad += peer
            first.label_weight.grad.addmm_(
                (peer * label_coef[:, None]).T, self._label_eye[pos_labels]
            )
        self.product(row_grad.T, scaled, out=first.feature_weight.grad)
        torch.sum(row_grad, dim=0, out=first.bias.grad)
        self.optimizers[0].step()
        losses = [loss]
        previous = activity.reshape(n * m, width)
        for index, layer in enumerate(self.network.hidden_layers):
            weight_t, bias = live.hidden[index]
            normalised, previous = hidden_forward(
                previous, weight_t, bias, self.product, length.view(-1)
            )
            block = previous.view(n, m, -1)
            loss, scale, length = label_block_grad(block, target, self.sharpness, weights)
            grad_pre = block * scale[..., None]
            peer = self._peer_grad(index + 1, block, target)
            if peer is not None:
                grad_pre[torch.arange(n, device=block.device), target] += peer
            self.product(grad_pre.view(n * m, -1).T, normalised, out=layer.weight.grad)
            torch.sum(grad_pre, dim=(0, 1), out=layer.bias.grad)
            self.optimizers[index + 1].step()
            losses.append(loss)
        return torch.stack(losses)

    def _step_hidden_layer(
        self, index, previous, weights, live: NetworkWeights
    ) -> tuple[torch.Tensor, torch.Tensor]:
        layer = self.network.hidden_layers[index]
        # This layer's weights have not been updated yet in this step, so the
        # step's cast copy is current.
        weight_t, bias = live.hidden[index]
        normalised, activity = hidden_forward(previous, weight_t, bias, self.product)
        loss, grad_pre = self._local_grad(index + 1, activity, weights)
        self.product(grad_pre.T, normalised, out=layer.weight.grad)
        torch.sum(grad_pre, dim=0, out=layer.bias.grad)
        self.optimizers[index + 1].step()
        return loss, activity

    def label_scores(self, features: torch.Tensor, label_values: torch.Tensor) -> torch.Tensor:
        """Scores ``(n, k)`` of every label of the rows with the current
        weights and this trainer's products (what hard negatives are drawn from)."""
        live = self.product.weights(self.network.weights())
        _, inv_length, base = first_layer_base(
            features, label_values, live.feature_weight_t, self.product
        )
        return blockwise_summed_goodness(
            base, label_values * inv_length, live, self._score_weights, self.product
        )

    def state_dict(self) -> dict:
        """What continuing a fit needs besides the weights: every optimiser's
        moments and the peer-normalisation running means (not copied)."""
        state = {
            "optimizers": [optimizer.state_dict() for optimizer in self.optimizers],
            "running_means": list(self._running_means),
        }
        if self.readout_trainer is not None:
            state["readout_optimizer"] = self.readout_trainer.state_dict()
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
            self.readout_trainer.load_state_dict(state["readout_optimizer"])

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
        generator: torch.Generator | None = None,
        row_weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One optimisation step of every layer on one mini-batch.

        The negatives are drawn by the trainer's strategy with ``generator``.
        ``row_weights`` (``(n,)``, optional) multiply each row's local loss
        (``sample_weight``); None weighs every row 1.

        Returns the local loss of each layer as a tensor of shape
        ``(n_layers,)`` on the network's device (no host synchronisation).
        """
        live = self.product.weights(self.network.weights())
        if self.softmax:
            return self._softmax_step(
                features, label_values, pos_labels, generator, row_weights, live
            )
        loss, activity = self._step_input_layer(
            features, label_values, pos_labels, generator, row_weights, live
        )
        losses = [loss]
        for index in range(len(self.network.hidden_layers)):
            loss, activity = self._step_hidden_layer(index, activity, row_weights, live)
            losses.append(loss)
        return torch.stack(losses)
