"""Fair timing for the lessons and the benchmark script: ratios measured in one run.

Machines are noisy, so the course reports how many times faster one function is than
another, both timed alternately (A, B, A, B, ...) in the same run after a warm-up,
never absolute milliseconds as facts.

>>> ratio = speedup(lambda: sum(range(20_000)), lambda: 1, repeat=3)
>>> ratio > 1
True
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Timing:
    """Seconds per call: the median and 90th percentile of ``samples``.

    Attributes:
        median: median seconds per call.
        p90: 90th percentile of the seconds per call.
        samples: seconds per call of each sample.
        number: calls per sample.
    """

    median: float
    p90: float
    samples: list[float]
    number: int

    @property
    def ms(self) -> float:
        """The median in milliseconds."""
        return 1e3 * self.median


def _calibrate(fn: Callable[[], object], budget: float) -> int:
    """How many calls make one sample last about ``budget`` seconds (at least 1)."""
    t0 = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - t0
    return max(1, int(budget / max(elapsed, 1e-7)))


def _timing(samples: list[float], number: int) -> Timing:
    arr = np.asarray(samples)
    return Timing(float(np.median(arr)), float(np.percentile(arr, 90)), samples, number)


def time_call(
    fn: Callable[[], object], repeat: int = 7, warmup: int = 1, budget: float = 0.02
) -> Timing:
    """Median seconds per call of ``fn`` over ``repeat`` samples, after ``warmup`` calls.

    Fast functions are called several times per sample so that one sample lasts about
    ``budget`` seconds.

    >>> time_call(lambda: sum(range(100)), repeat=3).median > 0
    True
    """
    for _ in range(warmup):
        fn()
    number = _calibrate(fn, budget)
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    return _timing(samples, number)


def compare(
    baseline: Callable[[], object],
    candidate: Callable[[], object],
    repeat: int = 7,
    warmup: int = 1,
    budget: float = 0.02,
    max_seconds: float = 12.0,
) -> tuple[Timing, Timing]:
    """Time two functions alternately (A, B, A, B, ...) so that both see the same machine.

    The last warm-up call of each calibrates how many calls make one sample last about
    ``budget`` seconds. Slow pairs get fewer samples (at least 3) so that the timed
    samples take about ``max_seconds``. Returns the two :class:`Timing` s;
    ``ratio = baseline.median / candidate.median``.

    >>> a, b = compare(lambda: sum(range(10_000)), lambda: 1, repeat=3)
    >>> a.median > b.median
    True
    """
    elapsed = []
    for fn in (baseline, candidate):
        for _ in range(max(1, warmup)):
            t0 = time.perf_counter()
            fn()
            t = time.perf_counter() - t0
        elapsed.append(max(t, 1e-7))
    n_a, n_b = (max(1, int(budget / t)) for t in elapsed)
    per_round = n_a * elapsed[0] + n_b * elapsed[1]
    repeat = max(min(repeat, 3), min(repeat, int(max_seconds / per_round)))
    samples_a, samples_b = [], []
    for _ in range(repeat):
        for fn, n, out in ((baseline, n_a, samples_a), (candidate, n_b, samples_b)):
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            out.append((time.perf_counter() - t0) / n)
    return _timing(samples_a, n_a), _timing(samples_b, n_b)


def speedup(
    baseline: Callable[[], object],
    candidate: Callable[[], object],
    repeat: int = 7,
    max_seconds: float = 12.0,
) -> float:
    """How many times longer ``baseline`` takes than ``candidate``: the ratio of the medians.

    Both are timed alternately by :func:`compare`; a ratio above 1 means the candidate is
    faster, below 1 that it is slower.

    >>> speedup(lambda: sum(range(20_000)), lambda: 1, repeat=3) > 1
    True
    """
    a, b = compare(baseline, candidate, repeat=repeat, max_seconds=max_seconds)
    return a.median / b.median
