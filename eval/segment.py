"""Segmentation: text -> sentences with their character offsets in the document.

pysbd finds the sentence boundaries of prose; a few rules repair what it gets wrong on real
text (each named in :data:`RULES` and so in the input signature):

* ``wrap``: a line break inside a paragraph does not end a sentence in hard-wrapped prose
  (two or more lines, none over 100 characters, all but the last at least 60 % of the
  longest; two only when the first ends mid-sentence), or where the line ends without
  terminal punctuation and the next line starts with a lowercase letter. Otherwise every
  line ends its sentences: headlines, titles and list items without final punctuation
  stand alone;
* ``quotes``: pysbd sees double quotes as spaces (it never splits inside quotation marks, so
  one unbalanced or wrapping quote made a whole paragraph one sentence); a sentence ending
  inside quotes ends after the closing quote, and a sentence wrapped in quotes that follows it
  starts a new one (``...crisis." "Bongbong Marcos ...``);
* ``bangs``: a run of two or more ``!``/``?`` followed by a capital ends a sentence
  (``Well done!!! Love won!!!!``, which pysbd keeps together);
* ``marks``: a piece without a letter or digit (a stray quote or bracket) joins the sentence
  before it; a list marker alone (``1.``, ``-``, ``a)``) joins the sentence after it;
* ``abbr``: a reference abbreviation before a number does not end a sentence (``Vol. 3``,
  ``No. 5``, ``pp. 12``);
* ``cjk``: in Chinese and Japanese, a full-width sentence end (``。！？``, with any closing
  quotes or brackets after it) ends a sentence, space or not;
* ``max``: a sentence longer than :data:`MAX_CHARS` characters is cut at the last space
  before the limit (or at the limit, inside one enormous token), and a line longer than
  :data:`WINDOW` characters is fed to pysbd a window at a time, so the cost stays linear and
  any input, however hostile, gives sentences the encoder and the checks can take. A window
  without a sentence end adds no cut: its sentence runs on to the next end and ``max`` cuts
  it, so the window's size never decides a cut. Each sentence says whether ``max`` ended it
  (``Sentence.cut``; :func:`cut_runs`).

The language decides the base rules: pysbd's rules for that language where pysbd has it (23
languages, :data:`PYSBD_LANGUAGES`), else a language-neutral rule (``generic``: a sentence ends
after ``.``, ``!``, ``?``, ``…`` and the closing quotes after them, before a space and a character
that is not a lowercase letter; and after the full-width and other scripts' sentence ends
``。！？‼⁇⁈⁉؟۔।॥።``). ``abbr`` is English and runs only on English. The input signature
names the language and the rules used.
"""

from __future__ import annotations

import functools
import importlib.metadata
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mtdrift.metrics.language import PYSBD, profile

SEGMENTER = "pysbd"
RULES = ("wrap", "quotes", "bangs", "marks", "abbr", "max")
"""The rules on English text (``cjk`` and ``abbr`` depend on the language: :func:`rules`)."""
PYSBD_LANGUAGES = PYSBD
"""The languages pysbd has rules for (``metrics.language``'s table, which decides)."""
MAX_CHARS = 1000
"""Longest sentence, in characters: about the 256 tokens the encoder reads."""
WINDOW = 5_000
"""Characters of a paragraph handed to pysbd at a time. pysbd rescans its whole input once per
abbreviation it finds, so its cost per character grows with the window: on a 200,000-word line
of WMT23 output, 20,000-character windows cost about twice the CPU time of these (whose edges
change no sentence there)."""

_TERMINAL = ".!?…。！？"
_CJK_END = re.compile(r"[。！？]+[」』”’）)\"'»]*")
_GENERIC_END = re.compile(r"[.!?…]+[\"”’»')\]]*\s+(?=\S)|[。！？‼⁇⁈⁉؟۔।॥።]+[\"”’»'」』）)\]]*\s*(?=\S)")
_CLOSERS = "\"”’»'"
_OPENERS = "\"“‘«'"
# a sentence that ends inside quotes followed by one that starts with a quote
_QUOTE_BOUNDARY = re.compile(r"[.!?…][\"”’»']\s+(?=[\"“‘«'])")
_BANGS = re.compile(r"[!?]{2,}[\"”’»']?\s+(?=[\"“‘«']?[A-Z])")
_LIST_MARKER = re.compile(r"(?:[-*•·–—]|\(?\d{1,3}[.)]|\(?[A-Za-z][.)])")
_NUMBER_ABBR = re.compile(
    r"(?:^|\s)(?:no|nos|vol|vols|fig|figs|art|p|pp|sec|ch|op|tab|eq|para)\.$", re.IGNORECASE
)
_WORDLIKE = re.compile(r"\w")
_NEUTRAL = str.maketrans({q: " " for q in '"“”„«»'})
"""Double quotes as pysbd sees them (``quotes``): it never splits inside quotation marks, so
one unbalanced or wrapping quote would make a whole paragraph one sentence."""


