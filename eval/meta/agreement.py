"""Meta-evaluation: how well metric scores agree with human judgments (MQM).

Inputs are rows of one (segment, system) pair each: a human score, a metric score, the
segment ("item") the row belongs to and the system that produced it. Both scores are oriented
**higher = better** (negate error rates such as TER before passing them in). The figures:

* ``seg_kendall_by_item``: Kendall's tau-b across the systems within one item, averaged over
  items with equal weight. An item where either the human or the metric scores are constant
  (all tied; this includes an item with a single row) has no defined tau-b and is *skipped*:
  it counts neither in the numerator nor in the denominator, and the number of skipped items is
  reported. Ties inside an item are handled by tau-b itself (a pair tied on one side counts in
  that side's tie correction, as in :func:`scipy.stats.kendalltau`).
* ``seg_kendall`` and ``seg_pearson``: tau-b and Pearson's r pooled over all rows.
* ``sys_pearson``, ``sys_kendall`` (tau-b) and ``sys_accuracy``: one score per system, the mean
  of its rows, for the human and for the metric. Pairwise accuracy (Kocmi et al. 2021) is the
  share of all ``k (k - 1) / 2`` system pairs on which ``sign(human_a - human_b)`` equals
  ``sign(metric_a - metric_b)``. Ties: a pair tied on both sides counts as agreement, a pair tied
  on exactly one side as disagreement, and every pair is in the denominator (no pair is
  dropped). Means are compared exactly, without a tolerance.

Confidence intervals are percentile bootstrap intervals over items: each resample draws as
many items as there are, with replacement, from one :func:`numpy.random.default_rng` seeded
once (``rng.choice(n_items, (n_resamples, n_items))``, the draw ``metrics.significance``
uses), and keeps every row of a drawn item as often as it was drawn. The same draws serve
every metric of one call, so the intervals of two metrics are paired. Resamples in which a
figure is undefined (no usable item, a constant side) are left out of its quantiles.

Reproducing the figures of ``../shared/data/mqm/README.md`` (WMT23 zh-en dev, 8,970 rows):
the definitions above, applied to the official TSV as it is (the ``mqm`` column, which is
already averaged over raters on the 8 segments that several raters scored; exact float
comparisons, no tie tolerance), give every figure of the README's BLEU, chrF, TER, BERTScore,
COMET-22, BLEURT-20, MetricX-23 and XCOMET-XL rows **once the value is rounded the way the
README was: to 4 decimals, then to 3, halves rounded up**. Rounded once, three figures come
out 0.001 lower than printed: chrF by-item tau 0.16947 (README 0.170), COMET-22 by-item tau
0.23348 (0.234) and TER pairwise accuracy 83/105 = 0.790476 (0.791). No other definition tried
(averaging per-rater taus on multi-rater segments, per-rater items, tau-a/tau-c, weighting items
by pairs, micro-averaging, tie tolerances, recomputed MQM or sacrebleu scores) reproduces all
rows; the double rounding reproduces all 40 figures. System means never tie on this data, so
the README does not constrain the tie rule of the pairwise accuracy.

The README's he-en table (WMT23 he-en dev, 4,884 rows, reference ``refB``) is reproduced by
the same definitions on its official TSV for every official column it lists (BLEU and chrF,
BERTScore, COMET-22, BLEURT-20, YiSi-1, prismRef, MetricX-23, XCOMET-XL; tau by item, tau,
sys Pearson, pairwise accuracy) **rounded once** to 3 decimals, halves up: rounded twice,
BLEU-refB's sys Pearson 0.89446 would read 0.895 (README 0.894) and chrF-refB's pairwise
accuracy 56/66 = 0.84848 would read 0.849 (README 0.848). ``tests/eval/meta/test_sets.py`` checks
both tables.

Everything here is pure (no printing, logging or writing) except :func:`read_official`,
which reads a file. Numbers are fractions in [-1, 1] (correlations) or [0, 1] (accuracy)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from mtdrift.metrics.significance import (
    DEFAULT_SEED,
    Interval,
    Resampling,
    bootstrap_draws,
    quantile_interval,
)

DEFAULT_RESAMPLES: Final = Resampling.bootstrap
DEFAULT_LEVEL: Final = 0.95

FloatArray = NDArray[np.float64]


# ---------------------------------------------------------------------------------------------
# statistics


class ItemKendall(NamedTuple):
    """Kendall tau-b by item: the mean over usable items, how many were used and skipped."""

    mean_tau: float
    n_used: int
    n_skipped: int


def _vectors(human: ArrayLike, metric: ArrayLike) -> tuple[FloatArray, FloatArray]:
    h = np.asarray(human, dtype=np.float64)
    m = np.asarray(metric, dtype=np.float64)
    if h.ndim != 1 or m.ndim != 1 or h.shape != m.shape:
        raise ValueError(
            f"expected two 1-D score arrays of equal length, got human {h.shape} and metric {m.shape}"
        )
    for name, a in (("human", h), ("metric", m)):
        bad = ~np.isfinite(a)
        if bad.any():
            raise ValueError(
                f"{name} scores hold {int(bad.sum())} NaN or infinite value(s); expected finite numbers"
            )
    return h, m


def _labels(labels: ArrayLike, n: int, what: str) -> tuple[NDArray[np.intp], int]:
    """Integer codes 0..k-1 for arbitrary hashable labels, and k."""
    arr = np.asarray(labels)
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"expected {what} as a 1-D array of {n} labels, got shape {arr.shape}")
    codes, uniques = pd.factorize(arr, sort=False)
    if (codes < 0).any():
        raise ValueError(
            f"{what} hold {int((codes < 0).sum())} missing label(s); expected a label on every row"
        )
    return codes.astype(np.intp), len(uniques)


_MAX_PAIRED_ITEM: Final = 256
"""Items with more rows than this get their tau-b from scipy, one call each, instead of from
the k (k - 1) / 2 listed pairs (which would take quadratic memory)."""


class _ItemPairs:
    """Every within-item pair of rows, once: rows are grouped by item code, and for each item
    of size k (2 <= k <= :data:`_MAX_PAIRED_ITEM`) its k (k - 1) / 2 pairs are listed with the
    item they belong to; larger items are listed in ``big``."""

    def __init__(self, codes: NDArray[np.intp], n_items: int) -> None:
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes, minlength=n_items)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        firsts: list[NDArray[np.intp]] = []
        seconds: list[NDArray[np.intp]] = []
        owners: list[NDArray[np.intp]] = []
        for k in np.unique(sizes):
            if k < 2 or k > _MAX_PAIRED_ITEM:
                continue
            items = np.flatnonzero(sizes == k)
            a, b = np.triu_indices(int(k), 1)
            base = starts[items][:, None]
            firsts.append(order[(base + a).ravel()])
            seconds.append(order[(base + b).ravel()])
            owners.append(np.repeat(items, len(a)))
        empty = np.zeros(0, dtype=np.intp)
        self.i = np.concatenate(firsts) if firsts else empty
        self.j = np.concatenate(seconds) if seconds else empty
        self.item = np.concatenate(owners) if owners else empty
        self.n_items = n_items
        self.order = order
        self.sizes = sizes
        self.starts = starts
        self.big = np.flatnonzero(sizes > _MAX_PAIRED_ITEM)

    def taus(self, h: FloatArray, m: FloatArray) -> FloatArray:
        """Tau-b of every item; NaN where either side is constant (or the item has < 2 rows).

        tau-b = S / sqrt(n_h * n_m): S sums sign(dh) * sign(dm) over the item's pairs, n_h
        counts the pairs not tied in human, n_m those not tied in metric.
        """
        sh = np.sign(h[self.i] - h[self.j])
        sm = np.sign(m[self.i] - m[self.j])
        s = np.bincount(self.item, weights=sh * sm, minlength=self.n_items)
        nh = np.bincount(self.item, weights=(sh != 0).astype(np.float64), minlength=self.n_items)
        nm = np.bincount(self.item, weights=(sm != 0).astype(np.float64), minlength=self.n_items)
        with np.errstate(invalid="ignore", divide="ignore"):
            tau = s / np.sqrt(nh * nm)
        tau[(nh == 0) | (nm == 0)] = np.nan
        for t in self.big:
            rows = self.order[self.starts[t] : self.starts[t] + self.sizes[t]]
            tau[t] = _tau_b(h[rows], m[rows])
        return np.clip(tau, -1.0, 1.0)

    def rows_of(self, drawn: NDArray[np.intp]) -> NDArray[np.intp]:
        """The row indices of the drawn items, each item's rows as often as it was drawn."""
        lengths = self.sizes[drawn]
        ends = np.cumsum(lengths)
        offsets = np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(ends - lengths, lengths)
        return self.order[np.repeat(self.starts[drawn], lengths) + offsets]


