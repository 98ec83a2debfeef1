"""Choosing the torch device an estimator computes on."""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator

import torch


def _device_problem(device: str | torch.device) -> tuple[torch.device | None, str | None]:
    """``device`` as a ``torch.device`` and why it cannot be used here (None
    when it can); the device is None when ``device`` is not one at all."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        return None, "it is not a valid torch device"
    if resolved.type == "cpu":
        return resolved, None
    if resolved.type != "cuda":
        return resolved, "ffsk supports only 'auto', 'cpu', 'cuda' and 'cuda:N'"
    if not torch.cuda.is_available():
        return resolved, "CUDA is not available on this machine"
    if resolved.index is not None and resolved.index >= torch.cuda.device_count():
        return resolved, f"this machine has only {torch.cuda.device_count()} CUDA device(s)"
    return resolved, None


def resolve_device(device: str | torch.device, *, fall_back_to_cpu: bool = False) -> torch.device:
    """Turn the estimator's ``device`` parameter into a usable ``torch.device``.

    ``"auto"`` picks CUDA when it is available and the CPU otherwise. A
    device that cannot be used here (not a device, not one ffsk supports, or
    a CUDA device this machine lacks) raises a ``ValueError``, unless
    ``fall_back_to_cpu`` (used when unpickling: a model fitted on a GPU read
    on a machine without one, or ``device`` changed by ``set_params`` after
    the fit), in which case the CPU is used with a warning.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved, problem = _device_problem(device)
    if problem is None:
        return resolved
    if fall_back_to_cpu:
        warnings.warn(
            f"The estimator's device={device!r} cannot be used: {problem}; using the CPU.",
            UserWarning,
            stacklevel=3,
        )
        return torch.device("cpu")
    raise ValueError(f"device={device!r} was requested, but {problem}. Use device='cpu' or 'auto'.")


def may_use_cuda(device: object) -> bool:
    """Whether the ``device`` parameter would put the model on a GPU here."""
    if isinstance(device, str) and device == "auto":
        return torch.cuda.is_available()
    try:
        return torch.device(device).type == "cuda"
    except (RuntimeError, TypeError):
        return False


@contextlib.contextmanager
def matmul_precision(device: torch.device) -> Iterator[None]:
    """Allow TensorFloat-32 matrix products on CUDA while ffsk computes, and
    restore the user's global setting afterwards. (TF32 keeps float32's range
    with a 10-bit mantissa in the products, several times faster on Ampere
    and newer GPUs; Forward-Forward's local losses do not need more.)"""
    if device.type != "cuda":
        yield
        return
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous


@functools.cache
def _cpu_has_bfloat16_units() -> bool:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = cpuinfo.read()
    except OSError:  # not Linux: assume no native bfloat16
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> str:
    """Turn ``precision="auto"`` into ``"bfloat16"`` or ``"float32"``.

    ``"auto"`` picks bfloat16 products on CPUs with native bfloat16 units
    (AVX512-BF16 or AMX), where they are faster than float32 with the same
    accuracy (figures in docs/benchmarks.md), and float32 elsewhere,
    including CUDA, where TF32 products are used and bfloat16 has not been
    measured yet.
    """
    if precision != "auto":
        return precision
    if device.type == "cpu" and _cpu_has_bfloat16_units():
        return "bfloat16"
    return "float32"


def compute_dtype(precision: str) -> torch.dtype | None:
    """The dtype of the matrix products for a resolved ``precision`` (None:
    float32, the tensors' own dtype)."""
    return torch.bfloat16 if precision == "bfloat16" else None
