"""The negation check: an English negation cue (``not``, ``never``, ``no``, ...) present on one
side and not the other is a ``"major"`` finding. English text only: other languages get no
negation rules rather than English ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mtdrift.metrics.findings import Finding

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