def kendall_by_item(human: ArrayLike, metric: ArrayLike, items: ArrayLike) -> ItemKendall:
    """Kendall tau-b across the rows (systems) of each item, averaged over items.

    Args:
        human: human scores, one per row (higher = better).
        metric: metric scores, same rows (higher = better).
        items: the item (segment) label of each row: a 1-D array of ints or strings (for a
            compound key, combine it into one label, or use :func:`meta_evaluate`'s ``items``).

    Returns:
        ``(mean_tau, n_used, n_skipped)``: the unweighted mean tau-b of the items where both
        sides vary, how many such items there are, and how many were skipped because either
        side is constant in them (or they have one row). ``mean_tau`` is NaN if none is usable.

    Raises:
        ValueError: the arrays differ in length, are not 1-D, or hold NaN or infinite scores.
    """
    h, m = _vectors(human, metric)
    codes, n_items = _labels(items, len(h), "items")
    taus = _ItemPairs(codes, n_items).taus(h, m)
    used = ~np.isnan(taus)
    n_used = int(used.sum())
    mean = float(taus[used].mean()) if n_used else math.nan
    return ItemKendall(mean, n_used, n_items - n_used)


def _constant(a: FloatArray) -> bool:
    return len(a) < 2 or bool(np.all(a == a[0]))


