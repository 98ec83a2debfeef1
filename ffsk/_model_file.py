"""``ffsk.save`` / ``ffsk.load``: a model file that is never unpickled, and
that nothing in it can use to hurt the process that loads it.

A model file is a zip archive of ``.npy`` members in NumPy's ``.npz`` layout,
all stored uncompressed: numeric arrays (weights, optimiser moments, running
means, the loss curve, the random generator's state) and one JSON document
(``ffsk.json``, stored as bytes) with everything else.

Loading validates the whole file against one schema before it builds
anything:

* the archive: every member stored (no compression, so no decompression
  bomb), no member larger than the file, the JSON below a size bound;
* the JSON: types, ranges and mutual consistency of every field (the
  architecture, the classes — sorted and unique —, the label embedding, the
  parameters, through scikit-learn's own parameter validation);
* the arrays: exactly the names, dtypes and shapes the declared architecture
  implies, checked from each member's header *before* its data is read (so
  memory is bounded by what the architecture needs, and that by the file's
  size), and all values finite;
* one SHA-256 digest over the JSON and every array together.

The digest proves integrity, not validity or origin: it detects a file that
was truncated, corrupted or changed by a tool that did not know the format,
but anyone can edit a file and recompute it. What makes a file safe to load
is the schema validation, which every file passes or is refused with
:class:`ModelFileError`. Loading parses JSON and copies numbers; it runs no
code from the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
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
    network_from_payload,
    network_payload,
    set_fitted_state,
)
from ._input_validation import check_hidden_layer_sizes
from ._label_embedding import ENCODINGS, MAX_LABEL_VALUE, LabelEmbedding
from ._network import FFNetwork
from ._version import __version__

#: Version of the file layout. Bump it when a change would make older ffsk
#: versions misread a file; a file with a higher version is refused.
FORMAT_VERSION = 2
_METADATA = "ffsk.json"
_MAGIC = "ffsk-model"
#: Largest weight or bias magnitude a file may hold: far beyond anything
#: training reaches, small enough that activities stay far from float32's
#: overflow.
MAX_WEIGHT = 2.0**32
#: Largest JSON document accepted (class labels and feature names live there).
MAX_METADATA_BYTES = 64 << 20
#: Largest ``.npy`` header accepted.
_MAX_HEADER_BYTES = 4096
_PRECISIONS = ("float32", "bfloat16")
_GENERATOR_STATE_SIZES = {"cpu": 5056, "cuda": 16}
_ADAM_MOMENTS = ("exp_avg", "exp_avg_sq")


class ModelFileError(ValueError):
    """A model file is not a valid ffsk model file (malformed, truncated,
    modified, inconsistent) or was written by an incompatible version of ffsk."""


# ====================================================================== save
def save(estimator, path: str | Path) -> None:
    """Save a fitted :class:`ForwardForwardClassifier` to ``path``.

    The file holds no pickle: weights and optimiser state as arrays, all else
    as JSON (see the user guide, *Persistence*). Training can continue after
    :func:`load` (``warm_start`` or ``partial_fit``). The file is written to a
    temporary file in the same directory and then renamed over ``path``, so a
    failed save (a full disk, a killed process) never destroys an existing
    file.

    Parameters
    ----------
    estimator : ForwardForwardClassifier
        A fitted estimator.
    path : str or path-like
        Where to write the file (conventionally ``*.ffsk``).

    Raises
    ------
    TypeError
        If ``estimator`` is not a ``ForwardForwardClassifier`` (save a
        ``Pipeline`` with joblib), or a parameter or ``classes_`` holds a value
        the file cannot represent exactly (e.g. a ``RandomState`` instance as
        ``random_state``); nothing is written then.
    ValueError
        If the estimator's parameters no longer describe its fitted model
        (``set_params`` changed e.g. ``hidden_layer_sizes`` after fitting):
        :func:`load` would refuse the file, so nothing is written.
    NotFittedError
        If ``estimator`` is not fitted.
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
    state = get_fitted_state(estimator)
    params = {
        name: _encode_param(name, value) for name, value in estimator.get_params(deep=False).items()
    }
    network = state["network_"]
    payload = network_payload(network)
    arrays: dict[str, np.ndarray] = {
        f"network/{name}": tensor.numpy() for name, tensor in payload["tensors"].items()
    }
    arrays["loss_curve"] = np.asarray(state["loss_curve_"], dtype=np.float64)
    training = state["_training_state_"]
    arrays.update(_continuation_arrays(network, training))
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
        "params": params,
        "classes": _encode_classes(state["classes_"]),
        "n_features_in": int(state["n_features_in_"]),
        "feature_names_in": (
            [str(name) for name in state["feature_names_in_"]]
            if "feature_names_in_" in state
            else None
        ),
        "network": {
            "n_features": int(payload["n_features"]),
            "n_classes": int(payload["n_classes"]),
            "hidden_layer_sizes": [int(size) for size in payload["hidden_layer_sizes"]],
            "readout": bool(payload["readout"]),
        },
        "label_embedding": {
            "encoding": embedding.encoding,
            "n_features": int(embedding.n_features),
            "n_classes": int(embedding.n_classes),
            "label_value": float(embedding.label_value),
            "feature_scale": float(embedding.feature_scale),
        },
        "precision": state["precision_"],
        "n_iter": int(state["n_iter_"]),
        "validation_scores": (
            None
            if state["validation_scores_"] is None
            else [float(score) for score in state["validation_scores_"]]
        ),
        "best_validation_score": (
            None
            if state["best_validation_score_"] is None
            else float(state["best_validation_score_"])
        ),
        "generator_device": training["generator_device"],
    }
    metadata["sha256"] = _digest(metadata, arrays)
    buffer = io.BytesIO()
    json_bytes = json.dumps(metadata).encode("utf-8")
    np.savez(buffer, **{_METADATA: np.frombuffer(json_bytes, dtype=np.uint8)}, **arrays)
    data = buffer.getvalue()
    # Read back with load's own checks before anything is written, so a file
    # load would refuse is never written: e.g. after set_params changed
    # hidden_layer_sizes on a fitted estimator, the parameters no longer
    # describe its network.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _load(archive, len(data), "cpu")
    except ModelFileError as exc:
        raise ValueError(
            f"Cannot save this estimator: {exc} Its parameters must describe the fitted "
            "model; if set_params changed one after fitting, set it back or refit."
        ) from exc
    _write_atomically(Path(path), data)


