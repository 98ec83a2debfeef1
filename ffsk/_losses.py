"""Each layer's local loss and its gradient in closed form.

A layer's loss compares the goodness of its positive rows (``g_pos``: each
sample with its true label) with that of its negative rows (``g_neg``: the
same sample with a wrong label). The trainer needs the loss's gradient with
respect to the layer's pre-activation; it is computed here in closed form, so
training needs no autograd graph (tests check it against autograd).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ._network import goodness


def _mean(values: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """The mean of ``values``, each first multiplied by its row's weight."""
    return values.mean() if weights is None else (values * weights).mean()


def threshold_loss(
    g_pos: torch.Tensor,
    g_neg: torch.Tensor,
    *,
    threshold: float,
    sharpness: float,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Hinton's loss: push positive goodness above and negative goodness below
    ``threshold``; ``softplus(sharpness * (threshold - g_pos)) +
    softplus(sharpness * (g_neg - threshold))`` averaged over rows (each row's
    loss times its weight in ``weights``, if given). With goodness the mean
    of squares of ``h`` units, Hinton's ``sigmoid(sum of squares - h)`` is
    ``threshold=1, sharpness=h``; the reference example's is ``sharpness=1``."""
    return _mean(
        F.softplus(sharpness * (threshold - g_pos)) + F.softplus(sharpness * (g_neg - threshold)),
        weights,
    )


def symba_loss(
    g_pos: torch.Tensor,
    g_neg: torch.Tensor,
    *,
    threshold: float,
    sharpness: float,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """SymBa loss (Lee & Song, 2023, who call the sharpness alpha):
    ``softplus(-sharpness * (g_pos - g_neg))`` averaged over rows. It only asks
    positive goodness to exceed the negative goodness of the same row, so no
    layer first has to learn to hit an absolute threshold. ``threshold`` is
    unused (kept for a common signature)."""
    del threshold
    return _mean(F.softplus(-sharpness * (g_pos - g_neg)), weights)


def softmax_loss(
    g: torch.Tensor,
    target: torch.Tensor,
    *,
    sharpness: float,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """The softmax loss: the cross-entropy of ``softmax(sharpness * g)`` over
    each row's labels, ``g`` ``(n, m)`` the goodness of the row with each of
    the ``m`` labels it is trained on and ``target`` ``(n,)`` the column of
    its true label. Every wrong label is a negative at once, each pushed down
    in proportion to how much the layer currently prefers it, and the loss is
    the one that scoring by goodness predicts with."""
    return _mean(F.cross_entropy(sharpness * g, target, reduction="none"), weights)


#: Losses of a positive row's goodness against one negative row's.
LOSSES = {"threshold": threshold_loss, "symba": symba_loss}
#: Every loss the ``loss`` parameter accepts.
LOSS_NAMES = frozenset({*LOSSES, "softmax"})


def threshold_loss_grads(
    g_pos: torch.Tensor,
    g_neg: torch.Tensor,
    *,
    threshold: float,
    sharpness: float,
    weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`threshold_loss` and its derivatives with respect to ``g_pos``
    and ``g_neg``."""
    n = g_pos.shape[0]
    loss = threshold_loss(g_pos, g_neg, threshold=threshold, sharpness=sharpness, weights=weights)
    scale = sharpness / n if weights is None else weights * (sharpness / n)
    return (
        loss,
        torch.sigmoid(sharpness * (threshold - g_pos)) * -scale,
        torch.sigmoid(sharpness * (g_neg - threshold)) * scale,
    )


def symba_loss_grads(
    g_pos: torch.Tensor,
    g_neg: torch.Tensor,
    *,
    threshold: float,
    sharpness: float,
    weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`symba_loss` and its derivatives with respect to ``g_pos`` and
    ``g_neg``."""
    margin = -sharpness * (g_pos - g_neg)
    loss = _mean(F.softplus(margin), weights)
    weight = torch.sigmoid(margin) * (sharpness / g_pos.shape[0])
    if weights is not None:
        weight = weight * weights
    return loss, -weight, weight


LOSS_GRADS = {"threshold": threshold_loss_grads, "symba": symba_loss_grads}

ActivityGrad = Callable[[torch.Tensor, torch.Tensor | None], tuple[torch.Tensor, torch.Tensor]]


def activity_grad_fn(loss: str, threshold: float, sharpness: float) -> ActivityGrad:
    """A function of a layer's activity (positive rows stacked over negative
    rows) and the rows' weights, returning the layer's local loss and the
    loss's gradient with respect to the layer's pre-activation.

    With ``a = relu(z)`` and ``g = mean(a**2)``, ``dL/dz = (2 / h) * a * dL/dg``
    (``a`` is already zero where the ReLU is off).
    """
    loss_grads = LOSS_GRADS[loss]

    def activity_grad(
        activity: torch.Tensor, weights: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n_pos = activity.shape[0] // 2
        g = goodness(activity)
        value, d_pos, d_neg = loss_grads(
            g[:n_pos], g[n_pos:], threshold=threshold, sharpness=sharpness, weights=weights
        )
        d_goodness = torch.cat([d_pos, d_neg]) * (2.0 / activity.shape[1])
        return value, activity * d_goodness[:, None]

    return activity_grad


def softmax_loss_grads(
    g: torch.Tensor,
    target: torch.Tensor,
    *,
    sharpness: float,
    weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`softmax_loss` and its derivative with respect to ``g``:
    ``sharpness * (softmax(sharpness * g) - onehot(target)) / n``."""
    log_p = torch.log_softmax(sharpness * g, dim=1)
    loss = _mean(-log_p.gather(1, target[:, None])[:, 0], weights)
    grad = log_p.exp_()
    grad.scatter_add_(1, target[:, None], torch.full_like(grad[:, :1], -1.0))
    scale = sharpness / g.shape[0]
    return loss, grad * (scale if weights is None else (weights * scale)[:, None])


def label_block_grad(
    activity: torch.Tensor,
    target: torch.Tensor,
    sharpness: float,
    weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A layer's :func:`softmax_loss` from its activity ``(n, m, h)`` for
    each row and label. Returns ``(loss, scale, length)``: the gradient with
    respect to the pre-activation is ``scale[..., None] * activity``
    (``scale = (2 / h) * dL/dg``; the caller contracts it without building
    the block where it can), and ``length`` ``(n, m)`` is each activity's
    norm (goodness is ``length**2 / h``; the next layer divides by it)."""
    width = activity.shape[-1]
    length = torch.linalg.vector_norm(activity, dim=-1)
    loss, d_goodness = softmax_loss_grads(
        length.square() / width, target, sharpness=sharpness, weights=weights
    )
    return loss, d_goodness * (2.0 / width), length


#: Momentum of the running mean of each unit's activity (Hinton's code: 0.9).
PEER_MOMENTUM = 0.9


def peer_normalization_grad(
    pos_activity: torch.Tensor, running_mean: torch.Tensor, strength: float, sharpness: float
) -> torch.Tensor:
    """Peer normalisation (Hinton, 2022): keep every unit about as active as its
    peers, so that none dies or dominates.

    Updates ``running_mean`` (per unit, over positive rows) in place to
    ``m * running + (1 - m) * batch_mean`` and returns the term added to the
    gradient of the positive rows' pre-activations: ``strength * (sharpness /
    h) * (running_j - mean(running))`` for unit ``j`` of ``h`` where its ReLU
    is on, averaged over the rows like the loss.

    Hinton's code adds ``strength * (running_j - mean(running))`` to a
    gradient whose loss term for unit ``j`` is ``(1 - p) * 2 a_j`` (``p =
    sigmoid(sum of squares - h)``: goodness a sum of squares, logit scale 1).
    Here goodness is a mean of squares seen through ``sharpness``, so every
    loss's term is ``sharpness * w * 2 a_j / h`` (``w`` the loss's own
    weight of the row, e.g. ``sigmoid(sharpness * (threshold - g))``);
    scaling the peer term by ``sharpness / h`` keeps Hinton's balance
    between the two, so his 0.03 means the same
    whatever the loss, sharpness and width. (It is the gradient of
    ``strength * sharpness / (2 (1 - m) h) * sum_j (running_j -
    mean(running))**2``.)
    """
    running_mean.mul_(PEER_MOMENTUM).add_(pos_activity.mean(dim=0), alpha=1 - PEER_MOMENTUM)
    deviation = running_mean - running_mean.mean()
    n, h = pos_activity.shape
    scale = strength * sharpness / (h * n)
    return (pos_activity > 0) * (scale * deviation)
