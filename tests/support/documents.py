"""Hostile documents for property tests (hypothesis): real seed sentences mixed with lists,
stray punctuation, emoji, right-to-left text, zero-width characters, a 1,500-character token
and runs of blank lines, joined by any whitespace."""

from __future__ import annotations

from hypothesis import strategies as st

from mtdrift.eval.read import read_text
from mtdrift.eval.segment import split_sentences
from tests.support.paths import REF


def texts(text: str) -> list[str]:
    """The sentences of ``text`` as the segmenter splits it."""
    return [s.text for s in split_sentences(text)]


_PIECES = st.sampled_from(
    [
        *texts(read_text(REF))[:8],
        '"Quoted." "Again."',
        "Title without stop",
        "1. Item",
        "2) Item two",
        "- bullet",
        "U.S. 5.2 p.m.",
        "!!!",
        "...",
        '"',
        "👨‍👩‍👧 emoji 😀.",
        "مرحبا بكم. هذا نص.",
        "שלום עולם.",
        "\u200d\u200b",
        "x" * 1500,
        "\t",
        "  ",
    ]
)
_JOINERS = st.sampled_from([" ", "\n", "\n\n", "\n\n\n\n", "  \n", " \t"])


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A document of up to 12 pieces and a tail of up to 30 arbitrary characters."""
    parts = draw(st.lists(st.tuples(_PIECES, _JOINERS), min_size=0, max_size=12))
    return "".join(p + j for p, j in parts) + draw(st.text(max_size=30))
