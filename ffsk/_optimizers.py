"""The layers' optimisers: Adam, and loading saved moments into a new one."""

from __future__ import annotations

import copy

import torch
from torch import nn


def adam(params: list[nn.Parameter], learning_rate: float, weight_decay: float) -> torch.optim.Adam:
    """Adam over ``params`` with decoupled weight decay (AdamW: every step
    multiplies the weights by ``1 - lr * weight_decay``), with the fused kernel
    where torch has one.

    The decay is decoupled because Forward-Forward's local gradients are tiny:
    an L2 term added to the gradient (Adam's own ``weight_decay``) soon
    dominates it, and Adam's normalisation turns it into a step of about the
    learning rate towards zero at every step, which erases the weights of
    ordinary penalties (``1e-4`` to ``1e-2``). Decoupled, the decay shrinks
    the weights by a fixed fraction per step, whatever the gradients' scale.
    """
    # The fused kernel updates all of a layer's tensors in one pass over
    # memory, which matters at small batch sizes where the update costs about
    # as much as the layer's matrix products. Older torch builds have no fused
    # CPU kernel: fall back to the default implementation there.
    try:
        return torch.optim.AdamW(params, lr=learning_rate, weight_decay=weight_decay, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.AdamW(params, lr=learning_rate, weight_decay=weight_decay)


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
