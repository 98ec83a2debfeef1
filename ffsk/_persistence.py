"""Pickling support: fitted networks travel as CPU tensors.

A model fitted on a GPU must unpickle on a machine without one, so the
pickled state holds the network's configuration and a CPU copy of its tensors
(copied tensor by tensor: the GPU never holds a second copy of the model).
Unpickling rebuilds the network on the device the estimator's ``device``
parameter resolves to there (the CPU, with a warning, when an explicitly
requested CUDA device is missing).
"""

from __future__ import annotations

import warnings

import torch

from ._devices import resolve_device
from ._network import FFNetwork
from ._version import __version__


class InconsistentVersionWarning(UserWarning):
    """An estimator is unpickled by a different ffsk version than the one
    that pickled it (like scikit-learn's warning of the same name).

    Attributes
    ----------
    original_version : str
        The ffsk version that pickled the estimator.
    current_version : str
        The ffsk version that unpickled it.
    """

    def __init__(self, *, original_version: str, current_version: str):
        self.original_version = original_version
        self.current_version = current_version

    def __str__(self) -> str:
        return (
            f"Trying to unpickle a ForwardForwardClassifier pickled by ffsk "
            f"{self.original_version} with ffsk {self.current_version}. This might lead to "
            "breaking code or invalid results. Use at your own risk. ffsk.save/ffsk.load "
            "files are checked for compatibility instead."
        )


def warn_if_other_version(original_version: str | None) -> None:
    """Warn when a pickle was written by another ffsk version."""
    if original_version is not None and original_version != __version__:
        warnings.warn(
            InconsistentVersionWarning(
                original_version=original_version, current_version=__version__
            ),
            stacklevel=3,
        )


def network_state_for_pickle(state: dict) -> dict:
    """A copy of an estimator's ``__dict__`` with the network replaced by its
    configuration and CPU tensors. The live estimator is left untouched."""
    network: FFNetwork = state["network_"]
    payload = {
        "n_features": network.n_features,
        "n_classes": network.n_classes,
        "hidden_layer_sizes": network.hidden_layer_sizes,
        "readout": network.readout is not None,
        "tensors": {name: t.detach().cpu() for name, t in network.state_dict().items()},
    }
    return {**state, "network_": payload}


def restore_network(payload: dict, device: str | torch.device) -> tuple[FFNetwork, torch.device]:
    """Rebuild a pickled network where ``device`` resolves on this machine."""
    resolved = resolve_device(device, fall_back_to_cpu=True)
    network = FFNetwork(
        payload["n_features"],
        payload["n_classes"],
        payload["hidden_layer_sizes"],
        device=resolved,
        readout=payload["readout"],
    )
    network.load_state_dict(payload["tensors"])
    return network, resolved