@dataclass(frozen=True)
class Sentence:
    """One segment of a document.

    Attributes:
        index: 0-based position among the document's sentences.
        text: the sentence, stripped of surrounding whitespace (may be empty in line mode);
            a hard-wrapped sentence keeps its line break.
        start: offset of ``text`` in the document text (after decoding and normalisation).
        end: ``start + len(text)``.
        line: 0-based line of the document the sentence starts on.
        cut: the ``max`` rule ended it: the text ran on without a sentence end past
            :data:`MAX_CHARS` characters and goes on in the next sentence.
    """

    index: int
    text: str
    start: int
    end: int
    line: int
    cut: bool = False


def rules(lang: str = "en") -> tuple[str, ...]:
    """The rules applied to text in ``lang``, in the order the signature lists them."""
    out = ["wrap", "quotes", "bangs", "marks"]
    if lang == "en":
        out.append("abbr")
    if profile(lang).cjk_stops:
        out.append("cjk")
    return (*out, "max")


def signature(lang: str = "en") -> str:
    """The segmenter, its version, the language and its rules, for the input signature:
    ``pysbd==0.3.4+wrap+quotes+bangs+marks+abbr+max1000`` for English (as before languages),
    ``pysbd==0.3.4:de+wrap+...`` for another language pysbd has, ``generic:sw+wrap+...``
    elsewhere."""
    rule = "+".join(rules(lang))
    if lang not in PYSBD_LANGUAGES:
        return f"generic:{lang}+{rule}{MAX_CHARS}"
    try:
        version = importlib.metadata.version("pysbd")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    tag = "" if lang == "en" else f":{lang}"
    return f"{SEGMENTER}=={version}{tag}+{rule}{MAX_CHARS}"


@functools.cache
def _segmenter(lang: str = "en") -> Any:
    import pysbd

    return pysbd.Segmenter(language=lang, clean=False)


def split_sentences(text: str, lang: str = "en") -> list[Sentence]:
    """Split a document in language ``lang`` (ISO 639-1) into sentences (see the module's rules).

    Blank lines separate paragraphs and hold no sentence; a sentence crosses a line end only
    where the ``wrap`` rule joins two lines. Every non-space character of ``text`` falls inside
    exactly one sentence, and ``text[s.start:s.end] == s.text``.
    """
    out: list[Sentence] = []
    line_starts = [0]
    for k, ch in enumerate(text):
        if ch == "\n":
            line_starts.append(k + 1)
    for a, b in _paragraphs(text, line_starts):
        # pysbd sees the joined lines with spaces: same length, so offsets carry over
        block = text[a:b].replace("\n", " ")
        for s, e, cut in _block_spans(block, lang):
            start = a + s
            line = _line_of(line_starts, start)
            out.append(Sentence(len(out), text[start : a + e], start, a + e, line, cut))
    return out


def cut_runs(sentences: Sequence[Sentence]) -> list[tuple[int, int]]:
    """The stretches of text that ``max`` cut into several sentences: for each, its first
    sentence's position in ``sentences`` and how many sentences it became (a stretch ends with
    the first sentence that is not ``cut``)."""
    runs: list[tuple[int, int]] = []
    for k, s in enumerate(sentences):
        if k and sentences[k - 1].cut:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        elif s.cut:
            runs.append((k, 1))
    return runs


def _line_of(line_starts: list[int], pos: int) -> int:
    import bisect

    return bisect.bisect_right(line_starts, pos) - 1


def _paragraphs(text: str, line_starts: list[int]) -> list[tuple[int, int]]:
    """Character ranges of runs of lines that the ``wrap`` rule joins (blank lines dropped)."""
    ends = [*(s - 1 for s in line_starts[1:]), len(text)]
    runs: list[list[tuple[int, int, str]]] = [[]]
    for a, b in zip(line_starts, ends, strict=True):
        body = text[a:b].strip()
        if body:
            runs[-1].append((a, b, body))
        elif runs[-1]:
            runs.append([])
    out: list[tuple[int, int]] = []
    for run in runs:
        wrapped = _hard_wrapped([body for _, _, body in run])
        prev: str | None = None
        for a, b, body in run:
            if prev is not None and _continues(prev, body, wrapped):
                out[-1] = (out[-1][0], b)
            else:
                out.append((a, b))
            prev = body
    return out


