"""Device resolution, tested on the CPU with CUDA's availability simulated."""

import pytest
import torch
from joblib import Parallel, delayed

from ffsk._devices import compute_dtype, matmul_precision, resolve_device


def test_auto_picks_cuda_only_when_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")


def test_explicit_devices_are_accepted(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device(torch.device("cuda", 0)) == torch.device("cuda", 0)


def test_missing_cuda_device_index_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match="only 1 CUDA device"):
        resolve_device("cuda:1")


def test_cuda_without_cuda_raises_or_falls_back(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.warns(UserWarning, match="using the CPU"):
        assert resolve_device("cuda", fall_back_to_cpu=True) == torch.device("cpu")


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "meta"])
def test_unknown_devices_are_refused(bad):
    with pytest.raises(ValueError, match=f"device='{bad}' was requested, but"):
        resolve_device(bad)


@pytest.mark.parametrize("bad", ["gpu", "meta"])
def test_unknown_devices_fall_back_to_the_cpu_when_asked(bad):
    with pytest.warns(UserWarning, match=f"device='{bad}' cannot be used.*using the CPU"):
        assert resolve_device(bad, fall_back_to_cpu=True) == torch.device("cpu")


def _torch_threads_in_worker():
    import torch

    return torch.get_num_threads()


def test_torch_follows_joblib_worker_thread_limits():
    """Under n_jobs=2, loky tells each worker to use cpu_count // 2 threads,
    so GridSearchCV(n_jobs=...) does not oversubscribe the cores."""
    import os

    threads = Parallel(n_jobs=2, backend="loky")(
        delayed(_torch_threads_in_worker)() for _ in range(2)
    )
    limit = max(1, (os.cpu_count() or 1) // 2)
    assert all(t <= limit for t in threads), threads


def test_tf32_is_allowed_only_inside_ffsk_calls_on_cuda():
    flag = torch.backends.cuda.matmul
    before = flag.allow_tf32
    flag.allow_tf32 = False
    try:
        with matmul_precision(torch.device("cuda")):
            assert flag.allow_tf32
        assert flag.allow_tf32 is False
        with matmul_precision(torch.device("cpu")):
            assert flag.allow_tf32 is False
    finally:
        flag.allow_tf32 = before


def test_auto_precision_is_bfloat16_only_on_cpus_with_bfloat16_units(monkeypatch):
    import ffsk._devices as devices

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(devices, "_cpu_has_bfloat16_units", lambda: True)
    assert devices.resolve_precision("auto", cpu) == "bfloat16"
    assert devices.resolve_precision("auto", cuda) == "float32"
    assert devices.resolve_precision("float32", cpu) == "float32"
    monkeypatch.setattr(devices, "_cpu_has_bfloat16_units", lambda: False)
    assert devices.resolve_precision("auto", cpu) == "float32"
    assert devices.resolve_precision("bfloat16", cpu) == "bfloat16"


def test_compute_dtype_follows_the_resolved_precision():
    assert compute_dtype("bfloat16") is torch.bfloat16
    assert compute_dtype("float32") is None