def seg_kendall(human: ArrayLike, metric: ArrayLike) -> float:
    """Kendall tau-b pooled over all rows; NaN when either side is constant or < 2 rows.

    Raises:
        ValueError: the arrays differ in length, are not 1-D, or hold NaN or infinite scores.
    """
    h, m = _vectors(human, metric)
    return _tau_b(h, m)


def _tau_b(h: FloatArray, m: FloatArray) -> float:
    if _constant(h) or _constant(m):
        return math.nan
    return float(stats.kendalltau(h, m).statistic)


def seg_pearson(human: ArrayLike, metric: ArrayLike) -> float:
    """Pearson's r pooled over all rows; NaN when either side is constant or < 2 rows.

    Raises:
        ValueError: the arrays differ in length, are not 1-D, or hold NaN or infinite scores.
    """
    h, m = _vectors(human, metric)
    return _pearson(h, m)


def _pearson(h: FloatArray, m: FloatArray) -> float:
    if _constant(h) or _constant(m):
        return math.nan
    hc = h - h.mean()
    mc = m - m.mean()
    r = float(hc @ mc / math.sqrt(float(hc @ hc) * float(mc @ mc)))
    return max(-1.0, min(1.0, r))


def system_means(
    human: ArrayLike, metric: ArrayLike, systems: ArrayLike
) -> tuple[list[Any], FloatArray, FloatArray]:
    """The mean human and metric score of each system over its rows.

    Returns:
        ``(names, human_means, metric_means)``, systems in order of first appearance.

    Raises:
        ValueError: the arrays differ in length, are not 1-D, or hold NaN or infinite scores.
    """
    h, m = _vectors(human, metric)
    codes, k = _labels(systems, len(h), "systems")
    counts = np.bincount(codes, minlength=k).astype(np.float64)
    hm = np.bincount(codes, weights=h, minlength=k) / counts
    mm = np.bincount(codes, weights=m, minlength=k) / counts
    _, uniques = pd.factorize(np.asarray(systems), sort=False)
    return list(uniques), hm, mm


def sys_pearson(human: ArrayLike, metric: ArrayLike, systems: ArrayLike) -> float:
    """Pearson's r between the systems' mean human and mean metric scores (NaN if < 2 systems
    or a side is constant). Raises ValueError as :func:`system_means`."""
    _, hm, mm = system_means(human, metric, systems)
    return _pearson(hm, mm)


def sys_kendall(human: ArrayLike, metric: ArrayLike, systems: ArrayLike) -> float:
    """Kendall tau-b between the systems' mean human and mean metric scores (NaN if < 2 systems
    or a side is constant). Raises ValueError as :func:`system_means`."""
    _, hm, mm = system_means(human, metric, systems)
    return _tau_b(hm, mm)


def pairwise_accuracy(human_means: ArrayLike, metric_means: ArrayLike) -> float:
    """Share of pairs ordered the same way: ``sign(dh) == sign(dm)`` over all pairs.

    A pair tied on both sides agrees; a pair tied on one side only disagrees; no pair is
    dropped. NaN when there are fewer than 2 entries.

    Raises:
        ValueError: the arrays differ in length, are not 1-D, or hold NaN or infinite scores.
    """
    h, m = _vectors(human_means, metric_means)
    if len(h) < 2:
        return math.nan
    a, b = np.triu_indices(len(h), 1)
    return float(np.mean(np.sign(h[a] - h[b]) == np.sign(m[a] - m[b])))


def sys_accuracy(human: ArrayLike, metric: ArrayLike, systems: ArrayLike) -> float:
    """Pairwise accuracy of the systems' mean scores (see :func:`pairwise_accuracy`).
    Raises ValueError as :func:`system_means`."""
    _, hm, mm = system_means(human, metric, systems)
    return pairwise_accuracy(hm, mm)


# ---------------------------------------------------------------------------------------------
# bootstrap


SEGMENT_FIGURES: Final = ("seg_kendall_by_item", "seg_kendall", "seg_pearson")


