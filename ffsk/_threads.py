"""How many CPU threads torch uses while ffsk computes.

Forward-Forward's products are small (mini-batches of 50 to 100 rows), and
small OpenMP products lose badly to thread synchronisation when a core is
taken by another process: on 2 cores beside one CPU-bound process, 2 threads
made an epoch 2.6x slower than 1 thread (docs/benchmarks.md). So with
``n_threads="auto"`` ffsk uses as many threads as there are cores that other
processes leave idle, up to the number torch would use anyway (which follows
``OMP_NUM_THREADS``, ``torch.set_num_threads`` and joblib's worker limits).
The idle cores are measured from the kernel's CPU counters over the last
epoch (Linux) or read from the load average (elsewhere on Unix), and decided
again before every epoch. The user's torch setting is restored after every
call.

Work too small to share is done on one thread whatever the load: a second
thread makes such steps at most about 20 % faster on a quiet machine, and
twice as slow when a core is taken, including by this process's own idle
BLAS threads, which spin for a moment after numpy's products (a tiny table
fitted right after an ``MLPClassifier`` ran 2x slower on 2 threads than on
one; docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator, Sequence

import torch


@contextlib.contextmanager
def restored_torch_threads() -> Iterator[int]:
    """Yield torch's current thread count and put it back afterwards,
    whatever was set inside."""
    previous = torch.get_num_threads()
    try:
        yield previous
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def _busy_seconds(cpus: set[int]) -> float | None:
    """CPU seconds spent busy so far on ``cpus``, from /proc/stat (None where
    there is no /proc/stat)."""
    try:
        with open("/proc/stat") as stat:
            lines = stat.read().splitlines()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    busy = 0
    for line in lines:
        if not line.startswith("cpu") or line.startswith("cpu "):
            continue  # only the per-CPU lines ("cpu0 ...") count
        name, *fields = line.split()
        if int(name[3:]) not in cpus:
            continue
        # user nice system idle iowait irq softirq steal ...: idle and iowait are idle
        values = [int(field) for field in fields[:8]]
        busy += sum(values) - values[3] - values[4]
    return busy / ticks


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system


#: The last measurement, shared by every call in this process: (time, own CPU
#: seconds, busy CPU seconds of the allowed cores) and the cores other
#: processes kept busy. A call measures over the time since the last one, so
#: a loop of partial_fit calls is measured over the previous epoch.
_LAST: dict = {"mark": None, "others": None}
#: Below this many seconds since the last measurement, its result is reused.
_MIN_INTERVAL = 0.05
#: The first measurement in a process watches the counters this long.
_PROBE_SECONDS = 0.02


def _reset_measurements() -> None:
    _LAST.update(mark=None, others=None)


def _others_busy(cpus: set[int]) -> float | None:
    """Cores kept busy by other processes since the last measurement (a short
    probe on the first call); None without CPU counters."""
    mark = _LAST["mark"]
    if mark is None:
        mark = (time.perf_counter(), _own_seconds(), _busy_seconds(cpus))
        if mark[2] is None:
            return None
        time.sleep(_PROBE_SECONDS)
    now = time.perf_counter()
    elapsed = now - mark[0]
    if elapsed < _MIN_INTERVAL and _LAST["others"] is not None:
        return _LAST["others"]  # before reading any counter: tiny epochs stay cheap
    own, busy = _own_seconds(), _busy_seconds(cpus)
    others = max(0.0, (busy - mark[2]) - (own - mark[1])) / max(elapsed, 1e-9)
    _LAST.update(mark=(now, own, busy), others=others)
    return others


#: Below this many multiply-adds in one step's (or one predict block's)
#: matrix products, ``"auto"`` uses one thread.
SMALL_WORK = 2**21


def products_work(rows: int, n_features: int, sizes: Sequence[int], copies: int) -> int:
    """Multiply-adds of the matrix products of ``rows`` rows through a network
    with hidden ``sizes``: the first layer once per row, the deeper layers
    once per row and copy (positive and negative rows in training, every
    label in prediction)."""
    deeper = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    return rows * (n_features * sizes[0] + copies * deeper)


class ThreadChooser:
    """Chooses torch's thread count for each epoch (``n_threads`` an int: that
    many, always; ``"auto"``: the cores other processes leave idle, or one
    when ``work``, the multiply-adds of one step, is below
    :data:`SMALL_WORK`)."""

    def __init__(self, n_threads: int | str, limit: int, work: int | None = None):
        self.n_threads = n_threads
        self.limit = max(1, limit)
        self.small = work is not None and work < SMALL_WORK
        try:
            self.cpus = set(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            self.cpus = set(range(os.cpu_count() or 1))

    def choose(self) -> int:
        """The thread count for the next stretch of work; call it before each
        epoch (the measurement covers what ran since the last call)."""
        if self.n_threads != "auto":
            return int(self.n_threads)
        if self.small:
            return 1
        others = _others_busy(self.cpus)
        if others is None:
            others = self._load_average_of_others()
        idle = len(self.cpus) - others
        return max(1, min(self.limit, math.floor(idle + 0.5)))

    def _load_average_of_others(self) -> float:
        # Includes this process's own recent work: a fallback where the
        # kernel's per-CPU counters cannot be read.
        try:
            return os.getloadavg()[0]
        except (AttributeError, OSError):  # no load average (Windows)
            return 0.0


def set_threads(count: int) -> None:
    """Set torch's intra-op thread count if it differs."""
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
