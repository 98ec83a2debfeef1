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
from ffsk._model_file import _digest

SMALL = dict(hidden_layer_sizes=(16, 8), epochs=5, random_state=0, device="cpu")


@pytest.fixture
def saved(blobs, tmp_path):
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL).fit(X, y)
    path = tmp_path / "model.ffsk"
    ffsk.save(clf, path)
    return clf, path


def _rewrite(path, change, redigest=False):
    """Rewrite a model file through ``change(arrays, metadata)``, as a broken
    tool would (``redigest=False``: the digest no longer matches) or as an
    attacker would (``redigest=True``: the digest is recomputed), keeping a
    valid zip."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    metadata = json.loads(arrays.pop("ffsk.json").tobytes())
    change(arrays, metadata)
    if redigest:
        metadata["sha256"] = _digest(metadata, arrays)
    buffer = io.BytesIO()
    json_bytes = json.dumps(metadata).encode()
    np.savez(buffer, **{"ffsk.json": np.frombuffer(json_bytes, dtype=np.uint8)}, **arrays)
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
    _rewrite(path, lambda members, metadata: metadata["params"].update(device="cuda"), True)
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
    with pytest.raises(ModelFileError, match="SHA-256 digest does not match"):
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

    _rewrite(path, older, redigest=True)
    assert ffsk.load(path).n_iter_ == clf.n_iter_

    def newer(members, metadata):
        metadata["format_version"] = 99
        metadata["versions"]["ffsk"] = "9.0"

    _rewrite(path, newer, redigest=True)
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
    with pytest.raises(
        ValueError, match="device='garbage' was requested, but it is not a valid torch device"
    ) as info:
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


# ------------------------------------------------- hostile files (issue 11)
def _set(path_in_metadata, value):
    def change(arrays, metadata):
        *parents, last = path_in_metadata
        target = metadata
        for key in parents:
            target = target[key]
        target[last] = value

    return change


def _classes_reversed(arrays, metadata):
    metadata["classes"]["values"] = metadata["classes"]["values"][::-1]


ATTACKS = {
    # name: (change, redigest, what the error must say)
    "optimiser moment of the wrong shape": (
        lambda a, m: a.update({"optimizer/0/bias/exp_avg": np.zeros(3, dtype=np.float32)}),
        True,
        r"'optimizer/0/bias/exp_avg' has shape \(3,\), but the declared architecture needs",
    ),
    "step of the wrong dtype": (
        lambda a, m: a.update({"optimizer/1/bias/step": np.array(5.0)}),
        True,
        "has dtype float64, expected float32",
    ),
    "n_features_in not matching the weights": (
        _set(("n_features_in",), 9),
        True,
        "label_embedding.n_features=4, but n_features_in=9",
    ),
    "classes shorter than the network's outputs": (
        lambda a, m: m["classes"].update(values=m["classes"]["values"][:2]),
        True,
        "classes_ has 2 labels, but the network has 3 outputs",
    ),
    "classes swapped": (_classes_reversed, True, "sorted and unique"),
    "label_value NaN": (
        _set(("label_embedding", "label_value"), float("nan")),
        True,
        "label_value=nan must be a positive float below",
    ),
    "feature_scale 0": (
        _set(("label_embedding", "feature_scale"), 0.0),
        True,
        "feature_scale=0.0 must be a power of two",
    ),
    "label embedding with another class count": (
        _set(("label_embedding", "n_classes"), 4),
        True,
        "label_embedding.n_classes=4, but the network has 3",
    ),
    "NaN weights": (
        lambda a, m: a["network/hidden_layers.0.weight"].__setitem__((0, 0), np.nan),
        True,
        "'network/hidden_layers.0.weight' holds NaN or infinite values",
    ),
    "infinite optimiser moment": (
        lambda a, m: a["optimizer/0/feature_weight/exp_avg_sq"].__setitem__((0, 0), np.inf),
        True,
        "holds NaN or infinite values",
    ),
    "a parameter out of its range": (
        _set(("params", "learning_rate"), -1.0),
        True,
        "invalid parameters: The 'learning_rate' parameter",
    ),
    "a parameter that does not match the network": (
        lambda a, m: m["params"].update(hidden_layer_sizes={"tuple": [16, 9]}),
        True,
        r"hidden_layer_sizes=\(16, 9\) does not match the network's \[16, 8\]",
    ),
    "an unknown parameter": (
        _set(("params", "alpha"), 1e-4),
        True,
        "invalid parameters: .*alpha",
    ),
    "a huge declared architecture": (
        _set(("network", "hidden_layer_sizes"), [10**6, 10**7]),
        True,
        "its architecture needs .* more than the file's",
    ),
    "a non-integer step count": (
        lambda a, m: a.update({"optimizer/0/bias/step": np.array(2.5, dtype=np.float32)}),
        True,
        "is not a step count",
    ),
    "a loss curve shorter than n_iter": (
        lambda a, m: a.update(loss_curve=a["loss_curve"][:2]),
        True,
        r"'loss_curve' has shape \(2, 2\)",
    ),
    "validation scores without their best": (
        _set(("validation_scores",), [0.5]),
        True,
        "validation_scores and best_validation_score",
    ),
    "string labels declaring a huge width": (
        lambda a, m: m["classes"].update(dtype="<U5000000", values=["a", "b", "c"]),
        True,
        "declares labels far longer than its values",
    ),
    "a label value fit never makes": (
        _set(("label_embedding", "label_value"), 3e38),
        True,
        r"label_value=3e\+38 must be a positive float below 2\*\*60",
    ),
    "huge finite weights": (
        lambda a, m: a["network/hidden_layers.0.weight"].__setitem__((0, 0), 1e30),
        True,
        r"'network/hidden_layers.0.weight' holds values beyond ±2\*\*32",
    ),
    "edited JSON, digest left as it was": (
        _set(("versions", "torch"), "0.0"),
        False,
        "digest does not",
    ),
    "edited loss curve, digest left as it was": (
        lambda a, m: a["loss_curve"].__setitem__((0, 0), 0.0),
        False,
        "digest does not",
    ),
    "edited optimiser state, digest left as it was": (
        lambda a, m: a["optimizer/1/weight/exp_avg"].__setitem__((0, 0), 1.0),
        False,
        "digest does not",
    ),
    "edited generator state, digest left as it was": (
        lambda a, m: a["generator"].__setitem__(0, a["generator"][0] ^ 1),
        False,
        "digest does not",
    ),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_hostile_or_inconsistent_file_is_refused_before_anything_is_built(saved, attack):
    _, path = saved
    change, redigest, message = ATTACKS[attack]
    _rewrite(path, change, redigest=redigest)
    with pytest.raises(ModelFileError, match=message):
        ffsk.load(path)


def _peak_rss_mib():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_tiny_file_declaring_a_huge_member_is_refused_without_allocating(tmp_path):
    """338 bytes that declare a 10**13-float array: refused from the header."""
    import struct

    path = tmp_path / "tiny.ffsk"
    header = b"{'descr': '|u1', 'fortran_order': False, 'shape': (10000000000000,), }"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header) + 1) + header + b"\n"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ffsk.json.npy", npy)
    before = _peak_rss_mib()
    assert path.stat().st_size < 400
    with pytest.raises(ModelFileError, match=r"'ffsk.json' has shape \(10000000000000,\)"):
        ffsk.load(path)
    assert _peak_rss_mib() - before < 50


def test_a_decompression_bomb_is_refused_before_it_is_inflated(saved, tmp_path):
    _, path = saved
    bomb = tmp_path / "bomb.ffsk"
    bomb.write_bytes(path.read_bytes())
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as target:
        with target.open("extra.npy", "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(300):  # 300 MiB of zeros, a few hundred KiB compressed
                member.write(chunk)
    assert bomb.stat().st_size < 5 << 20
    before = _peak_rss_mib()
    with pytest.raises(ModelFileError, match="'extra.npy' is compressed"):
        ffsk.load(bomb)
    assert _peak_rss_mib() - before < 50


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 200_000 + b"]" * 200_000,
        b'{"magic": "ffsk-model", "format_version": ' + b"9" * 5000 + b"}",
        b"\xff\xfe not utf-8",
    ],
    ids=["200k-deep JSON", "5000-digit integer", "not UTF-8"],
)
def test_malformed_json_is_a_model_file_error(tmp_path, content):
    path = tmp_path / "bad.ffsk"
    np.savez(open(path, "wb"), **{"ffsk.json": np.frombuffer(content, dtype=np.uint8)})
    with pytest.raises(ModelFileError, match="is not valid JSON"):
        ffsk.load(path)


def test_a_npy_file_is_a_model_file_error(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.arange(10))
    with pytest.raises(ModelFileError, match="not a readable ffsk model file"):
        ffsk.load(path)


def test_a_format_1_file_is_refused_with_what_to_do(saved):
    _, path = saved
    _rewrite(path, _set(("format_version",), 1), redigest=True)
    with pytest.raises(ModelFileError, match="format 1, which this ffsk .* no longer reads"):
        ffsk.load(path)


# --------------------------------------- parameters round-trip (issue 11)
def test_parameters_round_trip_with_their_types(blobs, tmp_path):
    X, y = blobs
    clf = ForwardForwardClassifier(
        hidden_layer_sizes=[np.int64(8), np.int64(4)],
        class_weight={np.int64(0): 5.0, 1: np.float64(1.0), 2: 0.2},
        epochs=3,
        n_iter_no_change=np.inf,
        device=torch.device("cpu"),
        random_state=np.int32(3),
    ).fit(X, y)
    ffsk.save(clf, tmp_path / "m.ffsk")
    loaded = ffsk.load(tmp_path / "m.ffsk")
    params = loaded.get_params()
    assert params["hidden_layer_sizes"] == [8, 4]
    assert isinstance(params["hidden_layer_sizes"], list)
    assert params["class_weight"] == {0: 5.0, 1: 1.0, 2: 0.2}
    assert all(type(key) is int for key in params["class_weight"])
    assert params["n_iter_no_change"] == np.inf
    assert params["device"] == torch.device("cpu") and params["random_state"] == 3
    # the loaded model can go on training and be refitted
    loaded.partial_fit(X, y)
    loaded.set_params(warm_start=True).fit(X, y)
    ForwardForwardClassifier(**params).fit(X, y)


def test_datetime_labels_round_trip(blobs, tmp_path):
    X, y = blobs
    labels = np.array(["2024-01-01", "2024-06-01", "2025-01-01"], dtype="datetime64[ns]")[y]
    clf = ForwardForwardClassifier(**SMALL).fit(X, labels)
    ffsk.save(clf, tmp_path / "m.ffsk")
    loaded = ffsk.load(tmp_path / "m.ffsk")
    assert loaded.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))


def test_a_random_state_instance_is_refused_up_front(blobs, tmp_path):
    X, y = blobs
    clf = ForwardForwardClassifier(**{**SMALL, "random_state": np.random.RandomState(0)})
    clf.fit(X, y)
    with pytest.raises(TypeError, match="random_state=RandomState.*set an int seed"):
        ffsk.save(clf, tmp_path / "m.ffsk")
    assert not list(tmp_path.iterdir())


def test_an_encrypted_member_is_a_model_file_error(saved):
    """zipfile raises RuntimeError for an encrypted member; load must name
    the file's problem as for any other bad file."""
    _, path = saved
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x01  # the general-purpose flag's "encrypted" bit
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="encrypted"):
        ffsk.load(path)