def _continuation_arrays(network: FFNetwork, training: dict) -> dict[str, np.ndarray]:
    """The continuation state as named arrays: each layer's (and the
    read-out's) Adam moments and step count per parameter, the peer-norm
    running means, and the generator's state."""
    trainer = training["trainer"]
    arrays = {}
    groups = list(zip(_optimizer_names(network), trainer["optimizers"], strict=True))
    if "readout_optimizer" in trainer:
        groups.append(("readout", trainer["readout_optimizer"]))
    for prefix, optimizer_state in groups:
        for index, state in optimizer_state["state"].items():
            param = _param_names(network, prefix)[index]
            for key in (*_ADAM_MOMENTS, "step"):
                value = state[key]
                value = value.detach().cpu() if isinstance(value, torch.Tensor) else value
                arrays[f"optimizer/{prefix}/{param}/{key}"] = np.asarray(value, dtype=np.float32)
    for index, mean in enumerate(trainer["running_means"]):
        arrays[f"running_mean/{index}"] = mean.detach().cpu().numpy()
    arrays["generator"] = training["generator"].numpy()
    return arrays


def _optimizer_names(network: FFNetwork) -> list[str]:
    return [str(index) for index in range(len(network.layers))]


def _param_names(network: FFNetwork, prefix: str) -> list[str]:
    module = network.readout if prefix == "readout" else network.layers[int(prefix)]
    return [name for name, _ in module.named_parameters()]


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


