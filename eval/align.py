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
* leaving a sentence unaligned costs ``gap``, which adapts to each pair of documents: the
  point ``gap_mix`` of the way from the typical cost of a sentence's best 1-1 counterpart
  (median over sentences) to the typical cost of any 1-1 pair (median over all pairs).

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
_SPACE = re.compile(r"\s+")
_WORDLIKE = re.compile(r"\w")


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
    """

    beads: tuple[tuple[int, int], ...] = BEADS
    lexical_weight: float = 0.3
    gap_mix: float = 0.9
    merge_penalty: float = 0.2
    idf: bool = True

    def __post_init__(self) -> None:
        for a, b in self.beads:
            if (a, b) not in BEADS:
                raise ValueError(f"bead {a}-{b} is not supported; choose among {BEADS}")

    def signature(self) -> Signature:
        return Signature.of(
            "align",
            [
                ("beads", [f"{a}-{b}" for a, b in self.beads]),
                (
                    "cover",
                    f"tokrecall{'(idf)' if self.idf else ''}+{self.lexical_weight:g}*char3recall",
                ),
                ("gap", f"mix{self.gap_mix:g}(median best,median all)"),
                ("merge", f"{self.merge_penalty:g}"),
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

    ``x_w[i]`` weighs the tokens of ``xs[i]`` (idf); profiles are character 3-gram counts.
    """
    n, m = len(xs), len(ys)
    out = {b: np.zeros((n, max(m - b + 1, 0)), dtype=np.float64) for b in sizes}
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
        run = per
        for b in range(1, max(sizes) + 1):
            if b > 1 and run is not None and per is not None:
                run = np.maximum(run[:, :-1], per[:, b - 1 :])
            if b not in sizes or m - b + 1 <= 0:
                continue
            # a sentence without content tokens is neutral
            tok = np.clip(weights @ run, 0.0, 1.0) if run is not None else np.full(m - b + 1, 0.5)
            lex = np.minimum(x_prof[i][None, :], block_prof[b]).sum(axis=1) / x_tot[i]
            out[b][i] = (1 - w) * tok + w * lex
    return out


def _idf(token_texts: Sequence[Sequence[str]]) -> dict[str, float]:
    """Inverse document frequency of token strings over the sentences of both sides."""
    df: Counter[str] = Counter()
    for toks in token_texts:
        df.update(set(toks))
    total = len(token_texts)
    return {t: float(np.log((total + 1) / (c + 1))) + 1e-3 for t, c in df.items()}


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
    hyp_sizes = sorted({b for a, b in cfg.beads if a and b} | {1})
    ref_sizes = sorted({a for a, b in cfg.beads if a and b} | {1})
    w = cfg.lexical_weight
    cov_ref = _cover(rx, rw, dense[:n], hx, dense[n:], hyp_sizes, w)  # ref sentence by hyp block
    cov_hyp = _cover(hx, hw, dense[n:], rx, dense[:n], ref_sizes, w)  # hyp sentence by ref block

    pair = 1 - np.concatenate([cov_ref[1].ravel(), cov_hyp[1].ravel()])
    best = np.concatenate([(1 - cov_ref[1]).min(axis=1), (1 - cov_hyp[1]).min(axis=1)])
    typical_best, typical_any = float(np.median(best)), float(np.median(pair))
    gap = typical_best + cfg.gap_mix * max(typical_any - typical_best, 0.0)

    def bead_cost(i: int, a: int, j: int, b: int) -> float:
        c = sum(1 - cov_ref[b][i + k, j] for k in range(a))
        c += sum(1 - cov_hyp[a][j + k, i] for k in range(b))
        return float(c) + cfg.merge_penalty * (a + b - 2)

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
                step = gap * (a + b) if a == 0 or b == 0 else bead_cost(i - a, a, j - b, b)
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
