"""Sentence alignment of a reference and a candidate that are not line-parallel.

Dynamic programming over beads (1-1, 2-1, 1-2, 2-2, 3-1, 1-3, omission 1-0, addition 0-1), in
the spirit of Vecalign (Thompson & Koehn 2019) but written for a monolingual pair, where
every sentence must be *covered* by the other side of its bead:

* ``cover(x, Y)`` of sentence ``x`` by a block ``Y`` (one to three consecutive sentences of
  the other side) mixes the greedy token-embedding recall of ``x`` in ``Y`` (each content
  token of ``x`` takes its best cosine among the tokens of ``Y``'s sentences, as in
  BERTScore; this is the embedding similarity of a sentence and of concatenated neighbours)
  with the character 3-gram recall of ``x`` in ``Y`` (a lexical cue: same language);
* a bead costs the sum over its sentences of ``1 - cover``, plus ``merge_penalty`` per
  sentence beyond one on each side;
* a length cue, as in Gale & Church (1993): ``length_weight`` per sentence of the bead times
  ``|log((chars of the reference side + 10) / (chars of the candidate side + 10))|``;
* every sentence of a merged side must *earn its place*: its gain, how much the other side's
  cover grows when it joins the rest of its block (summed over the other side's sentences),
  should reach ``gain_floor``; each unit of shortfall costs ``gain_weight``. An omitted
  sentence next to a true 1-1 pair covers part of the candidate by sharing its topic, but adds
  nothing that its neighbour did not already cover, so it is left unaligned;
* leaving a sentence unaligned costs ``gap``, which adapts to each pair of documents: the
  point ``gap_mix`` of the way from the typical cost of a sentence's best 1-1 bead (median
  over sentences) to the typical cost of any 1-1 bead (median over all pairs), per sentence.

Then a second pass lets a bead take in up to ``extend`` unaligned sentences next to it where
the larger bead costs less (:func:`bead_cost`, the same cost for beads of any size): one
sentence rendered as four or more.

Cost: bead costs are computed :data:`CHUNK_ROWS` reference sentences at a time from one
matrix product of token vectors per chunk; past ``full_cells`` sentence pairs only in a band
around a coarse path of sentence blocks (as Vecalign's coarse-to-fine search), so time and
memory grow with the band, not with n x m.

Deterministic: ties go to the bead listed first in :data:`BEADS` (additions last).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from mtdrift.metrics.encoders import TokenVectors
from mtdrift.metrics.numeric import on_one_blas_thread
from mtdrift.metrics.progress import Progress, quiet
from mtdrift.metrics.signature import Signature

Bead = tuple[tuple[int, ...], tuple[int, ...]]
"""An aligned unit: the reference sentence indices and the candidate sentence indices."""

BEADS: tuple[tuple[int, int], ...] = (
    (1, 1),
    (2, 1),
    (1, 2),
    (2, 2),
    (3, 1),
    (1, 3),
    (1, 0),
    (0, 1),
)
MAX_BLOCK = 3
LENGTH_SMOOTH = 10.0
"""Characters added to each side's length in the length cue, so that short sentences count less."""
_SPACE = re.compile(r"\s+")
_WORDLIKE = re.compile(r"\w")
SKIP = -2
"""Key of the cover by a block of three without its middle sentence (see :func:`_cover`)."""
CHUNK_ROWS = 32
PROGRESS_MIN_ROWS = 1000
"""Documents up to this many reference sentences align in about a second: no progress shown."""
"""Reference sentences whose bead costs are computed together in banded mode."""
COARSE_BLOCK = 8
"""Reference sentences per block of the coarse path that places the band."""
GAP_SAMPLE = 100
"""Sentences of each side, evenly spread, whose pairs give the typical 1-1 cost in banded mode."""