# ====================================================================== load
def load(path: str | Path, device: str | torch.device | None = None):
    """Load a model written by :func:`save`, after validating all of it;
    nothing in the file is executed.

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
        If the file is not a valid ffsk model file (see the module's
        description of what is checked), or was written by an incompatible
        format; the message says what is wrong.
    ValueError
        If ``device`` is not a usable device here.
    """
    if device is not None:
        resolve_device(device)  # a bad device argument is the caller's error, not the file's
    path = Path(path)
    file_size = path.stat().st_size  # FileNotFoundError for a missing file, as open() would
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ModelFileError(f"{path} is not a readable ffsk model file: {exc}") from exc
    try:
        with archive:
            return _load(archive, file_size, device)
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from exc.__cause__
    except (
        zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, RuntimeError,
        NotImplementedError,
    ) as exc:  # fmt: skip
        # zipfile raises RuntimeError (e.g. an encrypted member) and
        # NotImplementedError (an unsupported feature) for some malformed files.
        raise ModelFileError(f"{path} is not a readable ffsk model file: {exc!r}") from exc


def _load(archive: zipfile.ZipFile, file_size: int, device):
    from ._classifier import ForwardForwardClassifier
    from ._sklearn_compat import validate_params

    members = _members(archive, file_size)
    metadata = _read_metadata(archive, members)
    network_config = _check_network(metadata.get("network"))
    expected = _expected_arrays(network_config, metadata, file_size)
    del members[_METADATA]
    if set(members) != set(expected):
        raise ModelFileError(
            f"arrays {sorted(set(members) ^ set(expected))} are missing or unexpected for "
            "the architecture the file declares; the file was modified or truncated."
        )
    arrays = {
        name: _read_npy(archive, members[name], dtype, shape)
        for name, (dtype, shape) in expected.items()
    }
    digest = metadata.pop("sha256", None)
    if digest != _digest(metadata, arrays):
        raise ModelFileError(
            "its SHA-256 digest does not match its contents; the file was modified or corrupted."
        )
    for name, array in arrays.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ModelFileError(f"array {name!r} holds NaN or infinite values.")
        if name.startswith("network/") and array.size and np.abs(array).max() > MAX_WEIGHT:
            raise ModelFileError(
                f"array {name!r} holds values beyond ±2**32, which training never "
                "produces (their squares would overflow float32 in prediction)."
            )

    params = _decode_params(metadata.get("params"))
    if device is not None:
        params["device"] = device if isinstance(device, str) else str(device)
    try:
        estimator = ForwardForwardClassifier(**params)
        validate_params(estimator)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"invalid parameters: {exc}") from exc
    state = _state_from_file(metadata, network_config, arrays, estimator)
    resolved = resolve_device(estimator.device, fall_back_to_cpu=True)
    tensors = {
        name.removeprefix("network/"): torch.from_numpy(array)
        for name, array in arrays.items()
        if name.startswith("network/")
    }
    state["network_"] = network_from_payload({**network_config, "tensors": tensors}, resolved)
    state["device_"] = resolved
    set_fitted_state(estimator, state)
    return estimator


