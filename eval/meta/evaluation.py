"""A meta-evaluation's figures as typed values: :func:`meta_evaluate` over one table of human
and metric scores, :func:`meta_sets` over several sets and their macro mean, and
:func:`run_meta`, which loads, scores and evaluates the sets ``mtdrift meta`` was given.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from mtdrift.eval.errors import InputError
from mtdrift.eval.meta.agreement import (
    DEFAULT_LEVEL,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    FloatArray,
    Interval,
    _Bootstrap,
    _check_level,
    _draws,
    _interval,
    _pearson,
    _tau_b,
    pairwise_accuracy,
    system_means,
)
from mtdrift.eval.meta.scoring import Provenance, SetTable, score_set
from mtdrift.eval.meta.sets import (
    HUMAN,
    ITEM_KEYS,
    DataSpec,
    load_set,
)
from mtdrift.metrics.cache import Cache
from mtdrift.metrics.encoders import Encoder
from mtdrift.metrics.facts.checker import FactChecker
from mtdrift.metrics.numeric import on_one_blas_thread

# ---------------------------------------------------------------------------------------------
# the whole meta-evaluation


def _num(x: float) -> float | None:
    """JSON-safe: NaN becomes None."""
    return None if math.isnan(x) else x


def _pair(ci: Interval) -> list[float | None]:
    return [_num(ci.low), _num(ci.high)]


@dataclass(frozen=True)
class MetricMeta:
    """The agreement of one metric with the human scores.

    Correlations are in [-1, 1], accuracy in [0, 1]; NaN where undefined (a side constant).
    The ``*_ci`` fields are percentile bootstrap intervals over items.
    """

    name: str
    seg_kendall_by_item: float
    seg_kendall_by_item_ci: Interval
    seg_kendall: float
    seg_kendall_ci: Interval
    seg_pearson: float
    seg_pearson_ci: Interval
    sys_pearson: float
    sys_kendall: float
    sys_accuracy: float
    n_items_used: int
    n_items_skipped: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN as None); intervals as ``[low, high]``."""
        return {
            "seg_kendall_by_item": _num(self.seg_kendall_by_item),
            "seg_kendall_by_item_ci": _pair(self.seg_kendall_by_item_ci),
            "seg_kendall": _num(self.seg_kendall),
            "seg_kendall_ci": _pair(self.seg_kendall_ci),
            "seg_pearson": _num(self.seg_pearson),
            "seg_pearson_ci": _pair(self.seg_pearson_ci),
            "sys_pearson": _num(self.sys_pearson),
            "sys_kendall": _num(self.sys_kendall),
            "sys_accuracy": _num(self.sys_accuracy),
            "n_items_used": self.n_items_used,
            "n_items_skipped": self.n_items_skipped,
        }


