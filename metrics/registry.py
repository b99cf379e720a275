"""Every corpus metric behind one interface: per-segment statistics in, corpus scores out.

A metric's segment statistics are the rows of an ``(N, k)`` matrix; its corpus score is a
pure function of their column sum. That is all the significance tests need, so they are
written once (``metrics.significance``) for every metric here: sacrebleu's BLEU, chrF,
chrF++ and TER, and the mean-based scores whose statistics are ``[score, 1]`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from mtdrift.metrics.lexical import LEXICAL_METRICS, get_lexical

MEAN_METRICS: tuple[str, ...] = ("semantic", "tokenmatch", "fidelity")
METRICS: tuple[str, ...] = (*LEXICAL_METRICS, *MEAN_METRICS)

# The names people read in tables.
DISPLAY: dict[str, str] = {
    "bleu": "BLEU",
    "chrf": "chrF",
    "chrfpp": "chrF++",
    "ter": "TER",
    "semantic": "semantic",
    "tokenmatch": "tokenmatch",
    "fidelity": "fidelity",
}


class CorpusMetric(Protocol):
    """What the significance tests and the regression check need from a metric."""

    @property
    def name(self) -> str: ...

    @property
    def higher_is_better(self) -> bool: ...

    @property
    def num_stats(self) -> int: ...

    def corpus_scores(self, summed: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class MeanMetric:
    """A score that is the mean of per-segment values (0-1): statistics ``[value, 1]``.

    Attributes:
        name: one of ``MEAN_METRICS``.
    """

    name: str
    higher_is_better: bool = True
    num_stats: int = 2

    def corpus_scores(self, summed: np.ndarray) -> np.ndarray:
        """Means of many corpora at once, from their summed ``[value, 1]`` statistics.

        Args:
            summed: shape ``(B, 2)``; a row with no segments scores 0.

        Returns:
            Shape ``(B,)``, float64, scale 0-1.
        """
        s = np.asarray(summed, dtype=np.float64)
        if s.ndim != 2 or s.shape[1] != 2:
            raise ValueError(f"{self.name}: expected summed statistics of shape (B, 2), got {s.shape}")
        out = np.zeros(s.shape[0], dtype=np.float64)
        np.divide(s[:, 0], s[:, 1], out=out, where=s[:, 1] > 0)
        return out


def get_metric(name: str) -> CorpusMetric:
    """The corpus metric called ``name`` (one of ``METRICS``).

    Raises:
        ValueError: unknown name; the message lists the known ones.
    """
    if name in LEXICAL_METRICS:
        return get_lexical(name)
    if name in MEAN_METRICS:
        return MeanMetric(name)
    raise ValueError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")


def corpus_score(metric: CorpusMetric, stats: np.ndarray) -> float:
    """The corpus score of one system from its ``(N, k)`` segment statistics."""
    m = np.asarray(stats, dtype=np.float64).reshape(-1, metric.num_stats)
    return float(metric.corpus_scores(m.sum(axis=0, keepdims=True))[0])
