"""Sentence segmentation of real text: cases from the dev corpora and the seeds with their
expected splits, the segmenter's figures on the dev corpora as running text, and properties
that hold for any text (hypothesis)."""

from __future__ import annotations

import gzip
import itertools
import json
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtdrift.eval import segment
from mtdrift.eval.errors import InputError
from mtdrift.eval.read import decode_text, read_text
from mtdrift.eval.segment import MAX_CHARS, cut_runs, signature, split_lines, split_sentences
from tests.support.documents import documents, texts
from tests.support.paths import HYP, MQM_DIR, REF, need_mqm
from tests.support.synth import one_line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # held-out MT evaluation text quoted in issue 13: a reference that wraps every
        # sentence in quotes (pysbd alone: one sentence)
        (
            'They discussed policies regarding the Taiwan Strait crisis." "Bongbong Marcos visited '
            'China in January." "However, after that, relations cooled."',
            [
                'They discussed policies regarding the Taiwan Strait crisis."',
                '"Bongbong Marcos visited China in January."',
                '"However, after that, relations cooled."',
            ],
        ),
        # WMT23 he-en dev reference: runs of "!!!" (pysbd alone: one sentence)
        (
            "Well done!!! Love won!!!! Mazal tov!!! Don’t worry, It won’t last long.",
            ["Well done!!!", "Love won!!!!", "Mazal tov!!!", "Don’t worry, It won’t last long."],
        ),
        # WMT23 zh-en dev reference (digital_ebook_purchase): an inline numbered list whose
        # item 1 ends without punctuation (pysbd alone: items 1 and 2 as one sentence)
        (
            "So far, I have a few ideas. 1. The price issue is not the most crucial one, rather "
            'than just downloading them indefinitely and saying "stay tuned" 2. The book that was '
            "preordered shouldn't be purchased again in the future.",
            [
                "So far, I have a few ideas.",
                "1. The price issue is not the most crucial one, rather than just downloading them "
                'indefinitely and saying "stay tuned"',
                "2. The book that was preordered shouldn't be purchased again in the future.",
            ],
        ),
        # WMT23 zh-en dev (chinanews.com.281026): a headline without final punctuation on its
        # own line stands alone; the quoted paragraph after it is one sentence
        (
            "Xinhua News Agency Commentator\n"
            '"The strategic issue is a fundamental question for a political party and a country."',
            [
                "Xinhua News Agency Commentator",
                '"The strategic issue is a fundamental question for a political party and a country."',
            ],
        ),
        # a quotation followed by its speaker stays one sentence
        ('"Stop!" he said. "Why?" she asked.', ['"Stop!" he said.', '"Why?" she asked.']),
        # bullet and numbered list items, with and without final punctuation, and a marker
        # alone on its line
        (
            "- Install the package. Run it once.\n* Check the output\n1) Read the report\n2.\nShare it.",
            [
                "- Install the package.",
                "Run it once.",
                "* Check the output",
                "1) Read the report",
                "2.\nShare it.",
            ],
        ),
        # abbreviations and decimals (the seed's "U.S.", WMT-style figures, "Vol. 3")
        (
            "Growth slowed to 5.2 percent, the U.S. Treasury said on Monday. Vol. 3 covers "
            "it at 3 p.m. sharp. Dr. Wang disagreed.",
            [
                "Growth slowed to 5.2 percent, the U.S. Treasury said on Monday.",
                "Vol. 3 covers it at 3 p.m. sharp.",
                "Dr. Wang disagreed.",
            ],
        ),
        # a line break inside a sentence, before a lowercase word
        (
            "The committee met on Monday and decided that\nthe plan would go ahead. It did.",
            ["The committee met on Monday and decided that\nthe plan would go ahead.", "It did."],
        ),
    ],
)
def test_real_text_splits(text: str, expected: list[str]) -> None:
    result = texts(text)
    assert result == expected


def test_seed_sentences_unchanged() -> None:
    """The seeds' 32 and 27 sentences, as pysbd alone split them (their hand alignment in
    seeds/gold_alignment.tsv counts on it)."""
    assert len(texts(read_text(REF))) == 32
    assert len(texts(read_text(HYP))) == 27


@pytest.mark.parametrize("width", [40, 50, 70, 79])
@pytest.mark.parametrize("path", [REF, HYP], ids=["reference", "candidate"])
def test_hard_wrapped_seed_gives_the_same_sentences(path: Path, width: int) -> None:
    """Every paragraph of a seed text broken at ``width`` columns: the same sentences."""
    text = read_text(path)
    wrapped = "\n\n".join(textwrap.fill(p, width, break_on_hyphens=False) for p in text.split("\n\n"))
    result = [s.text.replace("\n", " ") for s in split_sentences(wrapped)]
    expected = texts(text)
    assert result == expected


_FINAL = re.compile(r"[.!?…\"”’')\]]$")


