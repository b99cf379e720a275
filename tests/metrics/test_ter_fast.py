"""``metrics.ter_fast`` against sacrebleu 2.6.0 itself: exact equality, never approximate.

The oracle is ``TER()._extract_corpus_statistics(hyps, [refs])`` (default settings), the call
``metrics.lexical`` makes; each case compares whole float64 rows with ``==``.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Sequence
from typing import cast

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import TER
from sacrebleu.metrics.lib_ter import _perform_shift

from mtdrift.metrics.ter_fast import _shifted, ter_stats, tokenize
from tests.support.paths import ZHEN

MQM_ROWS = ZHEN
N_MQM_PAIRS = 300
MQM_SEED = 20230
# sacrebleu needs seconds for some of the longest pairs; those are left to scripts/bench_ter.py
# (which compares all 8,970 pairs), this test samples pairs of at most this many words a side
# (about 90 % of the rows).
MQM_MAX_WORDS = 60


def sacrebleu_stats(hyps: Sequence[str], refs: Sequence[str]) -> np.ndarray:
    rows = TER()._extract_corpus_statistics(list(hyps), [list(refs)])
    return np.asarray(rows, dtype=np.float64).reshape(len(hyps), 2)


def assert_same(hyps: Sequence[str], refs: Sequence[str]) -> None:
    expected = sacrebleu_stats(hyps, refs)
    got = ter_stats(hyps, refs)
    assert got.dtype == np.float64
    assert got.shape == (len(hyps), 2)
    bad = np.flatnonzero((got != expected).any(axis=1))
    assert bad.size == 0, [(hyps[k], refs[k], expected[k].tolist(), got[k].tolist()) for k in bad[:5]]


# --- hand cases --------------------------------------------------------------------------

HAND: list[tuple[str, str]] = [
    ("", ""),  # both empty: [0, 0]
    ("", "the cat sat"),  # empty hypothesis: every reference word inserted
    ("the cat sat", ""),  # empty reference: [len(hyp), 0]
    ("   ", "  \t "),  # whitespace only is empty
    ("a b c", "   "),
    ("the cat sat on the mat", "the cat sat on the mat"),  # identical
    ("The Cat SAT on the MAT .", "the cat sat on the mat ."),  # case-insensitive
    ("the cat sat on the mat.", "the cat sat on the mat ."),  # punctuation is not split
    ("Hello, world!", "hello , world !"),
    ("  spaced   out\twords \n", "spaced out words"),  # whitespace collapsed
    ("the the the the", "the the"),  # repeated words
    ("a a b b a a", "b b a a b b"),
    ("a b a b a b a b", "b a b a b a b a"),
    ("on the mat the cat sat", "the cat sat on the mat"),  # block shift
    ("sat the cat on the mat", "the cat sat on the mat"),
    ("the mat sat on the cat", "the cat sat on the mat"),  # swap
    ("c d e f a b", "a b c d e f"),
    ("b c d e f g h i j k l a", "a b c d e f g h i j k l"),  # one word moved far
    ("k l m n o p q r s t u a b c d e f g h i j", "a b c d e f g h i j k l m n o p q r s t u"),  # block > 10
    ("x y z", "a b c"),  # nothing in common
    ("a", "a b c d e f g h"),
    ("a b c d e f g h", "h"),
    ("ÉCOLE Straße İstanbul", "école strasse i̇stanbul"),  # Unicode lowercasing
    ("我 爱 你", "我爱你"),  # no CJK splitting without normalisation
    ("&quot;quoted&quot;", '"quoted"'),  # no XML unescaping either
]


def test_hand_cases_one_by_one() -> None:
    for hyp, ref in HAND:
        assert_same([hyp], [ref])


def test_hand_cases_as_a_corpus() -> None:
    hyps, refs = zip(*HAND, strict=True)
    assert_same(hyps, refs)


def test_trivial_cases_values() -> None:
    got = ter_stats(["", "", "a b c", " "], ["", "x y", "", "q"])
    assert got.tolist() == [[0.0, 0.0], [2.0, 2.0], [3.0, 0.0], [1.0, 1.0]]


def test_empty_corpus_and_errors() -> None:
    assert ter_stats([], []).shape == (0, 2)
    with pytest.raises(ValueError):
        ter_stats(["a"], ["a", "b"])
    with pytest.raises(TypeError):
        ter_stats("a b", "a b")


def test_tokenize_matches_sacrebleu_preprocessing() -> None:
    ter = TER()
    for hyp, ref in HAND:
        for text in (hyp, ref):
            assert tokenize(text) == ter._preprocess_segment(text).split()
            # sacrebleu preprocesses references twice
            assert tokenize(text) == ter._preprocess_segment(ter._preprocess_segment(text)).split()


def test_shift_arithmetic_matches_perform_shift() -> None:
    # every (start, length, target) sacrebleu can produce, including targets inside the
    # block and right after it, where its slicing moves the block in unusual ways
    for n in range(1, 9):
        words = list(range(100, 100 + n))
        cands = [(s, ln, t) for s in range(n) for ln in range(1, n - s + 1) for t in range(n + 1)]
        got = _shifted(np.asarray(words), np.asarray(cands))
        for row, (s, ln, t) in zip(got.tolist(), cands, strict=True):
            # sacrebleu types its tokens as str; the shift itself works on any list
            assert row == _perform_shift(cast(list[str], words), s, ln, t), (n, s, ln, t)


def _random_words(rng: random.Random, n: int, vocab: str) -> str:
    return " ".join(rng.choice(vocab) for _ in range(n))


def test_long_and_degenerate_inputs() -> None:
    """Beam edges, very unequal lengths (wider beam) and the 1,000-candidate budget."""
    rng = random.Random(7)
    hyps: list[str] = []
    refs: list[str] = []
    # (2, 130) and (1, 200): length ratio over 50, so the beam widens; (40, 120): the beam
    # cuts the path; (30, 30) over two words: many repeated-word candidates
    for n, m, v in [(30, 30, 2), (2, 130, 5), (130, 2, 5), (1, 200, 3), (40, 120, 6)]:
        hyps.append(_random_words(rng, n, "abcdef"[:v]))
        refs.append(_random_words(rng, m, "abcdef"[:v]))
    # 971 candidates in round one, the budget reached in round two: its best shift is dropped
    rng = random.Random(6)
    n = rng.randint(15, 45)
    m = n + rng.randint(-5, 5)
    v = rng.choice([2, 3, 4])
    hyps.append(_random_words(rng, n, "abcd"[:v]))
    refs.append(_random_words(rng, m, "abcd"[:v]))
    base = [f"w{k}" for k in range(40)]
    hyps.append(" ".join(base[20:] + base[:20]))  # budget spent in round one (1,004 candidates)
    hyps.append(" ".join(base[::-1]))
    hyps.append(" ".join(base[1::2] + base[::2]))  # twenty shifts in a row
    refs += [" ".join(base)] * 3
    hyps.append(" ".join([f"x{k}" for k in range(40)] + base[:30]))  # lengths far apart
    refs.append(" ".join(base[:30]))
    hyps.append(" ".join(base[:30]))  # the beam gives 73 edits where plain Levenshtein gives 60
    refs.append(" ".join(base[:30] + [f"x{k}" for k in range(60)]))
    assert_same(hyps, refs)


# --- property test: short random word sequences -----------------------------------------

VOCAB = ["a", "b", "c", "A", "the", "The", ".", ","]
words = st.lists(st.sampled_from(VOCAB), min_size=0, max_size=18)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hyp=words, ref=words)
def test_random_short_sequences(hyp: list[str], ref: list[str]) -> None:
    h, r = " ".join(hyp), " ".join(ref)
    assert ter_stats([h], [r]).tolist() == sacrebleu_stats([h], [r]).tolist()


# --- real data: WMT23 zh-en MQM -----------------------------------------------------------


def test_wmt23_random_pairs() -> None:
    if not MQM_ROWS.is_file():
        pytest.skip(f"real-data test needs {MQM_ROWS} (the shared data folder next to the repo)")
    with gzip.open(MQM_ROWS, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    pool = [
        r for r in rows if max(len(r["hypothesis"].split()), len(r["reference"].split())) <= MQM_MAX_WORDS
    ]
    sample = random.Random(MQM_SEED).sample(pool, min(N_MQM_PAIRS, len(pool)))
    assert_same([r["hypothesis"] for r in sample], [r["reference"] for r in sample])
