"""Device resolution, tested on the CPU with CUDA's availability simulated."""

import pytest
import torch

from ffsk._devices import resolve_device


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
    with pytest.raises(ValueError, match="device="):
        resolve_device(bad)
