"""Rank ranges and clusters (metrics.ranking): the rule on hand-made tests, then on the 15
WMT23 zh-en dev systems, and the outputs that carry them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mtdrift.eval.corpus import read_corpus
from mtdrift.eval.render import pairwise as render
from mtdrift.metrics.lexical import get_lexical
from mtdrift.metrics.ranking import PairTest, Ranking, bootstrap_ranks, rank_ranges
from mtdrift.metrics.significance import Comparison, Resampling, compare_stats
from tests.support.paths import need_mqm

ALPHA = 0.05


def _ranking(scores: dict[str, float], p: dict[tuple[str, str], float]) -> Ranking:
    order = tuple(sorted(scores, key=lambda s: -scores[s]))
    pairs = {}
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            q = p.get((a, b), p.get((b, a), 1.0))
            pairs[(a, b)] = PairTest(q, q)
    return Ranking("m", order, scores, True, {s: (1, len(order)) for s in order}, pairs)


def test_bootstrap_ranks_count_strictly_better_systems_ties_share_the_better_rank() -> None:
    samples = np.array([[3.0, 2.0, 1.0], [1.0, 2.0, 2.0]])
    result = bootstrap_ranks(samples, higher_is_better=True)
    expected = np.array([[1, 2, 3], [3, 1, 1]])
    np.testing.assert_array_equal(result, expected)
    # lower is better (TER): the order flips
    np.testing.assert_array_equal(bootstrap_ranks(samples, higher_is_better=False), [[3, 2, 1], [1, 2, 2]])


def test_rank_range_drops_the_2_5_percent_most_extreme_ranks_each_side() -> None:
    # 80 resamples: B // 40 = 2 dropped on each side. System x is 1st 77 times, 3rd three
    # times: its range stays 1-1 with two of the three 3rds dropped... and one kept.
    b = 80
    x = np.full(b, 10.0)
    x[:3] = 0.0
    samples = np.column_stack([x, np.full(b, 5.0), np.full(b, 4.0)])
    result = rank_ranges(samples, higher_is_better=True)
    assert result == [(1, 3), (1, 2), (2, 3)]
    x[:3] = 10.0
    x[:2] = 0.0  # twice 3rd out of 80: both dropped
    assert rank_ranges(np.column_stack([x, samples[:, 1:]]), higher_is_better=True)[0] == (1, 1)


def test_a_line_needs_every_system_above_to_beat_every_system_below() -> None:
    # A beats B and C; B and C are not separable: A | B C
    rk = _ranking({"A": 3, "B": 2, "C": 1}, {("A", "B"): 0.01, ("A", "C"): 0.001})
    assert rk.clusters(ALPHA) == {"A": 1, "B": 2, "C": 2}
    assert rk.lines(ALPHA) == [1]


def test_significantly_different_systems_share_a_cluster_when_a_system_between_blocks_the_line() -> None:
    # A beats C, but neither A/B nor B/C are separable: no line can be drawn, one cluster
    rk = _ranking({"A": 3, "B": 2, "C": 1}, {("A", "C"): 0.001})
    assert rk.clusters(ALPHA) == {"A": 1, "B": 1, "C": 1}
    assert rk.outperforms("A", "C", ALPHA)
    # each of the two places a line could go is blocked by one non-significant pair across it
    assert rk.blocked_by("A", "C", ALPHA) == [("A", "B"), ("B", "C")]


def test_a_better_score_is_needed_to_outperform() -> None:
    rk = _ranking({"A": 2, "B": 2}, {("A", "B"): 0.001})  # tied scores: no one outperforms
    assert rk.clusters(ALPHA) == {"A": 1, "B": 1}


# --- the 15 systems of WMT23 zh-en (dev) ---------------------------------------------------


@pytest.fixture(scope="module")
def zhen() -> tuple[dict[str, dict[str, np.ndarray]], Comparison]:
    corpus = read_corpus(need_mqm())
    refs = list(corpus.refs)
    stats = {
        s: {m: get_lexical(m).stats(hyps=list(h), refs=refs) for m in ("bleu", "chrf")}
        for s, h in corpus.hyps.items()
    }
    return stats, compare_stats(stats, baseline=next(iter(stats)), metrics=["bleu", "chrf"])


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["bleu", "chrf"])
def test_systems_in_different_clusters_differ_significantly_and_shared_clusters_are_forced(
    zhen: tuple[dict[str, dict[str, np.ndarray]], Comparison], metric: str
) -> None:
    """The rule, checked pair by pair on real data: (1) two systems in different clusters always
    have a Holm-corrected AR p below alpha, the higher one with the better score; (2) two
    significantly different systems share a cluster only when every place a line could go
    between them is blocked by a pair across it that is not significant."""
    _, cmp = zhen
    rk = cmp.rankings[metric]
    clusters = rk.clusters(ALPHA)
    split = shared_significant = 0
    for (a, b), t in rk.pairs.items():
        if clusters[a] != clusters[b]:
            split += 1
            assert t.p_holm < ALPHA and rk.scores[a] > rk.scores[b], (a, b, t)
        elif t.p_holm < ALPHA:
            shared_significant += 1
            blocks = rk.blocked_by(a, b, ALPHA)
            assert blocks and all(not rk.outperforms(x, y, ALPHA) for x, y in blocks), (a, b)
    # both cases really occur on this data: the test exercises the rule, not an empty loop
    assert split > 50 and shared_significant >= 2


@pytest.mark.slow
def test_zhen_clusters_and_rank_ranges(zhen: tuple[dict[str, dict[str, np.ndarray]], Comparison]) -> None:
    """Golden: chrF on the 15 zh-en dev systems (598 segments, seed 12345)."""
    _, cmp = zhen
    rk = cmp.rankings["chrf"]
    clusters = rk.clusters(ALPHA)
    result = [[s for s in rk.order if clusters[s] == c] for c in sorted(set(clusters.values()))]
    assert result == [
        ["ONLINE-B", "HW-TSC", "Yishu"],
        ["ZengHuiMT", "ONLINE-G", "GPT4-5shot", "Lan-BridgeMT", "ONLINE-A", "ONLINE-Y", "ONLINE-W",
         "IOL_Research"],
        ["ONLINE-M"],
        ["NLLB_Greedy", "ANVITA", "NLLB_MBR_BLEU"],
    ]  # fmt: skip
    assert rk.rank_ranges["ONLINE-B"] == (1, 3)
    assert rk.rank_ranges["ZengHuiMT"] == (4, 4)  # always 4th, yet not separable after Holm
    assert rk.rank_ranges["ONLINE-M"] == (12, 12)
    for s in rk.order:  # the rank on the whole test set lies in its range
        lo, hi = rk.rank_ranges[s]
        assert lo <= rk.rank(s) <= hi


@pytest.mark.slow
def test_pair_tests_equal_the_baseline_test_with_either_system_as_baseline(
    zhen: tuple[dict[str, dict[str, np.ndarray]], Comparison],
) -> None:
    stats, cmp = zhen
    systems = list(stats)
    for a, b in [(systems[0], systems[5]), (systems[3], systems[7]), (systems[9], systems[2])]:
        expected = compare_stats({a: stats[a], b: stats[b]}, baseline=a, metrics=["chrf"]).get(b, "chrf").p_ar
        assert cmp.rankings["chrf"].pair(a, b).p_ar == pytest.approx(expected, abs=1e-12)


def test_compare_outputs_carry_rank_range_and_cluster() -> None:
    rng = np.random.default_rng(0)
    n = 200
    base = rng.random(n)
    stats = {
        "top": {"semantic": np.column_stack([base + 0.3, np.ones(n)])},
        "mid": {"semantic": np.column_stack([base + 0.01 + rng.normal(0, 0.1, n), np.ones(n)])},
        "low": {"semantic": np.column_stack([base, np.ones(n)])},
    }
    cmp = compare_stats(
        stats, baseline="low", metrics=["semantic"], resampling=Resampling(bootstrap=200, trials=500)
    )
    doc = json.loads(render.to_json(cmp, "semantic", {}))
    systems = doc["metrics"]["semantic"]["systems"]
    result = {s: (v["rank"], v["rank_range"], v["cluster"]) for s, v in systems.items()}
    assert result == {"top": (1, [1, 1], 1), "mid": (2, [2, 3], 2), "low": (3, [2, 3], 2)}
    assert doc["metrics"]["semantic"]["clusters"]["rule"] == "wmt17-19"
    assert len(doc["metrics"]["semantic"]["pairs"]) == 3
    tex = render.to_tex(cmp, "semantic", {})
    body = tex[tex.index("\\midrule") : tex.index("\\bottomrule")]
    assert body.count("\\midrule") == 2  # the head's, and one line between the two clusters
    assert "\\#" in tex and "WMT17--19" in tex
    md = render.to_md(cmp, "semantic", {})
    assert "| 1 | 1 | 1 | top |" in md and "| — | — | — | — | — |" in md and "| 2 | 2 | 2–3 | mid |" in md
