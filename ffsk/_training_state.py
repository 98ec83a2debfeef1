"""What a fit leaves behind so that ``warm_start`` and ``partial_fit`` can go
on from where it stopped: the optimisers' moments, the peer-normalisation
running means and the random generator's state.

With them, ``partial_fit`` called ``epochs`` times on the same data trains
exactly the network one ``fit`` would (a test checks it on the CPU).
"""

from __future__ import annotations

import copy
import hashlib

import torch

from ._network import LocalTrainer


def capture_training_state(trainer: LocalTrainer, generator: torch.Generator) -> dict:
    """The state a later fit continues from (references, not copies: the
    trainer and generator are not used again after this)."""
    return {
        "trainer": trainer.state_dict(),
        "generator_device": generator.device.type,
        "generator": generator.get_state(),
    }


def restore_generator(state: dict, device: torch.device) -> torch.Generator:
    """A generator on ``device`` that continues the saved one's sequence."""
    generator = torch.Generator(device=device)
    if state["generator_device"] == device.type:
        generator.set_state(state["generator"])
    else:
        # The state of a CPU generator does not fit a CUDA one (and vice
        # versa), e.g. after unpickling a GPU model on a CPU-only machine:
        # derive a seed from it instead, so the continuation is still seeded.
        digest = hashlib.sha256(state["generator"].numpy().tobytes()).digest()
        generator.manual_seed(int.from_bytes(digest[:7], "little"))
    return generator


def tensors_to_cpu(value):
    """``value`` (nested dicts, lists and tuples) with every tensor on the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {key: tensors_to_cpu(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(tensors_to_cpu(item) for item in value)
    return value


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
        self._trainer_state = copy.deepcopy(trainer.state_dict())
        self._generator_state = generator.get_state()

    def save(self) -> None:
        self._weights.save()
        self._trainer_state = copy.deepcopy(self.trainer.state_dict())
        self._generator_state = self.generator.get_state()

    def restore(self) -> None:
        self._weights.restore()
        self.trainer.load_state_dict(self._trainer_state)
        self.generator.set_state(self._generator_state)
