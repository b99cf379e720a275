"""Segmentation: text -> sentences with their character offsets in the document."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Any

SEGMENTER = "pysbd"


@dataclass(frozen=True)
class Sentence:
    """One segment of a document.

    Attributes:
        index: 0-based position among the document's sentences.
        text: the sentence, stripped of surrounding whitespace (may be empty in line mode).
        start: offset of ``text`` in the document text (after decoding and normalisation).
        end: ``start + len(text)``.
        line: 0-based line of the document the sentence lies on.
    """

    index: int
    text: str
    start: int
    end: int
    line: int


@functools.cache
def _segmenter() -> Any:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(text: str) -> list[Sentence]:
    """Split a document into sentences, line by line (a sentence never crosses a line end).

    Blank lines separate paragraphs and hold no sentence. Every non-space character of
    ``text`` falls inside exactly one sentence.
    """
    out: list[Sentence] = []
    offset = 0
    for lineno, line in enumerate(text.split("\n")):
        if line.strip():
            for start, end in _line_spans(line):
                out.append(_sentence(len(out), line[start:end], offset + start, lineno))
        offset += len(line) + 1
    return out


def _line_spans(line: str) -> list[tuple[int, int]]:
    """Sentence spans of one non-blank line. Each sentence runs from where the segmenter's
    piece starts to where the next one starts (trailing space stripped), so no character of
    the line can be lost even where the segmenter rewrites its pieces."""
    starts: list[int] = []
    cursor = 0
    for piece in (s.strip() for s in _segmenter().segment(line)):
        found = line.find(piece, cursor) if piece else -1
        if found < 0:
            continue
        starts.append(found)
        cursor = found + len(piece)
    first = len(line) - len(line.lstrip())
    if not starts or starts[0] != first:
        starts.insert(0, first)
    bounds = [*starts, len(line)]
    spans = []
    for a, b in itertools.pairwise(bounds):
        piece = line[a:b].rstrip()
        if piece:
            spans.append((a, a + len(piece)))
    return spans


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


def _sentence(index: int, piece: str, start: int, line: int) -> Sentence:
    return Sentence(index=index, text=piece, start=start, end=start + len(piece), line=line)
