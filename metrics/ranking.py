"""Rank ranges and significance clusters of many systems, as WMT findings report them.

Two rules, each from the papers that use it, both computed from the draws that
``metrics.significance`` already makes (one bootstrap index matrix, one AR flip matrix, shared
by every system and metric):

**Rank range** (Koehn 2012, "Simulating Human Judgment in Machine Translation Evaluation
Campaigns", IWSLT; used for the rank ranges of the WMT13-WMT16 findings, e.g. Bojar et al. 2013,
§3): rank the systems on each bootstrap resample of the test set; a system's 95 % rank range
is the span of the ranks it takes, less the 2.5 % most extreme on each side. Here the bounds
are the ``B // 40``-th smallest and largest rank (sacrebleu's index rule for CIs, the one
``significance.interval`` uses), and a rank on a resample is 1 + the number of systems
strictly better on it (ties share the better rank).

**Clusters** (the rule of the WMT17-WMT19 findings, Bojar et al. 2017 §3.3, Bojar et al. 2018,
Barrault et al. 2019: "clusters are identified by grouping systems together according to
which systems significantly outperform all others in lower ranking clusters"): sort the
systems by score; draw a line between two neighbours exactly when *every* system above it
significantly outperforms *every* system below it. The clusters are the runs of systems
between lines. WMT used a Wilcoxon rank-sum test on human z-scores; our scores are corpus
metrics (BLEU is no mean of segment scores), so the test is the paired approximate
randomization over the metric's statistics, Holm-corrected over all pairs of systems of that
metric. "Significantly outperforms": Holm-corrected p < alpha *and* the better score.

What the rule guarantees, and what it does not: two systems in different clusters always
differ significantly. Two systems that differ significantly may still share a cluster, when a
system between them (or beside them) is not separable from one side; the rule then draws no
line between them (``Ranking.blocked_by`` names the pair that prevented it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

RULE = "wmt17-19"
RULE_TEXT = (
    "clusters: a line between neighbours when every system above significantly outperforms every "
    "system below (WMT17-19 findings; paired AR, Holm over all pairs of the metric); rank ranges: "
    "95 % of the ranks over bootstrap resamples (Koehn 2012; WMT13-16 findings)"
)


@dataclass(frozen=True)
class PairTest:
    """One pair of systems on one metric.

    Attributes:
        p_ar: paired approximate randomization p-value (ties counted, as in
            ``significance.p_value``).
        p_holm: ``p_ar`` Holm-corrected over every pair of systems of the metric.
    """

    p_ar: float
    p_holm: float


@dataclass(frozen=True)
class Ranking:
    """Every system of one metric: rank, bootstrap rank range, and all pairwise tests.

    Attributes:
        metric: the metric's name.
        order: systems best first (ties in score keep input order).
        scores: corpus score of each system.
        higher_is_better: the metric's direction.
        rank_ranges: each system's 95 % rank range ``(best, worst)``, 1-based.
        pairs: keyed by ``(a, b)`` with ``a`` before ``b`` in ``order``; every pair present.
        n_resamples: bootstrap resamples the ranges come from.
    """

    metric: str
    order: tuple[str, ...]
    scores: Mapping[str, float]
    higher_is_better: bool
    rank_ranges: Mapping[str, tuple[int, int]]
    pairs: Mapping[tuple[str, str], PairTest] = field(repr=False)
    n_resamples: int = 0

    def rank(self, system: str) -> int:
        """1-based position of ``system`` in ``order``."""
        return self.order.index(system) + 1

    def pair(self, a: str, b: str) -> PairTest:
        """The test of ``a`` against ``b``, in either order."""
        return self.pairs[(a, b)] if (a, b) in self.pairs else self.pairs[(b, a)]

    def outperforms(self, a: str, b: str, alpha: float) -> bool:
        """``a`` has the better score and the Holm-corrected AR p is below ``alpha``."""
        sa, sb = self.scores[a], self.scores[b]
        better = sa > sb if self.higher_is_better else sa < sb
        return better and self.pair(a, b).p_holm < alpha

    def significance(self, alpha: float) -> np.ndarray:
        """``(S, S)`` bool in ``order``: ``[i, j]`` when system ``i`` outperforms system ``j``."""
        n = len(self.order)
        out = np.zeros((n, n), dtype=bool)
        for i, a in enumerate(self.order):
            for j in range(i + 1, n):
                out[i, j] = self.outperforms(a, self.order[j], alpha)
        return out

    def lines(self, alpha: float) -> list[int]:
        """Positions ``k`` (1 to S-1) with a line drawn after the ``k``-th system: every
        system above it outperforms every system below it."""
        sig = self.significance(alpha)
        return [k for k in range(1, len(self.order)) if bool(sig[:k, k:].all())]

    def clusters(self, alpha: float) -> dict[str, int]:
        """Each system's cluster, 1 for the best, numbered down ``order``."""
        cuts = set(self.lines(alpha))
        out: dict[str, int] = {}
        cluster = 1
        for k, s in enumerate(self.order):
            if k in cuts:
                cluster += 1
            out[s] = cluster
        return out

    def blocked_by(self, a: str, b: str, alpha: float) -> list[tuple[str, str]]:
        """For two systems of one cluster: for each place a line could go between them, one
        pair across it that is *not* a significant win (why the rule draws no line there).
        Empty when ``a`` and ``b`` are in different clusters."""
        i, j = sorted((self.order.index(a), self.order.index(b)))
        sig = self.significance(alpha)
        out = []
        for k in range(i + 1, j + 1):
            block = np.argwhere(~sig[:k, k:])
            if len(block) == 0:
                return []
            x, y = block[0]
            out.append((self.order[x], self.order[k + y]))
        return out


