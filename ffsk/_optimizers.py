"""The layers' optimisers: Adam, and loading saved moments into a new one."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn


class AdamW:
    """Adam with decoupled weight decay: ``torch.optim.AdamW``'s update
    (betas 0.9 and 0.999, eps 1e-8, no amsgrad) and the layout of its
    ``state_dict``, so saved moments load either way.

    It is not a ``torch.optim.Optimizer``: constructing the first of those in
    a process imports ``torch._dynamo``, over a second of CPU time, which was
    most of a small table's first fit. The update runs torch's fused kernel
    (one pass over a layer's tensors) where torch has it for the parameters'
    device, and a plain per-tensor update otherwise.
    """

    def __init__(
        self,
        params: list[nn.Parameter],
        lr: float,
        weight_decay: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        self.params = list(params)
        self.param_groups = [
            {
                "params": self.params,
                "lr": lr,
                "betas": betas,
                "eps": eps,
                "weight_decay": weight_decay,
            }
        ]
        self.state: dict[nn.Parameter, dict[str, torch.Tensor]] = {}

    @torch.no_grad()
    def step(self) -> None:
        group = self.param_groups[0]
        params = [p for p in self.params if p.grad is not None]
        if not params:
            return
        for param in params:
            if param not in self.state:
                self.state[param] = {
                    "step": torch.zeros((), dtype=torch.float32, device=param.device),
                    "exp_avg": torch.zeros_like(param),
                    "exp_avg_sq": torch.zeros_like(param),
                }
        states = [self.state[p] for p in params]
        steps = [state["step"] for state in states]
        exp_avgs = [state["exp_avg"] for state in states]
        exp_avg_sqs = [state["exp_avg_sq"] for state in states]
        grads = [p.grad for p in params]
        lr, (beta1, beta2) = group["lr"], group["betas"]
        eps, decay = group["eps"], group["weight_decay"]
        torch._foreach_add_(steps, 1)
        if _has_fused_kernel(params[0].device):
            torch._fused_adamw_(
                params, grads, exp_avgs, exp_avg_sqs, [], steps,
                lr=lr, beta1=beta1, beta2=beta2, weight_decay=decay, eps=eps,
                amsgrad=False, maximize=False,
            )  # fmt: skip
            return
        for param, grad, exp_avg, exp_avg_sq, step in zip(
            params, grads, exp_avgs, exp_avg_sqs, steps, strict=True
        ):
            t = float(step)
            param.mul_(1 - lr * decay)
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = (exp_avg_sq.sqrt() / math.sqrt(1 - beta2**t)).add_(eps)
            param.addcdiv_(exp_avg, denom, value=-lr / (1 - beta1**t))

    def state_dict(self) -> dict:
        """``torch.optim``'s layout: per-parameter state by index (the
        tensors themselves, not copies) and the hyper-parameters."""
        group = {key: value for key, value in self.param_groups[0].items() if key != "params"}
        return {
            "state": {i: self.state[p] for i, p in enumerate(self.params) if p in self.state},
            "param_groups": [{**group, "params": list(range(len(self.params)))}],
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Take the per-parameter state (moved to each parameter's device and
        dtype; the tensors are used as they are where they fit) and any
        hyper-parameters ``state_dict`` has."""
        for index, saved in state_dict["state"].items():
            param = self.params[int(index)]
            step = saved["step"]
            step = step if isinstance(step, torch.Tensor) else torch.tensor(float(step))
            self.state[param] = {
                "step": step.to(device=param.device, dtype=torch.float32).reshape(()),
                "exp_avg": saved["exp_avg"].to(device=param.device, dtype=param.dtype),
                "exp_avg_sq": saved["exp_avg_sq"].to(device=param.device, dtype=param.dtype),
            }
        for group, saved in zip(self.param_groups, state_dict["param_groups"], strict=True):
            group.update({key: value for key, value in saved.items() if key != "params"})


def _has_fused_kernel(device: torch.device) -> bool:
    """Whether torch has a fused AdamW kernel for ``device`` (CPU from torch
    2.4, CUDA before), probed once per device type."""
    if device.type not in _FUSED:
        probe = torch.zeros(1, device=device)
        try:
            torch._fused_adamw_(
                [probe.clone()], [probe.clone()], [probe.clone()], [probe.clone()], [],
                [torch.ones((), device=device)],
                lr=0.0, beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8,
                amsgrad=False, maximize=False,
            )  # fmt: skip
            _FUSED[device.type] = True
        except (AttributeError, RuntimeError, NotImplementedError):
            _FUSED[device.type] = False
    return _FUSED[device.type]


_FUSED: dict[str, bool] = {}


def adam(params: list[nn.Parameter], learning_rate: float, weight_decay: float) -> AdamW:
    """Adam over ``params`` with decoupled weight decay (AdamW: every step
    multiplies the weights by ``1 - lr * weight_decay``).

    The decay is decoupled because Forward-Forward's local gradients are tiny:
    an L2 term added to the gradient (Adam's own ``weight_decay``) soon
    dominates it, and Adam's normalisation turns it into a step of about the
    learning rate towards zero at every step, which erases the weights of
    ordinary penalties (``1e-4`` to ``1e-2``). Decoupled, the decay shrinks
    the weights by a fixed fraction per step, whatever the gradients' scale.
    """
    return AdamW(params, lr=learning_rate, weight_decay=weight_decay)


def load_optimizer_moments(optimizer: AdamW, saved: dict) -> None:
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
