"""Sentence-level TER statistics, bit-identical to sacrebleu 2.6.0's ``TER()``, but faster.

``ter_stats(hyps, refs)`` returns what ``TER()._extract_corpus_statistics(hyps, [refs])``
returns (one ``[num_edits, ref_length]`` row per segment), as a float64 array. Settings are
sacrebleu's defaults: case-insensitive, tercom tokenizer without normalisation, punctuation
kept, no Asian support, one reference per segment.

The search is the same as sacrebleu's (``sacrebleu/metrics/lib_ter.py``), which follows
Tercom: greedily apply the block shift that lowers a beam-restricted edit distance the most,
until no shift helps or 1,000 candidate shifts have been evaluated in total. Everything that
decides the result is kept exactly:

* the beam: row ``i`` of the edit-distance matrix is only filled between
  ``floor(i * (len(ref) / len(hyp))) -/+ beam`` (the last row up to the end), with the same
  float arithmetic; cells outside are "infinite" and a cell inside stays infinite unless one
  of its options is finite, as in sacrebleu;
* the backtrace's tie-breaking (substitution/match, then deletion, then insertion, the
  first option that reaches the minimum), which fixes the alignment and so the candidates;
* the candidate order (hypothesis start, then reference start, then length 1..10, then
  target offsets with consecutive duplicates skipped), the filters, the candidate counter
  that is shared across iterations and is checked after every matched block (a best shift
  found in the round that reaches 1,000 is discarded), the odd target arithmetic of
  sacrebleu's ``_perform_shift`` (including a target inside or just past the block), and the
  ranking (gain, then length, then earliest start, then earliest target).

sacrebleu memoises rows of the matrix in a prefix tree keyed by hypothesis words. Within one
segment every candidate has the hypothesis' length, so a row depends only on the prefix it
covers and that cache changes no result; it is only a speed device. Here, instead:

* words become integer ids;
* the candidates of one round are independent of each other's scores (how many are tried
  depends only on the alignment), so they are enumerated first and their distances are
  computed together, one numpy pass over the rows for all of them at once; the in-row
  insertion recurrence ``d[j] = min(t[j], d[j-1] + 1)`` is a running minimum of
  ``t[j] - j``;
* a candidate's rows are only computed from the first position where it differs from the
  current hypothesis (earlier rows are the current hypothesis' rows);
* only the current hypothesis gets a full matrix and a backtrace, once per round; the
  chosen shift's matrix reuses the shared prefix, and the final distance is the last
  round's starting distance, so nothing is computed twice.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["ter_edits", "ter_stats", "tokenize"]

# sacrebleu's (Tercom's) limits.
_MAX_SHIFT_SIZE = 10
_MAX_SHIFT_DIST = 50
_BEAM_WIDTH = 25
_MAX_SHIFT_CANDIDATES = 1000
# sacrebleu's cells outside the beam hold 1e16; here they hold _BIG (plus small increments
# picked up on the way), and any value >= _HUGE stands for that infinity.
_BIG = 2**40
_HUGE = 2**39
# Keep all candidates' rows of a round (to reuse the chosen one's) below this many cells.
_HIST_CELLS = 4_000_000

# Backtrace operations, from the point of view of rewriting the hypothesis into the reference.
_NOP, _SUB, _DEL, _INS = 0, 1, 2, 3


def tokenize(sent: str) -> list[str]:
    """Words of a segment as sacrebleu's default TER sees them.

    ``TER()._preprocess_segment`` strips trailing whitespace, lowercases and collapses
    whitespace (tercom tokenizer with ``normalized=False, no_punct=False,
    case_sensitive=False``); the result is then split on whitespace. ``str.lower`` is
    idempotent, so the second preprocessing sacrebleu applies to references is a no-op.
    """
    return sent.lower().split()


def _windows(n_hyp: int, n_ref: int) -> list[tuple[int, int]]:
    """Beam window ``[lo, hi)`` of matrix row ``i`` (index ``i``; row 0 is the full first row)."""
    ratio = n_ref / n_hyp
    beam = math.ceil(ratio / 2 + _BEAM_WIDTH) if ratio / 2 > _BEAM_WIDTH else _BEAM_WIDTH
    out = [(0, n_ref + 1)]
    for i in range(1, n_hyp + 1):
        diag = math.floor(i * ratio)  # the same float product as sacrebleu, not i * n_ref // n_hyp
        hi = n_ref + 1 if i == n_hyp else min(n_ref + 1, diag + beam)
        out.append((max(0, diag - beam), hi))
    return out


def _advance(cur: np.ndarray, col: np.ndarray, ref: np.ndarray, lo: int, hi: int, first: bool) -> None:
    """Turn ``cur`` (``(m, n_ref + 1)``: row ``i - 1`` of ``m`` matrices) into row ``i``, in place.

    Rows are stored as ``e[j] = d[j] - j``. sacrebleu fills a cell of the window with
    ``min(INF, diag + sub, up + 1, left + 1)``; in this form that is
    ``min(diag_e - match, up_e + 1)`` followed by a running minimum along the row, the left
    neighbour of the window being column 0's ``up + 1`` when the window starts at 0 and
    infinite otherwise. Infinities are not capped: every value of ``_BIG / 2`` or more stands
    for sacrebleu's infinity, and such values never win a minimum against a finite one, so
    finite cells (the only ones that matter) come out identical. ``col`` holds the ``m``
    words at hypothesis position ``i - 1``; ``first`` says that ``cur`` holds row 0.
    """
    s = lo if lo > 0 else 1
    if s < hi:
        t = cur[:, s - 1 : hi - 1] - (col[:, None] == ref[None, s - 1 : hi - 1])
        np.minimum(t, cur[:, s:hi] + 1, out=t)
    if lo == 0:
        cur[:, 0] += 1  # column 0: a deletion from the cell above
    else:
        cur[:, :lo] = _BIG
    if s < hi:
        cur[:, s:hi] = t
        seg = cur[:, s - 1 : hi]
        np.minimum.accumulate(seg, axis=1, out=seg)
    if first:
        cur[:, hi:] = _BIG  # row 0 is full; later windows never move left at their end


def _matrix(
    words: np.ndarray,
    ref: np.ndarray,
    wins: list[tuple[int, int]],
    prefix: np.ndarray | None = None,
    start: int = 0,
) -> np.ndarray:
    """The beam-restricted matrix of one hypothesis (``e`` form), ``(n_hyp + 1, n_ref + 1)``.

    If ``prefix`` is given, its rows ``0..start`` are taken as they are (the same words).
    """
    n = len(words)
    mat = np.empty((n + 1, len(ref) + 1), dtype=np.int64)
    if prefix is None:
        mat[0] = 0
        start = 0
    else:
        mat[: start + 1] = prefix[: start + 1]
    cur = mat[start : start + 1].copy()
    for i in range(start + 1, n + 1):
        lo, hi = wins[i]
        _advance(cur, words[i - 1 : i], ref, lo, hi, i == 1)
        mat[i] = cur[0]
    return mat


def _alignment(
    mat: list[list[int]], hyp: list[int], ref: list[int]
) -> tuple[list[int], list[int], list[int]]:
    """Backtrace with sacrebleu's preferences; returns ``(align, hyp_err, ref_err)``.

    ``mat`` is in ``e`` form (``d[i][j] = mat[i][j] + j``). sacrebleu keeps, per cell, the
    first of (substitution/match, deletion, insertion) that reaches the cell's value; column
    0 is always a deletion and row 0 always an insertion. ``align[r]`` is the hypothesis
    position that reference position ``r`` is aligned with (``-1`` before the first),
    ``hyp_err``/``ref_err`` flag positions that are not matches.
    """
    i, j = len(hyp), len(ref)
    ops = []
    while i > 0 or j > 0:
        if i == 0:
            op = _INS
        else:
            row = mat[i]
            v = row[j]  # all comparisons in e form: d - j on both sides
            if v >= _HUGE:
                raise RuntimeError("TER backtrace reached an unfilled cell")  # sacrebleu raises too
            if j == 0:
                op = _DEL
            else:
                up = mat[i - 1]
                same = hyp[i - 1] == ref[j - 1]
                if up[j - 1] - (1 if same else 0) == v:  # d[i-1][j-1] + sub == d[i][j]
                    op = _NOP if same else _SUB
                elif up[j] + 1 == v:
                    op = _DEL
                else:
                    op = _INS
        ops.append(op)
        if op in (_NOP, _SUB):
            i -= 1
            j -= 1
        elif op == _INS:
            j -= 1
        else:
            i -= 1
    align = [0] * len(ref)
    hyp_err: list[int] = []
    ref_err: list[int] = []
    ph = pr = -1
    for op in reversed(ops):
        if op == _DEL:  # a hypothesis word with no reference counterpart
            ph += 1
            hyp_err.append(1)
        elif op == _INS:  # a reference word with no hypothesis counterpart
            pr += 1
            align[pr] = ph
            ref_err.append(1)
        else:
            ph += 1
            pr += 1
            align[pr] = ph
            e = 0 if op == _NOP else 1
            hyp_err.append(e)
            ref_err.append(e)
    return align, hyp_err, ref_err


def _candidates(
    hyp: list[int],
    ref: list[int],
    ref_pos: dict[int, list[int]],
    align: list[int],
    hyp_err: list[int],
    ref_err: list[int],
    checked: int,
) -> tuple[list[tuple[int, int, int]], int]:
    """Candidate shifts ``(start, length, target)`` of one round, in sacrebleu's order and
    with its stopping rule; returns them (duplicates removed) and the updated counter."""
    n_h, n_r = len(hyp), len(ref)
    hcum = [0]
    for e in hyp_err:
        hcum.append(hcum[-1] + e)
    rcum = [0]
    for e in ref_err:
        rcum.append(rcum[-1] + e)
    seen: dict[tuple[int, int, int], None] = {}
    for sh in range(n_h):
        positions = ref_pos.get(hyp[sh])
        if not positions:
            continue
        k = bisect_left(positions, sh - _MAX_SHIFT_DIST)
        for sr in positions[k:]:
            if sr > sh + _MAX_SHIFT_DIST:
                break
            top = min(_MAX_SHIFT_SIZE, n_h - sh, n_r - sr)
            length = 1
            while length < top and hyp[sh + length] == ref[sr + length]:
                length += 1
            a = align[sr]
            for ln in range(1, length + 1):
                if hcum[sh + ln] == hcum[sh] or rcum[sr + ln] == rcum[sr]:
                    continue
                if sh <= a < sh + ln:
                    continue
                prev = -1
                for r in range(sr - 1, sr + ln):
                    idx = 0 if r == -1 else align[r] + 1
                    if idx == prev:
                        continue
                    prev = idx
                    seen[(sh, ln, idx)] = None
                    checked += 1
                if checked >= _MAX_SHIFT_CANDIDATES:
                    return list(seen), checked
    return list(seen), checked


def _shifted(base: np.ndarray, cands: np.ndarray) -> np.ndarray:
    """``base`` with each candidate's block moved, as sacrebleu's ``_perform_shift`` does.

    That function removes the block ``[s, s + l)`` and reinserts it so that it starts at
    ``t`` when ``t < s``, at ``t - l`` when ``t > s + l``, and otherwise (a target inside the
    block or right after it) at ``min(t, n - l)``, counted in the shortened sequence.
    """
    n = len(base)
    s, ln, t = cands[:, 0:1], cands[:, 1:2], cands[:, 2:3]
    q = np.where(t < s, t, np.where(t > s + ln, t - ln, np.minimum(t, n - ln)))
    p = np.arange(n)[None, :]
    k = np.where(p < q, p, p - ln)  # position in the sequence without the block
    src = np.where((p >= q) & (p < q + ln), s + p - q, np.where(k < s, k, k + ln))
    return base[src]


def _distances(
    shifted: np.ndarray,
    base: np.ndarray,
    base_mat: np.ndarray,
    ref: np.ndarray,
    wins: list[tuple[int, int]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Final distances of all candidates of a round (``d`` form).

    Returns ``(dist, first, slot, hist)``: ``first[c]`` is where candidate ``c`` first differs
    from ``base`` (its rows up to there are the base's), ``slot[c]`` its index in ``hist``,
    which holds the computed rows ``hist[i, slot]`` (or is ``None`` when it would be large).
    """
    n_c, n = shifted.shape
    n_r = len(ref)
    diff = shifted != base[None, :]
    first = np.where(diff.any(axis=1), diff.argmax(axis=1), n)
    order = np.argsort(first, kind="stable")
    slot = np.empty(n_c, dtype=np.int64)
    slot[order] = np.arange(n_c)
    words = shifted[order]
    joined = np.searchsorted(first[order], np.arange(n), side="right").tolist()
    hist = None
    if n_c * (n + 1) * (n_r + 1) <= _HIST_CELLS:
        hist = np.empty((n + 1, n_c, n_r + 1), dtype=np.int64)
    cur = np.empty((n_c, n_r + 1), dtype=np.int64)
    active = 0
    for i in range(1, n + 1):
        now = joined[i - 1]  # candidates differing from position i - 1 on start from the base's row
        if now > active:
            cur[active:now] = base_mat[i - 1]
            active = now
        if active:
            lo, hi = wins[i]
            _advance(cur[:active], words[:active, i - 1], ref, lo, hi, i == 1)
            if hist is not None:
                hist[i, :active] = cur[:active]
    dist = np.full(n_c, base_mat[n, n_r], dtype=np.int64)
    dist[order[:active]] = cur[:active, n_r]
    return dist + n_r, first, slot, hist