def _members(archive: zipfile.ZipFile, file_size: int) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by array name, after checks that need no reading."""
    members = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            raise ModelFileError(f"unexpected member {info.filename!r}.")
        if info.flag_bits & 0x41:  # bit 0: encrypted, bit 6: strong encryption
            raise ModelFileError(f"member {info.filename!r} is encrypted.")
        if info.compress_type != zipfile.ZIP_STORED:
            raise ModelFileError(
                f"member {info.filename!r} is compressed; ffsk model files store every "
                "member uncompressed."
            )
        if info.file_size > file_size:
            raise ModelFileError(
                f"member {info.filename!r} declares {info.file_size} bytes, more than the "
                f"whole file ({file_size} bytes)."
            )
        name = info.filename.removesuffix(".npy")
        if name in members:
            raise ModelFileError(f"member {info.filename!r} appears twice.")
        members[name] = info
    return members


def _read_npy(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    dtype: np.dtype,
    shape: tuple[int, ...] | None,
    max_items: int | None = None,
) -> np.ndarray:
    """Read one ``.npy`` member, checking its header against ``dtype`` and
    ``shape`` (or, with ``shape=None``, a 1-D length up to ``max_items``)
    before reading any data."""
    with archive.open(info) as stream:
        try:
            major, _ = np.lib.format.read_magic(stream)
            read_header = (
                np.lib.format.read_array_header_1_0
                if major == 1
                else np.lib.format.read_array_header_2_0
            )
            found_shape, fortran_order, found_dtype = read_header(
                stream, max_header_size=_MAX_HEADER_BYTES
            )
        except (ValueError, SyntaxError, TypeError) as exc:
            raise ModelFileError(f"member {info.filename!r} is not a valid .npy: {exc}") from exc
        name = info.filename.removesuffix(".npy")
        if found_dtype != dtype or fortran_order:
            raise ModelFileError(
                f"array {name!r} has dtype {found_dtype}{' (Fortran order)' * fortran_order}, "
                f"expected {dtype}."
            )
        if shape is None:
            if len(found_shape) != 1 or found_shape[0] > max_items:
                raise ModelFileError(f"array {name!r} has shape {found_shape}.")
            shape = found_shape
        elif tuple(found_shape) != tuple(shape):
            raise ModelFileError(
                f"array {name!r} has shape {tuple(found_shape)}, but the declared "
                f"architecture needs {tuple(shape)}."
            )
        n_bytes = math.prod(shape) * dtype.itemsize
        data = stream.read(n_bytes + 1)
    if len(data) != n_bytes:
        raise ModelFileError(f"array {name!r} holds {len(data)} bytes of data, not {n_bytes}.")
    return np.frombuffer(bytearray(data), dtype=dtype).reshape(shape)


def _read_metadata(archive: zipfile.ZipFile, members: dict) -> dict:
    info = members.get(_METADATA)
    if info is None:
        raise ModelFileError(f"it is not an ffsk model file: it has no {_METADATA}.")
    raw = _read_npy(archive, info, np.dtype(np.uint8), None, MAX_METADATA_BYTES)
    try:
        metadata = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # RecursionError: absurdly nested JSON; ValueError: also integers
        # beyond Python's digit limit.
        raise ModelFileError(f"its {_METADATA} is not valid JSON: {exc!r}"[:500]) from None
    if not isinstance(metadata, dict) or metadata.get("magic") != _MAGIC:
        raise ModelFileError("it is not an ffsk model file.")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"invalid format_version {version!r}.")
    versions = metadata.get("versions")
    written_by = versions.get("ffsk") if isinstance(versions, dict) else None
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"it was written by ffsk {written_by or 'a newer ffsk'} in model file format "
            f"{version}, but this ffsk ({__version__}) reads formats up to "
            f"{FORMAT_VERSION}. Upgrade ffsk to load it."
        )
    if version < FORMAT_VERSION:
        raise ModelFileError(
            f"it was written by ffsk {written_by or '0.1'} in model file format {version}, "
            f"which this ffsk ({__version__}) no longer reads: its per-array digests could "
            "not tell a valid file from an edited one. Load it with that ffsk version, "
            "refit, and save it again."
        )
    return metadata


# -------------------------------------------------------------- the schema
def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ModelFileError(message)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_network(network) -> dict:
    _require(isinstance(network, dict), "'network' must be an object.")
    n_features, n_classes = network.get("n_features"), network.get("n_classes")
    sizes, readout = network.get("hidden_layer_sizes"), network.get("readout")
    _require(_is_int(n_features) and n_features >= 1, f"network.n_features={n_features!r}.")
    _require(_is_int(n_classes) and n_classes >= 2, f"network.n_classes={n_classes!r}.")
    _require(
        isinstance(sizes, list) and 0 < len(sizes) <= 10_000,
        f"network.hidden_layer_sizes={sizes!r:.100}.",
    )
    _require(
        all(_is_int(size) and size >= 1 for size in sizes),
        "network.hidden_layer_sizes must be positive ints.",
    )
    _require(isinstance(readout, bool), f"network.readout={readout!r}.")
    return {
        "n_features": n_features,
        "n_classes": n_classes,
        "hidden_layer_sizes": tuple(sizes),
        "readout": readout,
    }


def _expected_arrays(network: dict, metadata: dict, file_size: int) -> dict:
    """Every array the declared architecture implies: name -> (dtype, shape).
    Its total size is checked against the file's size first, so that nothing
    is allocated for an architecture the file cannot hold."""
    n_features, n_classes = network["n_features"], network["n_classes"]
    sizes = network["hidden_layer_sizes"]
    n_weights = sizes[0] * (n_features + n_classes + 1) + sum(
        b * (a + 1) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    )
    if network["readout"]:
        n_weights += n_classes * (sum(sizes[1:] or sizes) + 1)
    # weights, two Adam moments each, all float32
    _require(
        3 * 4 * n_weights <= file_size,
        f"its architecture needs {n_weights} weights ({12 * n_weights} bytes with the "
        f"optimiser state), more than the file's {file_size} bytes.",
    )
    n_iter = metadata.get("n_iter")
    _require(_is_int(n_iter) and 1 <= n_iter <= file_size, f"n_iter={n_iter!r}.")
    device = metadata.get("generator_device")
    _require(device in _GENERATOR_STATE_SIZES, f"generator_device={device!r}.")
    f32 = np.dtype("<f4")
    skeleton = FFNetwork(n_features, n_classes, sizes, device="meta", readout=network["readout"])
    expected = {}
    for name, tensor in skeleton.state_dict().items():
        expected[f"network/{name}"] = (f32, tuple(tensor.shape))
    expected["loss_curve"] = (np.dtype("<f8"), (n_iter, len(sizes)))
    modules = [(str(i), layer) for i, layer in enumerate(skeleton.layers)]
    if skeleton.readout is not None:
        modules.append(("readout", skeleton.readout))
    for prefix, module in modules:
        for param_name, param in module.named_parameters():
            for key in _ADAM_MOMENTS:
                expected[f"optimizer/{prefix}/{param_name}/{key}"] = (f32, tuple(param.shape))
            expected[f"optimizer/{prefix}/{param_name}/step"] = (f32, ())
    for index, size in enumerate(sizes):
        expected[f"running_mean/{index}"] = (f32, (size,))
    expected["generator"] = (np.dtype("|u1"), (_GENERATOR_STATE_SIZES[device],))
    return expected


def _state_from_file(metadata: dict, network: dict, arrays: dict, estimator) -> dict:
    """The fitted attributes the metadata and arrays describe, after checking
    every field's type, range and consistency with the others."""
    n_classes, sizes = network["n_classes"], network["hidden_layer_sizes"]
    classes = _decode_classes(metadata.get("classes"))
    _require(
        classes.shape == (n_classes,),
        f"classes_ has {classes.shape[0]} labels, but the network has {n_classes} outputs.",
    )
    _require(
        np.array_equal(np.unique(classes), classes),
        "classes_ must be sorted and unique (as np.unique gives them); predictions "
        "would be permuted otherwise.",
    )
    n_features_in = metadata.get("n_features_in")
    _require(_is_int(n_features_in) and n_features_in >= 1, f"n_features_in={n_features_in!r}.")
    embedding = _decode_embedding(metadata.get("label_embedding"))
    _require(
        embedding.n_classes == n_classes,
        f"label_embedding.n_classes={embedding.n_classes}, but the network has {n_classes}.",
    )
    _require(
        embedding.n_features == n_features_in,
        f"label_embedding.n_features={embedding.n_features}, but n_features_in={n_features_in}.",
    )
    _require(
        embedding.n_network_features == network["n_features"],
        f"n_features_in={n_features_in} with label_encoding={embedding.encoding!r} gives "
        f"{embedding.n_network_features} network inputs, but the weights take "
        f"{network['n_features']}.",
    )
    names = metadata.get("feature_names_in")
    _require(
        names is None
        or (
            isinstance(names, list)
            and len(names) == n_features_in
            and all(isinstance(name, str) for name in names)
        ),
        "feature_names_in must be null or a list of n_features_in strings.",
    )
    precision = metadata.get("precision")
    _require(precision in _PRECISIONS, f"precision={precision!r}.")
    scores, best = metadata.get("validation_scores"), metadata.get("best_validation_score")
    _require(
        (scores is None and best is None)
        or (
            isinstance(scores, list)
            and 0 < len(scores) <= metadata["n_iter"]
            and all(_is_real(s) and 0 <= s <= 1 for s in scores)
            and _is_real(best)
            and best == max(scores)
        ),
        "validation_scores and best_validation_score must both be null, or a list of "
        "accuracies and its maximum.",
    )
    # The parameters must describe the network they come with.
    _require(
        isinstance(estimator.hidden_layer_sizes, str)  # "auto" matches any network
        or check_hidden_layer_sizes(estimator.hidden_layer_sizes) == sizes,
        f"parameter hidden_layer_sizes={estimator.hidden_layer_sizes!r} does not match "
        f"the network's {list(sizes)}.",
    )
    _require(
        (estimator.readout == "softmax") == network["readout"],
        f"parameter readout={estimator.readout!r} does not match the network.",
    )
    _require(
        estimator.label_encoding == embedding.encoding,
        f"parameter label_encoding={estimator.label_encoding!r} does not match the "
        f"label embedding's {embedding.encoding!r}.",
    )
    state = {
        "classes_": classes,
        "n_features_in_": n_features_in,
        "precision_": precision,
        "label_embedding_": embedding,
        "n_iter_": metadata["n_iter"],
        "loss_curve_": arrays["loss_curve"],
        "validation_scores_": None if scores is None else [float(s) for s in scores],
        "best_validation_score_": None if best is None else float(best),
        "_training_state_": _continuation_state(network, arrays, metadata["generator_device"]),
    }
    if names is not None:
        state["feature_names_in_"] = np.asarray(names, dtype=object)
    return state


