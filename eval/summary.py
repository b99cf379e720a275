"""``summary.json`` as a typed value: :class:`Summary`, built from an evaluation, written as
JSON, and read back by the same code (``mtdrift check`` and ``mtdrift history`` read what
``mtdrift evaluate`` wrote through :meth:`Summary.parse`).

The parts a reader of the file needs beyond the scores are typed too: the reference it scored
(:class:`ReferenceBlock`), how each metric reads (:class:`MetricBlock`) and, per system, the
per-bead statistics that paired tests and the changed-bead listing need
(:class:`SegmentBlock`). Counts and coverage stay plain JSON objects: nothing reads them back.

Summaries written by older versions lack some parts: per-bead ``hyp_ids``, ``drift`` and
``hyp_sentences`` (no changed-bead listing then), the reference's ``sentences``, ``language``,
``scales`` and ``metrics`` (built-in metrics only). They parse, with those parts ``None`` or
empty; a part that is present but of the wrong type is a :class:`SummaryError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtdrift.eval.jsonshape import ShapeError
from mtdrift.eval.jsonshape import boolean as _bool
from mtdrift.eval.jsonshape import integer as _int
from mtdrift.eval.jsonshape import lst as _list
from mtdrift.eval.jsonshape import number as _num
from mtdrift.eval.jsonshape import obj as _obj
from mtdrift.eval.jsonshape import string as _str
from mtdrift.eval.results import Evaluation, SystemResult
from mtdrift.metrics.registry import METRICS, get_metric

DIGITS = 6
"""Decimals of the corpus scores, coverage shares and gap costs ``summary.json`` holds."""


class SummaryError(ShapeError):
    """A ``summary.json`` that cannot be read back; the message names the part."""


@dataclass(frozen=True)
class ReferenceBlock:
    """The reference a summary scored: two summaries are comparable only with the same
    ``sha256``. ``sentences`` is ``None`` in summaries of older versions."""

    name: str
    sha256: str
    segments: int
    sentences: tuple[str, ...] | None = None


@dataclass(frozen=True)
class MetricBlock:
    """How a metric of the summary reads, so that a reader without the metric's code (external
    scores, a plug-in) can still compare its numbers."""

    display: str
    higher_is_better: bool
    num_stats: int
    source: str

    @classmethod
    def parse(cls, name: str, doc: object) -> MetricBlock:
        """One entry of a ``metrics`` block (of a summary or a history line); ``num_stats`` and
        ``source`` default to a mean score's (``2``, ``"builtin"``) where an older file has none.

        Raises:
            SummaryError: an entry of the wrong type.
        """
        m = _obj(doc, f"metrics.{name}")
        return cls(
            display=_str(m.get("display", name), f"metrics.{name}.display"),
            higher_is_better=_bool(m.get("higher_is_better"), f"metrics.{name}.higher_is_better"),
            num_stats=_int(m.get("num_stats", 2), f"metrics.{name}.num_stats"),
            source=_str(m.get("source", "builtin"), f"metrics.{name}.source"),
        )


@dataclass(frozen=True)
class SegmentBlock:
    """A system's per-bead data: the reference (and candidate) sentence ids of each bead, its
    drift label, the candidate's sentences, and every metric's sufficient statistics (one row
    per bead, as written: integers where integral). All but ``ref_ids`` and ``stats`` are
    ``None`` in summaries of older versions."""

    ref_ids: tuple[tuple[int, ...], ...]
    stats: Mapping[str, Sequence[Sequence[float]]]
    hyp_ids: tuple[tuple[int, ...], ...] | None = None
    drift: tuple[str, ...] | None = None
    hyp_sentences: tuple[str, ...] | None = None

    def matrix(self, metric: str) -> np.ndarray:
        """``metric``'s statistics as a float64 ``(beads, k)`` array."""
        return np.asarray(self.stats[metric], dtype=np.float64)

    @property
    def has_texts(self) -> bool:
        """Whether the changed beads can be named (ids, labels and sentences are all here)."""
        return self.hyp_ids is not None and self.drift is not None and self.hyp_sentences is not None


@dataclass(frozen=True)
class SystemBlock:
    """One system of a summary."""

    system: str
    hyp: str
    corpus: Mapping[str, float]
    counts: Mapping[str, Any] = field(default_factory=dict)
    coverage: Mapping[str, Any] = field(default_factory=dict)
    gap_cost: float | None = None
    segments: SegmentBlock | None = None


