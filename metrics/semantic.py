"""Semantic fidelity from embeddings: sentence cosine and BERTScore-style greedy token match."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mtdrift.metrics.encoders import TokenVectors
from mtdrift.metrics.numeric import gram

_WORDLIKE = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class TokenMatch:
    """Greedy token matching of a candidate against its reference (BERTScore without idf).

    Attributes:
        precision: mean over candidate tokens of the best cosine with a reference token (0-1).
        recall: mean over reference tokens of the best cosine with a candidate token (0-1).
        f1: harmonic mean of the two; 0 when either side has no token.
        ref_best: shape (T_ref,), each reference token's best cosine.
        hyp_best: shape (T_hyp,), each candidate token's best cosine.
    """

    precision: float
    recall: float
    f1: float
    ref_best: np.ndarray
    hyp_best: np.ndarray


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of two unit vectors, clipped to [-1, 1]."""
    return float(np.clip(np.dot(a, b), -1.0, 1.0))


def concat_tokens(parts: Sequence[TokenVectors], shifts: Sequence[int]) -> TokenVectors:
    """Token vectors of several texts as one text; ``shifts[k]`` is where part k starts."""
    if not parts:
        return TokenVectors(np.zeros((0, 0), dtype=np.float32), np.zeros((0, 2), dtype=np.int64))
    vectors = np.concatenate([p.vectors for p in parts], axis=0)
    offsets = np.concatenate([p.offsets + s for p, s in zip(parts, shifts, strict=True)], axis=0)
    return TokenVectors(vectors, offsets)


def token_match(*, hyp: TokenVectors, ref: TokenVectors) -> TokenMatch:
    """Greedy matching: each token to its most similar token on the other side."""
    if len(hyp.vectors) == 0 or len(ref.vectors) == 0:
        return TokenMatch(
            0.0,
            0.0,
            0.0,
            np.zeros(len(ref.vectors), np.float32),
            np.zeros(len(hyp.vectors), np.float32),
        )
    sim = gram(hyp.vectors, ref.vectors)
    hyp_best = sim.max(axis=1)
    ref_best = sim.max(axis=0)
    p = float(hyp_best.mean())
    r = float(ref_best.mean())
    f = 0.0 if p + r <= 0 else 2 * p * r / (p + r)
    return TokenMatch(p, r, f, ref_best, hyp_best)


def unmatched_spans(
    text: str, offsets: np.ndarray, best: np.ndarray, threshold: float
) -> list[tuple[int, int]]:
    """Character spans of ``text`` whose tokens found no counterpart (best cosine < threshold).

    Word pieces are grown to whole words (a word is flagged when its weakest piece is), words
    without a letter or digit are never flagged, and flagged words separated only by spaces or
    punctuation are merged into one span.
    """
    words: list[tuple[int, int, float]] = []
    for (s, e), b in zip(offsets.tolist(), best.tolist(), strict=True):
        if words and s == words[-1][1]:  # a continuation piece of the same word
            ws, _, wb = words[-1]
            words[-1] = (ws, e, min(wb, b))
        else:
            words.append((s, e, b))
    spans: list[tuple[int, int]] = []
    for s, e, b in words:
        if b >= threshold or not _WORDLIKE.search(text[s:e]):
            continue
        if spans and not _WORDLIKE.search(text[spans[-1][1] : s]):
            spans[-1] = (spans[-1][0], e)
        else:
            spans.append((s, e))
    return spans
