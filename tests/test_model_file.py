"""``ffsk.save`` / ``ffsk.load`` (never unpickles) and pickle's version check."""

import datetime
import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

import ffsk
from ffsk import ForwardForwardClassifier, ModelFileError

SMALL = dict(hidden_layer_sizes=(16, 8), epochs=5, random_state=0, device="cpu")


@pytest.fixture
def saved(blobs, tmp_path):
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL).fit(X, y)
    path = tmp_path / "model.ffsk"
    ffsk.save(clf, path)
    return clf, path


def _rewrite(path, change):
    """Rewrite a model file's members through ``change(members)``, as an
    attacker or a broken tool would, keeping a valid zip."""
    with np.load(path, allow_pickle=False) as archive:
        members = {name: archive[name] for name in archive.files}
    metadata = json.loads(members["ffsk.json"].tobytes())
    change(members, metadata)
    members["ffsk.json"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **members)
    path.write_bytes(buffer.getvalue())


@pytest.mark.parametrize(
    "labels",
    [
        np.array([3, 5, 9]),
        np.array(["cat", "dog", "a much longer label"]),
        np.array(["x", "y", "z"], dtype=object),
        np.array([1.0, 2.0, 4.0]),
    ],
    ids=["int", "str", "object-str", "float"],
)
def test_round_trip_predicts_bit_identically_and_keeps_label_dtype(blobs, tmp_path, labels):
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL, readout="softmax").fit(X, labels[y])
    ffsk.save(clf, tmp_path / "m.ffsk")
    loaded = ffsk.load(tmp_path / "m.ffsk")
    assert loaded.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.get_params() == clf.get_params()
    np.testing.assert_array_equal(loaded.loss_curve_, clf.loss_curve_)
    assert (loaded.n_iter_, loaded.precision_) == (clf.n_iter_, clf.precision_)


def test_bool_labels_and_feature_names_survive(blobs, tmp_path):
    X, y = blobs
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = ForwardForwardClassifier(**SMALL).fit(frame, y == 1)
    ffsk.save(clf, tmp_path / "m.ffsk")
    loaded = ffsk.load(tmp_path / "m.ffsk")
    assert loaded.classes_.dtype == bool
    np.testing.assert_array_equal(loaded.feature_names_in_, ["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame.rename(columns={"a": "z"}))
    np.testing.assert_array_equal(loaded.predict_proba(frame), clf.predict_proba(frame))


def test_training_resumes_exactly_after_loading(blobs, tmp_path):
    X, y = blobs
    params = {**SMALL, "negatives": "hard", "peer_normalization": 0.03}
    reference = ForwardForwardClassifier(**params).fit(X, y).partial_fit(X, y)
    clf = ForwardForwardClassifier(**params).fit(X, y)
    ffsk.save(clf, tmp_path / "m.ffsk")
    resumed = ffsk.load(tmp_path / "m.ffsk").partial_fit(X, y)
    np.testing.assert_array_equal(resumed.predict_proba(X), reference.predict_proba(X))


def test_a_model_saved_with_device_cuda_loads_on_a_cpu_only_machine(saved, monkeypatch):
    clf, path = saved
    _rewrite(path, lambda members, metadata: metadata["params"].update(device="cuda"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="using the CPU"):
        loaded = ffsk.load(path)
    assert loaded.device_ == torch.device("cpu") and loaded.device == "cuda"
    X = np.random.RandomState(1).randn(7, 4)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert ffsk.load(path, device="cpu").device == "cpu"


def test_changed_weights_are_detected(saved):
    _, path = saved

    def change(members, metadata):
        members["network/input_layer.bias"] = members["network/input_layer.bias"] + 1.0

    _rewrite(path, change)
    with pytest.raises(ModelFileError, match="does not match its SHA-256 digest"):
        ffsk.load(path)


def test_a_missing_array_is_detected(saved):
    _, path = saved
    _rewrite(path, lambda members, metadata: members.pop("loss_curve"))
    with pytest.raises(ModelFileError, match="missing or unexpected"):
        ffsk.load(path)


def test_truncated_and_foreign_files_raise_model_file_error(saved, tmp_path):
    _, path = saved
    data = path.read_bytes()
    truncated = tmp_path / "truncated.ffsk"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="not a readable ffsk model file"):
        ffsk.load(truncated)
    flipped = tmp_path / "flipped.ffsk"
    flipped.write_bytes(data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:])
    with pytest.raises(ModelFileError):
        ffsk.load(flipped)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ModelFileError):
        ffsk.load(text)
    other_npz = tmp_path / "other.npz"
    np.savez(other_npz, x=np.arange(3))
    with pytest.raises(ModelFileError, match="has no ffsk.json"):
        ffsk.load(other_npz)
    with pytest.raises(FileNotFoundError):
        ffsk.load(tmp_path / "absent.ffsk")


