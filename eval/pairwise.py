"""Comparing the systems of one evaluation: paired units, then the tests of
``metrics.significance`` on each metric's statistics summed over them.

Paired units are the segments on which systems with different alignments can be compared.

Two systems aligned to the same reference may group its sentences differently (one merges
sentences 3 and 4 into a 2-1 bead, the other keeps them apart). Paired tests need the same
segments for every system, so the statistics are summed over the coarsest common grouping
of reference sentences: a unit is a run of reference sentences that no system's bead splits.
An added candidate sentence (a 0-1 bead) joins the unit of the reference sentence before it
(the first unit when nothing precedes it). Summing sufficient statistics is exact: a corpus
score depends only on their sum, so every system's corpus score is unchanged.

In aligned and corpus mode every bead is one segment and the units are the segments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import overload

import numpy as np

from mtdrift.eval.errors import InputError
from mtdrift.eval.results import BeadResult, Evaluation
from mtdrift.metrics.numeric import on_one_blas_thread
from mtdrift.metrics.progress import Progress, quiet
from mtdrift.metrics.registry import METRICS, CorpusMetric
from mtdrift.metrics.significance import Comparison, Resampling, compare_stats

RefIds = tuple[int, ...]


def common_units(n_ref: int, systems: Sequence[Sequence[RefIds]]) -> list[RefIds]:
    """The coarsest grouping of ``range(n_ref)`` that no system's bead splits.

    Args:
        n_ref: number of reference sentences.
        systems: for each system, the reference ids of each of its beads (in any order).

    Returns:
        Units in reference order, each a run of consecutive reference ids.

    Raises:
        ValueError: a bead names a reference id outside ``range(n_ref)``.
    """
    if n_ref < 1:
        raise ValueError("no reference sentences to pair on")
    # joined[i]: sentence i and i+1 lie in one unit
    joined = np.zeros(max(n_ref - 1, 0), dtype=bool)
    for beads in systems:
        for ids in beads:
            if not ids:
                continue
            lo, hi = min(ids), max(ids)
            if lo < 0 or hi >= n_ref:
                raise ValueError(f"bead reference ids {list(ids)} outside 0..{n_ref - 1}")
            joined[lo:hi] = True
    units: list[RefIds] = []
    start = 0
    for i in range(n_ref):
        if i == n_ref - 1 or not joined[i]:
            units.append(tuple(range(start, i + 1)))
            start = i + 1
    return units


def unit_index(units: Sequence[RefIds], beads: Sequence[RefIds]) -> list[int]:
    """The unit of each bead: the one holding its reference sentences; an added candidate
    sentence (no reference ids) takes the unit of the bead before it (the first unit when none).

    Args:
        units: from :func:`common_units`.
        beads: one system's beads' reference ids, in reference order.
    """
    unit_of = {i: u for u, ids in enumerate(units) for i in ids}
    index: list[int] = []
    last = 0
    for ids in beads:
        if ids:
            last = unit_of[ids[0]]
        index.append(last)
    return index


def unit_stats(
    units: Sequence[RefIds],
    beads: Sequence[RefIds],
    stats: Mapping[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """One system's bead statistics summed into the common units.

    Args:
        units: from :func:`common_units`.
        beads: this system's beads' reference ids, in reference order.
        stats: ``stats[metric]`` of shape ``(len(beads), k)``.

    Returns:
        ``stats[metric]`` of shape ``(len(units), k)``.
    """
    index = np.asarray(unit_index(units, beads), dtype=np.int64)
    out: dict[str, np.ndarray] = {}
    for name, m in stats.items():
        matrix = np.asarray(m, dtype=np.float64)
        if matrix.shape[0] != len(beads):
            raise ValueError(f"{name}: {matrix.shape[0]} rows of statistics for {len(beads)} beads")
        summed = np.zeros((len(units), matrix.shape[1]), dtype=np.float64)
        np.add.at(summed, index, matrix)
        out[name] = summed
    return out


def check_primary(primary: str, *, extra: Sequence[str] = ()) -> str:
    """``primary`` if it names a metric of the run: a built-in one or one of ``extra`` (the
    plug-ins and external scores asked for), so that a typo fails before any scoring.

    Raises:
        InputError: another name; the message lists the metrics.
    """
    known = [*METRICS, *extra]
    if primary not in known:
        raise InputError(f"--primary {primary}: not a metric of this run; give one of {', '.join(known)}")
    return primary


def paired_stats(
    evaluation: Evaluation, metrics: Sequence[str] | None = None
) -> tuple[Sequence[RefIds], dict[str, dict[str, np.ndarray]]]:
    """Every system's statistics over the units they can be paired on (see ``eval.pairwise``);
    ``metrics``: names (default: every metric the evaluation carries).

    When every system has one bead per reference sentence, in order (aligned and corpus mode),
    the units are the segments and each system's statistics are returned as they are, not
    copied: a Dask run's memory-mapped statistics stay on disk."""
    if metrics is None:
        metrics = [m.name for m in evaluation.metrics]
    n_ref = len(evaluation.ref_sentences)
    if n_ref and all(_one_per_sentence(s.beads, n_ref) for s in evaluation.systems):
        return _Segments(n_ref), {
            s.system: {m: np.asarray(s.stats[m], dtype=np.float64) for m in metrics}
            for s in evaluation.systems
        }
    units = common_units(n_ref, [[b.ref_ids for b in s.beads] for s in evaluation.systems])
    out = {
        s.system: unit_stats(units, [b.ref_ids for b in s.beads], {m: s.stats[m] for m in metrics})
        for s in evaluation.systems
    }
    return units, out


def _one_per_sentence(beads: Sequence[BeadResult], n_ref: int) -> bool:
    return len(beads) == n_ref and all(b.ref_ids == (k,) for k, b in enumerate(beads))


class _Segments(Sequence[RefIds]):
    """The units ``(0,), (1,), ...`` of a corpus whose segments are its units, not held."""

    def __init__(self, n: int) -> None:
        self._n = n

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> RefIds: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[RefIds]: ...

    def __getitem__(self, index: int | slice) -> RefIds | Sequence[RefIds]:
        if isinstance(index, slice):
            return [(k,) for k in range(*index.indices(self._n))]
        if index < 0:
            index += self._n
        if not 0 <= index < self._n:
            raise IndexError(f"unit {index} out of range for {self._n} units")
        return (index,)


@on_one_blas_thread
def compare_systems(
    evaluation: Evaluation,
    *,
    baseline: str | None = None,
    metrics: Sequence[str] | None = None,
    resampling: Resampling | None = None,
    progress: Progress = quiet,
) -> Comparison:
    """CIs for every system and paired tests of each against ``baseline`` (default: the first),
    on ``metrics`` (names; default: every metric the evaluation carries, built-in, plug-ins and
    external scores).

    Raises:
        ValueError: ``baseline`` is not one of the systems.
    """
    names = [s.system for s in evaluation.systems]
    base = baseline if baseline is not None else names[0]
    if base not in names:
        raise ValueError(f"baseline {base!r} is not among the systems: {', '.join(names)}")
    carried = {m.name: m for m in evaluation.metrics}
    names = list(carried) if metrics is None else list(metrics)
    unknown = [m for m in names if m not in carried]
    if unknown:
        raise ValueError(f"the evaluation has no metric {unknown[0]!r}; it has {', '.join(carried)}")
    objects: list[CorpusMetric] = [carried[m] for m in names]
    _, stats = paired_stats(evaluation, names)
    return compare_stats(stats, baseline=base, metrics=objects, resampling=resampling, progress=progress)