def _hard_wrapped(lines: list[str]) -> bool:
    """Lines of a paragraph broken at a fixed width: at most 100 characters, all but the last
    at least 60 % of the longest, and three or more (or two, the first ending mid-sentence:
    a lowercase letter, a comma, a semicolon or a hyphen)."""
    if len(lines) < 2 or (len(lines) == 2 and not re.search(r"[a-z,;-]$", lines[0])):
        return False
    longest = max(len(x) for x in lines)
    return longest <= 100 and all(len(x) >= 0.6 * longest for x in lines[:-1])


def _continues(prev: str, body: str, wrapped: bool) -> bool:
    """Does ``body`` (a stripped line) continue the text of the line ``prev`` before it?
    In a hard-wrapped paragraph every line does but a list item (pysbd then finds the
    sentences); elsewhere a line without final punctuation is continued by a lowercase one."""
    if _LIST_MARKER.fullmatch(prev):
        return True  # a list marker alone on its line: the item follows
    if wrapped:
        return not (_LIST_MARKER.match(body) and _LIST_MARKER.fullmatch(body.split(None, 1)[0]))
    if prev[-1] in _TERMINAL or prev[-1] in _CLOSERS or prev[-1] in ":;)]":
        return False
    if _LIST_MARKER.match(body) and _LIST_MARKER.fullmatch(body.split(None, 1)[0]):
        return False
    return body[0].islower()


def _block_spans(block: str, lang: str = "en") -> list[tuple[int, int, bool]]:
    """Sentence spans of one paragraph (``\\n`` already replaced by spaces), each with whether
    ``max`` ended it."""
    starts = _pysbd_starts(block, lang)
    starts = _repair(block, starts, lang)
    bounds = [*starts, len(block)]
    spans: list[tuple[int, int, bool]] = []
    for a, b in itertools.pairwise(bounds):
        piece = block[a:b].rstrip()
        if piece:
            pieces = _cap(a, a + len(piece), block)
            spans.extend((s, e, k < len(pieces) - 1) for k, (s, e) in enumerate(pieces))
    return spans