@dataclass(frozen=True)
class AlignConfig:
    """Settings of the aligner (all recorded in its signature).

    Attributes:
        beads: allowed (reference, candidate) sentence counts per bead.
        lexical_weight: weight (0-1) of the character 3-gram recall in ``cover``.
        gap_mix: where the cost of an unaligned sentence lies between the typical best-match
            cost (0) and the typical cost of any pair (1).
        merge_penalty: added per sentence beyond the first on each side of a bead.
        idf: weigh tokens in the token recall by their inverse document frequency over the
            sentences of both documents, so that function words count less.
        length_weight: cost per sentence of a bead per unit of absolute log ratio of the
            two sides' character lengths (each plus 10); 0 turns the length cue off.
        gain_weight: cost per unit of gain below ``gain_floor`` of each sentence of a side
            with two or more sentences; 0 turns the check off.
        gain_floor: the gain (0-1 scale of ``cover``, summed over the other side's sentences)
            that a merged sentence must bring to its bead.
        full_cells: up to this many (reference x candidate) sentence pairs the search covers
            the whole table; beyond, a band around a coarse path.
        band_margin: the band's width on each side of the coarse path, in coarse blocks.
        extend: after the search, a bead may take in up to this many unaligned sentences
            next to it on the side that has them, when that lowers the cost (the same cost,
            for beads of any size): one long sentence rendered as four or more, or the
            reverse. 0 turns the second pass off.
    """

    beads: tuple[tuple[int, int], ...] = BEADS
    lexical_weight: float = 0.1
    gap_mix: float = 0.9
    merge_penalty: float = 0.2
    idf: bool = True
    length_weight: float = 0.1
    gain_weight: float = 2.0
    gain_floor: float = 0.05
    full_cells: int = 250_000
    band_margin: int = 3
    extend: int = 8

    def __post_init__(self) -> None:
        for a, b in self.beads:
            if (a, b) not in BEADS:
                raise ValueError(f"bead {a}-{b} is not supported; choose among {BEADS}")

    def signature(self) -> Signature:
        length = f"{self.length_weight:g}*abslogratio(chars+{LENGTH_SMOOTH:g})"
        gain = f"{self.gain_weight:g}*max(0,{self.gain_floor:g}-gain)"
        return Signature.of(
            "align",
            [
                ("beads", [f"{a}-{b}" for a, b in self.beads]),
                (
                    "cover",
                    f"tokrecall{'(idf)' if self.idf else ''}+{self.lexical_weight:g}*char3recall",
                ),
                ("gap", f"mix{self.gap_mix:g}(median best 1-1,median all 1-1)"),
                ("merge", f"{self.merge_penalty:g}"),
                ("len", length if self.length_weight else "no"),
                ("gain", gain if self.gain_weight else "no"),
                (
                    "search",
                    f"full<={self.full_cells},else band(coarse{COARSE_BLOCK},margin{self.band_margin})",
                ),
                ("extend", f"{self.extend}" if self.extend else "no"),
            ],
        )


@dataclass(frozen=True)
class Alignment:
    """The chosen path.

    Attributes:
        beads: in document order; every sentence of both sides is in exactly one bead.
        similarity: shape (n_ref, n_hyp), 1-1 similarity (0-1): the mean of the two sentences'
            ``cover`` of each other.
        gap_cost: the cost of one unaligned sentence for this pair of documents.
        cost: total cost of the path.
    """

    beads: tuple[Bead, ...]
    similarity: np.ndarray
    gap_cost: float
    cost: float


def _content(tv: TokenVectors, text: str) -> tuple[np.ndarray, list[str]]:
    """Rows and case-folded strings of the tokens that hold a letter or digit."""
    pieces = [text[s:e].casefold() for s, e in tv.offsets.tolist()]
    keep = [bool(_WORDLIKE.search(p)) for p in pieces]
    rows = tv.vectors[np.asarray(keep, dtype=bool)] if pieces else tv.vectors[:0]
    return rows, [p for p, k in zip(pieces, keep, strict=True) if k]


def _char_profile(text: str, n: int = 3) -> Counter[str]:
    t = " " + _SPACE.sub(" ", text.casefold()).strip() + " "
    return Counter(t[i : i + n] for i in range(max(len(t) - n + 1, 0)))


def _cover(
    x_w: Sequence[np.ndarray],
    x_prof: np.ndarray,
    x_total: np.ndarray,
    y_prof: np.ndarray,
    sizes: Sequence[int],
    w: float,
    pers: Sequence[np.ndarray | None],
) -> dict[int, np.ndarray]:
    """``cover[b][i, j]``: cover (0-1) of sentence ``i`` of one side by the block of sentences
    ``j .. j + b - 1`` of the other.

    ``cover[SKIP][i, j]`` (when 3 is in ``sizes``): cover by the pair ``j``, ``j + 2``, a block
    of three without its middle sentence. ``x_w[i]`` weighs the tokens of sentence ``i``
    (idf); ``pers[i]`` holds each of its tokens' best cosine in each sentence of the other side
    (:func:`_token_maxima`; ``None``: no tokens, neutral 0.5); profiles are character 3-gram
    counts, one row per sentence, over the 3-grams of both sides (:func:`_dense`: the others add
    nothing to a cover); ``x_total[i]``: all the 3-grams of sentence ``i``, shared or not.
    """
    n, m = len(pers), len(y_prof)
    out = {b: np.zeros((n, max(m - b + 1, 0)), dtype=np.float64) for b in sizes}
    skip = 3 in sizes and m >= 3
    if skip:
        out[SKIP] = np.zeros((n, m - 2), dtype=np.float64)
        skip_prof = y_prof[:-2] + y_prof[2:]
    block_prof = {
        b: np.stack([y_prof[j : j + b].sum(axis=0) for j in range(m - b + 1)]) for b in sizes if m - b + 1 > 0
    }
    x_tot = np.maximum(x_total, 1e-12)
    for i, per in enumerate(pers):
        if per is not None:
            weights = x_w[i] / max(float(x_w[i].sum()), 1e-12)
        own = np.flatnonzero(x_prof[i])  # the 3-grams of x: the others add nothing
        run = per
        for b in range(1, max(sizes) + 1):
            if b > 1 and run is not None and per is not None:
                run = np.maximum(run[:, :-1], per[:, b - 1 :])
            if b not in sizes or m - b + 1 <= 0:
                continue
            # a sentence without content tokens is neutral
            tok = np.clip(weights @ run, 0.0, 1.0) if run is not None else np.full(m - b + 1, 0.5)
            lex = np.minimum(x_prof[i][own], block_prof[b][:, own]).sum(axis=1) / x_tot[i]
            out[b][i] = (1 - w) * tok + w * lex
        if skip:
            pair = np.maximum(per[:, :-2], per[:, 2:]) if per is not None else None
            tok = np.clip(weights @ pair, 0.0, 1.0) if pair is not None else np.full(m - 2, 0.5)
            lex = np.minimum(x_prof[i][own], skip_prof[:, own]).sum(axis=1) / x_tot[i]
            out[SKIP][i] = (1 - w) * tok + w * lex
    return out