@dataclass(frozen=True)
class MetaResult:
    """Every metric's agreement with one human score over one table.

    Attributes:
        human: the human score column.
        n_rows, n_items, n_systems: the table's size.
        systems: system names, in order of first appearance.
        n_resamples, seed, level: how the intervals were drawn.
        metrics: per metric column, in the order asked for.
    """

    human: str
    n_rows: int
    n_items: int
    n_systems: int
    systems: tuple[str, ...]
    n_resamples: int
    seed: int
    level: float
    metrics: Mapping[str, MetricMeta] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"human", "n_rows", "n_items", "n_systems", "systems", "bootstrap":
        {"n_resamples", "seed", "level"}, "metrics": {name: MetricMeta.to_dict()}}``."""
        return {
            "human": self.human,
            "n_rows": self.n_rows,
            "n_items": self.n_items,
            "n_systems": self.n_systems,
            "systems": list(self.systems),
            "bootstrap": {"n_resamples": self.n_resamples, "seed": self.seed, "level": self.level},
            "metrics": {name: m.to_dict() for name, m in self.metrics.items()},
        }


@on_one_blas_thread
def meta_evaluate(
    table: pd.DataFrame,
    metric_columns: Sequence[str],
    human: str = HUMAN,
    *,
    items: Sequence[str] = ITEM_KEYS,
    system: str = "system",
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
) -> MetaResult:
    """Segment- and system-level agreement of each metric column with the human column.

    Args:
        table: one row per (item, system), e.g. from :func:`read_official` or :func:`join_scores`.
        metric_columns: the metric score columns to evaluate (higher = better), at least one.
        human: the human score column (default ``mqm``).
        items: the columns that together identify an item (default doc_id, seg_id).
        system: the column naming the system.
        n_resamples, seed, level: the bootstrap (default 1000 resamples, seed 12345, 95 %);
            the same draws serve every metric.

    Returns:
        A :class:`MetaResult`; ``to_dict()`` gives its JSON layout.

    Raises:
        ValueError: a named column is missing, a score column holds NaN, infinite or
            non-numeric values, no metric column is given, ``n_resamples < 1`` or ``level``
            outside (0, 1).
    """
    if isinstance(metric_columns, str):
        raise ValueError(
            f"metric_columns must be a sequence of column names, got the string {metric_columns!r}"
        )
    if not metric_columns:
        raise ValueError("expected at least one metric column, got none")
    _check_level(level)
    wanted = [*items, system, human, *metric_columns]
    missing = [c for c in dict.fromkeys(wanted) if c not in table.columns]
    if missing:
        raise ValueError(
            f"table lacks column(s) {', '.join(map(str, missing))}; "
            f"it has {', '.join(map(str, table.columns))}"
        )
    if len(table) == 0:
        raise ValueError("expected a table with rows, got an empty one")

    def column(name: str) -> FloatArray:
        values = pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(
                f"column {name!r} has {int(bad.sum())} missing, infinite or non-numeric value(s); "
                "expected a number on every row"
            )
        return values

    h = column(human)
    codes = table.groupby(list(items), sort=False, dropna=False).ngroup().to_numpy().astype(np.intp)
    n_items = int(codes.max()) + 1
    sys_labels = table[system].astype(str).to_numpy()
    names, _, _ = system_means(h, h, sys_labels)
    boot = _Bootstrap(codes, n_items, _draws(n_items, n_resamples, seed))

    results: dict[str, MetricMeta] = {}
    for name in metric_columns:
        m = column(name)
        taus, tau_means = boot.by_item(h, m)
        used = ~np.isnan(taus)
        n_used = int(used.sum())
        _, hm, mm = system_means(h, m, sys_labels)
        results[name] = MetricMeta(
            name=name,
            seg_kendall_by_item=float(taus[used].mean()) if n_used else math.nan,
            seg_kendall_by_item_ci=_interval(tau_means, level),
            seg_kendall=_tau_b(h, m),
            seg_kendall_ci=_interval(boot.kendall(h, m), level),
            seg_pearson=_pearson(h, m),
            seg_pearson_ci=_interval(boot.pearson(h, m), level),
            sys_pearson=_pearson(hm, mm),
            sys_kendall=_tau_b(hm, mm),
            sys_accuracy=pairwise_accuracy(hm, mm),
            n_items_used=n_used,
            n_items_skipped=n_items - n_used,
        )
    return MetaResult(
        human=human,
        n_rows=len(table),
        n_items=n_items,
        n_systems=len(names),
        systems=tuple(str(s) for s in names),
        n_resamples=n_resamples,
        seed=seed,
        level=level,
        metrics=results,
    )


_REF_SUFFIX: Final = re.compile(r"-ref[A-Z]$")


def display_names(columns: Sequence[str], ours: Sequence[str] = ()) -> dict[str, str]:
    """Each metric column's name across data sets: an official column without its reference
    suffix (``COMET-refA`` and ``COMET-refB`` are both ``COMET``), so that the same metric lines
    up over sets scored against different references. mtdrift's columns keep their names, and
    so does a column whose short name another column of the same set would also get."""
    short = {c: c if c in ours else _REF_SUFFIX.sub("", c) for c in columns}
    count = Counter(short.values())
    return {c: s if count[s] == 1 else c for c, s in short.items()}


MACRO_FIGURES: Final = (
    "seg_kendall_by_item",
    "seg_kendall",
    "seg_pearson",
    "sys_pearson",
    "sys_kendall",
    "sys_accuracy",
)
"""The figures the macro mean averages over data sets (point estimates; no interval)."""


@dataclass(frozen=True)
class SetMeta:
    """One data set's meta-evaluation and where it came from.

    Attributes:
        name: the set's name.
        result: every metric's agreement, keyed by the set's own column names.
        ours: which metrics are mtdrift's.
        display: column -> the name it has in the macro mean (:func:`display_names`).
        about: where the scores came from (the :class:`SetTable`'s).
    """

    name: str
    result: MetaResult
    ours: tuple[str, ...]
    display: Mapping[str, str]
    about: Provenance = field(default_factory=Provenance)

    def core_dict(self) -> dict[str, Any]:
        """The keys a single-set ``meta.json`` had before several sets were allowed:
        ``MetaResult.to_dict()``, then ``spans`` (when scored) and ``signatures`` (when any)."""
        doc = self.result.to_dict()
        if self.about.spans is not None:
            doc["spans"] = self.about.spans
        if self.about.signatures:
            doc["signatures"] = dict(self.about.signatures)
        return doc

    def to_dict(self) -> dict[str, Any]:
        """:meth:`core_dict` plus ``data``, ``official`` (``None`` without), ``human_systems``,
        ``human_systems_kept`` and ``display_names`` (only the columns renamed in the macro)."""
        return {
            **self.core_dict(),
            "data": self.about.data,
            "official": self.about.official,
            "human_systems": list(self.about.human_systems),
            "human_systems_kept": self.about.human_kept,
            "display_names": {c: d for c, d in self.display.items() if c != d},
        }


@dataclass(frozen=True)
class MacroMetric:
    """One metric's figures averaged over data sets: the unweighted mean of each set's figure,
    NaN when it is undefined in any of them.

    Attributes:
        name: the display name (:func:`display_names`).
        columns: set name -> the metric's column in that set, in set order.
        ours: whether it is one of mtdrift's metrics.
    """

    name: str
    columns: Mapping[str, str]
    ours: bool
    seg_kendall_by_item: float
    seg_kendall: float
    seg_pearson: float
    sys_pearson: float
    sys_kendall: float
    sys_accuracy: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the figures (NaN as None), ``n_datasets`` and ``columns``."""
        return {
            **{f: _num(getattr(self, f)) for f in MACRO_FIGURES},
            "n_datasets": len(self.columns),
            "columns": dict(self.columns),
        }


@dataclass(frozen=True)
class MacroGroup:
    """Every metric that some data sets all have, averaged over those sets.

    Attributes:
        datasets: the sets averaged over, in the order given.
        metrics: display name -> its mean over ``datasets``, mtdrift's first.
    """

    datasets: tuple[str, ...]
    metrics: Mapping[str, MacroMetric]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"datasets": [...], "metrics": {name: MacroMetric.to_dict()}}``."""
        return {"datasets": list(self.datasets), "metrics": {n: m.to_dict() for n, m in self.metrics.items()}}


@dataclass(frozen=True)
class MacroMeta:
    """The macro mean over data sets.

    A metric missing from some sets (an official one where a set has no official scores) is
    not in ``metrics``: a mean over fewer sets is another figure. For each group of two or more
    (not all) sets that such metrics share, ``subsets`` averages *every* metric those sets all
    have over them, mtdrift's included, so that the rows of one group compare. A metric in a
    single set has no mean; ``one_set_only`` names it and its set.

    Attributes:
        datasets: the sets' names, in order.
        metrics: the metrics present in every set, averaged over all of them, mtdrift's first.
        subsets: one :class:`MacroGroup` per such group of sets, largest first.
        one_set_only: display name -> the one set that has it.
    """

    datasets: tuple[str, ...]
    metrics: Mapping[str, MacroMetric]
    subsets: tuple[MacroGroup, ...] = ()
    one_set_only: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"datasets", "figures", "metrics": {name: ...}, "subsets": [...],
        "one_set_only": {name: set}}``."""
        return {
            "datasets": list(self.datasets),
            "figures": list(MACRO_FIGURES),
            "metrics": {n: m.to_dict() for n, m in self.metrics.items()},
            "subsets": [g.to_dict() for g in self.subsets],
            "one_set_only": dict(self.one_set_only),
        }