def _draws(n_items: int, n_resamples: int, seed: int) -> NDArray[np.intp]:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be positive, got {n_resamples}")
    if n_items < 1:
        raise ValueError("expected at least one item to resample, got none")
    return bootstrap_draws(n_items, n_resamples, seed).astype(np.intp)


def _interval(values: FloatArray, level: float) -> Interval:
    return quantile_interval(values, level)


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1 (e.g. 0.95), got {level}")


class _Bootstrap:
    """Resampled segment-level figures for one (rows, items) layout and one set of draws."""

    def __init__(self, codes: NDArray[np.intp], n_items: int, draws: NDArray[np.intp]) -> None:
        self.pairs = _ItemPairs(codes, n_items)
        self.codes = codes
        self.draws = draws
        # counts[b, t]: how often resample b drew item t
        b = draws.shape[0]
        flat = (np.arange(b)[:, None] * n_items + draws).ravel()
        self.counts = np.bincount(flat, minlength=b * n_items).reshape(b, n_items).astype(np.float64)

    def by_item(self, h: FloatArray, m: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Per-item taus and the resampled means (NaN where a resample has no usable item)."""
        taus = self.pairs.taus(h, m)
        used = ~np.isnan(taus)
        w = self.counts[:, used]
        with np.errstate(invalid="ignore", divide="ignore"):
            means = (w @ taus[used]) / w.sum(axis=1)
        return taus, means

    def pearson(self, h: FloatArray, m: FloatArray) -> FloatArray:
        """Pooled Pearson of every resample, from per-item sums (exact, no loop)."""
        n = self.pairs.n_items
        hc = h - h.mean()
        mc = m - m.mean()
        sums = np.stack(
            [
                np.bincount(self.codes, minlength=n).astype(np.float64),
                np.bincount(self.codes, weights=hc, minlength=n),
                np.bincount(self.codes, weights=mc, minlength=n),
                np.bincount(self.codes, weights=hc * hc, minlength=n),
                np.bincount(self.codes, weights=mc * mc, minlength=n),
                np.bincount(self.codes, weights=hc * mc, minlength=n),
            ],
            axis=1,
        )
        cnt, sh, sm, shh, smm, shm = (self.counts @ sums).T
        with np.errstate(invalid="ignore", divide="ignore"):
            vh = shh - sh * sh / cnt
            vm = smm - sm * sm / cnt
            r = (shm - sh * sm / cnt) / np.sqrt(vh * vm)
        scale_h = max(float(hc @ hc), 1e-300)
        scale_m = max(float(mc @ mc), 1e-300)
        # a side constant within the resample: variance zero up to rounding
        r[(vh <= 1e-12 * scale_h) | (vm <= 1e-12 * scale_m)] = np.nan
        return np.clip(r, -1.0, 1.0)

    def kendall(self, h: FloatArray, m: FloatArray) -> FloatArray:
        """Pooled tau-b of every resample (one scipy call per resample)."""
        out = np.empty(self.draws.shape[0])
        for b, drawn in enumerate(self.draws):
            rows = self.pairs.rows_of(drawn)
            out[b] = _tau_b(h[rows], m[rows])
        return out


def bootstrap_ci(
    human: ArrayLike,
    metric: ArrayLike,
    items: ArrayLike,
    figure: str,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
) -> Interval:
    """Percentile bootstrap interval of one segment-level figure, resampling items.

    Args:
        human, metric: scores per row (higher = better).
        items: the item (segment) label of each row.
        figure: one of :data:`SEGMENT_FIGURES` (``seg_kendall_by_item``, ``seg_kendall``,
            ``seg_pearson``).
        n_resamples: bootstrap resamples (default 1000).
        seed: seed of the one :func:`numpy.random.default_rng` (default 12345).
        level: the interval's coverage (default 0.95).

    Returns:
        ``(low, high)``; NaN ends when no resample gives a defined value.

    Raises:
        ValueError: an unknown figure, bad arrays, ``n_resamples < 1`` or ``level`` outside (0, 1).
    """
    if figure not in SEGMENT_FIGURES:
        raise ValueError(f"figure must be one of {', '.join(SEGMENT_FIGURES)}, got {figure!r}")
    _check_level(level)
    h, m = _vectors(human, metric)
    codes, n_items = _labels(items, len(h), "items")
    boot = _Bootstrap(codes, n_items, _draws(n_items, n_resamples, seed))
    run: Mapping[str, Callable[[FloatArray, FloatArray], FloatArray]] = {
        "seg_kendall_by_item": lambda a, b: boot.by_item(a, b)[1],
        "seg_kendall": boot.kendall,
        "seg_pearson": boot.pearson,
    }
    return _interval(run[figure](h, m), level)