def ter_edits(hyp: Sequence[int], ref: Sequence[int]) -> int:
    """Number of TER edits (shifts + beam edit distance) of one pair of word-id sequences."""
    n_h, n_r = len(hyp), len(ref)
    if n_r == 0:
        return n_h
    if n_h == 0:
        return n_r
    ref_l = list(ref)
    ref_a = np.asarray(ref_l, dtype=np.int64)
    wins = _windows(n_h, n_r)
    ref_pos: dict[int, list[int]] = {}
    for r, w in enumerate(ref_l):
        ref_pos.setdefault(w, []).append(r)

    words = np.asarray(hyp, dtype=np.int64)
    mat = _matrix(words, ref_a, wins)
    shifts = 0
    checked = 0
    while True:
        score = int(mat[n_h, n_r]) + n_r
        hyp_l = words.tolist()
        align, hyp_err, ref_err = _alignment(mat.tolist(), hyp_l, ref_l)
        cands, checked = _candidates(hyp_l, ref_l, ref_pos, align, hyp_err, ref_err, checked)
        if checked >= _MAX_SHIFT_CANDIDATES or not cands:
            break  # sacrebleu drops the round's best shift once the budget is spent
        c = np.asarray(cands, dtype=np.int64)
        shifted = _shifted(words, c)
        dist, first, slot, hist = _distances(shifted, words, mat, ref_a, wins)
        gain = score - dist
        # rank: highest gain, then longest block, then earliest start, then earliest target
        best = int(np.lexsort((c[:, 2], c[:, 0], -c[:, 1], -gain))[0])
        if gain[best] <= 0:
            break
        shifts += 1
        start = int(first[best])
        words = shifted[best]
        if hist is None:
            mat = _matrix(words, ref_a, wins, prefix=mat, start=start)
        else:
            new = np.empty_like(mat)
            new[: start + 1] = mat[: start + 1]
            new[start + 1 :] = hist[start + 1 :, slot[best]]
            mat = new
    return shifts + score


