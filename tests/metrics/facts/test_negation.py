"""Tests of metrics.facts.negation: negation that changed between ref and hyp.

Every sentence here is written for these tests (generic news-like English), none is taken
from the seed texts.
"""

from __future__ import annotations

import pytest

from mtdrift.metrics.facts.negation import negation_findings
from mtdrift.metrics.findings import Finding


@pytest.mark.parametrize(
    ("ref", "hyp", "expected"),
    [
        # a flip: the candidate lost the negation
        ("The council did not approve the plan.", "The council approved the plan.", ["not", None]),
        # a flip: the candidate added one
        ("The council approved the plan.", "The council never approved the plan.", [None, "never"]),
        # both negated, different cues: no finding
        ("He did not give a reason.", "He left without giving a reason.", []),
        # the n't contraction is a cue, curly apostrophe too
        ("She can’t attend.", "She is able to attend.", ["can’t", None]),
        ("She isn't here.", "She is not here.", []),
        # case-insensitive, word boundaries ("notable", "know" are not cues)
        ("Nobody came.", "NOBODY came.", []),
        ("A notable knowledge gap.", "A notable knowledge gap.", []),
        # "not only ... but also" negates nothing
        ("It is not only cheap but also fast.", "It is cheap and fast.", []),
        # "neither ... nor" is one negation, not two
        ("Neither the mayor nor the police commented.", "The mayor did not comment.", []),
        # "whether or not" negates nothing
        ("They will go whether or not it rains.", "They will go in any weather.", []),
        # "No. 5" is a number abbreviation
        ("Road No. 5 reopened.", "Road 5 reopened.", []),
    ],
)
def test_negation_findings(ref: str, hyp: str, expected: list[str | None]) -> None:
    result = [[f.ref, f.hyp] for f in negation_findings(ref=ref, hyp=hyp)]
    assert result == ([expected] if expected else [])


def test_negation_finding_is_major_with_span() -> None:
    # the cue is located in the side that has it
    result = negation_findings(ref="They did not win.", hyp="They won.")
    expected = [Finding(kind="negation", severity="major", ref="not", ref_span=(9, 12))]
    assert result == expected