def bootstrap_ranks(samples: np.ndarray, *, higher_is_better: bool) -> np.ndarray:
    """Rank of every system on every resample.

    Args:
        samples: ``(B, S)`` corpus scores, one column per system.
        higher_is_better: the metric's direction.

    Returns:
        ``(B, S)`` int, 1 + the number of systems strictly better on that resample.
    """
    x = np.asarray(samples, dtype=np.float64)
    if not higher_is_better:
        x = -x
    # better[b, i, j]: on resample b, system j beats system i
    return 1 + (x[:, None, :] > x[:, :, None]).sum(axis=2)


def rank_ranges(samples: np.ndarray, *, higher_is_better: bool) -> list[tuple[int, int]]:
    """95 % rank range of each system over the resamples (Koehn 2012): the ``B // 40``-th
    smallest and largest of its ranks.

    Args:
        samples: ``(B, S)`` corpus scores of the resamples.
        higher_is_better: the metric's direction.
    """
    ranks = np.sort(bootstrap_ranks(samples, higher_is_better=higher_is_better), axis=0)
    lo = len(ranks) // 40
    return [(int(ranks[lo, s]), int(ranks[len(ranks) - lo - 1, s])) for s in range(ranks.shape[1])]


def order_by_score(
    systems: Sequence[str], scores: Mapping[str, float], *, higher_is_better: bool
) -> list[str]:
    """Systems best first; ties keep input order."""
    sign = -1.0 if higher_is_better else 1.0
    pos = {s: k for k, s in enumerate(systems)}
    return sorted(systems, key=lambda s: (sign * scores[s], pos[s]))


def build_ranking(
    metric: str,
    *,
    systems: Sequence[str],
    scores: Mapping[str, float],
    samples: np.ndarray,
    p_ar: Mapping[tuple[str, str], float],
    p_holm: Mapping[tuple[str, str], float],
    higher_is_better: bool,
) -> Ranking:
    """A :class:`Ranking` from what the tests computed.

    Args:
        metric: its name.
        systems: input order.
        scores: corpus scores.
        samples: ``(B, S)`` bootstrap corpus scores, columns in ``systems`` order.
        p_ar, p_holm: per pair ``(a, b)`` of ``systems`` (either order), raw and corrected.
        higher_is_better: the metric's direction.
    """
    order = order_by_score(systems, scores, higher_is_better=higher_is_better)
    ranges = rank_ranges(samples, higher_is_better=higher_is_better)
    pairs: dict[tuple[str, str], PairTest] = {}
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            key = (a, b) if (a, b) in p_ar else (b, a)
            pairs[(a, b)] = PairTest(p_ar[key], p_holm[key])
    return Ranking(
        metric=metric,
        order=tuple(order),
        scores=dict(scores),
        higher_is_better=higher_is_better,
        rank_ranges={s: ranges[k] for k, s in enumerate(systems)},
        pairs=pairs,
        n_resamples=int(np.asarray(samples).shape[0]),
    )