def test_save_refuses_parameters_that_no_longer_describe_the_model(blobs, tmp_path):
    """A file load would refuse is never written: set_params after fit made
    hidden_layer_sizes disagree with the fitted network."""
    X, y = blobs
    clf = ForwardForwardClassifier(**SMALL).fit(X, y)
    path = tmp_path / "m.ffsk"
    ffsk.save(clf, path)
    before = path.read_bytes()
    clf.set_params(hidden_layer_sizes=(32,))
    with pytest.raises(ValueError, match="hidden_layer_sizes.*set it back or refit"):
        ffsk.save(clf, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.ffsk"]
    clf.set_params(hidden_layer_sizes=(16, 8))
    ffsk.save(clf, path)  # consistent again


def test_string_labels_of_a_wide_dtype_are_saved_narrowed(blobs, tmp_path):
    """Labels of a dtype far wider than they are (as read from some files)
    are written at their own width, which load accepts; no value changes."""
    X, y = blobs
    labels = np.array(["a", "bb", "ccc"], dtype="<U500")[y]
    clf = ForwardForwardClassifier(**SMALL).fit(X, labels)
    assert clf.classes_.dtype == np.dtype("<U500")
    ffsk.save(clf, tmp_path / "m.ffsk")
    loaded = ffsk.load(tmp_path / "m.ffsk")
    assert loaded.classes_.dtype == np.dtype("<U3")
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
