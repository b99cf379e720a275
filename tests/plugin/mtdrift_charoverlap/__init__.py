"""Character overlap F1: an mtdrift metric plug-in, small enough to check by hand.

A segment's statistics are ``[matched, hyp_chars, ref_chars]``: the non-space characters of
the candidate and of the reference, and how many of them match as multisets (the sum over
characters of the smaller count). The corpus score is ``100 * 2 * matched / (hyp_chars +
ref_chars)`` of the summed statistics (0 when both are empty), so summing the rows gives the
corpus score, as mtdrift's contract asks. ``"abc"`` against ``"abd"``: 2 of 3 and 3, F1
``100 * 4 / 6 = 66.67``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from mtdrift.metrics.signature import Signature

__version__ = "0.1.0"


class CharOverlap:
    """The plug-in object: mtdrift calls the class with no argument (the entry point)."""

    name = "charoverlap"
    display = "charF1"
    higher_is_better = True
    num_stats = 3
    digits = 2
    max_drop = 1.0  # the default tolerance of `mtdrift check`, on 0-100

    def signature(self) -> Signature:
        return Signature.of(self.name, [("unit", "char"), ("space", "ignored"), ("case", "mixed"),
                                        ("version", __version__)])  # fmt: skip

    def stats(self, *, hyps: Sequence[str], refs: Sequence[str]) -> np.ndarray:
        rows = []
        for hyp, ref in zip(hyps, refs, strict=True):
            h = Counter(ch for ch in hyp if not ch.isspace())
            r = Counter(ch for ch in ref if not ch.isspace())
            rows.append([sum((h & r).values()), sum(h.values()), sum(r.values())])
        return np.asarray(rows, dtype=np.float64).reshape(-1, self.num_stats)

    def corpus_scores(self, summed: np.ndarray) -> np.ndarray:
        s = np.asarray(summed, dtype=np.float64)
        total = s[:, 1] + s[:, 2]
        out = np.zeros(len(s))
        np.divide(200.0 * s[:, 0], total, out=out, where=total > 0)
        return out
