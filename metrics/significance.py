"""Confidence intervals and paired significance tests, written once for every metric.

Every metric gives an ``(N, k)`` matrix of per-segment statistics and scores a corpus from
their column sum (``metrics.registry``). A resample of the segments is then a vector of
counts (how often each segment was drawn), and the statistics of *all* resamples are one
matrix product ``counts @ stats``; an approximate-randomization trial is a vector of coin
flips, and its two pseudo-systems are ``sys.sum() + flips @ (base - sys)`` and
``base.sum() - flips @ (base - sys)``. No Python loop runs over resamples or trials.

The random draws are sacrebleu's (``sacrebleu.significance``), so the numbers equal its
``PairedTest``: the bootstrap index matrix is ``default_rng(seed).choice(N, (B, N))`` and the
AR flip matrix ``default_rng(seed).integers(2, (T, N), dtype=bool)``, both drawn from a
generator seeded with the one explicit seed, once, and shared by every system and metric.

One deliberate difference: a resample or trial whose statistic *equals* the observed one
counts as at least as extreme (Noreen 1989; Riezler and Maxwell 2005). sacrebleu counts only
strictly greater ones, which gives a system compared with itself p = 1/(T+1), "significant";
here it gets p = 1. On distinct systems exact ties do not occur and the p-values agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from mtdrift.metrics.calibration import agreement
from mtdrift.metrics.progress import Progress, quiet
from mtdrift.metrics.ranking import Ranking, build_ranking
from mtdrift.metrics.registry import CorpusMetric, get_metric
from mtdrift.metrics.signature import Signature

DEFAULT_SEED = 12345
"""The one seed of every resampling in mtdrift (sacrebleu's default)."""

DEFAULT_PRIMARY = "chrf"
"""The metric systems are sorted and tested by unless ``--primary`` says otherwise."""

ALPHA = 0.05
"""The significance level at which reports mark a difference (and ``mtdrift check`` fails)."""


@dataclass(frozen=True)
class Resampling:
    """How confidence intervals and paired tests are drawn.

    Attributes:
        seed: the one seed of every draw (sacrebleu's default, 12345).
        bootstrap: bootstrap resamples (CIs and the paired bootstrap test).
        trials: approximate-randomization trials.
    """

    seed: int = DEFAULT_SEED
    bootstrap: int = 1000
    trials: int = 10000

    def __post_init__(self) -> None:
        if self.bootstrap < 1 or self.trials < 1:
            raise ValueError(
                f"resamples and trials must be positive, got bootstrap={self.bootstrap} trials={self.trials}"
            )

    def signature(self) -> Signature:
        return Signature.of(
            "significance",
            [
                ("seed", self.seed),
                ("bs", self.bootstrap),
                ("ar", self.trials),
                ("ci", "95%"),
                ("ties", "counted"),
                ("correction", "holm"),
                ("clusters", "wmt17-19"),
                ("pairs", "all:holm-per-metric"),
            ],
        )


DRAW_BLOCK = 1 << 18
"""Cells (resamples x segments) drawn at a time. The draws of a bootstrap or an AR test are
made a block of whole resamples at a time (at least one), multiplied with the statistics and
dropped, so that resampling takes a few times ``8 x DRAW_BLOCK`` bytes (2 MiB; the block's
indices, counts and their float copy) whatever the number of segments, instead of 96 kB per
segment for the whole matrices. The numbers drawn are the
same as one draw of the whole matrix (numpy's generator fills it row-major; the coin flips are
drawn in multiples of 64, which continue the same stream), so the p-values and intervals are
sacrebleu's at any block size (tests)."""


class Resampler:
    """The shared random draws for ``n`` paired segments.

    The draws are made a block of :data:`DRAW_BLOCK` cells at a time (:meth:`count_blocks`,
    :meth:`flip_blocks`), each time they are needed; a draw that fits in one block is kept,
    so that small corpora (and ``eval.history``'s many steps of one size) draw once.

    Args:
        n: number of segments (rows of every statistics matrix).
        config: seed and sizes.
        block: cells per block (tests set it small to show that blocks change nothing).
    """

    def __init__(self, n: int, config: Resampling | None = None, *, block: int = DRAW_BLOCK) -> None:
        if n < 1:
            raise ValueError("cannot resample an empty corpus: no segments")
        if block < 1:
            raise ValueError(f"block must be positive, got {block}")
        self.n = n
        self.config = config or Resampling()
        self.block = block
        self._kept: dict[str, list[tuple[int, np.ndarray]]] = {}

    def _rows(self) -> int:
        """Resamples per block: as many as fit in :attr:`block` cells, at least one."""
        return max(1, self.block // self.n)

    def _keep(
        self, kind: str, blocks: Iterator[tuple[int, np.ndarray]], total: int
    ) -> Iterator[tuple[int, np.ndarray]]:
        if kind in self._kept:
            yield from self._kept[kind]
            return
        if total * self.n > self.block:
            yield from blocks
            return
        self._kept[kind] = list(blocks)
        yield from self._kept[kind]

    def count_blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(first, counts)`` for consecutive blocks of bootstrap resamples: ``counts`` is
        ``(rows, n)`` float64, how often each segment is drawn in resamples ``first`` to
        ``first + rows``, from sacrebleu's draw ``default_rng(seed).choice(n, (B, n))``."""
        return self._keep("counts", self._count_blocks(), self.config.bootstrap)

    def _count_blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        n = self.n
        for first, idx in _draw_blocks(n, self.config.bootstrap, self.config.seed, self._rows()):
            rows = len(idx)
            idx += np.arange(rows)[:, None] * n  # one bincount for the block: row r's cells from r * n
            yield first, np.bincount(idx.ravel(), minlength=rows * n).reshape(rows, n).astype(np.float64)

    def flip_blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(first, flips)`` for consecutive blocks of AR trials: ``flips`` is ``(rows, n)``
        float64 0/1, which segments swap sides in trials ``first`` to ``first + rows``, from
        sacrebleu's draw ``default_rng(seed).integers(2, (T, n), dtype=bool)``."""
        return self._keep("flips", self._flip_blocks(), self.config.trials)

    def _flip_blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        n, total, step = self.n, self.config.trials, self._rows()
        rng = np.random.default_rng(self.config.seed)
        cells, drawn = total * n, 0
        pending = np.empty(0, dtype=bool)
        for first in range(0, total, step):
            rows = min(step, total - first)
            want = rows * n
            while len(pending) < want:
                # a multiple of 64 continues the generator's stream; only the last draw is not
                size = min(cells - drawn, -(-max(want - len(pending), self.block) // 64) * 64)
                pending = np.concatenate((pending, rng.integers(2, size=size, dtype=bool)))
                drawn += size
            yield first, pending[:want].reshape(rows, n).astype(np.float64)
            pending = pending[want:]

    @property
    def counts(self) -> np.ndarray:
        """``(B, n)`` float64, the whole bootstrap draw at once (:meth:`count_blocks` joined;
        for tests and small corpora: it holds ``8 x B x n`` bytes)."""
        return np.vstack([c for _, c in self.count_blocks()])

    @property
    def flips(self) -> np.ndarray:
        """``(T, n)`` float64 0/1, every AR trial at once (:meth:`flip_blocks` joined; for
        tests and small corpora: it holds ``8 x T x n`` bytes)."""
        return np.vstack([f for _, f in self.flip_blocks()])

    def bootstrap_scores(self, metric: CorpusMetric, stats: np.ndarray) -> np.ndarray:
        """The corpus score of every bootstrap resample, shape ``(B,)``."""
        return self.bootstrap_many(metric, [stats])[0]

    def bootstrap_many(self, metric: CorpusMetric, stats: Sequence[np.ndarray]) -> list[np.ndarray]:
        """:meth:`bootstrap_scores` of many systems' statistics on one pass over the draws."""
        mats = [_matrix(metric, s, self.n) for s in stats]
        sums = [np.empty((self.config.bootstrap, m.shape[1]), dtype=np.float64) for m in mats]
        for first, counts in self.count_blocks():
            for m, out in zip(mats, sums, strict=True):
                out[first : first + len(counts)] = counts @ m
        return [metric.corpus_scores(s) for s in sums]

    def ar_scores(
        self, metric: CorpusMetric, base: np.ndarray, sys: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores of the two pseudo-systems of every AR trial, each shape ``(T,)``."""
        return self.ar_against(metric, base, [sys])[0]

    def ar_against(
        self, metric: CorpusMetric, base: np.ndarray, systems: Sequence[np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`ar_scores` of ``base`` against each of ``systems`` on one pass over the draws
        (``flips @ (base - sys)``, the difference taken again for each block: it is not held)."""
        b = _matrix(metric, base, self.n)
        mats = [_matrix(metric, s, self.n) for s in systems]
        b_sum = b.sum(axis=0)
        t = self.config.trials
        s_sums = [s.sum(axis=0) for s in mats]
        out = [(np.empty(t), np.empty(t)) for _ in mats]
        for first, flips in self.flip_blocks():
            end = first + len(flips)
            for s, s_sum, (x, y) in zip(mats, s_sums, out, strict=True):
                swapped = flips @ (b - s)
                x[first:end] = metric.corpus_scores(s_sum + swapped)
                y[first:end] = metric.corpus_scores(b_sum - swapped)
        return out

    def ar_pairs(
        self, metric: CorpusMetric, stats: Sequence[np.ndarray], pairs: Sequence[tuple[int, int]]
    ) -> list[float]:
        """AR p-values of many pairs of systems at once, each as :meth:`ar_scores` with the
        pair's first system as the base. ``flips @ (base - sys)`` is ``flips @ base - flips @
        sys``: one product per system, not per pair (exact for count statistics, which are
        integers; within rounding for real-valued ones).

        Args:
            metric: the metric.
            stats: every system's ``(n, k)`` statistics.
            pairs: ``(i, j)`` indices into ``stats``.
        """
        mats = [_matrix(metric, s, self.n) for s in stats]
        sums = [m.sum(axis=0) for m in mats]
        scores = [float(metric.corpus_scores(s[None, :])[0]) for s in sums]
        extreme = [0] * len(pairs)
        for _, flips in self.flip_blocks():
            flipped = [flips @ m for m in mats]
            for k, (i, j) in enumerate(pairs):
                swapped = flipped[i] - flipped[j]
                a = metric.corpus_scores(sums[j] + swapped)
                b = metric.corpus_scores(sums[i] - swapped)
                extreme[k] += int(np.count_nonzero(np.abs(a - b) >= abs(scores[j] - scores[i])))
        return [_p(e, self.config.trials) for e in extreme]


@dataclass(frozen=True)
class Interval:
    """A bootstrap estimate: the mean of the resampled scores and the 95 % percentile bounds.

    ``half`` is sacrebleu's "± CI": half the width of the interval.
    """

    mean: float
    low: float
    high: float

    @property
    def half(self) -> float:
        return 0.5 * (self.high - self.low)


def bootstrap_draws(n: int, resamples: int, seed: int) -> np.ndarray:
    """The bootstrap's draws: ``(resamples, n)`` indices into ``n`` segments (or items), drawn
    with replacement from one generator seeded once (the meta-evaluation's intervals over
    items). The systems' intervals and paired tests draw the same numbers a block at a time
    (:meth:`Resampler.count_blocks`); both come from :func:`_draw_blocks`."""
    return np.vstack([idx for _, idx in _draw_blocks(n, resamples, seed, max(1, resamples))])


def _draw_blocks(n: int, resamples: int, seed: int, rows: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(first, indices)``: sacrebleu's ``default_rng(seed).choice(n, (resamples, n))`` made
    ``rows`` resamples at a time; the generator fills row-major, so the blocks joined are the
    one draw."""
    rng = np.random.default_rng(seed)
    for first in range(0, resamples, rows):
        yield first, rng.choice(n, size=(min(rows, resamples - first), n), replace=True)


def interval(samples: np.ndarray) -> Interval:
    """Mean and 95 % bounds of resampled values, with sacrebleu's index rule
    (the ``B // 40``-th smallest and largest), so that a system's interval is sacrebleu's."""
    s = np.sort(np.asarray(samples, dtype=np.float64))
    lo = len(s) // 40
    return Interval(float(s.mean()), float(s[lo]), float(s[len(s) - lo - 1]))


def quantile_interval(values: np.ndarray, level: float) -> Interval:
    """Mean and ``level`` bounds of resampled values by linear quantiles (``numpy.quantile``),
    the resamples where the value is undefined (NaN) left out; all bounds NaN when none is
    defined. The meta-evaluation's rule: a correlation over items, compared with the WMT
    metrics task's published intervals, not with sacrebleu."""
    v = np.asarray(values, dtype=np.float64)
    ok = v[~np.isnan(v)]
    if len(ok) == 0:
        return Interval(math.nan, math.nan, math.nan)
    alpha = 1.0 - level
    low, high = np.quantile(ok, [alpha / 2, 1 - alpha / 2])
    return Interval(float(ok.mean()), float(low), float(high))


def p_value(samples: np.ndarray, observed: float) -> float:
    """``(#{samples >= observed} + 1) / (len + 1)``: ties count as extreme."""
    return _p(int(np.count_nonzero(samples >= observed)), len(samples))


def _p(extreme: int, total: int) -> float:
    """The p-value of ``extreme`` of ``total`` resamples at least as extreme as observed."""
    return (extreme + 1) / (total + 1)


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone), ``None`` kept in place."""
    known = [(p, k) for k, p in enumerate(pvalues) if p is not None]
    m = len(known)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, k) in enumerate(sorted(known)):
        running = max(running, min(1.0, (m - rank) * p))
        out[k] = running
    return out


@dataclass(frozen=True)
class MetricResult:
    """One system on one metric, and (for all but the baseline) against the baseline.

    Attributes:
        score: the corpus score.
        ci: bootstrap mean and 95 % interval of the score.
        delta: ``score - baseline score`` (raw: for TER a negative delta is better).
        delta_ci: paired-bootstrap 95 % interval of the delta.
        p_bootstrap: paired bootstrap test (sacrebleu's, ties counted).
        p_ar: paired approximate randomization test.
        p_holm: ``p_ar`` Holm-corrected over every (system, metric) comparison.
        agreement: Kocmi et al. 2024's share of people agreeing with this delta, percent.
    """

    system: str
    metric: str
    score: float
    ci: Interval
    delta: float | None = None
    delta_ci: Interval | None = None
    p_bootstrap: float | None = None
    p_ar: float | None = None
    p_holm: float | None = None
    agreement: float | None = None

    def better(self, higher_is_better: bool) -> bool | None:
        """Whether the system beats the baseline by this score (``None`` for the baseline)."""
        if self.delta is None:
            return None
        return self.delta > 0 if higher_is_better else self.delta < 0


@dataclass(frozen=True)
class Comparison:
    """Every system against the baseline on every metric.

    Attributes:
        baseline: the system the others are compared with.
        systems: system names in input order.
        metrics: metric names.
        n_segments: paired segments each test resamples.
        results: keyed ``(system, metric)``.
        resampling: seed and sizes.
        specs: the metric objects by name (display name, direction, decimals); a name missing
            here is looked up with ``metrics.registry.get_metric``.
        rankings: per metric, every system's rank, bootstrap rank range and the AR tests of all
            pairs (``metrics.ranking``); empty with a single system.
    """

    baseline: str
    systems: tuple[str, ...]
    metrics: tuple[str, ...]
    n_segments: int
    results: Mapping[tuple[str, str], MetricResult] = field(repr=False)
    resampling: Resampling = field(default_factory=Resampling)
    specs: Mapping[str, CorpusMetric] = field(default_factory=dict, repr=False, compare=False)
    rankings: Mapping[str, Ranking] = field(default_factory=dict, repr=False, compare=False)

    def get(self, system: str, metric: str) -> MetricResult:
        return self.results[(system, metric)]

    def metric(self, name: str) -> CorpusMetric:
        """The metric object of ``name`` (its display name, direction, decimals)."""
        return self.specs[name] if name in self.specs else get_metric(name)

    def ranked(self, metric: str) -> list[str]:
        """Systems best first by ``metric`` (ties keep input order)."""
        hib = self.metric(metric).higher_is_better
        order = {s: k for k, s in enumerate(self.systems)}
        return sorted(self.systems, key=lambda s: ((-1 if hib else 1) * self.get(s, metric).score, order[s]))


def compare_stats(
    stats: Mapping[str, Mapping[str, np.ndarray]],
    *,
    baseline: str,
    metrics: Sequence[str | CorpusMetric],
    resampling: Resampling | None = None,
    progress: Progress = quiet,
) -> Comparison:
    """Score, bootstrap CI, and paired tests of every system against ``baseline``.

    Args:
        stats: ``stats[system][metric]`` is that system's ``(N, k)`` segment statistics;
            every system has the same ``N`` segments in the same order (paired).
        baseline: one of the systems.
        metrics: metric names (built-in or installed plug-ins, ``metrics.registry.get_metric``)
            or metric objects (e.g. external scores), keyed in ``stats`` by their ``name``.
        resampling: seed and sizes; defaults when ``None``.
        progress: reports each metric done (``metrics.progress``); nothing shown by default.

    Raises:
        ValueError: unknown baseline or metric, or systems with different segment counts.
    """
    cfg = resampling or Resampling()
    specs = {m.name: m for m in (get_metric(x) if isinstance(x, str) else x for x in metrics)}
    names = tuple(specs)
    systems = tuple(stats)
    if baseline not in stats:
        raise ValueError(f"baseline {baseline!r} is not among the systems: {', '.join(systems)}")
    sizes = {s: {len(np.asarray(stats[s][m])) for m in names} for s in systems}
    n_set = {n for ns in sizes.values() for n in ns}
    if len(n_set) != 1:
        detail = ", ".join(f"{s}: {'/'.join(map(str, sorted(ns)))}" for s, ns in sizes.items())
        raise ValueError(f"paired tests need the same segments for every system and metric, got {detail}")
    n = n_set.pop()
    rs = Resampler(n, cfg)
    results: dict[tuple[str, str], MetricResult] = {}
    pending: list[tuple[str, str]] = []
    rankings: dict[str, Ranking] = {}
    for name, metric in progress(specs.items(), total=len(specs), desc="significance", unit="metric"):
        mats = {s: np.asarray(stats[s][name], dtype=np.float64) for s in systems}
        others = [s for s in systems if s != baseline]
        samples = dict(zip(systems, rs.bootstrap_many(metric, list(mats.values())), strict=True))
        ar = dict(zip(others, rs.ar_against(metric, mats[baseline], [mats[s] for s in others]), strict=True))
        base_score = float(metric.corpus_scores(mats[baseline].sum(axis=0, keepdims=True))[0])
        base_bs = samples[baseline]
        results[(baseline, name)] = MetricResult(baseline, name, base_score, interval(base_bs))
        for system in others:
            score = float(metric.corpus_scores(mats[system].sum(axis=0, keepdims=True))[0])
            sys_bs = samples[system]
            observed = abs(score - base_score)
            diffs = np.abs(sys_bs - base_bs)
            a, b = ar[system]
            results[(system, name)] = MetricResult(
                system,
                name,
                score,
                interval(sys_bs),
                delta=score - base_score,
                delta_ci=interval(sys_bs - base_bs),
                p_bootstrap=p_value(diffs - diffs.mean(), observed),
                p_ar=p_value(np.abs(a - b), observed),
                agreement=agreement(name, score - base_score),
            )
            pending.append((system, name))
        if len(systems) > 1:
            rankings[name] = _ranking(rs, metric, systems, mats, samples, results)
    adjusted = holm([results[k].p_ar for k in pending])
    for key, p in zip(pending, adjusted, strict=True):
        results[key] = replace(results[key], p_holm=p)
    return Comparison(
        baseline=baseline,
        systems=systems,
        metrics=names,
        n_segments=n,
        results=results,
        resampling=cfg,
        specs=specs,
        rankings=rankings,
    )


def _ranking(
    rs: Resampler,
    metric: CorpusMetric,
    systems: Sequence[str],
    mats: Mapping[str, np.ndarray],
    samples: Mapping[str, np.ndarray],
    results: Mapping[tuple[str, str], MetricResult],
) -> Ranking:
    """Rank ranges from the bootstrap scores already drawn, AR tests of every pair (the first
    of each pair in input order is the AR's base), Holm over the metric's pairs."""
    pairs = [(i, j) for i in range(len(systems)) for j in range(i + 1, len(systems))]
    raw = rs.ar_pairs(metric, [mats[s] for s in systems], pairs)
    adjusted = holm(raw)
    named = [(systems[i], systems[j]) for i, j in pairs]
    return build_ranking(
        metric.name,
        systems=systems,
        scores={s: results[(s, metric.name)].score for s in systems},
        samples=np.column_stack([samples[s] for s in systems]),
        p_ar=dict(zip(named, raw, strict=True)),
        p_holm={k: float(p) for k, p in zip(named, adjusted, strict=True) if p is not None},
        higher_is_better=metric.higher_is_better,
    )


def _matrix(metric: CorpusMetric, stats: np.ndarray, n: int) -> np.ndarray:
    m = np.asarray(stats, dtype=np.float64)
    if m.shape != (n, metric.num_stats):
        raise ValueError(
            f"{metric.name}: expected statistics of shape ({n}, {metric.num_stats}), got {m.shape}"
        )
    return m
