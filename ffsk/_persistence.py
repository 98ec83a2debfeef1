"""Pickling support: fitted networks travel as CPU tensors.

A model fitted on a GPU must unpickle on a machine without one, so the
pickled state always holds a CPU copy of the network; unpickling moves it to
the device the estimator's ``device`` parameter resolves to there (the CPU,
with a warning, when an explicitly requested CUDA device is missing).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ._devices import resolve_device


def network_state_for_pickle(state: dict) -> dict:
    """A copy of an estimator's ``__dict__`` whose network is on the CPU.

    The live estimator is left untouched (a GPU network stays on the GPU).
    """
    network: nn.Module = state["network_"]
    if any(p.device.type != "cpu" for p in network.parameters()):
        network = copy.deepcopy(network).cpu()
    return {**state, "network_": network}


def place_network(network: nn.Module, device: str | torch.device) -> torch.device:
    """Move an unpickled network to where ``device`` resolves on this machine."""
    resolved = resolve_device(device, fall_back_to_cpu=True)
    network.to(resolved)
    return resolved
