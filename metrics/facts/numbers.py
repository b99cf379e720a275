"""The number check: numbers, dates and quantities that changed between a reference and a
candidate, in any script (ASCII and full-width digits, ``1,000.5`` and ``1.000,5``), with
English number words (``two dozen``, ``a decade``) for English text only.

Severity: a changed or lost number is ``"major"``; an added one ``"minor"``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from mtdrift.metrics.facts import one_to_one
from mtdrift.metrics.findings import Finding, sort_findings

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
    pairs = one_to_one((ri, hi) for _, ri, hi in candidates)
    used_ref, used_hyp = {ri for ri, _ in pairs}, {hi for _, hi in pairs}
    for ri, hi in pairs:
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
