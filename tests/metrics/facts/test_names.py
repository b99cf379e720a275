"""Tests of metrics.facts.names: names (entities) that changed between ref and hyp, on
hand-made entity lists, and the country table.

Every sentence here is written for these tests (generic news-like English), none is taken
from the seed texts.
"""

from __future__ import annotations

import pytest

from mtdrift.metrics.facts.names import Entity, country_table, entity_findings
from mtdrift.metrics.findings import Finding
from tests.support.facts import labels


def _ents(text: str, *specs: tuple[str, str]) -> list[Entity]:
    """Entities for hand-written test sentences: (surface, label), located by first match."""
    out = []
    for surface, label in specs:
        start = text.index(surface)
        out.append(Entity(text=surface, label=label, start=start, end=start + len(surface)))
    return out


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
    assert labels(result) == expected


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
