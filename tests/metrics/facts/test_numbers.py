"""Tests of metrics.facts.numbers: numbers that changed between ref and hyp.

Every sentence here is written for these tests (generic news-like English), none is taken
from the seed texts.
"""

from __future__ import annotations

import pytest

from mtdrift.metrics.facts.numbers import extract_numbers, number_findings
from mtdrift.metrics.findings import Finding
from tests.support.facts import labels


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # thousands separator and decimals are one value each
        ("An extra 12,345 were hurt and 2.5 tonnes lost.", [("12,345", "12345"), ("2.5", "2.5")]),
        # percent sign and a trailing ordinal suffix keep the number
        ("Prices rose 7% by the 3rd week.", [("7%", "7"), ("3rd", "3")]),
        # compound number words, with "and" and a hyphen
        (
            "two hundred and five, twenty-one",
            [("two hundred and five", "205"), ("twenty-one", "21")],
        ),
        # digits times a scale word
        ("a budget of 1.5 million", [("1.5 million", "1500000")]),
        # "a dozen" is twelve; "two dozen" twenty-four
        ("a dozen eggs and two dozen rolls", [("a dozen", "12"), ("two dozen", "24")]),
        # time-scale units: a decade is ten years, a century a hundred
        ("for two decades and a century", [("two decades", "20"), ("a century", "100")]),
        # vague plurals are not numbers
        ("dozens of shops, scores of homes, hundreds of thousands, decades of war", []),
        # "no one" is a pronoun, not the number one
        ("no one was hurt", []),
        # a decade of years is not the year
        ("in the 1980s", [("1980s", "1980s")]),
        # clock times stay whole
        ("at 10:30 on Monday", [("10:30", "10:30")]),
        # digits glued to letters belong to a name (model codes), not a count
        ("the A320 and G7", []),
    ],
)
def test_extract_numbers(text: str, expected: list[tuple[str, str]]) -> None:
    result = [(m.text, m.value) for m in extract_numbers(text)]
    assert result == expected


@pytest.mark.parametrize(
    ("ref", "hyp", "expected"),
    [
        # thousands separators written differently are the same number
        ("About 12,000 people fled.", "About 12000 people fled.", []),
        # words vs digits
        ("Five workers were hurt.", "5 workers were hurt.", []),
        # time scales: two decades == 20 years
        (
            "The plant ran for more than two decades.",
            "The plant ran for more than 20 years.",
            [],
        ),
        # "a decade" == "ten years"
        ("It took nearly a decade.", "It took almost ten years.", []),
        # a changed year is one major finding with both sides
        (
            "The bridge opened in 1998.",
            "The bridge opened in 1989.",
            ["major number: 1998 -> 1989"],
        ),
        # a changed count
        (
            "Rescuers found 412 survivors.",
            "Rescuers found 421 survivors.",
            ["major number: 412 -> 421"],
        ),
        # a number the candidate lost is major
        (
            "The museum, built in 1911, reopened.",
            "The museum reopened.",
            ["major number: 1911 -> (missing)"],
        ),
        # a number the candidate added is minor
        (
            "The team won again.",
            "The team won again, for the 4th time.",
            ["minor number: (none) -> 4th"],
        ),
        # vague plurals on both sides are ignored
        ("Dozens of homes burned.", "Scores of homes burned.", []),
        ("Hundreds of people marched.", "Thousands of people marched.", []),
        # percentages: "7%" == "7 percent"; a changed rate is caught
        ("Unemployment fell to 7%.", "Unemployment fell to 7 percent.", []),
        ("Unemployment fell to 7%.", "Unemployment fell to 9%.", ["major number: 7% -> 9%"]),
        # a lone pronoun-like "one" is never reported, nor paired with a lost number
        ("She is among the best players.", "She is one of the best players.", []),
        (
            "In all, 48 of the players were new.",
            "One of the players was new.",
            ["major number: 48 -> (missing)"],
        ),
        # ... but it still matches the digit 1
        ("Only one bridge is open.", "Only 1 bridge is open.", []),
        # years pair with years, counts with counts: a lost year and an added count stay apart
        (
            "In 2004 the firm hired staff.",
            "The firm hired 30 staff.",
            ["major number: 2004 -> (missing)", "minor number: (none) -> 30"],
        ),
    ],
)
def test_number_findings(ref: str, hyp: str, expected: list[str]) -> None:
    result = labels(number_findings(ref=ref, hyp=hyp))
    assert result == expected


def test_number_findings_spans() -> None:
    # spans are character offsets into the texts the finding came from
    ref, hyp = "Losses: 635 in 2007.", "Losses: 653 in 2007."
    result = number_findings(ref=ref, hyp=hyp)
    expected = [
        Finding(
            kind="number",
            severity="major",
            ref="635",
            hyp="653",
            ref_span=(8, 11),
            hyp_span=(8, 11),
        )
    ]
    assert result == expected