def ter_stats(
    hyps: Sequence[str], refs: Sequence[str], *, preprocess: Callable[[str], str] | None = None
) -> np.ndarray:
    """Per-segment TER statistics ``[num_edits, ref_length]``, shape ``(N, 2)``, float64.

    Bit-identical to ``sacrebleu.metrics.TER()._extract_corpus_statistics(hyps, [refs])``
    (sacrebleu 2.6.0, default settings, one reference per segment). An empty reference
    gives ``[len(hyp), 0]``, an empty hypothesis ``[len(ref), len(ref)]``.

    Args:
        preprocess: another TER's ``_preprocess_segment`` (e.g. ``normalized`` with
            ``asian_support``): applied as sacrebleu applies it, once to a hypothesis and twice
            to a reference (once when references are cached, once when their words are read).
            ``None``: the default settings (:func:`tokenize`).
    """
    if isinstance(hyps, str) or isinstance(refs, str):
        raise TypeError("hyps and refs must be sequences of strings, not strings")
    if len(hyps) != len(refs):
        raise ValueError(f"expected as many hypotheses as references, got {len(hyps)} and {len(refs)}")

    def hyp_words(x: str) -> list[str]:
        return tokenize(x) if preprocess is None else preprocess(x).split()

    def ref_words(x: str) -> list[str]:
        return tokenize(x) if preprocess is None else preprocess(preprocess(x)).split()

    vocab: dict[str, int] = {}
    out = np.zeros((len(hyps), 2), dtype=np.float64)
    for k, (h, r) in enumerate(zip(hyps, refs, strict=True)):
        hw = [vocab.setdefault(w, len(vocab)) for w in hyp_words(h)]
        rw = [vocab.setdefault(w, len(vocab)) for w in ref_words(r)]
        out[k, 0] = ter_edits(hw, rw)
        out[k, 1] = len(rw)
    return out