class _Payload:
    """Unpickling this would run code: it must never happen."""

    ran = False

    def __reduce__(self):
        return (setattr, (_Payload, "ran", True))


def test_a_pickle_hidden_in_the_file_is_never_executed(saved):
    _, path = saved
    with zipfile.ZipFile(path, "a") as archive:
        buffer = io.BytesIO()
        np.save(buffer, np.array([_Payload()], dtype=object), allow_pickle=True)
        archive.writestr("loss_curve_extra.npy", buffer.getvalue())
    with pytest.raises(ModelFileError):
        ffsk.load(path)
    assert _Payload.ran is False


def test_a_newer_format_is_refused_and_an_older_ffsk_version_loads(saved):
    clf, path = saved

    def older(members, metadata):
        metadata["versions"]["ffsk"] = "0.0.1"

    _rewrite(path, older)
    assert ffsk.load(path).n_iter_ == clf.n_iter_

    def newer(members, metadata):
        metadata["format_version"] = 99
        metadata["versions"]["ffsk"] = "9.0"

    _rewrite(path, newer)
    with pytest.raises(ModelFileError, match="ffsk 9.0 in model file format 99.*Upgrade ffsk"):
        ffsk.load(path)


def test_saving_needs_a_fitted_model_and_plain_labels(blobs, tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ffsk.save(ForwardForwardClassifier(), tmp_path / "m.ffsk")
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL).fit(X, y)
    # scikit-learn only accepts str objects as object labels; labels of other
    # types can still be set by hand, and must not be written half-way.
    clf.classes_ = np.array([datetime.date(2020, 1, day) for day in (1, 2, 3)], dtype=object)
    with pytest.raises(TypeError, match="Cannot save classes_ of types \\['date'\\]"):
        ffsk.save(clf, tmp_path / "m.ffsk")
    assert not (tmp_path / "m.ffsk").exists()


def test_save_refuses_what_is_not_a_forward_forward_classifier(blobs, tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = blobs
    pipeline = make_pipeline(
        StandardScaler(), ForwardForwardClassifier(hidden_layer_sizes=(4,), epochs=1)
    ).fit(X, y)
    with pytest.raises(TypeError, match="not a Pipeline.*joblib.dump"):
        ffsk.save(pipeline, tmp_path / "pipe.ffsk")
    assert not (tmp_path / "pipe.ffsk").exists()


def test_a_bad_device_argument_is_blamed_not_the_file(saved):
    _, path = saved
    with pytest.raises(ValueError, match="device='garbage' is not a valid torch device") as info:
        ffsk.load(path, device="garbage")
    assert not isinstance(info.value, ffsk.ModelFileError)


def test_a_failed_save_keeps_the_previous_file_and_leaves_no_temporary_file(
    saved, tmp_path, monkeypatch
):
    import os

    clf, path = saved
    old = path.read_bytes()
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, handle, mode):
            self.file = real_fdopen(handle, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, data):
            self.file.write(data[: len(data) // 2])  # half is written, then the disk is full
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdopen", FullDisk)
    with pytest.raises(OSError, match="No space left"):
        ffsk.save(clf, path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    ffsk.load(path)  # still a valid model


def test_a_save_under_a_file_size_limit_keeps_the_previous_file(saved):
    import subprocess
    import sys

    clf, path = saved
    old = path.read_bytes()
    bigger = ForwardForwardClassifier(hidden_layer_sizes=(400, 400), epochs=1, random_state=0)
    X = np.random.RandomState(0).rand(30, 4)
    bigger_path = path.parent / "bigger.ffsk"
    ffsk.save(bigger.fit(X, np.arange(30) % 3), bigger_path)
    limit = len(old) + 1000  # enough for the old model, not for the bigger one
    code = (
        "import resource, signal, sys, ffsk\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
        f"model = ffsk.load({str(bigger_path)!r})\n"
        "try:\n"
        f"    ffsk.save(model, {str(path)!r})\n"
        "except OSError as exc:\n"
        "    print('refused', exc.errno)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "refused" in result.stdout, result.stderr
    assert path.read_bytes() == old
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, "bigger.ffsk"])