def _continuation_state(network: dict, arrays: dict, generator_device: str) -> dict:
    """The continuation state (``_continuation.py``) from validated arrays."""
    skeleton = FFNetwork(
        network["n_features"],
        network["n_classes"],
        network["hidden_layer_sizes"],
        device="meta",
        readout=network["readout"],
    )

    def optimizer_state(prefix: str) -> dict:
        names = _param_names(skeleton, prefix)
        state = {}
        for index, name in enumerate(names):
            step = arrays[f"optimizer/{prefix}/{name}/step"]
            _require(
                step >= 0 and float(step).is_integer(),
                f"optimizer/{prefix}/{name}/step={float(step)} is not a step count.",
            )
            state[index] = {
                "step": torch.from_numpy(step.copy()),
                **{
                    key: torch.from_numpy(arrays[f"optimizer/{prefix}/{name}/{key}"])
                    for key in _ADAM_MOMENTS
                },
            }
        return {"state": state, "param_groups": [{"params": list(range(len(names)))}]}

    trainer = {
        "optimizers": [optimizer_state(prefix) for prefix in _optimizer_names(skeleton)],
        "running_means": [
            torch.from_numpy(arrays[f"running_mean/{i}"]) for i in range(len(skeleton.layers))
        ],
    }
    if skeleton.readout is not None:
        trainer["readout_optimizer"] = optimizer_state("readout")
    generator_state = torch.from_numpy(arrays["generator"])
    if generator_device == "cpu":
        try:
            torch.Generator().set_state(generator_state)
        except RuntimeError as exc:
            raise ModelFileError(f"the generator state is not valid: {exc}") from exc
    return {
        "trainer": trainer,
        "generator_device": generator_device,
        "generator": generator_state,
    }