@dataclass(frozen=True)
class Summary:
    """The corpus-level summary of one evaluation (``summary.json``)."""

    mtdrift: str | None
    reference: ReferenceBlock
    systems: tuple[SystemBlock, ...]
    signatures: Mapping[str, str]
    language: Mapping[str, Any] | None = None
    scales: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, MetricBlock] = field(default_factory=dict)

    @classmethod
    def of(cls, evaluation: Evaluation, *, per_bead: bool = True) -> Summary:
        """The summary of ``evaluation``; without ``per_bead``, less the parts that grow with
        the corpus (the reference's sentences, each system's :class:`SegmentBlock`), which a
        streaming writer adds (``eval.render.tables.write_summary_json``)."""
        n_ref = len(evaluation.ref_sentences)
        return cls(
            mtdrift=evaluation.signatures.get("mtdrift"),
            reference=ReferenceBlock(
                name=evaluation.ref_name,
                sha256=evaluation.ref_digest,
                segments=n_ref,
                sentences=tuple(r.text for r in evaluation.ref_sentences) if per_bead else None,
            ),
            language=_language(evaluation),
            scales={
                **{name: get_metric(name).scale for name in METRICS},
                **{m.name: m.scale for m in evaluation.extra},
            },
            metrics={
                m.name: MetricBlock(m.display, m.higher_is_better, m.num_stats, m.source)
                for m in evaluation.metrics
            },
            systems=tuple(_system(evaluation, s, per_bead=per_bead) for s in evaluation.systems),
            signatures=dict(sorted(evaluation.signatures.items())),
        )

    def to_json(self) -> dict[str, Any]:
        """As plain JSON-able data, in the file's key order."""
        return {
            "mtdrift": self.mtdrift,
            "ref": self.reference.name,
            "reference": {
                "name": self.reference.name,
                "sha256": self.reference.sha256,
                "segments": self.reference.segments,
                **({} if self.reference.sentences is None else {"sentences": list(self.reference.sentences)}),
            },
            **({} if self.language is None else {"language": dict(self.language)}),
            "scales": dict(self.scales),
            "metrics": {
                name: {
                    "display": m.display,
                    "higher_is_better": m.higher_is_better,
                    "num_stats": m.num_stats,
                    "source": m.source,
                }
                for name, m in self.metrics.items()
            },
            "systems": [_system_json(s) for s in self.systems],
            "signatures": dict(self.signatures),
        }

    @classmethod
    def parse(cls, doc: object) -> Summary:
        """Read back what :meth:`to_json` wrote (or an older version's summary).

        Raises:
            SummaryError: not a summary, or a part of the wrong type; the message names it.
        """
        top = _obj(doc, "the summary")
        if "systems" not in top or "signatures" not in top:
            raise SummaryError("not an mtdrift summary.json (no 'systems'/'signatures')")
        if "reference" not in top:
            raise SummaryError(
                "the summary lacks its 'reference' block; re-run mtdrift evaluate to rewrite it"
            )
        ref = _obj(top["reference"], "reference")
        sentences = ref.get("sentences")
        reference = ReferenceBlock(
            name=_str(ref.get("name"), "reference.name"),
            sha256=_str(ref.get("sha256"), "reference.sha256"),
            segments=_int(ref.get("segments"), "reference.segments"),
            sentences=None if sentences is None else tuple(_strs(sentences, "reference.sentences")),
        )
        metrics = {n: MetricBlock.parse(n, v) for n, v in _obj(top.get("metrics") or {}, "metrics").items()}
        mt = top.get("mtdrift")
        language = top.get("language")
        return cls(
            mtdrift=None if mt is None else _str(mt, "mtdrift"),
            reference=reference,
            systems=tuple(_parse_system(s, k) for k, s in enumerate(_list(top["systems"], "systems"))),
            signatures={
                k: _str(v, f"signatures.{k}") for k, v in _obj(top["signatures"], "signatures").items()
            },
            language=None if language is None else _obj(language, "language"),
            scales={k: _str(v, f"scales.{k}") for k, v in _obj(top.get("scales") or {}, "scales").items()},
            metrics=metrics,
        )


def _language(evaluation: Evaluation) -> dict[str, Any]:
    """The language of the texts and how it was decided (``input`` signature has it too)."""
    lang = evaluation.config.language
    if lang is None:
        return {"code": evaluation.config.lang, "source": None, "prob": None}
    return {"code": lang.code, "source": lang.source, "prob": lang.prob}


def _coverage(evaluation: Evaluation, s: SystemResult) -> dict[str, Any]:
    n_ref, n_hyp = len(evaluation.ref_sentences), len(s.hyp_sentences)
    omitted = [i for b in s.beads if not b.hyp_ids for i in b.ref_ids]
    added = [j for b in s.beads if not b.ref_ids for j in b.hyp_ids]
    return {
        "ref_sentences": n_ref,
        "hyp_sentences": n_hyp,
        "ref_aligned": round((n_ref - len(omitted)) / n_ref, DIGITS) if n_ref else None,
        "hyp_aligned": round((n_hyp - len(added)) / n_hyp, DIGITS) if n_hyp else None,
        "omitted_ref_ids": omitted,
        "added_hyp_ids": added,
    }