@pytest.mark.parametrize(
    ("corpus", "recall", "precision"),
    [
        # pysbd alone, per line: 0.977 / 0.959 (zh-en), 0.921 / 0.967 (he-en), 0.988 / 0.891
        ("wmt23_zhen_mqm.dev.jsonl.gz", 0.9916, 0.9565),
        ("wmt23_heen_mqm.dev.jsonl.gz", 0.9853, 0.9733),
        ("wmt21ted_zhen_mqm.dev.jsonl.gz", 0.9876, 0.8914),
    ],
)
def test_segment_boundaries_of_dev_references(corpus: str, recall: float, precision: float) -> None:
    """Each dev document's references as running text (a segment with final punctuation
    followed by a space, one without it ending its line): the share of segment starts that
    start a sentence (recall) and of sentence starts that start a segment (precision; a
    segment may hold several sentences, so precision under 1 is not an error)."""
    need_mqm()
    path = MQM_DIR / corpus
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    docs: dict[str, dict[int, str]] = {}
    for r in rows:
        docs.setdefault(r["doc_id"], {})[int(r["seg_id"])] = " ".join(r["reference"].split())
    hit = gold = found = 0
    for segs in docs.values():
        text, starts = "", set()
        for _, seg in sorted(segs.items()):
            if not seg:
                continue
            if text:
                text += " " if _FINAL.search(text) else "\n"
            starts.add(len(text))
            text += seg
        got = {s.start for s in split_sentences(text)}
        hit, gold, found = hit + len(starts & got), gold + len(starts), found + len(got)
    assert (round(hit / gold, 4), round(hit / found, 4)) == (recall, precision)


def test_enormous_token_and_line_are_cut() -> None:
    """One 300,000-character token and a 200,000-word line without punctuation."""
    token = texts("a" * 300_000)
    assert [len(t) for t in token] == [MAX_CHARS] * 300
    words = " ".join(f"word{k % 997}" for k in range(200_000))
    result = split_sentences(words)
    assert max(len(s.text) for s in result) <= MAX_CHARS
    assert "".join(s.text for s in result).replace(" ", "") == words.replace(" ", "")


def test_a_line_of_5000_words_of_real_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed candidate and WMT23 zh-en output on one line (issue 24's input, 5,000 words):
    every character in one sentence, pysbd's windows decide no sentence (the line in one
    window gives the same), and the two outputs that run on past ``MAX_CHARS`` without a
    sentence end are cut and say so."""
    line = one_line(HYP, need_mqm(), 5000)
    result = split_sentences(line)
    assert len(line) == 33_429 and len(result) == 183
    assert all(line[s.start : s.end] == s.text for s in result)
    assert "".join(s.text for s in result).replace(" ", "") == line.replace(" ", "").strip()
    assert result[1].text.startswith("Iraq’s Ministry of Defense announced that the last contingent")
    assert cut_runs(result) == [(43, 2), (50, 4)]
    assert [s.index for s in result if s.cut] == [43, 50, 51, 52]
    monkeypatch.setattr(segment, "WINDOW", 10**9)
    assert split_sentences(line) == result


@pytest.mark.parametrize("window", [segment.WINDOW, 1500])
def test_a_line_without_sentence_ends_is_cut_only_where_max_cuts(
    monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    """The same 5,000 words without ``.!?…``: one stretch of 33,157 characters, cut at the
    last space before each ``MAX_CHARS``, whatever the size of pysbd's windows."""
    monkeypatch.setattr(segment, "WINDOW", window)
    line = one_line(HYP, need_mqm(), 5000, ends=False)
    expected, rest = [], line.strip()
    while len(rest) > MAX_CHARS:
        cut = rest.rfind(" ", 0, MAX_CHARS + 1)
        expected.append(rest[:cut])
        rest = rest[cut + 1 :]
    expected.append(rest)
    result = split_sentences(line)
    assert len(line) == 33_158 and len(expected) == 34
    assert [s.text for s in result] == expected
    assert [s.cut for s in result] == [True] * 33 + [False]
    assert cut_runs(result) == [(0, 34)]


def test_signature_names_the_rules() -> None:
    result = signature()
    assert re.fullmatch(r"pysbd==[\d.]+\+wrap\+quotes\+bangs\+marks\+abbr\+max1000", result)


@settings(max_examples=200, deadline=None)
@given(documents())
def test_every_character_in_exactly_one_sentence(text: str) -> None:
    sents = split_sentences(text)
    assert [s.index for s in sents] == list(range(len(sents)))
    assert all(text[s.start : s.end] == s.text and s.text == s.text.strip() and s.text for s in sents)
    assert all(a.end <= b.start for a, b in itertools.pairwise(sents))  # in order, disjoint
    assert all(len(s.text) <= MAX_CHARS for s in sents)
    covered = "".join(s.text for s in sents)
    assert "".join(covered.split()) == "".join(text.split())  # no non-space character lost
    assert all(s.line == text.count("\n", 0, s.start) for s in sents)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | documents().map(lambda t: t.encode("utf-8")))
def test_reading_any_bytes_gives_text_or_one_line(data: bytes) -> None:
    """Any bytes: text whose lines are segments, or one InputError line naming the file."""
    try:
        text = decode_text(data, source="x.txt")
    except InputError as err:
        message = str(err)
        assert message.startswith("x.txt: ") and "\n" not in message
        return
    assert "\r" not in text and text.strip()
    lines = split_lines(text)
    assert all(text[s.start : s.end] == s.text for s in lines)
