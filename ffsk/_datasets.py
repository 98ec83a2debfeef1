"""The data sets the demo and benchmarks use.

``load_digits_split`` is the embedded default (scikit-learn's bundled 8x8
digits); ``load_keras_npz`` reads any Keras-format ``.npz`` of images
(``x_train``, ``y_train``, ``x_test``, ``y_test``), e.g. MNIST.
"""

from __future__ import annotations

import pickle
import zipfile
import zlib
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

_KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _not_keras_npz(path: Path, reason: str) -> ValueError:
    return ValueError(
        f"{path} is not a Keras-format .npz file (a NumPy zip archive with "
        f"{', '.join(_KERAS_KEYS)}): {reason}"
    )


def _unreadable_reason(path: Path, error: Exception) -> str:
    """Why ``np.load`` could not read ``path``, in words (not NumPy's pickle hint)."""
    with open(path, "rb") as file:
        start = file.read(4)
    if not start:
        return "the file is empty."
    if start.startswith(b"PK"):
        return f"its zip archive cannot be read ({error})."
    return "NumPy cannot read it: it is neither a zip archive nor a .npy array file."


def load_digits_split(random_state: int = 0):
    """Digits with pixels scaled to [0, 1], split 75/25 (stratification-free,
    as in the project's accuracy tests). Returns X_train, X_test, y_train, y_test."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=random_state)


def load_keras_npz(path: str | Path):
    """Load a Keras-format ``.npz`` and flatten its images to float32 rows.

    Integer pixels are divided by 255 (so values lie in [0, 1]); float pixels
    are kept as they are. Returns X_train, X_test, y_train, y_test.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not an ``.npz`` archive NumPy can read (e.g. a text file
        or a single-array ``.npy`` file), if the archive lacks one of the four
        arrays or cannot read them without unpickling, or if their lengths
        disagree.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such data file: {path}")
    try:
        archive = np.load(path, allow_pickle=False)
    except PermissionError:
        raise
    except (
        ValueError,
        OSError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
        pickle.UnpicklingError,
    ) as error:
        raise _not_keras_npz(path, _unreadable_reason(path, error)) from error
    if isinstance(archive, np.ndarray):
        raise _not_keras_npz(
            path, f"it holds a single array of shape {archive.shape} (a .npy file)."
        )
    with archive:
        missing = [key for key in _KERAS_KEYS if key not in archive.files]
        if missing:
            raise ValueError(
                f"{path} is not a Keras-format npz: it lacks {', '.join(missing)} "
                f"(expected {', '.join(_KERAS_KEYS)})."
            )
        arrays = {}
        for key in _KERAS_KEYS:
            try:
                arrays[key] = archive[key]
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
                raise _not_keras_npz(path, f"its array {key} cannot be read ({error}).") from error
    splits = []
    for x_key, y_key in (("x_train", "y_train"), ("x_test", "y_test")):
        images, labels = arrays[x_key], arrays[y_key].reshape(-1)
        if images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"{path}: {x_key} has {images.shape[0]} rows but {y_key} has {labels.shape[0]}."
            )
        rows = images.reshape(images.shape[0], -1)
        if np.issubdtype(rows.dtype, np.integer):
            rows = rows.astype(np.float32) / np.float32(255.0)
        splits.append((rows.astype(np.float32, copy=False), labels))
    (X_train, y_train), (X_test, y_test) = splits
    return X_train, X_test, y_train, y_test


ADULT_COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
)
ADULT_NUMERIC = ("age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week")


def load_adult(directory: str | Path):
    """UCI Adult from its original files (``adult.data``, ``adult.test``) in
    ``directory``, as pandas frames with ``"?"`` read as missing. Returns
    X_train, X_test, y_train, y_test; ``y`` is ``">50K"`` or ``"<=50K"`` (the
    test file's trailing dots removed). Needs pandas."""
    import pandas as pd

    directory = Path(directory)
    frames = []
    for name, skip in (("adult.data", 0), ("adult.test", 1)):
        path = directory / name
        if not path.is_file():
            raise FileNotFoundError(f"No such data file: {path}")
        frame = pd.read_csv(
            path,
            header=None,
            names=[*ADULT_COLUMNS, "income"],
            skiprows=skip,
            sep=r",\s*",
            engine="python",
            na_values="?",
        ).dropna(subset=["income"])
        frames.append(frame)
    splits = []
    for frame in frames:
        y = frame.pop("income").str.rstrip(".").to_numpy()
        for column in ADULT_NUMERIC:
            frame[column] = frame[column].astype(float)
        splits.append((frame.reset_index(drop=True), y))
    (X_train, y_train), (X_test, y_test) = splits
    return X_train, X_test, y_train, y_test


def load_pendigits(directory: str | Path):
    """UCI Pen-Based Digits from ``pendigits.tra`` and ``pendigits.tes`` in
    ``directory``: 16 integer features in 0..100, scaled to [0, 1]. Returns
    X_train, X_test, y_train, y_test."""
    directory = Path(directory)
    splits = []
    for name in ("pendigits.tra", "pendigits.tes"):
        path = directory / name
        if not path.is_file():
            raise FileNotFoundError(f"No such data file: {path}")
        table = np.loadtxt(path, delimiter=",", skiprows=1)
        splits.append((table[:, :-1] / 100.0, table[:, -1].astype(int)))
    (X_train, y_train), (X_test, y_test) = splits
    return X_train, X_test, y_train, y_test
