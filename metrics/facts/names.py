"""The name check: named entities of the reference (found by spaCy's NER) that the candidate
lost or changed, matched across spellings, transliterations, acronyms, ISO codes and
demonyms (the country table of ``countryinfo``).

The rules are general-purpose tables only: words that name a kind of institution or place,
titles, and countries. A changed name is ``"major"``; a lost or added one ``"minor"``.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mtdrift.metrics.facts import one_to_one
from mtdrift.metrics.facts.numbers import _word_list
from mtdrift.metrics.findings import Finding, sort_findings

ENTITY_LABELS: tuple[str, ...] = (
    "PERSON",
    "ORG",
    "GPE",
    "LOC",
    "FAC",
    "NORP",
    "EVENT",
    "PRODUCT",
    "WORK_OF_ART",
    "LAW",
)
"""spaCy (OntoNotes) labels the entity check considers; dates and quantities are numbers."""

FUZZY_RATIO = 0.8
"""Minimum :class:`difflib.SequenceMatcher` ratio for two name tokens to count as one name
spelled two ways (transliteration variants); only tokens of at least :data:`FUZZY_MIN_LEN`
characters are compared fuzzily, shorter ones must be equal."""

FUZZY_MIN_LEN = 4

SKELETON_RATIO = 0.7
"""Two tokens whose ratio is below :data:`FUZZY_RATIO` still match when it is at least this
and their consonant skeletons (vowels dropped, doubled letters collapsed) are equal, as in
transliterations that differ in vowels only (``"Muhammad"``/``"Mohammed"``)."""

_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC", "NORP"})


def _fold(text: str) -> str:
    """Casefold and strip diacritics (``"Zürich"`` -> ``"zurich"``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


# --------------------------------------------------------------------------------------------
# Named entities
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entity:
    """A named entity in a text, as a NER model found it.

    Attributes:
        text: the entity's surface text.
        label: its OntoNotes label (``"PERSON"``, ``"ORG"``, ``"GPE"``...).
        start: character offset of its first character in the text.
        end: character offset just past its last character.
    """

    text: str
    label: str
    start: int
    end: int


_GENERIC_NAME_WORDS = frozenset(
    _word_list(
        """
    ministry ministries department office agency authority council committee commission
    government administration cabinet parliament assembly senate congress court army armies
    force forces military navy command headquarters party group groups organization
    organisation company corporation corp inc ltd co bank university college school institute
    center centre hospital airport base air port station bridge river lake mountain mount
    mountains island islands sea ocean gulf bay strait valley desert street road avenue square
    park palace building tower province provinces governorate region regions district county
    city town village capital territory territories republic kingdom federation union
    coalition alliance movement front brigade brigades division battalion militia militias
    club league association federal national central international
    of the and for in on at to a an al el de del la le da di von van
    """
    )
)
"""Words that say what kind of thing a name names (an institution, a place) rather than which
one; a name's rewording may keep, drop or move them (``"Ministry of Defense"`` vs ``"Defense
Ministry"``, ``"X province"`` vs ``"X Governorate"``), so matching rests on the other tokens."""

_ACRONYM_SKIP = frozenset({"of", "the", "and", "for", "de", "la", "du", "&"})
_TITLES = frozenset(
    _word_list(
        """
    mr mrs ms miss dr prof president vice prime minister secretary gen general maj major col
    colonel lt lieutenant capt captain sgt sergeant adm admiral cmdr commander sen senator rep
    representative gov governor mayor judge justice king queen prince princess sheikh sir lord
    lady pope rev father sister brother chief former late dictator leader chairman ceo
    """
    )
)

_WORD_RE = re.compile(r"(?:[^\W\d_]\.){2,}|[\w]+(?:['’][\w]+)*")


@dataclass(frozen=True)
class _Word:
    norm: str  # casefolded, no diacritics, no dots or possessive
    raw: str  # original case, dots and possessive removed
    start: int
    end: int


@functools.lru_cache(maxsize=1 << 12)
def _words(text: str) -> tuple[_Word, ...]:
    """Word tokens with offsets; ``"U.S."`` is one token ``us``, ``"Iraq’s"`` is ``iraq``."""
    out: list[_Word] = []
    for m in _WORD_RE.finditer(text):
        raw = m.group().replace(".", "")
        raw = re.sub(r"['’][sS]$", "", raw)
        raw = raw.replace("'", "").replace("’", "")
        norm = _fold(raw)
        if norm:
            out.append(_Word(norm, raw, m.start(), m.end()))
    return tuple(out)


def _entity_words(text: str) -> tuple[_Word, ...]:
    words = _words(text)
    if words and words[0].norm == "the":
        words = words[1:]
    return words


def _is_code(raw: str) -> bool:
    return 2 <= len(raw) <= 3 and raw.isalpha() and raw.isupper()


@dataclass(frozen=True)
class _CountryTable:
    names: dict[str, str]  # normalised multi-word name/demonym -> key
    codes: dict[str, str]  # upper-case code (ISO alpha-2/3, short spellings) -> key
    max_words: int
    starts: frozenset[str]  # first words of the multi-word names

    def lookup(self, words: Sequence[_Word]) -> str | None:
        if not words:
            return None
        if len(words) == 1 and _is_code(words[0].raw):
            return self.codes.get(words[0].raw)
        joined = " ".join(w.norm for w in words)
        key = self.names.get(joined)
        if key is None and len(words) == 1 and len(joined) > 4 and joined.endswith("s"):
            key = self.names.get(joined[:-1])  # plural demonym: "Germans"
        return key


@functools.lru_cache(maxsize=1)
def country_table() -> _CountryTable:
    """The country table from ``countryinfo``, built once and cached.

    Each country's name, alternative spellings, ISO alpha-2/alpha-3 codes and demonym map to
    one key (the country's name), so ``"American"``, ``"US"``, ``"U.S."``, ``"USA"`` and
    ``"United States"`` are the same place. Upper-case codes of two or three letters match
    only in upper case (``"US"``, never the pronoun ``"us"``). Where two countries share a
    form (``"American"``), the more populous one keeps it.

    Returns:
        The table.
    """
    from countryinfo import CountryInfo

    data: dict[str, Any] = dict(CountryInfo.all())
    ordered = sorted(
        data.values(),
        key=lambda d: (-(d.get("population") or 0), str(d.get("name") or "")),
    )
    names: dict[str, str] = {}
    codes: dict[str, str] = {}
    max_words = 1
    for info in ordered:
        key = str(info.get("name") or "")
        if not key:
            continue
        iso = info.get("ISO") or {}
        forms = [key, *(info.get("altSpellings") or []), info.get("demonym") or ""]
        forms += [iso.get("alpha2") or "", iso.get("alpha3") or ""]
        for form in forms:
            words = _entity_words(str(form))
            if not words:
                continue
            if len(words) == 1 and _is_code(words[0].raw):
                codes.setdefault(words[0].raw, key)
                continue
            joined = " ".join(w.norm for w in words)
            if len(joined) < 3:
                continue
            names.setdefault(joined, key)
            max_words = max(max_words, len(words))
    starts = frozenset(name.split()[0] for name in names if " " in name)
    return _CountryTable(names=names, codes=codes, max_words=max_words, starts=starts)


class _TextIndex:
    """A text's word tokens and the countries mentioned at each token position."""

    def __init__(self, text: str) -> None:
        self.words = _words(text)
        table = country_table()
        self.countries: list[set[str]] = [set() for _ in self.words]
        self.all_countries: set[str] = set()
        n = len(self.words)
        for i, word in enumerate(self.words):
            longest = min(table.max_words, n - i) if word.norm in table.starts else 1
            for k in range(1, longest + 1):
                key = table.lookup(self.words[i : i + k])
                if key is not None:
                    for p in range(i, i + k):
                        self.countries[p].add(key)
                    self.all_countries.add(key)


def _code_of(word: _Word) -> str:
    """The word itself if it is an upper-case code (``"US"``), else ``""``."""
    return word.raw if _is_code(word.raw) else ""


def _token_country(word: _Word) -> str | None:
    return _single_country(word.norm, _code_of(word))


@functools.lru_cache(maxsize=1 << 16)
def _single_country(norm: str, code: str) -> str | None:
    table = country_table()
    if code:
        return table.codes.get(code)
    key = table.names.get(norm)
    if key is None and len(norm) > 4 and norm.endswith("s"):
        key = table.names.get(norm[:-1])  # plural demonym: "Germans"
    return key


def _tokens_match(a: _Word, b: _Word) -> bool:
    """One name token against one text token: equal, a spelling variant, or a demonym."""
    return _strings_match(a.norm, _code_of(a), b.norm, _code_of(b))


@functools.lru_cache(maxsize=1 << 16)
def _strings_match(x: str, xcode: str, y: str, ycode: str) -> bool:
    if x == y:
        return bool(xcode) == bool(ycode)  # "US" is not the pronoun "us"
    kx, ky = _single_country(x, xcode), _single_country(y, ycode)
    if kx is not None and ky is not None:
        return kx == ky
    if min(len(x), len(y)) < FUZZY_MIN_LEN:
        return False
    shorter, longer = sorted((x, y), key=len)
    prefix = len(_common_prefix(x, y))
    if prefix >= len(shorter) - 1 and len(longer) - prefix <= 4:
        return True  # same root, demonym-like ending: Iran/Iranian, Syria/Syrian
    if 2 * len(shorter) / (len(x) + len(y)) < SKELETON_RATIO:
        return False  # lengths too different for either ratio test below
    matcher = difflib.SequenceMatcher(None, x, y)
    if matcher.quick_ratio() < SKELETON_RATIO:
        return False
    ratio = matcher.ratio()
    if ratio >= FUZZY_RATIO:
        return True
    # Vowels spelled differently: Muhammad/Mohammed, Husain/Husein.
    return ratio >= SKELETON_RATIO and _skeleton(x) == _skeleton(y) and len(_skeleton(x)) >= 3


def _skeleton(token: str) -> str:
    """Consonant skeleton: first letter kept, later vowels (and y) dropped, doubles collapsed."""
    tail = re.sub(r"[aeiouy]", "", token[1:])
    return re.sub(r"(.)\1+", r"\1", token[:1] + tail)


def _common_prefix(x: str, y: str) -> str:
    n = 0
    for cx, cy in zip(x, y, strict=False):
        if cx != cy:
            break
        n += 1
    return x[:n]


def _distinctive(words: Sequence[_Word]) -> list[_Word]:
    kept = [w for w in words if w.norm not in _GENERIC_NAME_WORDS]
    if kept:
        return kept
    return [w for w in words if w.norm not in _ACRONYM_SKIP] or list(words)


def _present(entity: Entity, index: _TextIndex) -> bool:
    """Whether the text behind ``index`` mentions ``entity`` under normalisation."""
    words = _entity_words(entity.text)
    if not words:
        return True
    table = country_table()
    key = table.lookup(words)
    if key is not None and key in index.all_countries:
        return True
    if _acronym_present(words, index):
        return True
    required = _distinctive(words)
    positions: list[list[int]] = []
    for w in required:
        wkey = _token_country(w)
        hits = [
            p
            for p, t in enumerate(index.words)
            if _tokens_match(w, t) or (wkey is not None and wkey in index.countries[p])
        ]
        positions.append(hits)
    window = 2 * len(words) + 3
    if all(positions) and _within_window(positions, window):
        return True
    if entity.label == "PERSON" and len(required) >= 2 and positions[-1]:
        # A person named by surname alone ("Obama" for "Barack Obama"), unless the surname
        # follows another capitalised name (a different first name).
        first_names = required[:-1]
        for p in positions[-1]:
            before = index.words[p - 1] if p > 0 else None
            if (
                before is None
                or not before.raw[:1].isupper()
                or before.norm in _TITLES
                or any(_tokens_match(f, before) for f in first_names)
            ):
                return True
    return False


def _within_window(positions: list[list[int]], window: int) -> bool:
    for anchor in positions[0]:
        if all(any(abs(p - anchor) <= window for p in hits) for hits in positions[1:]):
            return True
    return False


def _acronym_present(words: Sequence[_Word], index: _TextIndex) -> bool:
    """``"UN"`` in the entity and ``"United Nations"`` in the text, or the other way round."""
    if len(words) == 1 and words[0].raw.isupper() and 2 <= len(words[0].raw) <= 6:
        acronym = words[0].norm
        for i in range(len(index.words)):
            initials = ""
            for t in index.words[i:]:
                if t.norm in _ACRONYM_SKIP and initials:
                    continue
                if not t.raw[:1].isupper():
                    break
                initials += t.norm[0]
                if len(initials) >= len(acronym):
                    break
            if len(initials) >= 2 and initials == acronym:
                return True
        return False
    content = [w for w in words if w.norm not in _ACRONYM_SKIP]
    if len(content) < 2:
        return False
    forms = {"".join(w.norm[0] for w in content), "".join(w.norm[0] for w in words)}
    return any(t.raw.isupper() and len(t.raw) >= 2 and t.norm in forms for t in index.words)


def _entity_key(entity: Entity) -> str:
    words = _entity_words(entity.text)
    key = country_table().lookup(words)
    if key is not None:
        return "country:" + key
    return " ".join(w.norm for w in words)


def _dedupe(entities: Sequence[Entity]) -> list[Entity]:
    seen: set[str] = set()
    out: list[Entity] = []
    for ent in sorted(entities, key=lambda e: (e.start, e.end, e.label, e.text)):
        if ent.label not in ENTITY_LABELS:
            continue
        key = _entity_key(ent)
        if not key or key in seen:
            continue
        seen.add(key)
        out.append(ent)
    return out


def _compatible(a: Entity, b: Entity) -> bool:
    if a.label == b.label:
        return True
    if a.label in _PLACE_LABELS and b.label in _PLACE_LABELS:
        return True
    return _shared_tokens(a, b) > 0


def _shared_tokens(a: Entity, b: Entity) -> int:
    wa = {w.norm for w in _entity_words(a.text)} - _ACRONYM_SKIP
    wb = {w.norm for w in _entity_words(b.text)} - _ACRONYM_SKIP
    return len(wa & wb)


def _display(entity: Entity) -> str:
    text = entity.text.strip()
    text = re.sub(r"^(?:the|The|THE)\s+", "", text)
    return re.sub(r"['’][sS]$", "", text)


def entity_findings(
    *,
    ref: str,
    hyp: str,
    ref_ents: Sequence[Entity],
    hyp_ents: Sequence[Entity],
) -> list[Finding]:
    """Compare the named entities of a reference and a candidate.

    A reference entity is present when the candidate *text* mentions it, whatever the
    candidate's entity list says (NER is flaky): after casefolding and stripping diacritics,
    dots, possessives, hyphens and a leading "the"; with transliteration variants
    (:data:`FUZZY_RATIO`), demonyms of the same root (Iran/Iranian), acronyms (UN / United
    Nations), the country table (American / US / United States) and generic words such as
    "Ministry" or "province" ignored when the name has other tokens. Only labels in
    :data:`ENTITY_LABELS` count, and only the first mention of each name.

    Args:
        ref: the reference text.
        hyp: the candidate text.
        ref_ents: entities found in ``ref`` (offsets into ``ref``).
        hyp_ents: entities found in ``hyp`` (offsets into ``hyp``).

    Returns:
        Findings of kind ``"entity"`` sorted by position: a missing reference entity paired
        with an added candidate entity of a compatible label (same label; GPE, LOC, FAC and
        NORP interchangeable; or sharing a token) is ``"major"``; one left unpaired is
        ``"minor"`` with ``hyp=None``; an added candidate entity left unpaired is ``"minor"``
        with ``ref=None``.
    """
    ref_index = _TextIndex(ref)
    hyp_index = _TextIndex(hyp)
    missing = [e for e in _dedupe(ref_ents) if not _present(e, hyp_index)]
    added = [e for e in _dedupe(hyp_ents) if not _present(e, ref_index)]

    def rel(ent: Entity, text: str) -> float:
        return ent.start / max(len(text), 1)

    candidates = sorted(
        (-_shared_tokens(r, h), abs(rel(r, ref) - rel(h, hyp)), ri, hi)
        for ri, r in enumerate(missing)
        for hi, h in enumerate(added)
        if _compatible(r, h)
    )
    findings: list[Finding] = []
    pairs = one_to_one((ri, hi) for _, _, ri, hi in candidates)
    used_ref, used_hyp = {ri for ri, _ in pairs}, {hi for _, hi in pairs}
    for ri, hi in pairs:
        r, h = missing[ri], added[hi]
        findings.append(
            Finding(
                kind="entity",
                severity="major",
                ref=_display(r),
                hyp=_display(h),
                ref_span=(r.start, r.end),
                hyp_span=(h.start, h.end),
            )
        )
    for ri, r in enumerate(missing):
        if ri not in used_ref:
            findings.append(
                Finding(kind="entity", severity="minor", ref=_display(r), ref_span=(r.start, r.end))
            )
    for hi, h in enumerate(added):
        if hi not in used_hyp:
            findings.append(
                Finding(kind="entity", severity="minor", hyp=_display(h), hyp_span=(h.start, h.end))
            )
    return sort_findings(findings)