def _token_maxima(
    xs: Sequence[np.ndarray], ys: Sequence[np.ndarray]
) -> tuple[list[np.ndarray | None], list[np.ndarray | None]]:
    """Each token's best cosine in each sentence of the other side, both ways, from one
    matrix product: ``(per_x, per_y)`` with ``per_x[i]`` of shape (tokens of ``xs[i]``,
    ``len(ys)``) and ``per_y[j]`` of shape (tokens of ``ys[j]``, ``len(xs)``); ``None`` for a
    sentence without tokens or when the other side has none (0 against a sentence without)."""
    xb = np.cumsum([0] + [len(x) for x in xs])
    yb = np.cumsum([0] + [len(y) for y in ys])
    if not xb[-1] or not yb[-1]:
        return [None] * len(xs), [None] * len(ys)
    sim = (
        np.concatenate([x for x in xs if len(x)], axis=0)
        @ np.concatenate([y for y in ys if len(y)], axis=0).T
    )
    x_ne, y_ne = xb[1:] > xb[:-1], yb[1:] > yb[:-1]
    x_starts = np.concatenate([[0], np.cumsum([len(x) for x in xs if len(x)])[:-1]])
    y_starts = np.concatenate([[0], np.cumsum([len(y) for y in ys if len(y)])[:-1]])
    by_y = np.zeros((sim.shape[0], len(ys)))
    by_y[:, y_ne] = np.maximum.reduceat(sim, y_starts, axis=1)
    by_x = np.zeros((sim.shape[1], len(xs)))
    by_x[:, x_ne] = np.maximum.reduceat(sim, x_starts, axis=0).T
    per_x: list[np.ndarray | None] = []
    pos = 0
    for x in xs:
        per_x.append(by_y[pos : pos + len(x)] if len(x) else None)
        pos += len(x)
    per_y: list[np.ndarray | None] = []
    pos = 0
    for y in ys:
        per_y.append(by_x[pos : pos + len(y)] if len(y) else None)
        pos += len(y)
    return per_x, per_y


def _idf(token_texts: Sequence[Sequence[str]]) -> dict[str, float]:
    """Inverse document frequency of token strings over the sentences of both sides."""
    df: Counter[str] = Counter()
    for toks in token_texts:
        df.update(set(toks))
    total = len(token_texts)
    return {t: float(np.log((total + 1) / (c + 1))) + 1e-3 for t, c in df.items()}


def _bead_costs(
    a: int,
    b: int,
    cov_ref: dict[int, np.ndarray],
    cov_hyp: dict[int, np.ndarray],
    rlen: np.ndarray,
    hlen: np.ndarray,
    cfg: AlignConfig,
) -> np.ndarray:
    """Cost of every ``a``-``b`` bead: shape (n - a + 1, m - b + 1), ``[i, j]`` for the bead
    of reference sentences ``i .. i + a - 1`` and candidate sentences ``j .. j + b - 1``."""
    ni, nj = len(rlen) - a + 1, len(hlen) - b + 1
    cost = np.full((ni, nj), cfg.merge_penalty * (a + b - 2))
    for k in range(a):
        cost += 1 - cov_ref[b][k : k + ni, :]
    for k in range(b):
        cost += 1 - cov_hyp[a][k : k + nj, :].T
    if cfg.length_weight:
        rl = np.convolve(rlen, np.ones(a), mode="valid")[:, None]
        hl = np.convolve(hlen, np.ones(b), mode="valid")[None, :]
        ratio = np.abs(np.log((rl + LENGTH_SMOOTH) / (hl + LENGTH_SMOOTH)))
        cost += cfg.length_weight * (a + b) * ratio
    if cfg.gain_weight:
        if a > 1:  # each reference sentence's gain in the candidates' cover, (nj, ni)
            for k in range(a):
                gain = _gain(cov_hyp, a, k, b, nj, ni)
                cost += cfg.gain_weight * np.maximum(cfg.gain_floor - gain, 0.0).T
        if b > 1:  # each candidate sentence's gain in the references' cover, (ni, nj)
            for k in range(b):
                gain = _gain(cov_ref, b, k, a, ni, nj)
                cost += cfg.gain_weight * np.maximum(cfg.gain_floor - gain, 0.0)
    return cost


