"""Copies of a network's state taken during a fit, to go back to: the best
epoch's weights (early stopping) and the last completed epoch (an
interrupted fit)."""

from __future__ import annotations

import copy

import torch

from ._local_trainer import LocalTrainer


class WeightSnapshot:
    """A copy of a network's parameters, allocated once: :meth:`save` copies
    the parameters into it, :meth:`restore` copies them back."""

    def __init__(self, network: torch.nn.Module):
        self.network = network
        self._copies = [param.detach().clone() for param in network.parameters()]

    @torch.no_grad()
    def save(self) -> None:
        for saved, param in zip(self._copies, self.network.parameters(), strict=True):
            saved.copy_(param)

    @torch.no_grad()
    def restore(self) -> None:
        for saved, param in zip(self._copies, self.network.parameters(), strict=True):
            param.copy_(saved)


class EpochCheckpoint:
    """Copies of the weights, the optimiser state and the generator as they
    were after the last completed epoch, so that an interrupted epoch can be
    undone (:meth:`restore`)."""

    def __init__(self, network: torch.nn.Module, trainer: LocalTrainer, generator: torch.Generator):
        self.trainer, self.generator = trainer, generator
        self._weights = WeightSnapshot(network)
        self._trainer_state = _refreshed_copy(None, trainer.state_dict())
        self._generator_state = generator.get_state()

    def save(self) -> None:
        self._weights.save()
        self._trainer_state = _refreshed_copy(self._trainer_state, self.trainer.state_dict())
        self._generator_state = self.generator.get_state()

    def restore(self) -> None:
        self._weights.restore()
        self.trainer.load_state_dict(self._trainer_state)
        self.generator.set_state(self._generator_state)


def _refreshed_copy(saved, current):
    """A copy of ``current`` (nested dicts, lists and tensors) that reuses the
    tensors of ``saved``, an earlier copy, wherever they still fit: saving
    after every epoch then copies in place instead of allocating (a deep copy
    was a quarter of a small table's fit time)."""
    if isinstance(current, torch.Tensor):
        if (
            isinstance(saved, torch.Tensor)
            and saved.shape == current.shape
            and saved.dtype == current.dtype
            and saved.device == current.device
        ):
            return saved.copy_(current)
        return current.detach().clone()
    if isinstance(current, dict):
        previous = saved if isinstance(saved, dict) else {}
        return {key: _refreshed_copy(previous.get(key), value) for key, value in current.items()}
    if isinstance(current, (list, tuple)):
        same = isinstance(saved, (list, tuple)) and len(saved) == len(current)
        previous = saved if same else [None] * len(current)
        pairs = zip(previous, current, strict=True)
        return type(current)(_refreshed_copy(old, value) for old, value in pairs)
    return copy.deepcopy(current)