def _decode_embedding(value) -> LabelEmbedding:
    _require(isinstance(value, dict), "'label_embedding' must be an object.")
    fields = ("encoding", "n_features", "n_classes", "label_value", "feature_scale")
    _require(set(value) == set(fields), f"label_embedding has fields {sorted(value)}.")
    _require(value["encoding"] in ENCODINGS, f"label_embedding.encoding={value['encoding']!r}.")
    for name in ("n_features", "n_classes"):
        _require(_is_int(value[name]) and value[name] >= 1, f"label_embedding.{name}.")
    label_value, scale = value["label_value"], value["feature_scale"]
    _require(
        _is_real(label_value) and 0 < label_value < MAX_LABEL_VALUE,
        f"label_embedding.label_value={label_value!r} must be a positive float below "
        f"2**60 (fit never makes it larger).",
    )
    _require(
        _is_real(scale) and 0 < scale < math.inf and math.frexp(scale)[0] == 0.5,
        f"label_embedding.feature_scale={scale!r} must be a power of two.",
    )
    try:
        return LabelEmbedding(**value)
    except ValueError as exc:
        raise ModelFileError(f"label_embedding: {exc}") from exc


# ----------------------------------------------------------------- digest
def _digest(metadata: dict, arrays: dict[str, np.ndarray]) -> str:
    """One SHA-256 over the JSON (without its digest, in a canonical form) and
    every array's name, dtype, shape and bytes, in name order."""
    canonical = {key: value for key, value in metadata.items() if key != "sha256"}
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode("utf-8"))
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"\0{name}\0{array.dtype.str}{array.shape}\0".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


