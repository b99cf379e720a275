"""Golden tests: mtdrift's lexical metrics against sacrebleu 2.6.0 itself.

Every expected value comes from sacrebleu's public API (``sentence_score``, ``corpus_score``,
``get_signature``) or, for resamples, from the private ``_compute_score_from_stats`` that
sacrebleu's own significance tests call.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import random
from collections.abc import Callable
from itertools import islice
from typing import Any, cast

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric as SacreMetric
from sacrebleu.utils import sum_of_lists

from mtdrift.metrics.lexical import LEXICAL_METRICS, Level, LexicalMetric, get_lexical
from mtdrift.metrics.signature import Signature
from tests.support.paths import ZHEN, ZHEN_OFFICIAL

MQM_ROWS = ZHEN
MQM_SCORES = ZHEN_OFFICIAL
N_MQM_ROWS = 300

# sacrebleu objects with the settings each mtdrift metric promises: (corpus, sentence).
SACREBLEU: dict[str, Callable[[], tuple[SacreMetric, SacreMetric]]] = {
    "bleu": lambda: (BLEU(), BLEU(effective_order=True)),
    "chrf": lambda: (CHRF(), CHRF()),
    "chrfpp": lambda: (CHRF(word_order=2), CHRF(word_order=2)),
    "ter": lambda: (TER(), TER()),
}

LONG_REF = " ".join(f"word{i % 37} of the committee, item {i};" for i in range(60))
LONG_HYP = LONG_REF.replace("committee", "board").replace("item 7;", "item seven")

# (hyps, refs) corpora, each small enough to score with sacrebleu in milliseconds.
CASES = [
    # empty hypothesis: an omitted sentence is scored as hyp "" (BLEU sys_len 0, chrF no
    # candidate n-grams, TER all deletions)
    pytest.param(["", "The cat sat."], ["The dog ran away.", "The cat sat."], id="empty-hyp"),
    # empty reference: an added candidate sentence is scored against ref "" (TER's
    # "edits but no reference" branch gives 100, BLEU's brevity penalty is 1)
    pytest.param(["An extra sentence.", "The cat sat."], ["", "The cat sat."], id="empty-ref"),
    # both empty: every count is zero; no division by zero, sacrebleu's 0.0 fallbacks
    pytest.param([""], [""], id="both-empty"),
    # one segment: corpus score equals the sentence score except BLEU's effective order
    pytest.param(["the quick brown fox"], ["a quick brown dog"], id="one-segment"),
    # non-ASCII: German quotes, dashes and umlauts, CJK without spaces (chrF counts
    # characters, 13a keeps CJK runs as one token)
    pytest.param(
        ["Zürich — „Grüße“ aus der Schweiz", "我们明天去北京。"],
        ["Zürich – „Grüße“ aus der Schweiz!", "我们 明天 去 北京 。"],
        id="non-ascii",
    ),
    # identical strings: the maximum (BLEU 100, chrF 100, TER 0)
    pytest.param(["It rains in Spain."] * 2, ["It rains in Spain."] * 2, id="identical"),
    # very long sentence: 400+ tokens, TER's beam and shift search, chrF's large counters
    pytest.param([LONG_HYP], [LONG_REF], id="long-sentence"),
    # punctuation only: 13a splits every mark, chrF++ word n-grams of bare punctuation
    pytest.param(["... !? ,", "--"], ["!?", "-- --"], id="punctuation-only"),
    # whitespace only and trailing whitespace: BLEU and TER rstrip, chrF drops spaces
    pytest.param(["   ", "ok \t\n"], ["nothing", "ok"], id="whitespace"),
    # short candidate, no 3- or 4-grams: sentence BLEU's effective order, brevity penalty
    pytest.param(["A cat"], ["A cat is sitting on the mat."], id="short-hyp"),
    # no overlap at all: BLEU's "no matching n-gram" early return, chrF's zero precision
    pytest.param(["alpha beta gamma"], ["delta epsilon zeta"], id="no-overlap"),
    # repeated words: BLEU clips matches to the reference count
    pytest.param(["the the the the the the the"], ["the cat is on the mat"], id="clipping"),
    # case only differs: BLEU and chrF are case-sensitive, TER is not
    pytest.param(["THE CAT SAT ON THE MAT"], ["the cat sat on the mat"], id="case"),
]


def _sacrebleu(name: str) -> tuple[SacreMetric, SacreMetric]:
    return SACREBLEU[name]()


@pytest.fixture(params=LEXICAL_METRICS)
def metric(request: pytest.FixtureRequest) -> LexicalMetric:
    return get_lexical(request.param)


# --- golden values on hand-chosen cases ------------------------------------------------


@pytest.mark.parametrize(("hyps", "refs"), CASES)
def test_sentence_scores_match_sacrebleu(metric: LexicalMetric, hyps: list[str], refs: list[str]) -> None:
    _, sentence = _sacrebleu(metric.name)
    result = metric.sentence_scores(metric.stats(hyps=hyps, refs=refs))
    expected = [sentence.sentence_score(hyp, [ref]).score for hyp, ref in zip(hyps, refs, strict=True)]
    assert result.shape == (len(hyps),)
    assert result.dtype == np.float64
    assert result.tolist() == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("hyps", "refs"), CASES)
def test_corpus_score_matches_sacrebleu(metric: LexicalMetric, hyps: list[str], refs: list[str]) -> None:
    corpus, _ = _sacrebleu(metric.name)
    result = metric.corpus_score(metric.stats(hyps=hyps, refs=refs))
    expected = corpus.corpus_score(hyps, [refs]).score
    assert isinstance(result, float)
    assert result == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("hyps", "refs"), CASES)
def test_stats_rows_are_sacrebleus_and_sum_to_corpus_stats(
    metric: LexicalMetric, hyps: list[str], refs: list[str]
) -> None:
    corpus, _ = _sacrebleu(metric.name)
    result = metric.stats(hyps=hyps, refs=refs)
    # each row is what sacrebleu extracts for that segment alone
    expected_rows = [
        corpus._extract_corpus_statistics([hyp], [[ref]])[0] for hyp, ref in zip(hyps, refs, strict=True)
    ]
    expected_sum = sum_of_lists(corpus._extract_corpus_statistics(hyps, [refs]))
    assert result.shape == (len(hyps), metric.num_stats)
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, np.array(expected_rows, dtype=np.float64))
    np.testing.assert_array_equal(result.sum(axis=0), np.array(expected_sum, dtype=np.float64))


def test_stats_across_chunk_boundaries(metric: LexicalMetric) -> None:
    # stats() hands sacrebleu 32 segments at a time: rows must not depend on the chunking
    hyps, refs = _resample_case()
    hyps, refs = hyps * 4, (refs[1:] + refs[:1]) * 4  # 76 segments, pairs shifted by one
    corpus, _ = _sacrebleu(metric.name)
    result = metric.stats(hyps=hyps, refs=refs)
    expected = np.array(corpus._extract_corpus_statistics(hyps, [refs]), dtype=np.float64)
    np.testing.assert_array_equal(result, expected)


def test_bleu_warns_about_tokenized_candidates(caplog: pytest.LogCaptureFixture) -> None:
    # sacrebleu's own corpus-level warning, which chunked extraction would otherwise lose
    with caplog.at_level(logging.WARNING, logger="mtdrift.metrics.lexical"):
        get_lexical("bleu").stats(hyps=["a b ."] * 100, refs=["a b."] * 100)
    assert "100 candidate lines end in a tokenized period" in caplog.text


# --- resampling: the arithmetic of sacrebleu's significance module ------------------------


def _resample_case() -> tuple[list[str], list[str]]:
    """All hand-chosen cases pooled into one corpus (19 segments)."""
    hyps: list[str] = []
    refs: list[str] = []
    for case in CASES:
        case_hyps, case_refs = case.values
        hyps += cast(list[str], case_hyps)
        refs += cast(list[str], case_refs)
    return hyps, refs


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_corpus_scores_match_sacrebleu_on_resamples(metric: LexicalMetric, dtype: type[np.floating]) -> None:
    # float32 is what sacrebleu's PairedTest and bootstrap CI score (np.array(stats,
    # dtype="float32")), and it changes chrF and TER in the 5th-6th digit: must agree too.
    hyps, refs = _resample_case()
    corpus, _ = _sacrebleu(metric.name)
    stats = metric.stats(hyps=hyps, refs=refs).astype(dtype)
    idx = np.random.default_rng(12345).choice(len(hyps), size=(200, len(hyps)), replace=True)
    summed = stats[idx].sum(axis=1)
    result = metric.corpus_scores(summed)
    expected = [float(corpus._compute_score_from_stats(row).score) for row in summed]
    assert result.shape == (200,)
    assert result.tolist() == pytest.approx(expected, abs=1e-9)


def test_corpus_score_is_unchanged_by_shuffling_segments(metric: LexicalMetric) -> None:
    hyps, refs = _resample_case()
    order = list(range(len(hyps)))
    random.Random(12345).shuffle(order)
    stats = metric.stats(hyps=hyps, refs=refs)
    shuffled = metric.stats(hyps=[hyps[i] for i in order], refs=[refs[i] for i in order])
    np.testing.assert_array_equal(shuffled, stats[order])
    result = metric.corpus_score(shuffled)
    expected = metric.corpus_score(stats)
    assert result == expected


def test_corpus_score_of_resampled_matrix_is_score_of_its_sum(metric: LexicalMetric) -> None:
    hyps, refs = _resample_case()
    stats = metric.stats(hyps=hyps, refs=refs)
    resampled = stats[[0, 0, 3, 5, 5, 5, 18]]
    result = metric.corpus_score(resampled)
    expected = metric.corpus_scores(resampled.sum(axis=0)[None, :])[0]
    assert result == expected


# --- signatures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "level", "expected"),
    [
        ("bleu", "sentence", "nrefs:1|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.6.0"),
        ("bleu", "corpus", "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"),
        ("chrf", "corpus", "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"),
        ("chrfpp", "corpus", "nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0"),
        (
            "ter",
            "corpus",
            "nrefs:1|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:2.6.0",
        ),
    ],
)
def test_signature_literal(name: str, level: Level, expected: str) -> None:
    result = get_lexical(name).signature(level)
    assert result == expected


@pytest.mark.parametrize("level", ["sentence", "corpus"])
def test_signature_matches_sacrebleu_after_scoring(metric: LexicalMetric, level: Level) -> None:
    corpus, sentence = _sacrebleu(metric.name)
    sacre = sentence if level == "sentence" else corpus
    sacre.corpus_score(["a b c"], [["a b d"]])  # sacrebleu knows nrefs only after scoring
    result = metric.signature(level)
    expected = sacre.get_signature().format()
    assert result == expected


@pytest.mark.parametrize("level", ["sentence", "corpus"])
def test_signature_fields_round_trip(metric: LexicalMetric, level: Level) -> None:
    result = metric.signature_fields(level)
    assert isinstance(result, Signature)
    assert result.format() == f"{metric.name}|{metric.signature(level)}"
    assert result.as_dict()["nrefs"] == "1"
    assert json.loads(json.dumps(result.as_dict())) == result.as_dict()


# --- API contract and errors -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "num_stats", "higher_is_better"),
    [("bleu", 10, True), ("chrf", 18, True), ("chrfpp", 24, True), ("ter", 2, False)],
)
def test_metric_attributes(name: str, num_stats: int, higher_is_better: bool) -> None:
    result = get_lexical(name)
    assert result.name == name
    assert result.num_stats == num_stats
    assert result.higher_is_better is higher_is_better
    assert result == LexicalMetric(name)


def test_lexical_metrics_names() -> None:
    assert LEXICAL_METRICS == ("bleu", "chrf", "chrfpp", "ter")


def test_unknown_metric_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown lexical metric 'bleurt'; known: bleu, chrf"):
        get_lexical("bleurt")


def test_length_mismatch(metric: LexicalMetric) -> None:
    with pytest.raises(
        ValueError,
        match="expected as many hypotheses as references, got 3 hypotheses and 4 references",
    ):
        metric.stats(hyps=["a", "b", "c"], refs=["a", "b", "c", "d"])


def test_bare_string_is_rejected(metric: LexicalMetric) -> None:
    with pytest.raises(TypeError, match="hyps must be a sequence of strings"):
        metric.stats(hyps="a b c", refs=["a b c"])


def test_non_string_segment_is_rejected(metric: LexicalMetric) -> None:
    with pytest.raises(TypeError, match=r"refs\[1\] must be a string, got NoneType"):
        metric.stats(hyps=["a", "b"], refs=["a", None])  # type: ignore[list-item]


def test_empty_corpus_has_stats_but_no_score(metric: LexicalMetric) -> None:
    result = metric.stats(hyps=[], refs=[])
    assert result.shape == (0, metric.num_stats)
    assert metric.sentence_scores(result).shape == (0,)
    with pytest.raises(ValueError, match="cannot score an empty corpus"):
        metric.corpus_score(result)


def test_wrong_stats_shape(metric: LexicalMetric) -> None:
    with pytest.raises(ValueError, match=rf"expected stats of shape \(n, {metric.num_stats}\)"):
        metric.sentence_scores(np.zeros((3, metric.num_stats + 1)))


# --- property: random short texts --------------------------------------------------------

_TEXT = st.text(alphabet="ab c.,!-äß我 \t", max_size=20)


@settings(max_examples=40, deadline=None)
@given(pairs=st.lists(st.tuples(_TEXT, _TEXT), min_size=1, max_size=5))
def test_random_texts_match_sacrebleu(pairs: list[tuple[str, str]]) -> None:
    hyps = [hyp for hyp, _ in pairs]
    refs = [ref for _, ref in pairs]
    for name in LEXICAL_METRICS:
        metric = get_lexical(name)
        corpus, sentence = _sacrebleu(name)
        stats = metric.stats(hyps=hyps, refs=refs)
        result = metric.sentence_scores(stats).tolist()
        expected = [sentence.sentence_score(hyp, [ref]).score for hyp, ref in pairs]
        assert result == pytest.approx(expected, abs=1e-9), name
        assert metric.corpus_score(stats) == pytest.approx(
            corpus.corpus_score(hyps, [refs]).score, abs=1e-9
        ), name


# --- real data: WMT23 zh-en MQM (dev half) ---------------------------------------------


@pytest.fixture(scope="module")
def mqm_rows() -> list[dict[str, Any]]:
    if not MQM_ROWS.exists():
        pytest.skip(f"real-data test needs {MQM_ROWS} (the shared data folder next to the repo)")
    with gzip.open(MQM_ROWS, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in islice(handle, N_MQM_ROWS)]


@pytest.mark.slow
def test_mqm_rows_match_sacrebleu(metric: LexicalMetric, mqm_rows: list[dict[str, Any]]) -> None:
    hyps = [row["hypothesis"] for row in mqm_rows]
    refs = [row["reference"] for row in mqm_rows]
    corpus, sentence = _sacrebleu(metric.name)
    stats = metric.stats(hyps=hyps, refs=refs)

    result = metric.sentence_scores(stats).tolist()
    expected = [sentence.sentence_score(hyp, [ref]).score for hyp, ref in zip(hyps, refs, strict=True)]
    assert result == pytest.approx(expected, abs=1e-9)

    result_corpus = metric.corpus_score(stats)
    expected_corpus = corpus.corpus_score(hyps, [refs]).score
    assert result_corpus == pytest.approx(expected_corpus, abs=1e-9)


@pytest.mark.parametrize(("name", "column"), [("bleu", "BLEU-refA"), ("chrf", "chrF-refA")])
def test_mqm_rows_match_official_scores(name: str, column: str, mqm_rows: list[dict[str, Any]]) -> None:
    # An independent golden: WMT23's stored sentence_bleu / sentence_chrf (sacrebleu 2.6.0
    # defaults), computed outside this process.
    if not MQM_SCORES.exists():
        pytest.skip(f"needs {MQM_SCORES} (the shared data folder next to the repo)")
    with gzip.open(MQM_SCORES, "rb") as raw:
        reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8"), delimiter="\t")
        official = list(islice(reader, len(mqm_rows)))
    assert [(r["seg_id"], r["system"]) for r in official] == [
        (str(r["seg_id"]), r["system"]) for r in mqm_rows
    ]
    metric = get_lexical(name)
    stats = metric.stats(
        hyps=[row["hypothesis"] for row in mqm_rows],
        refs=[row["reference"] for row in mqm_rows],
    )
    result = metric.sentence_scores(stats).tolist()
    expected = [float(row[column]) for row in official]
    assert result == pytest.approx(expected, abs=1e-9)