def macro_mean(sets: Sequence[SetMeta]) -> MacroMeta:
    """Average each figure of :data:`MACRO_FIGURES` over the sets, per display name (see
    :class:`MacroMeta` for the metrics that only some sets have).

    Raises:
        ValueError: no set.
    """
    if not sets:
        raise ValueError("expected at least one data set, got none")
    columns: dict[str, dict[str, str]] = {}
    ours: set[str] = set()
    for s in sets:
        for column in s.result.metrics:
            name = s.display.get(column, column)
            columns.setdefault(name, {})[s.name] = column
            if column in s.ours:
                ours.add(name)
    by_name = {s.name: s for s in sets}
    order = sorted(columns, key=lambda n: n not in ours)  # stable: first appearance otherwise

    def over(group: tuple[str, ...]) -> dict[str, MacroMetric]:
        out = {}
        for name in order:
            if not all(g in columns[name] for g in group):
                continue
            cols = {g: columns[name][g] for g in group}
            figures = {
                f: math.fsum(getattr(by_name[g].result.metrics[c], f) for g, c in cols.items()) / len(cols)
                for f in MACRO_FIGURES
            }
            out[name] = MacroMetric(name=name, columns=cols, ours=name in ours, **figures)
        return out

    everywhere = tuple(by_name)
    groups = dict.fromkeys(
        tuple(g for g in everywhere if g in columns[n]) for n in order if 1 < len(columns[n]) < len(sets)
    )
    return MacroMeta(
        datasets=everywhere,
        metrics=over(everywhere),
        subsets=tuple(MacroGroup(g, over(g)) for g in sorted(groups, key=len, reverse=True)),
        one_set_only={n: next(iter(columns[n])) for n in order if len(columns[n]) == 1 < len(sets)},
    )


