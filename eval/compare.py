"""Comparing the systems of one evaluation: paired units, then ``metrics.significance``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mtdrift.eval.pairing import RefIds, common_units, unit_stats
from mtdrift.eval.read import InputError
from mtdrift.eval.run import Evaluation
from mtdrift.metrics.numeric import on_one_blas_thread
from mtdrift.metrics.progress import Progress, quiet
from mtdrift.metrics.registry import METRICS, CorpusMetric
from mtdrift.metrics.significance import Comparison, Resampling, compare

DEFAULT_PRIMARY = "chrf"


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
) -> tuple[list[RefIds], dict[str, dict[str, np.ndarray]]]:
    """Every system's statistics over the units they can be paired on (see ``eval.pairing``);
    ``metrics``: names (default: every metric the evaluation carries)."""
    if metrics is None:
        metrics = [m.name for m in evaluation.metrics]
    units = common_units(
        len(evaluation.ref_sentences), [[b.ref_ids for b in s.beads] for s in evaluation.systems]
    )
    out = {
        s.system: unit_stats(units, [b.ref_ids for b in s.beads], {m: s.stats[m] for m in metrics})
        for s in evaluation.systems
    }
    return units, out


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
    return compare(stats, baseline=base, metrics=objects, resampling=resampling, progress=progress)
