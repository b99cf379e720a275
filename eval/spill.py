"""Sequences kept on disk: what a Dask client appends partition by partition (beads, sentences,
segment keys, per-bead statistics) without holding it, read back in order or by index.

A :class:`Spill` is one temporary file (unlinked at once, gone when the last sequence that
reads it is); a :class:`SpilledSeq` is a sequence whose items lie in it, in chunks appended
one at a time (a partition's beads of one system, say). Reading in order loads one chunk at a
time; reading by index loads the chunk that holds it (the last one read is kept). Renderers
read a spilled sequence as they read a tuple; pickled (to a worker, into a file), it becomes
the tuple of its items.

A :class:`SpilledRows` is a matrix of statistics appended a block of rows at a time to its own
temporary file, then read as one read-only memory map (``numpy.memmap``): numpy sums and
multiplies it as any array, and the operating system pages it in and out, so that the
client's heap does not grow with the corpus.
"""

from __future__ import annotations

import bisect
import os
import pickle
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar, overload

import numpy as np

T = TypeVar("T")


class Spill:
    """An append-only temporary file of pickled chunks (in ``tempfile``'s directory,
    ``$TMPDIR``)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="mtdrift-spill-")  # noqa: SIM115 - lives with self
        self._end = 0

    def append(self, items: Sequence[Any]) -> tuple[int, int]:
        """Write ``items`` as one chunk; returns where it lies (offset, length in bytes)."""
        data = pickle.dumps(tuple(items), protocol=pickle.HIGHEST_PROTOCOL)
        self._file.seek(self._end)
        self._file.write(data)
        self._file.flush()
        where = (self._end, len(data))
        self._end += len(data)
        return where

    def load(self, where: tuple[int, int]) -> tuple[Any, ...]:
        """The chunk written at ``where``."""
        offset, length = where
        data = os.pread(self._file.fileno(), length, offset)
        items: tuple[Any, ...] = pickle.loads(data)
        return items

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._end


class SpilledSeq(Sequence[T]):
    """A sequence whose items lie in a :class:`Spill`, appended a chunk at a time."""

    def __init__(self, spill: Spill) -> None:
        self._spill = spill
        self._chunks: list[tuple[int, int]] = []
        self._starts: list[int] = []  # index of each chunk's first item
        self._len = 0
        self._cached: tuple[int, tuple[T, ...]] = (-1, ())

    def extend(self, items: Iterable[T]) -> None:
        """Append ``items`` as one chunk (nothing for none)."""
        chunk = tuple(items)
        if not chunk:
            return
        self._chunks.append(self._spill.append(chunk))
        self._starts.append(self._len)
        self._len += len(chunk)

    def _chunk(self, k: int) -> tuple[T, ...]:
        if self._cached[0] != k:
            self._cached = (k, self._spill.load(self._chunks[k]))
        return self._cached[1]

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...

    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        if isinstance(index, slice):
            return tuple(self[k] for k in range(*index.indices(self._len)))
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(f"index {index} out of range for {self._len} items")
        k = bisect.bisect_right(self._starts, index) - 1
        return self._chunk(k)[index - self._starts[k]]

    def __iter__(self) -> Iterator[T]:
        for k in range(len(self._chunks)):
            yield from self._chunk(k)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SpilledSeq({self._len} items in {len(self._chunks)} chunks)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (tuple, (tuple(self),))


class SpilledRows:
    """A 2-D array appended a block of rows at a time to a temporary file (unlinked at once),
    then read whole as a read-only memory map.

    Args:
        dtype: the array's dtype (the first block's, as ``numpy.vstack`` would keep it).
        width: columns.
    """

    def __init__(self, dtype: np.dtype[Any], width: int) -> None:
        self._file = tempfile.TemporaryFile(prefix="mtdrift-rows-")  # noqa: SIM115 - lives with self
        self.dtype = np.dtype(dtype)
        self.width = width
        self._rows = 0

    def append(self, rows: np.ndarray) -> None:
        """Write ``rows`` (shape ``(r, width)``) after the rows written so far.

        Raises:
            ValueError: another number of columns.
        """
        a = np.ascontiguousarray(rows, dtype=self.dtype)
        if a.ndim != 2 or a.shape[1] != self.width:
            raise ValueError(f"expected rows of {self.width} columns, got shape {a.shape}")
        self._file.write(a.tobytes())
        self._rows += len(a)

    def __len__(self) -> int:
        return self._rows

    def array(self) -> np.ndarray:
        """Every row written, shape ``(rows, width)``: a read-only memory map of the file (an
        empty array when no row was written, which cannot be mapped)."""
        self._file.flush()
        if self._rows == 0 or self.width == 0:
            return np.empty((self._rows, self.width), dtype=self.dtype)
        return np.memmap(self._file, dtype=self.dtype, mode="r", shape=(self._rows, self.width))
