"""External per-segment scores: a metric computed by another tool (COMET, MetricX, ...), carried
through every report as if mtdrift had computed it.

Three file layouts (:func:`read_scores`; gzip allowed, by the suffix ``.gz``):

- **rows**: JSON lines, or a TSV with a header, with ``doc_id, seg_id, system, score``, one row
  per (segment, system), in any order;
- **column**: a wider TSV with a header and the same keys, one column of which is the score
  (``NAME=FILE:COLUMN``), as ``../shared/data/mqm/*_official_metric_seg_scores*.tsv.gz``;
- **mt-metrics-eval**: ``SYSTEM<TAB>score`` lines without a header, each system's lines in
  segment order (mt-metrics-eval's ``*.seg.score`` files).

Rows of systems or segments the evaluation does not have are ignored (a file may cover more
than the run); a segment of the evaluation missing for one of its systems, a key given twice,
or a score that is not a finite number is an :class:`~mtdrift.eval.errors.InputError` naming the
file and the line. In a corpus (``--data``) a segment is its ``(doc_id, seg_id)``; in
line-parallel files (``--aligned``) ``seg_id`` is the 1-based line number and ``doc_id`` is
empty. In document mode mtdrift aligns sentences itself, so no external segment score has a
bead to go to: :func:`attach_scores` refuses.

An attached metric's statistics are ``[score, 1]`` per segment and its corpus score is their
mean (:class:`~mtdrift.metrics.registry.MeanMetric`), so the paired bootstrap, approximate
randomization, ``mtdrift check`` and every report treat it as they treat mtdrift's own."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np

from mtdrift.eval.corpus import Key, jsonl_rows
from mtdrift.eval.errors import InputError
from mtdrift.eval.read import decode_text, gunzip, read_bytes
from mtdrift.metrics.registry import METRICS, NAME_PATTERN, MeanMetric, corpus_score
from mtdrift.metrics.signature import Signature

if TYPE_CHECKING:  # at run time only dataclasses.replace touches them (keeps `check` light)
    from mtdrift.eval.results import Evaluation, SystemResult

Format = Literal["rows", "column", "mt-metrics-eval"]
SCORE: Final = "score"
KEY_COLUMNS: Final = ("doc_id", "seg_id", "system")

# Where the numbers came from, not what they measure: `mtdrift check` compares two runs whose
# score files necessarily differ, so these fields of an external signature are not compared.
PROVENANCE_FIELDS: Final = frozenset({"file", "sha256", "column", "format"})
SIGNATURE_NAME: Final = "scores"
NEEDS_SEGMENTS: Final = (
    "--scores needs segments known in advance: give --data (a corpus) or --aligned (line-parallel "
    "files); in document mode mtdrift splits and aligns sentences itself, so an external "
    "per-segment score has no bead to go to"
)


@dataclass(frozen=True)
class ScoresSpec:
    """External scores as the user names them: ``NAME=FILE[:COLUMN]`` and a direction.

    Attributes:
        name: the metric's name in every report.
        path: the file.
        column: the score column of a wider TSV; ``None``: a ``score`` column, or an
            mt-metrics-eval file.
        higher_is_better: the scores' direction (``--lower-is-better NAME`` says otherwise).
    """

    name: str
    path: str
    column: str | None = None
    higher_is_better: bool = True


def parse_scores_option(text: str, *, lower_is_better: Collection[str] = ()) -> ScoresSpec:
    """``NAME=FILE[:COLUMN]`` -> a :class:`ScoresSpec`.

    ``FILE:COLUMN`` is split at the last colon unless the whole of it names an existing file.

    Args:
        text: the option's value.
        lower_is_better: names whose scores are better when lower.

    Raises:
        InputError: no ``=``, an empty part, or a name that is not a valid metric name or is a
            built-in metric's.
    """
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name or not rest:
        raise InputError(f"--scores expects NAME=FILE or NAME=FILE:COLUMN, got {text!r}")
    check_name(name)
    path, column = rest, None
    if not Path(rest).exists():
        head, colon, tail = rest.rpartition(":")
        if colon and head and tail and "/" not in tail and "\\" not in tail:
            path, column = head, tail
    return ScoresSpec(name=name, path=path, column=column, higher_is_better=name not in lower_is_better)


def parse_scores_options(
    items: Sequence[str], *, lower_is_better: Sequence[str] = ()
) -> tuple[ScoresSpec, ...]:
    """Every ``--scores`` value, checked together with ``--lower-is-better``.

    Raises:
        InputError: a malformed value (see :func:`parse_scores_option`), a name given twice, or
            a ``--lower-is-better`` name that no ``--scores`` has.
    """
    specs = tuple(parse_scores_option(item, lower_is_better=lower_is_better) for item in items)
    names = [s.name for s in specs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"--scores {twice[0]} is given twice; give each external metric one name")
    stray = [n for n in lower_is_better if n not in names]
    if stray:
        raise InputError(
            f"--lower-is-better {stray[0]}: no --scores {stray[0]}=FILE; name one of "
            f"{', '.join(names) or '(no --scores given)'}"
        )
    return specs


def check_name(name: str) -> None:
    """Refuse a name that is a built-in metric's or not a valid metric name.

    Raises:
        InputError: the message says which and what to do.
    """
    if name in METRICS:
        raise InputError(
            f"--scores {name}: {name} is a built-in metric's name; call the external one otherwise"
        )
    if not NAME_PATTERN.fullmatch(name):
        raise InputError(
            f"--scores {name!r}: a metric name starts with a letter and holds letters, digits and _.+- only "
            "(at most 64 characters)"
        )


@dataclass(frozen=True)
class ExternalScores:
    """One external metric's per-segment scores as read, not yet matched to an evaluation.

    Attributes:
        spec: what the user asked for.
        sha256: the file's SHA-256 (of its bytes as stored, compressed or not).
        format: the layout found.
        rows: ``(doc_id, seg_id, system) -> (score, line)`` for the ``rows`` and ``column``
            layouts; empty for mt-metrics-eval.
        ordered: ``system -> ((score, line), ...)`` in segment order for mt-metrics-eval;
            empty otherwise.
    """

    spec: ScoresSpec
    sha256: str
    format: Format
    rows: Mapping[tuple[str, str, str], tuple[float, int]]
    ordered: Mapping[str, tuple[tuple[float, int], ...]]

    @property
    def name(self) -> str:
        return self.spec.name

    def metric(self) -> MeanMetric:
        """The metric that carries these scores: statistics ``[score, 1]``, corpus = mean."""
        return MeanMetric(
            self.name, higher_is_better=self.spec.higher_is_better, title=self.name, source="scores"
        )

    def signature(self) -> Signature:
        """``scores|name:...|file:...|sha256:...|column:...|format:...|higher:yes``."""
        return Signature.of(
            SIGNATURE_NAME,
            [
                ("name", self.name),
                ("file", Path(self.spec.path).name.replace("|", "_")),
                ("sha256", self.sha256),
                ("column", self.spec.column or (SCORE if self.format == "rows" else "-")),
                ("format", self.format),
                ("higher", self.spec.higher_is_better),
                ("corpus", "mean"),
            ],
        )


def read_scores(spec: ScoresSpec) -> ExternalScores:
    """Read one external scores file (see the module docstring for the layouts).

    Raises:
        InputError: a missing, unreadable or undecodable file; a missing column; a row without
            its keys; a key given twice; a score that is not a finite number (one line naming
            the file and the line).
    """
    p = Path(spec.path)
    data = read_bytes(p, "a scores file (TSV or JSONL)")
    digest = hashlib.sha256(data).hexdigest()
    data = gunzip(data, p)
    text = decode_text(data, source=str(p))
    suffixes = [s.lower() for s in p.suffixes if s.lower() != ".gz"]
    if suffixes and suffixes[-1] in (".jsonl", ".ndjson"):
        if spec.column is not None:
            raise InputError(f"{p}: a JSONL scores file has a 'score' field; drop ':{spec.column}'")
        return _keyed(spec, digest, "rows", jsonl_rows(text, str(p)), SCORE)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    first = lines[0].split("\t")
    if "system" in first:
        column = spec.column or SCORE
        missing = [c for c in (*KEY_COLUMNS, column) if c not in first]
        if missing:
            hint = "" if spec.column else " (name another column as NAME=FILE:COLUMN)"
            raise InputError(
                f"{p}: line 1: no {', '.join(missing)} column{hint}; the header has {', '.join(first)}"
            )
        fmt: Format = "column" if spec.column else "rows"
        return _keyed(spec, digest, fmt, _tsv(lines, str(p)), column)
    if spec.column is not None:
        raise InputError(
            f"{p}: line 1: no header with 'system' and {spec.column!r}; a COLUMN needs a TSV with a header"
        )
    return _mt_metrics_eval(spec, digest, lines, str(p))


def _tsv(lines: list[str], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    header = lines[0].split("\t")
    for line, raw in enumerate(lines[1:], start=2):
        cells = raw.split("\t")
        if len(cells) != len(header):
            raise InputError(
                f"{name}: line {line}: expected {len(header)} tab-separated fields as in the header, "
                f"got {len(cells)}"
            )
        yield line, dict(zip(header, cells, strict=True))


def _number(value: object, name: str, line: int, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError(f"{name}: line {line}: {what} {value!r} is not a number")
    try:
        x = float(value)
    except ValueError:
        raise InputError(f"{name}: line {line}: {what} {value!r} is not a number") from None
    if not math.isfinite(x):
        raise InputError(f"{name}: line {line}: {what} is {value!r}; every score must be a finite number")
    return x


def _keyed(
    spec: ScoresSpec, digest: str, fmt: Format, rows: Iterator[tuple[int, dict[str, Any]]], column: str
) -> ExternalScores:
    out: dict[tuple[str, str, str], tuple[float, int]] = {}
    name = spec.path
    for line, row in rows:
        if "system" not in row or "seg_id" not in row or column not in row:
            missing = [c for c in ("seg_id", "system", column) if c not in row]
            raise InputError(
                f"{name}: line {line}: no {', '.join(missing)} field; "
                f"expected doc_id, seg_id, system, {column}"
            )
        key = (_text(row.get("doc_id", "")), _text(row["seg_id"]), _text(row["system"]))
        score = _number(row[column], name, line, f"{column}")
        if key in out:
            raise InputError(
                f"{name}: line {line}: system {key[2]!r} segment {_seg(key[:2])} has a second score "
                f"(first on line {out[key][1]}); give each (segment, system) one score"
            )
        out[key] = (score, line)
    if not out:
        raise InputError(f"{name}: no rows; expected one score per (segment, system)")
    return ExternalScores(spec=spec, sha256=digest, format=fmt, rows=out, ordered={})


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _mt_metrics_eval(spec: ScoresSpec, digest: str, lines: list[str], name: str) -> ExternalScores:
    ordered: dict[str, list[tuple[float, int]]] = {}
    for line, raw in enumerate(lines, start=1):
        cells = raw.split("\t")
        if len(cells) != 2:
            raise InputError(
                f"{name}: line {line}: expected SYSTEM<TAB>score (mt-metrics-eval), or a TSV whose header "
                f"has doc_id, seg_id, system and score; got {len(cells)} field(s)"
            )
        ordered.setdefault(cells[0], []).append((_number(cells[1], name, line, "score"), line))
    if not ordered:
        raise InputError(f"{name}: no rows; expected SYSTEM<TAB>score lines")
    return ExternalScores(
        spec=spec,
        sha256=digest,
        format="mt-metrics-eval",
        rows={},
        ordered={s: tuple(v) for s, v in ordered.items()},
    )


def _seg(key: tuple[str, str]) -> str:
    return f"{key[0]}/{key[1]}" if key[0] else key[1]


def segment_keys(evaluation: Evaluation) -> Sequence[Key]:
    """The ``(doc_id, seg_id)`` of each reference segment: the corpus keys, or ``("", line)``
    with the 1-based line number of line-parallel files.

    Raises:
        InputError: document mode (the segments are mtdrift's sentences, not the user's).
    """
    if not evaluation.config.aligned:
        raise InputError(NEEDS_SEGMENTS)
    if evaluation.keys is not None:
        return evaluation.keys
    return tuple(("", str(s.line + 1)) for s in evaluation.ref_sentences)


def scores_for(
    scores: ExternalScores, *, keys: Sequence[Key], systems: Sequence[str]
) -> dict[str, np.ndarray]:
    """Each system's score of each segment, in segment order.

    Raises:
        InputError: a system or a segment without a score, or (mt-metrics-eval) a system with
            more lines than segments.
    """
    name = scores.spec.path
    out: dict[str, np.ndarray] = {}
    if scores.format == "mt-metrics-eval":
        for system in systems:
            got = scores.ordered.get(system)
            if got is None:
                raise InputError(
                    f"{name}: no line for system {system!r} (the file has "
                    f"{', '.join(map(repr, scores.ordered))}); "
                    "give every system's scores, one line per segment"
                )
            if len(got) != len(keys):
                detail = (
                    f"line {got[len(keys)][1]} is its {len(keys) + 1}th"
                    if len(got) > len(keys)
                    else f"the last is line {got[-1][1]}"
                )
                raise InputError(
                    f"{name}: system {system!r} has {len(got)} scores for {len(keys)} segments ({detail}); "
                    "give one line per segment, in segment order"
                )
            out[system] = np.array([v for v, _ in got], dtype=np.float64)
        return out
    known = {s for _, _, s in scores.rows}
    for system in systems:
        if system not in known:
            raise InputError(
                f"{name}: no score for system {system!r}; the file has {len(known)} system(s) "
                f"({', '.join(sorted(map(repr, known))[:5])}{', ...' if len(known) > 5 else ''})"
            )
        values = np.empty(len(keys), dtype=np.float64)
        for k, (doc_id, seg_id) in enumerate(keys):
            hit = scores.rows.get((doc_id, seg_id, system))
            if hit is None:
                raise InputError(
                    f"{name}: no score for system {system!r} segment {_seg((doc_id, seg_id))} "
                    f"(segment {k + 1} of {len(keys)}); give every (segment, system) a score"
                )
            values[k] = hit[0]
        out[system] = values
    return out


def attach_scores(evaluation: Evaluation, scores: Sequence[ExternalScores]) -> Evaluation:
    """The evaluation with each external metric added to every system: statistics
    ``[score, 1]`` per bead, the mean as corpus score, the per-bead score in ``BeadResult.extra``,
    the metric in ``Evaluation.extra`` and its signature (file, SHA-256, column) in
    ``signatures``. Pure: neither argument is changed.

    Raises:
        InputError: document mode, a name that the evaluation already carries, or a segment
            or system without a score (see :func:`scores_for`).
    """
    if not scores:
        return evaluation
    keys = segment_keys(evaluation)
    taken = {m.name for m in evaluation.metrics}
    systems = [s.system for s in evaluation.systems]
    extra = list(evaluation.extra)
    sigs = dict(evaluation.signatures)
    values: dict[str, dict[str, np.ndarray]] = {}
    for sc in scores:
        if sc.name in taken:
            raise InputError(
                f"--scores {sc.name}: the evaluation already has a metric {sc.name!r}; rename it"
            )
        taken.add(sc.name)
        values[sc.name] = scores_for(sc, keys=keys, systems=systems)
        extra.append(sc.metric())
        sigs[sc.name] = sc.signature().format()
    results = tuple(_with(s, values) for s in evaluation.systems)
    return replace(evaluation, systems=results, signatures=sigs, extra=tuple(extra))


def _with(s: SystemResult, values: Mapping[str, Mapping[str, np.ndarray]]) -> SystemResult:
    stats = dict(s.stats)
    corpus = dict(s.corpus)
    beads = list(s.beads)
    for name, by_system in values.items():
        v = by_system[s.system]
        # aligned mode: bead k is segment k (one reference segment per bead)
        per_bead = np.array([v[b.ref_ids[0]] for b in beads], dtype=np.float64)
        stats[name] = np.column_stack([per_bead, np.ones(len(beads))]).reshape(-1, 2)
        corpus[name] = corpus_score(MeanMetric(name), stats[name])
        beads = [replace(b, extra={**b.extra, name: float(x)}) for b, x in zip(beads, per_bead, strict=True)]
    return replace(s, stats=stats, corpus=corpus, beads=tuple(beads))


def load_scores(
    specs: Sequence[ScoresSpec],
    *,
    aligned: bool,
    keys: Sequence[Key] | None = None,
    systems: Sequence[str] | None = None,
) -> tuple[ExternalScores, ...]:
    """Read every external scores file before anything is scored, so that a bad one fails
    fast: the mode is checked, each file read, and, when the segments and systems are known
    already (a corpus), whether every one has a score.

    Args:
        specs: the files (``parse_scores_options``).
        aligned: whether the segments are known in advance (``--data`` or ``--aligned``).
        keys, systems: a corpus's segment keys and systems, to check coverage now.

    Raises:
        InputError: document mode, or any error of :func:`read_scores` or :func:`scores_for`.
    """
    if specs and not aligned:
        raise InputError(NEEDS_SEGMENTS)
    out = tuple(read_scores(s) for s in specs)
    if keys is not None and systems is not None:
        for sc in out:
            scores_for(sc, keys=keys, systems=systems)
    return out
