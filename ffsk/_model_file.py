"""``ffsk.save`` / ``ffsk.load``: a model file that is never unpickled.

A model file is a zip archive in NumPy's ``.npz`` layout, read with
``allow_pickle=False``: numeric arrays only (the network's weights, the
optimiser state, the loss curve) plus one JSON document (``ffsk.json``, stored
as bytes) with everything else: the parameters, ``classes_`` and its dtype,
feature names, the label embedding, versions, and a SHA-256 digest of every
array. Loading parses JSON and copies numbers; it runs no code from the file.
A file whose digests do not match, that lacks an entry, or that was written
by a newer, incompatible format raises :class:`ModelFileError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import sklearn
import torch

from ._devices import resolve_device
from ._fitted_state import (
    get_fitted_state,
    portable_state,
    restore_portable_state,
    set_fitted_state,
)
from ._label_embedding import LabelEmbedding
from ._version import __version__

#: Version of the file layout. Bump it when a change would make older ffsk
#: versions misread a file; a file with a higher version is refused.
FORMAT_VERSION = 1
_METADATA = "ffsk.json"
_MAGIC = "ffsk-model"


class ModelFileError(ValueError):
    """A model file is not a valid ffsk model file (malformed, truncated,
    modified) or was written by an incompatible version of ffsk."""


def save(estimator, path: str | Path) -> None:
    """Save a fitted :class:`ForwardForwardClassifier` to ``path``.

    The file holds no pickle: weights and optimiser state as arrays, all else
    as JSON (see the user guide, *Persistence*). Training can continue after
    :func:`load` (``warm_start`` or ``partial_fit``).

    Parameters
    ----------
    estimator : ForwardForwardClassifier
        A fitted estimator.
    path : str or path-like
        Where to write the file (conventionally ``*.ffsk``).

    Raises
    ------
    NotFittedError
        If ``estimator`` is not fitted.
    TypeError
        If ``classes_`` or a parameter cannot be written as JSON (e.g. a
        ``RandomState`` instance as ``random_state``).
    """
    from sklearn.utils.validation import check_is_fitted

    from ._classifier import ForwardForwardClassifier

    if not isinstance(estimator, ForwardForwardClassifier):
        raise TypeError(
            "ffsk.save writes a fitted ForwardForwardClassifier, not a "
            f"{type(estimator).__name__}. To save a Pipeline or another scikit-learn "
            "object, use joblib.dump (a pickle: load it only from a trusted source)."
        )
    check_is_fitted(estimator)
    state = portable_state(get_fitted_state(estimator))
    arrays: dict[str, np.ndarray] = {}
    payload = state["network_"]
    for name, tensor in payload["tensors"].items():
        arrays[f"network/{name}"] = tensor.numpy()
    arrays["loss_curve"] = np.asarray(state["loss_curve_"], dtype=np.float64)
    training_state = _encode(state["_training_state_"], arrays, "training_state")
    embedding = state["label_embedding_"]
    metadata = {
        "magic": _MAGIC,
        "format_version": FORMAT_VERSION,
        "versions": {
            "ffsk": __version__,
            "torch": torch.__version__,
            "sklearn": sklearn.__version__,
        },
        "estimator": type(estimator).__name__,
        "params": _json_params(estimator.get_params(deep=False)),
        "classes": _encode_classes(state["classes_"]),
        "n_features_in": int(state["n_features_in_"]),
        "feature_names_in": (
            state["feature_names_in_"].tolist() if "feature_names_in_" in state else None
        ),
        "network": {
            "n_features": payload["n_features"],
            "n_classes": payload["n_classes"],
            "hidden_layer_sizes": list(payload["hidden_layer_sizes"]),
            "readout": payload["readout"],
        },
        "label_embedding": {
            "encoding": embedding.encoding,
            "n_features": embedding.n_features,
            "n_classes": embedding.n_classes,
            "label_value": embedding.label_value,
            "feature_scale": embedding.feature_scale,
        },
        "precision": state["precision_"],
        "n_iter": int(state["n_iter_"]),
        "validation_scores": state["validation_scores_"],
        "best_validation_score": state["best_validation_score_"],
        "training_state": training_state,
        "sha256": {name: _digest(array) for name, array in arrays.items()},
    }
    buffer = io.BytesIO()
    np.savez(
        buffer,
        **arrays,
        **{_METADATA: np.frombuffer(json.dumps(metadata).encode("utf-8"), dtype=np.uint8)},
    )
    _write_atomically(Path(path), buffer.getvalue())


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` holds either its old content
    or all of ``data``, never a part: write a temporary file in the same
    directory, flush it to disk, then rename it over ``path`` (atomic on POSIX
    and Windows). A failure (a full disk, a size limit) leaves the old file
    and no temporary file behind."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def load(path: str | Path, device: str | torch.device | None = None):
    """Load a model written by :func:`save`; nothing in the file is executed.

    Parameters
    ----------
    path : str or path-like
        The model file.
    device : str or torch.device, default=None
        Where to put the network. None uses the saved ``device`` parameter as
        it resolves on this machine (the CPU, with a warning, if it asked for
        CUDA and there is none).

    Returns
    -------
    estimator : ForwardForwardClassifier
        The fitted estimator, predicting exactly as the saved one on the CPU.

    Raises
    ------
    ModelFileError
        If the file is not a valid ffsk model file, was modified or truncated,
        or was written by a newer, incompatible format.
    """
    from ._classifier import ForwardForwardClassifier

    if device is not None:
        resolve_device(device)  # a bad device argument is the caller's error, not the file's
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            contents = {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise ModelFileError(f"{path} is not a readable ffsk model file: {exc}") from exc
    metadata = _read_metadata(path, contents.pop(_METADATA, None))
    _check_digests(path, metadata, contents)
    try:
        params = dict(metadata["params"])
        if "alpha" in params and "sharpness" not in params:  # written by ffsk 0.1
            params["sharpness"] = params.pop("alpha")
        if device is not None:
            params["device"] = device if isinstance(device, str) else str(device)
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        estimator = ForwardForwardClassifier(**params)
        tensors = {
            name.removeprefix("network/"): torch.from_numpy(array)
            for name, array in contents.items()
            if name.startswith("network/")
        }
        state = {
            "classes_": _decode_classes(metadata["classes"]),
            "n_features_in_": int(metadata["n_features_in"]),
            "network_": {**metadata["network"], "tensors": tensors},
            "precision_": metadata["precision"],
            "label_embedding_": LabelEmbedding(**metadata["label_embedding"]),
            "n_iter_": int(metadata["n_iter"]),
            "loss_curve_": contents["loss_curve"],
            "validation_scores_": metadata.get("validation_scores"),
            "best_validation_score_": metadata.get("best_validation_score"),
            "_training_state_": _decode(metadata["training_state"], contents),
        }
        if metadata["feature_names_in"] is not None:
            state["feature_names_in_"] = np.asarray(metadata["feature_names_in"], dtype=object)
        set_fitted_state(estimator, restore_portable_state(state, estimator.device))
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path} is not a valid ffsk model file: {exc!r}") from exc
    return estimator


# ----------------------------------------------------------------- helpers
def _read_metadata(path: Path, raw: np.ndarray | None) -> dict:
    if raw is None:
        raise ModelFileError(f"{path} is not an ffsk model file: it has no {_METADATA}.")
    try:
        metadata = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: its {_METADATA} is not valid JSON: {exc}") from exc
    if not isinstance(metadata, dict) or metadata.get("magic") != _MAGIC:
        raise ModelFileError(f"{path} is not an ffsk model file.")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        written_by = metadata.get("versions", {}).get("ffsk", "a newer ffsk")
        raise ModelFileError(
            f"{path} was written by ffsk {written_by} in model file format {version}, "
            f"but this ffsk ({__version__}) reads formats up to {FORMAT_VERSION}. "
            "Upgrade ffsk to load it."
        )
    return metadata


def _check_digests(path: Path, metadata: dict, contents: dict) -> None:
    expected = metadata.get("sha256")
    if not isinstance(expected, dict):
        raise ModelFileError(f"{path}: the file lists no array digests.")
    if set(contents) != set(expected):
        raise ModelFileError(
            f"{path}: arrays {sorted(set(contents) ^ set(expected))} are missing or "
            "unexpected; the file was modified or truncated."
        )
    for name, array in contents.items():
        if _digest(array) != expected[name]:
            raise ModelFileError(
                f"{path}: array {name!r} does not match its SHA-256 digest; the file "
                "was modified or corrupted."
            )


def _digest(array: np.ndarray) -> str:
    array = np.ascontiguousarray(array)
    header = f"{array.dtype.str}{array.shape}".encode()
    return hashlib.sha256(header + array.tobytes()).hexdigest()


def _json_params(params: dict) -> dict:
    out = {}
    for name, value in params.items():
        if isinstance(value, torch.device):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, np.integer):
            value = int(value)
        elif isinstance(value, np.floating):
            value = float(value)
        elif isinstance(value, np.random.RandomState):
            value = None  # fitting is over; the state only served that fit
        try:
            json.dumps(value)
        except TypeError as exc:
            raise TypeError(
                f"Cannot save parameter {name}={value!r} as JSON; set it to a plain value."
            ) from exc
        out[name] = value
    return out


def _encode_classes(classes: np.ndarray) -> dict:
    values = classes.tolist()
    if classes.dtype == object and not all(
        isinstance(value, str | int | float | bool) for value in values
    ):
        raise TypeError(
            "Cannot save classes_ of types "
            f"{sorted({type(value).__name__ for value in values})}: ffsk.save writes "
            "str, int, float and bool labels. Use pickle/joblib for other labels."
        )
    return {"dtype": classes.dtype.str if classes.dtype != object else "object", "values": values}


def _decode_classes(encoded: dict) -> np.ndarray:
    dtype = object if encoded["dtype"] == "object" else np.dtype(encoded["dtype"])
    if isinstance(dtype, np.dtype) and dtype.hasobject:
        raise ValueError("classes dtype may not hold objects")
    classes = np.empty(len(encoded["values"]), dtype=dtype)
    classes[:] = encoded["values"]
    return classes


def _encode(value, arrays: dict, prefix: str):
    """JSON for ``value`` with tensors stored in ``arrays`` under ``prefix``."""
    if isinstance(value, torch.Tensor):
        arrays[prefix] = value.detach().cpu().numpy()
        return {"__array__": prefix}
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            return {"__dict__": {k: _encode(v, arrays, f"{prefix}/{k}") for k, v in value.items()}}
        return {
            "__items__": [
                [key, _encode(item, arrays, f"{prefix}/{key}")] for key, item in value.items()
            ]
        }
    if isinstance(value, list | tuple):
        return {
            "__list__": [_encode(item, arrays, f"{prefix}/{i}") for i, item in enumerate(value)]
        }
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"Cannot save {type(value).__name__} at {prefix}.")


def _decode(value, arrays: dict):
    if isinstance(value, dict):
        if "__array__" in value:
            return torch.from_numpy(np.array(arrays[value["__array__"]]))
        if "__dict__" in value:
            return {key: _decode(item, arrays) for key, item in value["__dict__"].items()}
        if "__items__" in value:
            return {key: _decode(item, arrays) for key, item in value["__items__"]}
        if "__list__" in value:
            return [_decode(item, arrays) for item in value["__list__"]]
        raise ValueError(f"unexpected entry {sorted(value)} in training_state")
    return value