# ------------------------------------------------------------- parameters
def _encode_param(name: str, value):
    """A parameter value as tagged JSON that decodes to the same type and value:
    plain scalars as they are, containers tagged (``{"tuple": [...]}``,
    ``{"list": [...]}``, ``{"dict": [[key, value], ...]}``, ``{"ndarray": ...}``,
    ``{"device": "cuda:0"}``). Numpy scalars become the Python scalar of the
    same value. Anything else is refused before anything is written."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple):
        return {"tuple": [_encode_param(name, item) for item in value]}
    if isinstance(value, list):
        return {"list": [_encode_param(name, item) for item in value]}
    if isinstance(value, dict):
        return {
            "dict": [[_encode_param(name, k), _encode_param(name, v)] for k, v in value.items()]
        }
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.ndim == 1:
        return {"ndarray": {"dtype": value.dtype.str, "values": value.tolist()}}
    if isinstance(value, torch.device):
        return {"device": str(value)}
    hint = ""
    if isinstance(value, np.random.RandomState):
        hint = (
            " A RandomState's state is not part of the model: set an int seed or None "
            "first, e.g. clf.set_params(random_state=0)."
        )
    raise TypeError(
        f"Cannot save parameter {name}={value!r}: ffsk.save writes None, bools, numbers, "
        f"strings, tuples, lists, dicts, 1-D numeric arrays and torch devices.{hint}"
    )


def _decode_params(params) -> dict:
    _require(isinstance(params, dict), "'params' must be an object.")
    return {str(name): _decode_param(name, value) for name, value in params.items()}


def _decode_param(name: str, value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    _require(isinstance(value, dict) and len(value) == 1, f"parameter {name!r} is malformed.")
    ((tag, content),) = value.items()
    if tag in ("tuple", "list") and isinstance(content, list):
        items = [_decode_param(name, item) for item in content]
        return tuple(items) if tag == "tuple" else items
    if tag == "dict" and isinstance(content, list):
        _require(
            all(isinstance(pair, list) and len(pair) == 2 for pair in content),
            f"parameter {name!r} is malformed.",
        )
        out = {}
        for key, item in content:
            key = _decode_param(name, key)
            _require(not isinstance(key, list | dict), f"parameter {name!r} has a bad key.")
            out[key] = _decode_param(name, item)
        return out
    if tag == "ndarray" and isinstance(content, dict):
        try:
            dtype = np.dtype(content["dtype"])
            _require(dtype.kind in "biuf", f"parameter {name!r} has dtype {dtype}.")
            return np.asarray(content["values"], dtype=dtype).reshape(-1)
        except (TypeError, ValueError, KeyError) as exc:
            raise ModelFileError(f"parameter {name!r} is malformed: {exc}") from exc
    if tag == "device" and isinstance(content, str):
        return torch.device(content) if _valid_device(content) else content
    raise ModelFileError(f"parameter {name!r} is malformed.")


def _valid_device(text: str) -> bool:
    try:
        torch.device(text)
    except (RuntimeError, TypeError):
        return False
    return True


# ----------------------------------------------------------------- classes
_CLASS_KINDS = {"i": int, "u": int, "f": float, "b": bool, "U": str, "O": str, "M": int, "m": int}


def _encode_classes(classes: np.ndarray) -> dict:
    kind = classes.dtype.kind
    if kind not in _CLASS_KINDS:
        raise TypeError(
            f"Cannot save classes_ of dtype {classes.dtype}: ffsk.save writes int, float, "
            "bool, str and datetime labels. Use pickle/joblib for other labels."
        )
    if kind in "Mm":
        return {"dtype": classes.dtype.str, "values": classes.view(np.int64).tolist()}
    values = classes.tolist()
    if kind == "U" and classes.dtype.itemsize > 4 * _string_width_bound(values):
        # Wider than load accepts (see _decode_classes): narrowed to the
        # longest label, which changes no value.
        classes = classes.astype(f"<U{max(len(value) for value in values)}")
    if kind == "O" and not all(isinstance(value, str) for value in values):
        raise TypeError(
            "Cannot save classes_ of types "
            f"{sorted({type(value).__name__ for value in values})}: ffsk.save writes "
            "str, int, float and bool labels. Use pickle/joblib for other labels."
        )
    return {"dtype": "object" if kind == "O" else classes.dtype.str, "values": values}


def _string_width_bound(values: list) -> int:
    """The widest string dtype (in characters) a file may declare for string
    labels ``values``: the longest label, or 64 when all are shorter."""
    return max([64, *(len(value) for value in values if isinstance(value, str))])


def _decode_classes(encoded) -> np.ndarray:
    _require(
        isinstance(encoded, dict)
        and set(encoded) == {"dtype", "values"}
        and isinstance(encoded["values"], list),
        "'classes' must be an object with a dtype and a list of values.",
    )
    try:
        dtype = np.dtype(object if encoded["dtype"] == "object" else encoded["dtype"])
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"classes dtype {encoded['dtype']!r:.50} is not valid.") from exc
    kind = dtype.kind
    _require(kind in _CLASS_KINDS, f"classes dtype {dtype} is not allowed.")
    values = encoded["values"]
    python_type = _CLASS_KINDS[kind]
    if kind == "U":
        # Each label takes the dtype's width whatever its length, so a
        # declared width far beyond the labels would allocate memory the
        # file does not hold.
        _require(
            dtype.itemsize <= 4 * _string_width_bound(values),
            f"classes dtype {dtype} declares labels far longer than its values.",
        )
    _require(
        all(
            isinstance(v, python_type)
            and (python_type is bool or not isinstance(v, bool))
            or (python_type is float and _is_int(v))
            for v in values
        ),
        f"classes values do not all fit dtype {dtype}.",
    )
    try:
        if kind in "Mm":
            classes = np.asarray(values, dtype=np.int64).view(dtype)
        else:
            classes = np.empty(len(values), dtype=dtype)
            classes[:] = values
    except (OverflowError, ValueError, TypeError) as exc:
        raise ModelFileError(f"classes values do not fit dtype {dtype}: {exc}") from exc
    if kind == "f":
        _require(bool(np.isfinite(classes).all()), "classes must be finite.")
    if kind in "iuUbf":
        _require(classes.tolist() == values, f"classes values do not fit dtype {dtype}.")
    return classes
