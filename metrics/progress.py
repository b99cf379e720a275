"""Progress a person can see on long work, as a value the caller passes in.

Long stages (encoding, the fact checks, aligning long documents, significance) take a
:class:`Progress` and wrap their main loop in it. The default, :func:`quiet`, shows nothing;
:func:`bars` draws tqdm bars on stderr. The library never decides to show progress itself:
the CLI asks for bars when stderr is a terminal and ``--quiet`` is not given, the API when
``progress=True`` (or, by default, when stderr is a terminal).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Protocol, TypeVar

T = TypeVar("T")


class Progress(Protocol):
    """Wraps an iterable, reporting each item as it is consumed."""

    def __call__(self, items: Iterable[T], *, total: int, desc: str, unit: str) -> Iterable[T]: ...


def quiet(items: Iterable[T], *, total: int, desc: str, unit: str) -> Iterable[T]:
    """No progress shown: ``items`` unchanged."""
    return items


def bars(items: Iterable[T], *, total: int, desc: str, unit: str) -> Iterable[T]:
    """A tqdm bar on stderr, removed when done."""
    from tqdm.auto import tqdm

    return tqdm(items, total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True)


def of(enabled: bool) -> Progress:
    """:func:`bars` when ``enabled``, else :func:`quiet`."""
    return bars if enabled else quiet
