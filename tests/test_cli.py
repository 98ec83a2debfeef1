"""The ``ffsk demo`` main job and the data loaders behind it."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ffsk._classifier import auto_hidden_layer_sizes
from ffsk._cli import main
from ffsk._datasets import load_digits_split, load_keras_npz

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist.npz"


def _write_keras_npz(path, n_train=300, n_test=100, seed=0):
    """Tiny 28x28 'images' whose class is written in a bright block."""
    rng = np.random.RandomState(seed)

    def images(n):
        y = rng.randint(0, 10, size=n).astype(np.uint8)
        x = rng.randint(0, 60, size=(n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(y):
            x[i, 2 * label : 2 * label + 3, 10:20] = 255
        return x, y

    x_train, y_train = images(n_train)
    x_test, y_test = images(n_test)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def test_demo_on_embedded_digits_prints_progress_and_figures(capsys):
    assert main(["demo", "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert "scikit-learn digits" in out
    assert "Epoch 1/3" in out and "Epoch 3/3" in out
    accuracy = float(out.split("Test accuracy: ")[1].split()[0])
    assert 0.5 < accuracy <= 1.0
    assert "Fit time:" in out and "Predict time:" in out


def test_demo_on_a_keras_npz(tmp_path, capsys):
    path = tmp_path / "tiny.npz"
    _write_keras_npz(path)
    assert main(["demo", "--data", str(path), "--epochs", "30"]) == 0
    out = capsys.readouterr().out
    assert "300 training and 100 test rows, 784 features" in out
    assert float(out.split("Test accuracy: ")[1].split()[0]) > 0.8


def test_demo_reports_a_missing_file_clearly(tmp_path, capsys):
    assert main(["demo", "--data", str(tmp_path / "nope.npz")]) == 2
    assert "No such data file" in capsys.readouterr().err


def test_keras_loader_scales_pixels_and_rejects_other_archives(tmp_path):
    path = tmp_path / "tiny.npz"
    _write_keras_npz(path, n_train=20, n_test=5)
    X_train, X_test, y_train, y_test = load_keras_npz(path)
    assert X_train.shape == (20, 784) and X_test.shape == (5, 784)
    assert X_train.dtype == np.float32 and X_train.max() == 1.0 and X_train.min() >= 0.0
    assert y_train.shape == (20,)
    bad = tmp_path / "bad.npz"
    np.savez(bad, x_train=np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="lacks y_train, x_test, y_test"):
        load_keras_npz(bad)


def test_python_dash_m_runs_the_demo():
    result = subprocess.run(
        [sys.executable, "-m", "ffsk", "demo", "--epochs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Test accuracy:" in result.stdout


def _run_python(code):
    """Run ``code`` in a fresh interpreter from the repository root; return its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"]])
def test_help_does_not_import_torch(argv):
    code = (
        "import sys\n"
        "from ffsk._cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('torch imported:', 'torch' in sys.modules)\n"
    )
    out = _run_python(code)
    assert "usage: ffsk" in out
    assert "torch imported: False" in out


def test_help_is_plain_text_and_states_the_demo_cost(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    top = capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    demo = " ".join(capsys.readouterr().out.split())  # undo argparse's line wrapping
    assert "``" not in top and "``" not in demo
    assert "Forward-Forward" in top and "demo" in top
    # What the default run costs: the estimator's defaults on the digits split.
    X_train, X_test, _, _ = load_digits_split()
    assert auto_hidden_layer_sizes(len(X_train)) == (200,)
    assert auto_hidden_layer_sizes(60_000) == (500, 500)
    assert "at most 100 epochs" in demo and "one layer of 200 units" in demo
    assert "two layers of 500" in demo
    assert f"{len(X_train):,} training and {len(X_test)} test rows" in demo
    assert "--epochs N" in demo


def test_python_dash_m_help_exits_cleanly():
    result = subprocess.run(
        [sys.executable, "-m", "ffsk", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: ffsk" in result.stdout and "``" not in result.stdout


def test_importing_the_package_is_lazy_and_exports_the_public_names():
    code = (
        "import sys\n"
        "import ffsk\n"
        "print('torch after import:', 'torch' in sys.modules)\n"
        "assert set(ffsk.__all__) <= set(dir(ffsk)), sorted(set(ffsk.__all__) - set(dir(ffsk)))\n"
        "assert 'LabelEmbedding' not in ffsk.__all__ and not hasattr(ffsk, 'LabelEmbedding')\n"
        "from ffsk import ForwardForwardClassifier, load, save\n"
        "assert ForwardForwardClassifier.__name__ == 'ForwardForwardClassifier'\n"
        "for name in ffsk.__all__:\n"
        "    getattr(ffsk, name)\n"
        "print('all names resolve')\n"
    )
    out = _run_python(code)
    assert "torch after import: False" in out
    assert "all names resolve" in out


def test_demo_rejects_a_text_file_clearly(tmp_path, capsys):
    path = tmp_path / "README.md"
    path.write_text("# A project\n\nSome text, not an archive.\n")
    assert main(["demo", "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert "is not a Keras-format .npz" in err
    assert "allow_pickle" not in err and "Traceback" not in err


def test_demo_rejects_a_npy_file_clearly(tmp_path, capsys):
    path = tmp_path / "images.npy"
    np.save(path, np.zeros((3, 28, 28), dtype=np.uint8))
    assert main(["demo", "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert "is not a Keras-format .npz" in err and "(3, 28, 28)" in err


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 a damaged zip archive"])
def test_keras_loader_rejects_empty_and_damaged_files(tmp_path, content):
    path = tmp_path / "data.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="is not a Keras-format .npz"):
        load_keras_npz(path)


@pytest.mark.skipif(not MNIST.is_file(), reason="MNIST is not at ../shared/data/mnist.npz")
def test_mnist_loads_in_keras_layout():
    X_train, X_test, y_train, y_test = load_keras_npz(MNIST)
    assert X_train.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert np.bincount(y_test).tolist()[:3] == [980, 1135, 1032]
