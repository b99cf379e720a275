"""Significance: golden tests against sacrebleu's PairedTest on WMT23 systems, and one
contract test over every metric of the registry."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from mtdrift.eval.corpus import Corpus, read_corpus
from mtdrift.metrics.calibration import agreement, delta_for_agreement
from mtdrift.metrics.facts.checker import FactChecker
from mtdrift.metrics.lexical import get_lexical
from mtdrift.metrics.registry import METRICS, MeanMetric, PluginMetric, corpus_score, get_metric, plugin_names
from mtdrift.metrics.signature import Signature
from mtdrift.metrics.significance import (
    Resampler,
    Resampling,
    compare_stats,
    holm,
    interval,
)
from tests.support.fakes import FakeEncoder
from tests.support.paths import need_mqm

# Chosen to give p-values between 0.01 and 0.9 against the baseline (NLLB pair), and clear ones.
GOLDEN_SYSTEMS = ("ANVITA", "NLLB_Greedy", "NLLB_MBR_BLEU", "ONLINE-M", "GPT4-5shot")


@pytest.fixture(scope="module")
def wmt23() -> Corpus:
    return read_corpus(need_mqm())


def _sacre_paired(
    named: Sequence[tuple[str, Sequence[str]]], metrics: dict[str, Any], refs: list[str], test_type: str
) -> Any:
    from sacrebleu.significance import PairedTest

    return PairedTest(list(named), metrics, [refs], test_type=test_type, n_samples=0)()[1]


@pytest.mark.parametrize("test_type", ["bs", "ar"])
def test_lexical_pvalues_and_cis_equal_sacrebleus_paired_test(wmt23: Corpus, test_type: str) -> None:
    from sacrebleu.metrics import BLEU, CHRF

    refs = list(wmt23.refs)
    named = [(s, list(wmt23.hyps[s])) for s in GOLDEN_SYSTEMS]
    theirs = _sacre_paired(named, {"bleu": BLEU(), "chrf": CHRF()}, refs, test_type)
    stats = {s: {m: get_lexical(m).stats(hyps=h, refs=refs) for m in ("bleu", "chrf")} for s, h in named}
    ours = compare_stats(stats, baseline=GOLDEN_SYSTEMS[0], metrics=["bleu", "chrf"])
    sacre_names = [k for k in theirs if k != "System"]  # "BLEU", "chrF2"
    moderate = 0
    for sacre, m in zip(sacre_names, ["bleu", "chrf"], strict=True):
        for k, system in enumerate(GOLDEN_SYSTEMS):
            t, o = theirs[sacre][k], ours.get(system, m)
            assert o.score == pytest.approx(t.score, abs=1e-9)
            p = o.p_bootstrap if test_type == "bs" else o.p_ar
            if k == 0:
                assert p is None and t.p_value is None
            else:
                assert p == pytest.approx(t.p_value, abs=1e-4), (system, m)
                moderate += 0.01 < t.p_value < 0.9
            if test_type == "bs":  # sacrebleu reports mean +- half-width of the bootstrap CI
                assert o.ci.mean == pytest.approx(t.mean, abs=1e-4)
                assert o.ci.half == pytest.approx(t.ci, abs=1e-4)
    assert moderate >= 2  # the golden set really exercises the p-value, not only p = 1/(n+1)


def test_ter_cis_equal_sacrebleus_on_float_statistics(wmt23: Corpus) -> None:
    from sacrebleu.metrics import TER

    refs = list(wmt23.refs[:60])
    named = [(s, list(wmt23.hyps[s][:60])) for s in GOLDEN_SYSTEMS[:3]]
    theirs = _sacre_paired(named, {"ter": TER()}, refs, "bs")
    stats = {s: {"ter": get_lexical("ter").stats(hyps=h, refs=refs)} for s, h in named}
    ours = compare_stats(stats, baseline=GOLDEN_SYSTEMS[0], metrics=["ter"])
    for k, system in enumerate(GOLDEN_SYSTEMS[:3]):
        t, o = theirs["TER"][k], ours.get(system, "ter")
        assert o.score == pytest.approx(t.score, abs=1e-9)
        assert o.ci.mean == pytest.approx(t.mean, abs=1e-4)
        assert o.ci.half == pytest.approx(t.ci, abs=1e-4)
        if k:
            assert o.p_bootstrap == pytest.approx(t.p_value, abs=1e-4)


# --- the contract: one test over every metric of the registry ---------------------------

PAIRS = [
    ("The cat sat on the mat.", "A cat was sitting on the mat."),
    ("He paid 300 dollars for it.", "He paid 30 dollars for it."),
    ("Nobody came to the meeting on Monday.", "Everyone came to the meeting on Monday."),
    ("The river flooded the lower town.", "The lower town was flooded by the river."),
    ("", "An added sentence."),
    ("An omitted sentence.", ""),
    ("Prices rose sharply in March.", "In March, prices went up a lot."),
    ("She won the race easily.", "She lost the race."),
    ("The museum opens at nine.", "The museum opens at 9."),
    ("They signed the treaty in Paris.", "The treaty was signed in Paris."),
    ("Rain is expected tomorrow.", "Tomorrow it will probably rain."),
    ("The bridge was closed for repairs.", "Repairs closed the bridge."),
]


# Every registered metric: the built-in ones, the plug-in of tests/plugin (installed by the
# charoverlap_plugin fixture) and any other plug-in installed in this venv.
CONTRACT = [*METRICS, *sorted({"charoverlap", *plugin_names()})]


def _metric_stats(name: str, hyps: list[str], refs: list[str], seed: int) -> np.ndarray:
    if name in ("bleu", "chrf", "chrfpp", "ter"):
        return get_lexical(name).stats(hyps=hyps, refs=refs)
    if name not in METRICS:
        metric = get_metric(name)
        assert isinstance(metric, PluginMetric)
        return metric.stats(hyps=hyps, refs=refs)
    values = np.random.default_rng(seed).uniform(0.2, 1.0, len(hyps))
    return np.column_stack([values, np.ones(len(hyps))])


@pytest.mark.parametrize("name", CONTRACT)
def test_metric_contract(name: str, request: pytest.FixtureRequest) -> None:
    if name not in METRICS:
        request.getfixturevalue("charoverlap_plugin")
    metric = get_metric(name)
    refs = [r for r, _ in PAIRS]
    hyps = [h for _, h in PAIRS]
    other = [h.replace("the", "a") for h in hyps]
    stats = _metric_stats(name, hyps, refs, 1)
    assert stats.shape == (len(PAIRS), metric.num_stats)

    # summing per-segment statistics gives the corpus score
    score = corpus_score(metric, stats)
    if name in ("bleu", "chrf", "chrfpp", "ter"):
        from sacrebleu.metrics import BLEU, CHRF, TER

        sacre = {"bleu": BLEU(), "chrf": CHRF(), "chrfpp": CHRF(word_order=2), "ter": TER()}[name]
        assert score == pytest.approx(sacre.corpus_score(hyps, [refs]).score, abs=1e-9)
    elif name not in METRICS:
        # a plug-in: a segment's row depends on that segment alone, and the corpus score of the
        # rows' sum is the score of all segments as one corpus, also when summed in two parts
        alone = np.vstack([_metric_stats(name, [h], [r], 1) for h, r in zip(hyps, refs, strict=True)])
        np.testing.assert_array_equal(alone, stats)
        halves = stats[:5].sum(axis=0) + stats[5:].sum(axis=0)
        assert float(metric.corpus_scores(halves[None, :])[0]) == pytest.approx(score, abs=1e-9)
        assert np.isfinite(score)
    else:
        assert score == pytest.approx(float(stats[:, 0].mean()), abs=1e-12)

    # shuffling segments changes nothing
    perm = np.random.default_rng(7).permutation(len(PAIRS))
    assert corpus_score(metric, stats[perm]) == pytest.approx(score, abs=1e-9)

    # a system against itself: p > 0.9 in both tests, delta 0
    small = Resampling(bootstrap=200, trials=500)
    same = compare_stats(
        {"a": {name: stats}, "b": {name: stats.copy()}}, baseline="a", metrics=[name], resampling=small
    )
    r = same.get("b", name)
    assert r.delta == 0.0
    assert r.p_ar is not None and r.p_ar > 0.9
    assert r.p_bootstrap is not None and r.p_bootstrap > 0.9

    # the same seed gives the same CIs; another seed other CIs
    two = {"a": {name: stats}, "b": {name: _metric_stats(name, other, refs, 2)}}
    c1 = compare_stats(two, baseline="a", metrics=[name], resampling=small)
    c2 = compare_stats(two, baseline="a", metrics=[name], resampling=small)
    c3 = compare_stats(
        two, baseline="a", metrics=[name], resampling=Resampling(seed=1, bootstrap=200, trials=500)
    )
    assert c1.get("b", name) == c2.get("b", name)
    assert c1.get("b", name).ci != c3.get("b", name).ci


def test_signatures_round_trip_through_json(fake_encoder: FakeEncoder, checker: FactChecker) -> None:
    from mtdrift.eval.config import RunConfig
    from mtdrift.eval.pipeline import signatures

    sigs = signatures(encoder=fake_encoder, checker=checker, config=RunConfig())
    for name in [*METRICS, "align", "input", "checks"]:
        text = sigs[name]
        back = json.loads(json.dumps({name: text}))[name]
        assert back == text
        assert Signature.parse(back).format() == text
    assert Resampling().signature() == Signature.parse(Resampling().signature().format())


# --- pieces --------------------------------------------------------------------------------


def test_resampler_draws_sacrebleus_indices_as_counts() -> None:
    rs = Resampler(37, Resampling(seed=5, bootstrap=50, trials=20))
    idx = np.random.default_rng(5).choice(37, size=(50, 37), replace=True)
    expected = np.stack([np.bincount(row, minlength=37) for row in idx])
    assert np.array_equal(rs.counts, expected)
    assert rs.counts.sum(axis=1).tolist() == [37] * 50
    flips = np.random.default_rng(5).integers(2, size=(20, 37), dtype=bool)
    assert np.array_equal(rs.flips.astype(bool), flips)


@pytest.mark.parametrize("n", [1, 7, 37, 130])
@pytest.mark.parametrize("block", [1, 5, 64, 100, 1 << 20])
def test_draws_made_a_block_at_a_time_are_the_whole_draw(n: int, block: int) -> None:
    """The resampler draws a block of resamples at a time (bounded memory); joined, the blocks
    are the one draw of sacrebleu's matrices, whatever the block size (coin flips included,
    which numpy's generator packs 32 to a word)."""
    cfg = Resampling(seed=7, bootstrap=45, trials=33)
    rs = Resampler(n, cfg, block=block)
    idx = np.random.default_rng(7).choice(n, size=(45, n), replace=True)
    expected = np.stack([np.bincount(row, minlength=n) for row in idx])
    firsts = [first for first, _ in rs.count_blocks()]
    assert firsts == list(range(0, 45, max(1, block // n)))
    assert np.array_equal(rs.counts, expected)
    flips = np.random.default_rng(7).integers(2, size=(33, n), dtype=bool)
    assert np.array_equal(rs.flips.astype(bool), flips)
    assert all(len(f) <= max(1, block // n) for _, f in rs.flip_blocks())


def test_block_size_changes_no_p_value_or_interval(wmt23: Corpus) -> None:
    """Real statistics (BLEU counts, chrF, and the mean of real-valued per-segment scores) of
    three WMT23 systems: scores, bootstrap scores and AR p-values with blocks of 1 to 7
    resamples are those of one block holding every draw."""
    refs = list(wmt23.refs[:150])
    systems = GOLDEN_SYSTEMS[:3]
    rng = np.random.default_rng(3)
    stats = {
        s: {
            "bleu": get_lexical("bleu").stats(hyps=list(wmt23.hyps[s][:150]), refs=refs),
            "chrf": get_lexical("chrf").stats(hyps=list(wmt23.hyps[s][:150]), refs=refs),
            "semantic": np.column_stack([np.round(rng.uniform(0.3, 1.0, 150), 4), np.ones(150)]),
        }
        for s in systems
    }
    cfg = Resampling(bootstrap=100, trials=300)
    whole, blocked = Resampler(150, cfg, block=10**9), Resampler(150, cfg, block=1000)
    assert len(list(blocked.flip_blocks())) == 50
    pairs = [(0, 1), (0, 2), (1, 2)]
    for name in ("bleu", "chrf", "semantic"):
        metric = get_metric(name)
        mats = [stats[s][name] for s in systems]
        for a, b in zip(
            whole.bootstrap_many(metric, mats), blocked.bootstrap_many(metric, mats), strict=True
        ):
            assert np.array_equal(a, b), name
        for (a1, b1), (a2, b2) in zip(
            whole.ar_against(metric, mats[0], mats[1:]),
            blocked.ar_against(metric, mats[0], mats[1:]),
            strict=True,
        ):
            assert np.array_equal(a1, a2) and np.array_equal(b1, b2), name
        assert whole.ar_pairs(metric, mats, pairs) == blocked.ar_pairs(metric, mats, pairs), name
    ours = compare_stats(stats, baseline=systems[0], metrics=["bleu", "chrf", "semantic"], resampling=cfg)
    assert 0.0 < min(ours.get(s, "bleu").p_ar or 1 for s in systems[1:]) < 1.0


def test_interval_uses_sacrebleus_index_rule() -> None:
    iv = interval(np.arange(1000, dtype=float)[::-1])
    assert (iv.low, iv.high, iv.mean) == (25.0, 974.0, 499.5)
    assert iv.half == 474.5


def test_holm_step_down() -> None:
    assert holm([0.01, 0.04, 0.03, None, 0.005]) == pytest.approx([0.03, 0.06, 0.06, None, 0.02])
    assert holm([0.5, 0.9]) == [1.0, 1.0]


def test_kocmi_agreement_and_its_inverse() -> None:
    assert agreement("bleu", 1.0) == pytest.approx(88.33 / (1 + math.exp(-0.9664)))
    assert agreement("chrf", -2.0) == pytest.approx(93.0 / (1 + math.exp(-1.1143 * 2)))
    assert agreement("semantic", 0.1) is None
    d = delta_for_agreement("bleu", 75.0)
    assert d is not None and agreement("bleu", d) == pytest.approx(75.0)
    assert round(d, 2) == 1.79
    assert delta_for_agreement("chrf", 99.0) is None  # the curve tops out at 93 %


def test_mean_metric_scores_means() -> None:
    m = MeanMetric("semantic")
    assert m.corpus_scores(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist() == [0.75, 0.0]
    with pytest.raises(ValueError, match="expected summed statistics of shape"):
        m.corpus_scores(np.zeros((2, 3)))


def test_compare_rejects_unpaired_systems() -> None:
    a = np.column_stack([np.ones(5), np.ones(5)])
    with pytest.raises(ValueError, match="same segments"):
        compare_stats({"a": {"semantic": a}, "b": {"semantic": a[:4]}}, baseline="a", metrics=["semantic"])
    with pytest.raises(ValueError, match="baseline 'x'"):
        compare_stats({"a": {"semantic": a}}, baseline="x", metrics=["semantic"])
