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

Deterministic: ties go to the bead listed first in :data:`BEADS`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metrics.base import Signature
from metrics.embed import TokenVectors

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
    """

    beads: tuple[tuple[int, int], ...] = BEADS
    lexical_weight: float = 0.1
    gap_mix: float = 0.9
    merge_penalty: float = 0.2
    idf: bool = True
    length_weight: float = 0.1
    gain_weight: float = 2.0
    gain_floor: float = 0.05

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
    xs: Sequence[np.ndarray],
    x_w: Sequence[np.ndarray],
    x_prof: np.ndarray,
    ys: Sequence[np.ndarray],
    y_prof: np.ndarray,
    sizes: Sequence[int],
    w: float,
) -> dict[int, np.ndarray]:
    """``cover[b][i, j]``: cover (0-1) of sentence ``xs[i]`` by the block ``ys[j : j + b]``.

    ``cover[SKIP][i, j]`` (when 3 is in ``sizes``): cover by the pair ``ys[j]``, ``ys[j + 2]``,
    a block of three without its middle sentence. ``x_w[i]`` weighs the tokens of ``xs[i]``
    (idf); profiles are character 3-gram counts.
    """
    n, m = len(xs), len(ys)
    out = {b: np.zeros((n, max(m - b + 1, 0)), dtype=np.float64) for b in sizes}
    skip = 3 in sizes and m >= 3
    if skip:
        out[SKIP] = np.zeros((n, m - 2), dtype=np.float64)
        skip_prof = y_prof[:-2] + y_prof[2:]
    bounds = np.cumsum([0] + [len(y) for y in ys])
    nonempty = bounds[1:] > bounds[:-1]
    all_y = np.concatenate(list(ys), axis=0) if bounds[-1] else np.zeros((0, 1))
    starts = bounds[:-1][nonempty]
    block_prof = {
        b: np.stack([y_prof[j : j + b].sum(axis=0) for j in range(m - b + 1)]) for b in sizes if m - b + 1 > 0
    }
    x_tot = np.maximum(x_prof.sum(axis=1), 1e-12)
    for i, x in enumerate(xs):
        if len(x) and len(all_y):
            sim = x @ all_y.T  # (tokens of x, all tokens of the other side)
            per = np.full((len(x), m), 0.0)
            per[:, nonempty] = np.maximum.reduceat(sim, starts, axis=1)
            weights = x_w[i] / max(float(x_w[i].sum()), 1e-12)
        else:
            per = None
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


def align(
    *,
    ref: Sequence[str],
    hyp: Sequence[str],
    ref_tokens: Sequence[TokenVectors],
    hyp_tokens: Sequence[TokenVectors],
    config: AlignConfig | None = None,
) -> Alignment:
    """Align reference sentences with candidate sentences.

    Args:
        ref: reference sentences, in order.
        hyp: candidate sentences, in order.
        ref_tokens: token embeddings of each reference sentence (unit rows).
        hyp_tokens: token embeddings of each candidate sentence.
        config: aligner settings; defaults when ``None``.

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

    profiles = [_char_profile(t) for t in (*ref, *hyp)]
    vocab: dict[str, int] = {}
    for prof in profiles:
        for g in prof:
            vocab.setdefault(g, len(vocab))
    dense = np.zeros((len(profiles), len(vocab)), dtype=np.float64)
    for r, prof in enumerate(profiles):
        for g, c in prof.items():
            dense[r, vocab[g]] = c
    rx, rt = zip(*[_content(tv, t) for tv, t in zip(ref_tokens, ref, strict=True)], strict=True)
    hx, ht = zip(*[_content(tv, t) for tv, t in zip(hyp_tokens, hyp, strict=True)], strict=True)
    if cfg.idf:
        idf = _idf([*rt, *ht])
        rw = [np.asarray([idf[t] for t in toks]) for toks in rt]
        hw = [np.asarray([idf[t] for t in toks]) for toks in ht]
    else:
        rw = [np.ones(len(toks)) for toks in rt]
        hw = [np.ones(len(toks)) for toks in ht]
    sizes = list(range(1, MAX_BLOCK + 1))
    w = cfg.lexical_weight
    cov_ref = _cover(rx, rw, dense[:n], hx, dense[n:], sizes, w)  # ref sentence by hyp block
    cov_hyp = _cover(hx, hw, dense[n:], rx, dense[:n], sizes, w)  # hyp sentence by ref block
    rlen = np.asarray([len(t) for t in ref], dtype=np.float64)
    hlen = np.asarray([len(t) for t in hyp], dtype=np.float64)
    costs = {
        (a, b): _bead_costs(a, b, cov_ref, cov_hyp, rlen, hlen, cfg)
        for a, b in {(1, 1), *cfg.beads}
        if 0 < a <= n and 0 < b <= m
    }
    per_sentence = costs[(1, 1)] / 2
    best = np.concatenate([per_sentence.min(axis=1), per_sentence.min(axis=0)])
    typical_best, typical_any = float(np.median(best)), float(np.median(per_sentence))
    gap = typical_best + cfg.gap_mix * max(typical_any - typical_best, 0.0)

    inf = float("inf")
    dp = np.full((n + 1, m + 1), inf)
    back = np.zeros((n + 1, m + 1, 2), dtype=np.int64)
    dp[0, 0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 and j == 0:
                continue
            best_c, arg = inf, (0, 0)
            for a, b in cfg.beads:
                if a > i or b > j or dp[i - a, j - b] == inf:
                    continue
                step = gap * (a + b) if a == 0 or b == 0 else float(costs[(a, b)][i - a, j - b])
                if dp[i - a, j - b] + step < best_c:
                    best_c, arg = dp[i - a, j - b] + step, (a, b)
            dp[i, j] = best_c
            back[i, j] = arg
    path: list[Bead] = []
    i, j = n, m
    while i or j:
        a, b = (int(v) for v in back[i, j])
        path.append((tuple(range(i - a, i)), tuple(range(j - b, j))))
        i, j = i - a, j - b
    path.reverse()
    similarity = ((cov_ref[1] + cov_hyp[1].T) / 2).astype(np.float32)
    return Alignment(tuple(path), similarity, gap, float(dp[n, m]))