def _pysbd_starts(block: str, lang: str = "en") -> list[int]:
    """Where pysbd starts sentences, fed a window of at most :data:`WINDOW` characters at a
    time: all but the last sentence of a window are kept, the next window starts there. A
    window without a sentence end adds no start: the next one reads on from its end, and the
    sentence, however long, is left whole for ``max`` to cut (:func:`_cap`), so no cut depends
    on where a window ended."""
    first = len(block) - len(block.lstrip())
    starts: list[int] = [first]
    pos = first
    inside = False  # whether ``pos`` lies inside a sentence (a window without an end read it)
    while pos < len(block):
        end = min(pos + WINDOW, len(block))
        if end < len(block):
            cut = block.rfind(" ", pos + WINDOW // 2, end)
            end = cut if cut > pos else end
        found = _piece_starts(block, pos, end, lang)
        if inside:
            found = found[1:]  # the window's first character starts no sentence
        if end >= len(block):
            starts.extend(found)
            break
        if len(found) > 1 or (found and inside):
            starts.extend(found[:-1])
            pos, inside = found[-1], False
        else:  # no sentence end in a whole window: read on from its end
            starts.extend(found)  # the sentence's start, unless the window began inside it
            pos, inside = end + (len(block[end:]) - len(block[end:].lstrip())), True
    return sorted(set(starts))


def _piece_starts(block: str, lo: int, hi: int, lang: str = "en") -> list[int]:
    """Offsets in ``block`` where pysbd's pieces of ``block[lo:hi]`` start (the ``generic``
    rule's, for a language pysbd lacks); always ``lo`` first."""
    window = block[lo:hi].translate(_NEUTRAL)
    starts = [lo]
    if lang not in PYSBD_LANGUAGES:
        # a sentence end before a lowercase letter is an abbreviation's period
        starts += [lo + m.end() for m in _GENERIC_END.finditer(window) if not window[m.end()].islower()]
        return sorted(set(starts))
    cursor = 0
    for piece in (s.strip() for s in _segmenter(lang).segment(window)):
        found = window.find(piece, cursor) if piece else -1
        if found < 0:
            continue
        if lo + found != starts[-1]:
            starts.append(lo + found)
        cursor = found + len(piece)
    return starts


def _repair(block: str, starts: list[int], lang: str = "en") -> list[int]:
    """Apply the ``quotes``, ``marks`` and ``abbr`` rules to pysbd's sentence starts."""
    out: list[int] = []
    for p in starts:
        # a closing quote at the start of a sentence belongs to the one before (``quotes``)
        while out and p < len(block) and block[p] in _CLOSERS and block[p - 1] in _TERMINAL + _CLOSERS:
            p += 1
        while p < len(block) and block[p].isspace():
            p += 1
        # an opening quote pysbd saw as a space starts the sentence (``quotes``)
        while out and p - 1 > out[-1] and block[p - 1] in _OPENERS and block[p - 2].isspace():
            p -= 1
        if p >= len(block) or (out and p <= out[-1]):
            continue
        out.append(p)
    bounds = [*out, len(block)]
    kept: list[int] = []
    for a, b in itertools.pairwise(bounds):
        piece = block[a:b].strip()
        before = block[kept[-1] : a].strip() if kept else ""
        if kept and not _WORDLIKE.search(before):
            continue  # ``marks``: a leading stray quote or bracket joins the sentence after it
        if kept and not _WORDLIKE.search(piece):
            continue  # ``marks``: a stray quote or bracket joins the sentence before
        if kept and piece[:1].islower() and before[-1:] in _CLOSERS:
            continue  # ``quotes``: '"Stop!" he said.' is one sentence
        if lang == "en" and kept and _NUMBER_ABBR.search(before) and piece[:1].isdigit():
            continue  # ``abbr``: "Vol. 3"
        if kept and _LIST_MARKER.fullmatch(before):
            continue  # ``marks``: a lone list marker joins the sentence after it
        kept.append(a)
    if not kept:
        kept = out[:1]
    kept = _inline_list(block, kept)
    # ``quotes``: split where a quoted sentence ends and a quoted one begins
    extra = [m.end() for m in _QUOTE_BOUNDARY.finditer(block)]
    extra += [m.end() for m in _BANGS.finditer(block)]  # ``bangs``
    if profile(lang).cjk_stops:  # ``cjk``
        for m in _CJK_END.finditer(block):
            extra.append(m.end() + len(block[m.end() :]) - len(block[m.end() :].lstrip()))
    return sorted(set(kept) | {p for p in extra if p < len(block)})


_ITEM = re.compile(r"[(]?(\d{1,3})[.)]\s")


def _inline_list(block: str, starts: list[int]) -> list[int]:
    """``marks``: an inline numbered list (``1. The price ... "stay tuned" 2. The book ...``)
    has one sentence per item: inside a sentence that starts with item ``n``, item ``n + 1``
    (the number after a space, before a capital) starts a new one."""
    out: list[int] = []
    bounds = [*starts, len(block)]
    for k, p in enumerate(starts):
        out.append(p)
        end = bounds[k + 1]
        while m := _ITEM.match(block, out[-1], end):
            nxt = re.compile(rf"\s[(]?{int(m.group(1)) + 1}[.)]\s+(?=[\"“‘«']?[A-Z])")
            found = nxt.search(block, m.end(), end)
            if not found:
                break
            out.append(found.start() + 1)
    return out


def _cap(a: int, b: int, block: str) -> list[tuple[int, int]]:
    """``max``: cut the span ``block[a:b]`` into pieces of at most :data:`MAX_CHARS`
    characters, at the last space before the limit where there is one."""
    out: list[tuple[int, int]] = []
    while b - a > MAX_CHARS:
        cut = block.rfind(" ", a + 1, a + MAX_CHARS + 1)
        end = cut if cut > a else a + MAX_CHARS
        piece_end = len(block[a:end].rstrip()) + a
        out.append((a, piece_end))
        a = end
        while a < b and block[a].isspace():
            a += 1
    if b > a:
        out.append((a, b))
    return out


def split_lines(text: str) -> list[Sentence]:
    """One segment per line, empty lines included (they are data); a final newline ends the
    last line rather than opening an empty one."""
    lines = text.split("\n")
    if lines and lines[-1] == "" and len(lines) > 1:
        lines = lines[:-1]
    out: list[Sentence] = []
    offset = 0
    for lineno, line in enumerate(lines):
        stripped = line.strip()
        lead = len(line) - len(line.lstrip())
        out.append(Sentence(lineno, stripped, offset + lead, offset + lead + len(stripped), lineno))
        offset += len(line) + 1
    return out
