"""Numbers that do not depend on how many threads a BLAS library was given.

OpenBLAS splits a matrix product differently with one thread than with two, and the float32
results differ in the last bits (measured: 158 of 200 token-similarity products of 5-80 x 768
matrices, by up to 6e-5). A Dask worker runs with one BLAS thread, a process started from a
shell with all of them, so every product whose result reaches an output runs here on one
thread. On the small products of token matching this is also the faster choice (a second
thread costs more to wake than the product takes); the aligner's larger products lose little.

torch keeps its own thread pool (``--threads``) and is not touched: its sentence vectors were
measured bit-identical with 1 and 2 threads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import numpy as np
from threadpoolctl import ThreadpoolController

P = ParamSpec("P")
R = TypeVar("R")

SCORE_DIGITS = 4
"""Decimals kept of every score computed from embeddings (sentence cosine, token match,
fidelity, the aligner's similarities), rounded where they are computed, so that every later
number (labels, corpus means, statistics, reports, plots) is a function of the rounded values.

Why 4: torch's kernels differ by CPU (AVX-512, AVX2, none), and so do OpenBLAS's. Evaluating
the seed pair with torch forced to ``avx2`` or ``default`` and OpenBLAS to Sandybridge or
Prescott kernels moved these scores by 5e-8 on average and 7e-7 at most (324 values, both
packaged encoders). A value flips in its last kept decimal only when it lies that close to a
rounding boundary: about 5e-8 / 1e-4 = 0.05 % of values at 4 decimals (5 % at 6). On the seed
pair's 93 such values that is one changed digit (by 1e-4) on about one machine in twenty;
``mtdrift check`` tolerates it (0.01 on these scales, and a paired test).
"""


def stable(x: float) -> float:
    """``x`` rounded to :data:`SCORE_DIGITS` decimals (see there)."""
    return round(float(x), SCORE_DIGITS)


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run numpy's BLAS on one thread inside the block (about 7 microseconds to enter).

    Nested use is fine; the previous limits come back on exit.
    """
    with _controller().limit(limits=1, user_api="blas"):
        yield


def gram(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b.T`` on one BLAS thread: shape (len(a), len(b)), the dtype of the inputs."""
    with one_blas_thread():
        return a @ b.T


def on_one_blas_thread(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate a stage so that all of its BLAS products run on one thread."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with one_blas_thread():
            return fn(*args, **kwargs)

    return wrapper