@dataclass(frozen=True)
class MultiMeta:
    """The meta-evaluation of one or more data sets and their macro mean.

    Attributes:
        sets: one per data set, in the order given.
        macro: the mean over them (with one set, that set's own figures).
    """

    sets: tuple[SetMeta, ...]
    macro: MacroMeta

    def to_dict(self) -> dict[str, Any]:
        """``meta.json``: ``datasets.<name>`` (:meth:`SetMeta.to_dict`) and ``macro``
        (:meth:`MacroMeta.to_dict`); with a single set, its :meth:`SetMeta.core_dict` keys
        first, at the top level, as before several sets were allowed."""
        doc: dict[str, Any] = self.sets[0].core_dict() if len(self.sets) == 1 else {}
        doc["datasets"] = {s.name: s.to_dict() for s in self.sets}
        doc["macro"] = self.macro.to_dict()
        return doc


def meta_sets(
    sets: Sequence[SetTable],
    *,
    human: str = HUMAN,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
) -> MultiMeta:
    """Meta-evaluate each set (:func:`meta_evaluate`) and average over them.

    Pure: reads and prints nothing. Each set gets its own bootstrap, with the same seed.

    Raises:
        ValueError: no set, two sets with one name, or a set's table is unusable (the message
            starts with the set's name).
    """
    if not sets:
        raise ValueError("expected at least one data set, got none")
    names = [s.name for s in sets]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"data set names must be distinct, got {', '.join(map(repr, twice))} twice")
    out = []
    for s in sets:
        try:
            result = meta_evaluate(
                s.table, list(s.columns), human=human, n_resamples=n_resamples, seed=seed, level=level
            )
        except ValueError as err:
            raise ValueError(f"{s.name}: {err}") from None
        out.append(
            SetMeta(
                name=s.name,
                result=result,
                ours=s.ours,
                display=display_names(s.columns, s.ours),
                about=s.about,
            )
        )
    return MultiMeta(sets=tuple(out), macro=macro_mean(out))


def run_meta(
    specs: Sequence[DataSpec],
    *,
    encoder: Encoder,
    checker: FactChecker,
    cache: Cache | None = None,
    human: str = HUMAN,
    keep_human: bool = False,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> MultiMeta:
    """`mtdrift meta` without the command line: read every set (all of them before any is
    scored, so a bad file fails fast), score each with mtdrift, meta-evaluate, average.

    Raises:
        InputError: a file is missing or malformed, or its rows cannot be meta-evaluated
            (the message names the file).
        ModelUnavailableError: the packaged model cannot be loaded.
    """
    loaded = []
    for spec in specs:
        try:
            loaded.append(load_set(spec, human=human, keep_human=keep_human))
        except ValueError as err:
            raise InputError(f"{spec.data}: {err}") from None
    tables = [score_set(s, encoder=encoder, checker=checker, cache=cache) for s in loaded]
    try:
        return meta_sets(tables, human=human, n_resamples=n_resamples, seed=seed)
    except ValueError as err:
        raise InputError(str(err)) from None