def _stat(x: float) -> float | int:
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else x


def _system(evaluation: Evaluation, s: SystemResult, *, per_bead: bool = True) -> SystemBlock:
    return SystemBlock(
        system=s.system,
        hyp=s.hyp_name,
        corpus={k: round(float(v), DIGITS) for k, v in s.corpus.items()},
        counts={
            "sentences": {"ref": len(evaluation.ref_sentences), "hyp": len(s.hyp_sentences)},
            **s.counts(),
        },
        coverage=_coverage(evaluation, s),
        gap_cost=None if s.gap_cost is None else round(s.gap_cost, DIGITS),
        # Per-bead sufficient statistics, so that ``mtdrift check`` can run paired tests, and
        # what it needs to name the beads that changed.
        segments=SegmentBlock(
            ref_ids=tuple(b.ref_ids for b in s.beads),
            hyp_ids=tuple(b.hyp_ids for b in s.beads),
            drift=tuple(b.drift for b in s.beads),
            hyp_sentences=tuple(h.text for h in s.hyp_sentences),
            stats={m: [stat_row(row) for row in s.stats[m].tolist()] for m in sorted(s.stats)},
        )
        if per_bead
        else None,
    )


def stat_row(row: Sequence[float]) -> list[float | int]:
    """A row of statistics as ``summary.json`` writes it: integers where integral."""
    return [_stat(x) for x in row]


def _system_json(s: SystemBlock) -> dict[str, Any]:
    out: dict[str, Any] = {
        "system": s.system,
        "hyp": s.hyp,
        "corpus": dict(s.corpus),
        "counts": dict(s.counts),
        "coverage": dict(s.coverage),
        "gap_cost": s.gap_cost,
    }
    seg = s.segments
    if seg is not None:
        out["segments"] = {
            "ref_ids": [list(ids) for ids in seg.ref_ids],
            **({} if seg.hyp_ids is None else {"hyp_ids": [list(ids) for ids in seg.hyp_ids]}),
            **({} if seg.drift is None else {"drift": list(seg.drift)}),
            **({} if seg.hyp_sentences is None else {"hyp_sentences": list(seg.hyp_sentences)}),
            "stats": {m: [list(row) for row in rows] for m, rows in seg.stats.items()},
        }
    return out


def _parse_system(doc: object, k: int) -> SystemBlock:
    s = _obj(doc, f"systems[{k}]")
    name = _str(s.get("system"), f"systems[{k}].system")
    where = f"system {name!r}"
    seg = s.get("segments")
    gap = s.get("gap_cost")
    return SystemBlock(
        system=name,
        hyp=_str(s.get("hyp", name), f"{where} hyp"),
        corpus={
            m: _num(v, f"{where} corpus.{m}") for m, v in _obj(s.get("corpus"), f"{where} corpus").items()
        },
        counts=_obj(s.get("counts") or {}, f"{where} counts"),
        coverage=_obj(s.get("coverage") or {}, f"{where} coverage"),
        gap_cost=None if gap is None else _num(gap, f"{where} gap_cost"),
        segments=None if not seg else _parse_segments(seg, where),
    )


def _parse_segments(doc: object, where: str) -> SegmentBlock:
    seg = _obj(doc, f"{where} segments")
    ref_ids = _ids(seg.get("ref_ids"), f"{where} segments.ref_ids")
    n = len(ref_ids)
    stats: dict[str, list[list[float]]] = {}
    for m, rows in _obj(seg.get("stats"), f"{where} segments.stats").items():
        what = f"{where} segments.stats.{m}"
        matrix = [[_num(x, what) for x in _list(r, what)] for r in _list(rows, what)]
        if len(matrix) != n:
            raise SummaryError(f"{what}: {len(matrix)} rows for {n} beads")
        stats[m] = matrix
    hyp_ids, drift, sentences = seg.get("hyp_ids"), seg.get("drift"), seg.get("hyp_sentences")
    return SegmentBlock(
        ref_ids=ref_ids,
        stats=stats,
        hyp_ids=None if hyp_ids is None else _ids(hyp_ids, f"{where} segments.hyp_ids"),
        drift=None if drift is None else tuple(_strs(drift, f"{where} segments.drift")),
        hyp_sentences=None
        if sentences is None
        else tuple(_strs(sentences, f"{where} segments.hyp_sentences")),
    )


def _strs(x: object, what: str) -> list[str]:
    return [_str(t, what) for t in _list(x, what)]


def _ids(x: object, what: str) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(_int(i, what) for i in _list(ids, what)) for ids in _list(x, what))