def _gain(cov: dict[int, np.ndarray], p: int, k: int, q: int, n_other: int, n_own: int) -> np.ndarray:
    """How much the ``k``-th sentence of a block of ``p`` adds to the cover of the ``q``
    sentences on the other side: shape (n_other, n_own), ``[j, i]`` for the block starting at
    ``i`` against the other side's sentences ``j .. j + q - 1`` (gains summed over them).

    ``cov[s][y, i]`` is the cover of the other side's sentence ``y`` by this side's block of
    ``s`` starting at ``i``.
    """
    if p == 2:
        rest = cov[1][:, 1 - k : 1 - k + n_own]  # the other sentence alone
    elif k == 1:
        rest = cov[SKIP][:, :n_own]  # first and last
    else:
        off = 1 if k == 0 else 0
        rest = cov[2][:, off : off + n_own]  # the two neighbours
    gain = np.zeros((n_other, n_own))
    for t in range(q):
        gain += cov[p][t : t + n_other, :] - rest[t : t + n_other, :]
    return gain


@on_one_blas_thread
def align(
    *,
    ref: Sequence[str],
    hyp: Sequence[str],
    ref_tokens: Sequence[TokenVectors],
    hyp_tokens: Sequence[TokenVectors],
    config: AlignConfig | None = None,
    progress: Progress = quiet,
) -> Alignment:
    """Align reference sentences with candidate sentences.

    Up to ``config.full_cells`` (reference x candidate) sentence pairs the search covers the
    whole table. Beyond that it runs in a band around a coarse path (see :func:`_band`), so
    time and memory grow about linearly with the documents' length: bead costs are computed
    a chunk of :data:`CHUNK_ROWS` reference sentences at a time, only over the band's columns,
    and the dynamic programme is vectorised over each row's band.

    Args:
        ref: reference sentences, in order.
        hyp: candidate sentences, in order.
        ref_tokens: token embeddings of each reference sentence (unit rows).
        hyp_tokens: token embeddings of each candidate sentence.
        config: aligner settings; defaults when ``None``.
        progress: reports each chunk of bead costs (``metrics.progress``); shown only for
            documents of more than :data:`PROGRESS_MIN_ROWS` reference sentences.

    Returns:
        The :class:`Alignment`: monotone, covering every sentence exactly once.
    """
    cfg = config or AlignConfig()
    n, m = len(ref), len(hyp)
    if len(ref_tokens) != n or len(hyp_tokens) != m:
        raise ValueError(
            f"expected token vectors for {n} reference and {m} candidate sentences, "
            f"got {len(ref_tokens)} and {len(hyp_tokens)}"
        )
    if n == 0 or m == 0:
        beads = tuple(((i,), ()) for i in range(n)) + tuple(((), (j,)) for j in range(m))
        return Alignment(beads, np.zeros((n, m), np.float32), 0.0, 0.0)

    prep = _prepare(ref, hyp, ref_tokens, hyp_tokens, cfg)
    full = n * m <= cfg.full_cells
    if full:
        lo, hi = np.zeros(n + 1, np.int64), np.full(n + 1, m, np.int64)
    else:
        lo, hi = _band(prep, cfg)
    rows = CHUNK_ROWS
    starts: Iterable[int] = range(0, n + 1, rows)
    if n > PROGRESS_MIN_ROWS:
        starts = progress(starts, total=n // rows + 1, desc="aligning", unit="chunk")
    chunks = [_chunk_costs(prep, lo, hi, i0, min(i0 + rows, n + 1), cfg) for i0 in starts]
    gap = _gap(prep, chunks, cfg, full)
    dp_rows, back_rows = _dp(chunks, lo, hi, gap, cfg.beads, n, m)
    path: list[Bead] = []
    i, j = n, m
    while i or j:
        a, b = cfg.beads[int(back_rows[i][j - lo[i]])]
        path.append((tuple(range(i - a, i)), tuple(range(j - b, j))))
        i, j = i - a, j - b
    path.reverse()
    total = float(dp_rows[n][m - lo[n]])
    if cfg.extend:
        path, total = _extend(path, prep, gap, total, cfg)
    similarity = np.zeros((n, m), np.float32)
    for c in chunks:
        sim = c.similarity
        similarity[c.r0 : c.r0 + sim.shape[0], c.h0 : c.h0 + sim.shape[1]] = sim
    return Alignment(tuple(path), similarity, gap, total)


@dataclass(frozen=True)
class _Prepared:
    """What the aligner needs of each sentence, computed once (all linear in length)."""

    rx: list[np.ndarray]
    hx: list[np.ndarray]
    rw: list[np.ndarray]
    hw: list[np.ndarray]
    rprof: list[Counter[str]]
    hprof: list[Counter[str]]
    rlen: np.ndarray
    hlen: np.ndarray


def _prepare(
    ref: Sequence[str],
    hyp: Sequence[str],
    ref_tokens: Sequence[TokenVectors],
    hyp_tokens: Sequence[TokenVectors],
    cfg: AlignConfig,
) -> _Prepared:
    rx, rt = zip(*[_content(tv, t) for tv, t in zip(ref_tokens, ref, strict=True)], strict=True)
    hx, ht = zip(*[_content(tv, t) for tv, t in zip(hyp_tokens, hyp, strict=True)], strict=True)
    if cfg.idf:
        idf = _idf([*rt, *ht])
        rw = [np.asarray([idf[t] for t in toks]) for toks in rt]
        hw = [np.asarray([idf[t] for t in toks]) for toks in ht]
    else:
        rw = [np.ones(len(toks)) for toks in rt]
        hw = [np.ones(len(toks)) for toks in ht]
    return _Prepared(
        rx=list(rx),
        hx=list(hx),
        rw=rw,
        hw=hw,
        rprof=[_char_profile(t) for t in ref],
        hprof=[_char_profile(t) for t in hyp],
        rlen=np.asarray([len(t) for t in ref], dtype=np.float64),
        hlen=np.asarray([len(t) for t in hyp], dtype=np.float64),
    )


def _dense(xs: Sequence[Counter[str]], ys: Sequence[Counter[str]]) -> np.ndarray:
    """Character 3-gram counts of ``xs`` then ``ys`` as one dense matrix over the 3-grams that
    both sides hold: a 3-gram of one side only adds nothing to a cover (its ``min`` is 0), and
    counts are integers, so every cover is the same, bit for bit, as over all 3-grams. This
    keeps the matrix small when one side is long (a 200,000-word candidate against an
    article): its columns are at most the short side's 3-grams."""
    other = set().union(*ys)
    vocab: dict[str, int] = {}
    for prof in xs:
        for g in prof:
            if g in other:
                vocab.setdefault(g, len(vocab))
    profiles = [*xs, *ys]
    dense = np.zeros((len(profiles), len(vocab)), dtype=np.float64)
    for r, prof in enumerate(profiles):
        for g, c in prof.items():
            if (col := vocab.get(g)) is not None:
                dense[r, col] = c
    return dense


def _totals(profiles: Sequence[Counter[str]]) -> np.ndarray:
    """How many 3-grams each profile holds (shared with the other side or not)."""
    return np.asarray([sum(p.values()) for p in profiles], dtype=np.float64)


def _sub_costs(
    prep: _Prepared, rs: slice, hs: slice, beads: Sequence[tuple[int, int]], cfg: AlignConfig
) -> tuple[dict[tuple[int, int], np.ndarray], np.ndarray]:
    """Bead costs (see :func:`_bead_costs`) and 1-1 similarity of the sub-problem of reference
    sentences ``rs`` and candidate sentences ``hs``. Every value depends only on the sentences
    of its bead, so a sub-problem gives the very numbers of the whole table."""
    n, m = rs.stop - rs.start, hs.stop - hs.start
    dense = _dense(prep.rprof[rs], prep.hprof[hs])
    sizes = list(range(1, max(max(a, b) for a, b in (*beads, (1, 1))) + 1))
    w = cfg.lexical_weight
    per_r, per_h = _token_maxima(prep.rx[rs], prep.hx[hs])
    cov_ref = _cover(prep.rw[rs], dense[:n], _totals(prep.rprof[rs]), dense[n:], sizes, w, per_r)
    cov_hyp = _cover(prep.hw[hs], dense[n:], _totals(prep.hprof[hs]), dense[:n], sizes, w, per_h)
    costs = {
        (a, b): _bead_costs(a, b, cov_ref, cov_hyp, prep.rlen[rs], prep.hlen[hs], cfg)
        for a, b in {(1, 1), *beads}
        if 0 < a <= n and 0 < b <= m
    }
    return costs, ((cov_ref[1] + cov_hyp[1].T) / 2).astype(np.float32)


@dataclass(frozen=True)
class _Chunk:
    """Bead costs for the DP rows ``i0 .. i1 - 1``: ``costs[(a, b)][r, c]`` is the bead of
    reference sentences from ``r0 + r`` and candidate sentences from ``h0 + c``."""

    i0: int
    i1: int
    r0: int
    h0: int
    costs: dict[tuple[int, int], np.ndarray]
    similarity: np.ndarray


def _chunk_costs(
    prep: _Prepared, lo: np.ndarray, hi: np.ndarray, i0: int, i1: int, cfg: AlignConfig
) -> _Chunk:
    r0 = max(0, i0 - MAX_BLOCK)
    h0 = max(0, int(lo[i0:i1].min()) - MAX_BLOCK)
    h1 = int(hi[i0:i1].max())
    r1 = max(i1 - 1, r0)
    costs, sim = _sub_costs(prep, slice(r0, r1), slice(h0, h1), cfg.beads, cfg)
    return _Chunk(i0, i1, r0, h0, costs, sim)


def _gap(prep: _Prepared, chunks: Sequence[_Chunk], cfg: AlignConfig, full: bool) -> float:
    """The cost of one unaligned sentence: ``gap_mix`` of the way from the median over
    sentences of their best 1-1 cost to the median 1-1 cost of any pair (per sentence).

    With a band, a sentence's best is sought in the band (where its match lies) and the
    median of any pair over an evenly spread sample of at most :data:`GAP_SAMPLE` sentences
    of each side."""
    n, m = len(prep.rx), len(prep.hx)
    if full:  # the whole 1-1 table: each chunk's own reference sentences
        per_sentence = (
            np.vstack(
                [c.costs[(1, 1)][max(c.i0 - 1, 0) - c.r0 : c.i1 - 1 - c.r0] for c in chunks if c.i1 > 1]
            )
            / 2
        )
        best = np.concatenate([per_sentence.min(axis=1), per_sentence.min(axis=0)])
        typical_any = float(np.median(per_sentence))
    else:
        best_r = np.full(n, np.inf)
        best_h = np.full(m, np.inf)
        for c in chunks:
            if (1, 1) not in c.costs or not c.costs[(1, 1)].size:
                continue
            per = c.costs[(1, 1)] / 2
            rr, cc = per.shape
            best_r[c.r0 : c.r0 + rr] = np.minimum(best_r[c.r0 : c.r0 + rr], per.min(axis=1))
            best_h[c.h0 : c.h0 + cc] = np.minimum(best_h[c.h0 : c.h0 + cc], per.min(axis=0))
        best = np.concatenate([best_r, best_h])
        best = best[np.isfinite(best)]
        ri = np.unique(np.linspace(0, n - 1, min(n, GAP_SAMPLE)).round().astype(np.int64))
        hj = np.unique(np.linspace(0, m - 1, min(m, GAP_SAMPLE)).round().astype(np.int64))
        sample = _Prepared(
            rx=[prep.rx[i] for i in ri],
            hx=[prep.hx[j] for j in hj],
            rw=[prep.rw[i] for i in ri],
            hw=[prep.hw[j] for j in hj],
            rprof=[prep.rprof[i] for i in ri],
            hprof=[prep.hprof[j] for j in hj],
            rlen=prep.rlen[ri],
            hlen=prep.hlen[hj],
        )
        costs, _ = _sub_costs(sample, slice(0, len(ri)), slice(0, len(hj)), [(1, 1)], cfg)
        typical_any = float(np.median(costs[(1, 1)] / 2))
    typical_best = float(np.median(best))
    return typical_best + cfg.gap_mix * max(typical_any - typical_best, 0.0)


def _dp(
    chunks: Sequence[_Chunk],
    lo: np.ndarray,
    hi: np.ndarray,
    gap: float,
    beads: Sequence[tuple[int, int]],
    n: int,
    m: int,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The dynamic programme over the band: row ``i`` holds columns ``lo[i] .. hi[i]``.

    Returns per row the best path costs and the index into ``beads`` of each cell's last
    bead. Ties go to the bead listed first; the same arithmetic as a cell-by-cell loop, so
    the full band gives the full table's path exactly."""
    inf = float("inf")
    dp_rows: list[np.ndarray] = []
    back_rows: list[np.ndarray] = []
    add = beads.index((0, 1)) if (0, 1) in beads else None
    chunk_of = iter(chunks)
    chunk = next(chunk_of)
    for i in range(n + 1):
        while i >= chunk.i1:
            chunk = next(chunk_of)
        cols = np.arange(lo[i], hi[i] + 1)
        best = np.full(len(cols), inf)
        arg = np.zeros(len(cols), np.int8)
        if i == 0:
            best[cols == 0] = 0.0
        for k, (a, b) in enumerate(beads):
            if a > i or (a == 0 and b == 0) or k == add:
                continue
            prev_j = cols - b
            plo = lo[i - a]
            ok = (prev_j >= plo) & (prev_j <= hi[i - a]) & (prev_j >= 0)
            if not ok.any():
                continue
            prev = np.full(len(cols), inf)
            prev[ok] = dp_rows[i - a][prev_j[ok] - plo]
            if a == 0 or b == 0:
                step: np.ndarray | float = gap * (a + b)
            else:
                table = chunk.costs.get((a, b))
                if table is None:
                    continue
                r = i - a - chunk.r0
                c = prev_j - chunk.h0
                valid = ok & (c >= 0) & (c < table.shape[1])
                step = np.full(len(cols), inf)
                step[valid] = table[r, c[valid]]
            cand = prev + step
            better = cand < best
            best[better] = cand[better]
            arg[better] = k
        if add is not None:
            row, args = best.tolist(), arg.tolist()
            for t in range(1, len(row)):
                c_add = row[t - 1] + gap
                if c_add < row[t]:
                    row[t], args[t] = c_add, add
            best, arg = np.asarray(row), np.asarray(args, np.int8)
        dp_rows.append(best)
        back_rows.append(arg)
    return dp_rows, back_rows


def _sentence_vectors(xs: Sequence[np.ndarray], ws: Sequence[np.ndarray]) -> np.ndarray:
    """Weighted mean of each sentence's content-token rows (zeros for a sentence without)."""
    dim = next((x.shape[1] for x in xs if x.ndim == 2 and x.shape[1]), 1)
    out = np.zeros((len(xs), dim))
    for k, (x, w) in enumerate(zip(xs, ws, strict=True)):
        if len(x):
            out[k] = (w[:, None] * x).sum(axis=0)
    return out


def _blocks(vectors: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` blocks of consecutive sentences (sizes differing by at most one): their
    unit mean vectors and the sentence index where each starts (plus the end)."""
    bounds = np.linspace(0, len(vectors), count + 1).round().astype(np.int64)
    sums = np.add.reduceat(vectors, bounds[:-1], axis=0)
    norms = np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return sums / norms, bounds


def _band(prep: _Prepared, cfg: AlignConfig) -> tuple[np.ndarray, np.ndarray]:
    """The columns each DP row may use: around a coarse path, as in Vecalign.

    Both documents are cut into the same number of blocks of about :data:`COARSE_BLOCK`
    reference sentences; block vectors (unit means of idf-weighted token vectors) are aligned
    by a small DP with 1-1, 2-1, 1-2, 1-0 and 0-1 steps (cost ``1 - cosine``; a skipped block
    costs the median cost). DP row ``i`` may then use the candidate sentences of the coarse
    steps that touch reference sentence ``i``, widened by ``band_margin`` blocks on each side.
    """
    n, m = len(prep.rx), len(prep.hx)
    count = max(1, min(n, m, -(-n // COARSE_BLOCK)))
    rv, rb = _blocks(_sentence_vectors(prep.rx, prep.rw), count)
    hv, hb = _blocks(_sentence_vectors(prep.hx, prep.hw), count)
    cost = 1.0 - rv @ hv.T
    skip = float(np.median(cost))
    steps = ((1, 1), (2, 1), (1, 2), (1, 0), (0, 1))
    inf = float("inf")
    dp = np.full((count + 1, count + 1), inf)
    back = np.zeros((count + 1, count + 1), np.int8)
    dp[0, 0] = 0.0
    for i in range(count + 1):
        for k, (a, b) in enumerate(steps):
            if a > i or a == 0:
                continue
            prev = np.full(count + 1, inf)
            prev[b:] = dp[i - a, : count + 1 - b]
            if b == 0:
                step = np.full(count + 1, skip * a)
            else:
                step = np.full(count + 1, inf)
                block = cost[i - a : i].mean(axis=0) if a > 1 else cost[i - 1]
                if b == 1:
                    step[1:] = block
                else:
                    step[2:] = (block[:-1] + block[1:]) / 2 + 0.0
                step = step * max(a, b)
            cand = prev + step
            better = cand < dp[i]
            dp[i][better] = cand[better]
            back[i][better] = k
        row, args = dp[i].tolist(), back[i].tolist()
        for t in range(1, count + 1):
            if row[t - 1] + skip < row[t]:
                row[t], args[t] = row[t - 1] + skip, 4
        dp[i], back[i] = row, args
    lo_c = np.full(n + 1, m, np.int64)
    hi_c = np.zeros(n + 1, np.int64)
    i, j = count, count
    while i or j:
        a, b = steps[int(back[i, j])]
        r_from, r_to = rb[i - a], rb[i]
        h_from, h_to = hb[j - b], hb[j]
        lo_c[r_from : r_to + 1] = np.minimum(lo_c[r_from : r_to + 1], h_from)
        hi_c[r_from : r_to + 1] = np.maximum(hi_c[r_from : r_to + 1], h_to)
        i, j = i - a, j - b
    margin = int(np.ceil(cfg.band_margin * m / count))
    lo = np.maximum(lo_c - margin, 0)
    hi = np.minimum(hi_c + margin, m)
    lo = np.minimum.accumulate(lo[::-1])[::-1]
    hi = np.maximum.accumulate(hi)
    lo[0], hi[n] = 0, m
    for i in range(1, n + 1):
        lo[i] = min(lo[i], hi[i - 1])
    return lo, hi


def _block_cover(
    x: np.ndarray,
    xw: np.ndarray,
    xprof: Counter[str],
    ys: Sequence[np.ndarray],
    yprof: Counter[str],
    w: float,
) -> float:
    """Cover (0-1) of one sentence by a block of any size (as :func:`_cover` for one cell)."""
    if len(x):
        toks = [y for y in ys if len(y)]
        best = (x @ np.concatenate(toks, axis=0).T).max(axis=1) if toks else np.zeros(len(x))
        tok = float(np.clip((xw / max(float(xw.sum()), 1e-12)) @ best, 0.0, 1.0))
    else:
        tok = 0.5
    total = max(sum(xprof.values()), 1e-12)
    lex = sum(min(c, yprof.get(g, 0)) for g, c in xprof.items()) / total
    return (1 - w) * tok + w * lex


def bead_cost(prep: _Prepared, r_ids: Sequence[int], h_ids: Sequence[int], cfg: AlignConfig) -> float:
    """The cost of one bead of any size, with both sides non-empty (:func:`_bead_costs`'s
    terms: cover, merge penalty, length and gain)."""
    w = cfg.lexical_weight

    def side_cover(xs: Sequence[int], x_is_ref: bool, ys: Sequence[int]) -> list[float]:
        if x_is_ref:
            yt, yp = [prep.hx[j] for j in ys], sum((prep.hprof[j] for j in ys), Counter())
            return [_block_cover(prep.rx[i], prep.rw[i], prep.rprof[i], yt, yp, w) for i in xs]
        yt, yp = [prep.rx[i] for i in ys], sum((prep.rprof[i] for i in ys), Counter())
        return [_block_cover(prep.hx[j], prep.hw[j], prep.hprof[j], yt, yp, w) for j in xs]

    r_cov = side_cover(r_ids, True, h_ids)
    h_cov = side_cover(h_ids, False, r_ids)
    a, b = len(r_ids), len(h_ids)
    cost = sum(1 - c for c in r_cov) + sum(1 - c for c in h_cov) + cfg.merge_penalty * (a + b - 2)
    if cfg.length_weight:
        rl, hl = float(prep.rlen[list(r_ids)].sum()), float(prep.hlen[list(h_ids)].sum())
        cost += cfg.length_weight * (a + b) * abs(float(np.log((rl + LENGTH_SMOOTH) / (hl + LENGTH_SMOOTH))))
    if cfg.gain_weight:
        if a > 1:  # each reference sentence's gain in the candidates' cover
            for k in range(a):
                rest = [*r_ids[:k], *r_ids[k + 1 :]]
                gain = sum(h_cov) - sum(side_cover(h_ids, False, rest))
                cost += cfg.gain_weight * max(cfg.gain_floor - gain, 0.0)
        if b > 1:
            for k in range(b):
                rest = [*h_ids[:k], *h_ids[k + 1 :]]
                gain = sum(r_cov) - sum(side_cover(r_ids, True, rest))
                cost += cfg.gain_weight * max(cfg.gain_floor - gain, 0.0)
    return cost


def _extend(
    path: list[Bead], prep: _Prepared, gap: float, total: float, cfg: AlignConfig
) -> tuple[list[Bead], float]:
    """The second pass: let each bead take in unaligned sentences next to it (additions on
    the candidate side, omissions on the reference side), up to ``cfg.extend`` on each side of
    it, where the larger bead costs less than the bead and the gaps it replaces."""
    out = list(path)
    k = 0
    while k < len(out):
        r, h = out[k]
        if not r or not h:
            k += 1
            continue
        best = None
        for side in (0, 1):  # 0: take additions (candidate side), 1: omissions (reference side)
            before = _gap_run(out, k, -1, side, cfg.extend)
            after = _gap_run(out, k, +1, side, cfg.extend)
            if not before and not after:
                continue
            base = bead_cost(prep, r, h, cfg)
            for s in range(len(before) + 1):
                for t in range(len(after) + 1):
                    if not s and not t:
                        continue
                    taken = [*before[len(before) - s :], *after[:t]]
                    ids = sorted([*(r if side else h), *taken])
                    new = (r, tuple(ids)) if side == 0 else (tuple(ids), h)
                    saving = base + gap * len(taken) - bead_cost(prep, new[0], new[1], cfg)
                    if saving > 1e-12 and (best is None or saving > best[0]):
                        best = (saving, new, s, t)
        if best is None:
            k += 1
            continue
        saving, new, s, t = best
        out[k - s : k + t + 1] = [new]
        total -= saving
        k = k - s  # look at the grown bead again: more may now fit
    return out, total


def _gap_run(path: list[Bead], k: int, step: int, side: int, limit: int) -> list[int]:
    """Sentence ids of the unaligned sentences of one side (0: additions, 1: omissions) that
    lie next to bead ``k`` in direction ``step``, nearest last when ``step`` is -1."""
    ids: list[int] = []
    p = k + step
    while 0 <= p < len(path) and len(ids) < limit:
        r, h = path[p]
        if side == 0 and not r and len(h) == 1:
            ids.append(h[0])
        elif side == 1 and not h and len(r) == 1:
            ids.append(r[0])
        else:
            break
        p += step
    return ids[::-1] if step < 0 else ids
