"""The one list of a fitted estimator's state.

``fit`` sets these attributes, pickling writes them (with the network as CPU
tensors, so a GPU model unpickles anywhere) and the model file stores them:
all three go through this module, so an attribute added here is set, pickled,
saved and loaded alike.
"""

from __future__ import annotations

import torch

from ._devices import resolve_device
from ._network import FFNetwork

#: Every fitted attribute. ``feature_names_in_`` exists only when ``X`` had
#: string feature names; ``_training_state_`` is the continuation state
#: (``_continuation.py``) that ``warm_start`` and ``partial_fit`` go on from.
FITTED_ATTRIBUTES = (
    "classes_",
    "n_features_in_",
    "feature_names_in_",
    "network_",
    "device_",
    "precision_",
    "label_embedding_",
    "n_iter_",
    "loss_curve_",
    "validation_scores_",
    "best_validation_score_",
    "_training_state_",
)
OPTIONAL_ATTRIBUTES = frozenset({"feature_names_in_"})


def get_fitted_state(estimator) -> dict:
    """The fitted attributes of ``estimator`` that it has, by name."""
    return {
        name: getattr(estimator, name) for name in FITTED_ATTRIBUTES if hasattr(estimator, name)
    }


def set_fitted_state(estimator, state: dict) -> None:
    """Set every fitted attribute of ``estimator`` from ``state`` (an optional
    attribute missing from ``state`` is removed from the estimator)."""
    missing = [
        name for name in FITTED_ATTRIBUTES if name not in state and name not in OPTIONAL_ATTRIBUTES
    ]
    if missing:
        raise ValueError(f"fitted state lacks {missing}")
    for name in FITTED_ATTRIBUTES:
        if name in state:
            setattr(estimator, name, state[name])
        elif name in estimator.__dict__:
            delattr(estimator, name)


def network_payload(network: FFNetwork) -> dict:
    """The network's configuration and a CPU copy of its tensors (copied
    tensor by tensor: the GPU never holds a second copy of the model)."""
    return {
        "n_features": network.n_features,
        "n_classes": network.n_classes,
        "hidden_layer_sizes": network.hidden_layer_sizes,
        "readout": network.readout is not None,
        "tensors": {name: t.detach().cpu() for name, t in network.state_dict().items()},
    }


def network_from_payload(payload: dict, device: torch.device) -> FFNetwork:
    """Rebuild a network from :func:`network_payload` on ``device``."""
    network = FFNetwork(
        payload["n_features"],
        payload["n_classes"],
        payload["hidden_layer_sizes"],
        device=device,
        readout=payload["readout"],
    )
    network.load_state_dict(payload["tensors"])
    return network


def tensors_to_cpu(value):
    """``value`` (nested dicts, lists and tuples) with every tensor on the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {key: tensors_to_cpu(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(tensors_to_cpu(item) for item in value)
    return value


def portable_state(state: dict) -> dict:
    """``state`` with its tensors on the CPU and the network as
    :func:`network_payload` (the live state is left untouched)."""
    return {
        **state,
        "network_": network_payload(state["network_"]),
        "_training_state_": tensors_to_cpu(state["_training_state_"]),
    }


def restore_portable_state(state: dict, device: str | torch.device) -> dict:
    """The inverse of :func:`portable_state`: the network rebuilt where the
    estimator's ``device`` parameter resolves on this machine (the CPU, with
    a warning, when a requested CUDA device is missing)."""
    resolved = resolve_device(device, fall_back_to_cpu=True)
    return {
        **state,
        "network_": network_from_payload(state["network_"], resolved),
        "device_": resolved,
    }
