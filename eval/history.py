"""A system's history of runs, and the steps between them.

The history is a text file meant to live in a repository: JSON lines, one run per line,
appended and never rewritten, so that a diff shows the runs added. A line holds the run's
label (a commit, a model version), its time, the mtdrift version, the reference (name,
SHA-256, segments), every signature, the metrics block of ``summary.json``, and per system
the corpus scores, their bootstrap 95 % intervals and the per-bead statistics with the
reference sentence ids of each bead (what the paired test needs to pair two runs aligned
differently, ``eval.pairwise``).

Appending takes an exclusive ``fcntl`` lock and writes the whole line with one ``O_APPEND``
write, so that two runs appended at once both land, each on its own line. Reading never
trusts a line: one that is not JSON, or lacks a field, or carries a string where a number
belongs, is reported with its line number and skipped.

A *step* joins two consecutive runs. When the two are comparable (same reference, every
signature equal but mtdrift's own version) each system present in both is tested with the
paired approximate-randomization test of ``metrics.significance`` on the stored statistics,
summed into the units of reference sentences that neither run's beads split; the p-values
are Holm-corrected over the metrics of the system (all the metrics stored, whichever are
shown). Otherwise the step is a *break* naming the fields that changed: scores on its two
sides are not comparable, and nothing is tested across it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mtdrift.eval.jsonshape import ShapeError, number
from mtdrift.eval.jsonshape import integer as _int
from mtdrift.eval.jsonshape import lst as _list
from mtdrift.eval.jsonshape import obj as _obj
from mtdrift.eval.jsonshape import string as _str
from mtdrift.eval.pairwise import RefIds, common_units, unit_stats
from mtdrift.eval.regression import Incomparable, metric_objects, signature_changes, summary_metrics
from mtdrift.eval.summary import MetricBlock, Summary, SystemBlock
from mtdrift.metrics.registry import CorpusMetric
from mtdrift.metrics.significance import ALPHA, Resampler, Resampling, holm, interval, p_value

FORMAT = "mtdrift-history/1"
DIGITS = 6


class HistoryError(ValueError):
    """A history or a summary that cannot be used; the message says what to do."""


# --- the record of one run ------------------------------------------------------------


def parse_time(text: str | None, *, now: datetime | None = None) -> str:
    """``text`` as an ISO-8601 time (a time without a zone is taken as UTC), or ``now``.

    Raises:
        HistoryError: not an ISO-8601 time.
    """
    if text is None:
        when = now or datetime.now(UTC)
    else:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise HistoryError(
                f"--time {text!r} is not an ISO-8601 time; give e.g. 2026-12-03T14:05:00Z"
            ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.isoformat(timespec="seconds")


def record(
    summary: Summary, *, label: str, time: str, resampling: Resampling | None = None
) -> dict[str, Any]:
    """The history line of one ``summary.json``: label, time, signatures, and per system the
    corpus scores, their bootstrap 95 % intervals (over the run's own units) and its bead
    statistics.

    Raises:
        HistoryError: an empty label, or a summary without what a history needs.
    """
    if not label.strip() or "\n" in label:
        raise HistoryError("--label must be a non-empty single line (a commit, a model version)")
    cfg = resampling or Resampling()
    try:
        objects = summary_metrics(summary)
    except Incomparable as err:
        raise HistoryError(str(err)) from None
    reference = summary.reference
    systems = [_system_record(s, objects, reference.segments, cfg) for s in summary.systems]
    head = {"name": reference.name, "sha256": reference.sha256, "segments": reference.segments}
    return {
        "format": FORMAT,
        "label": label,
        "time": time,
        "mtdrift": summary.mtdrift,
        "reference": head,
        "signatures": dict(sorted(summary.signatures.items())),
        "metrics": {name: _described(summary.metrics.get(name), m) for name, m in objects.items()},
        "ci": str(cfg.signature()),
        "systems": systems,
    }


def _described(block: MetricBlock | None, m: CorpusMetric) -> dict[str, Any]:
    """A metric as the history's ``metrics`` block keeps it: as its summary described it, or
    (a built-in metric of an older summary) its name and direction."""
    if block is None:
        return {"display": m.display, "higher_is_better": m.higher_is_better}
    return {
        "display": block.display,
        "higher_is_better": block.higher_is_better,
        "num_stats": block.num_stats,
        "source": block.source,
    }


def _system_record(
    s: SystemBlock, objects: Mapping[str, CorpusMetric], n_ref: int, cfg: Resampling
) -> dict[str, Any]:
    corpus = {m: round(float(s.corpus[m]), DIGITS) for m in objects if m in s.corpus}
    seg = s.segments
    out: dict[str, Any] = {"system": s.system, "corpus": corpus, "ci": None, "segments": None}
    if seg is None:
        return out
    beads = list(seg.ref_ids)
    stats = {m: seg.matrix(m) for m in corpus if m in seg.stats}
    units = common_units(n_ref, [beads])
    summed = unit_stats(units, beads, stats)
    rs = Resampler(len(units), cfg)
    ci = {}
    for m, matrix in summed.items():
        iv = interval(rs.bootstrap_scores(objects[m], matrix))
        ci[m] = [round(iv.low, DIGITS), round(iv.high, DIGITS)]
    out["ci"] = ci
    out["segments"] = {
        "ref_ids": [list(b) for b in beads],
        "stats": {m: [list(r) for r in seg.stats[m]] for m in stats},
    }
    return out


def line(rec: Mapping[str, Any]) -> bytes:
    """One record as one line of UTF-8 JSON (no NaN, no line break inside)."""
    try:
        text = json.dumps(rec, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError as err:
        raise HistoryError(f"the run cannot be stored: {err}") from None
    return (text + "\n").encode("utf-8")


def append(path: str | os.PathLike[str], rec: Mapping[str, Any]) -> None:
    """Append one run to the history at ``path`` (created if missing).

    The line is written with a single ``write`` on an ``O_APPEND`` descriptor under an
    exclusive ``fcntl.flock``: concurrent appends (two CI jobs) each land whole, on their own
    line. A last line left without its newline (a writer killed mid-line) is ended first, so
    that the damage stays on that line.

    Raises:
        OSError: the file cannot be opened or written.
    """
    data = line(rec)
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        _lock(fd)
        size = os.fstat(fd).st_size
        if size and _last_byte(path, size) != b"\n":
            data = b"\n" + data
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    finally:
        os.close(fd)  # releases the lock


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # not on POSIX: O_APPEND alone
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def _last_byte(path: str | os.PathLike[str], size: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(size - 1)
        return f.read(1)


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemRun:
    """One system in one run. ``ci``: ``metric -> (low, high)``; ``beads``/``stats``: ``None``
    when the summary had no segment statistics (nothing to test)."""

    system: str
    corpus: Mapping[str, float]
    ci: Mapping[str, tuple[float, float]] | None
    beads: tuple[RefIds, ...] | None
    stats: Mapping[str, np.ndarray] | None


@dataclass(frozen=True)
class Run:
    """One line of the history (``line``: its 1-based line number in the file)."""

    line: int
    label: str
    time: str
    mtdrift: str | None
    reference: Mapping[str, Any]
    signatures: Mapping[str, str]
    metrics: Mapping[str, Mapping[str, Any]]
    systems: Mapping[str, SystemRun]


class _Damaged(Exception):
    pass


def read(path: str | os.PathLike[str]) -> tuple[list[Run], list[str]]:
    """The runs of the history at ``path``, in file order, and a warning for each damaged
    line (``FILE line N: what is wrong; skipped``). Blank lines are ignored.

    Raises:
        HistoryError: the file does not exist or cannot be read.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise HistoryError(f"{p}: no such history; create it with mtdrift history add") from None
    except OSError as err:
        raise HistoryError(f"{p}: cannot read the history ({err.strerror or err})") from None
    runs: list[Run] = []
    warnings: list[str] = []
    for k, chunk in enumerate(raw.split(b"\n"), start=1):
        if not chunk.strip():
            continue
        try:
            runs.append(_parse(k, chunk))
        except (_Damaged, ShapeError) as err:
            warnings.append(f"{p} line {k}: {err}; skipped")
    return runs, warnings


def _parse(k: int, chunk: bytes) -> Run:
    try:
        doc = json.loads(chunk.decode("utf-8"))
    except UnicodeDecodeError:
        raise _Damaged("not UTF-8") from None
    except json.JSONDecodeError as err:
        raise _Damaged(f"not JSON ({err.msg} at column {err.colno})") from None
    obj = _obj(doc, "the line")
    if obj.get("format") != FORMAT:
        raise _Damaged(f"format is {obj.get('format')!r}, expected {FORMAT!r}")
    ref = _obj(obj.get("reference"), "reference")
    _str(ref.get("sha256"), "reference.sha256")
    n_ref = _int(ref.get("segments"), "reference.segments")
    sigs = _obj(obj.get("signatures"), "signatures")
    for name, sig in sigs.items():
        _str(sig, f"signatures.{name}")
    metrics = _obj(obj.get("metrics"), "metrics")
    for name, info in metrics.items():
        _obj(info, f"metrics.{name}")
    systems: dict[str, SystemRun] = {}
    items = obj.get("systems")
    if not isinstance(items, list) or not items:
        raise _Damaged("systems is not a non-empty list")
    for item in items:
        s = _system(_obj(item, "a system"), n_ref)
        systems[s.system] = s
    mt = obj.get("mtdrift")
    return Run(
        line=k,
        label=_str(obj.get("label"), "label"),
        time=_str(obj.get("time"), "time"),
        mtdrift=None if mt is None else _str(mt, "mtdrift"),
        reference=ref,
        signatures=sigs,
        metrics=metrics,
        systems=systems,
    )


def _system(s: Mapping[str, Any], n_ref: int) -> SystemRun:
    name = _str(s.get("system"), "system")
    corpus = {m: _num(v, f"{name} corpus {m}") for m, v in _obj(s.get("corpus"), f"{name} corpus").items()}
    ci = None
    if s.get("ci") is not None:
        ci = {}
        for m, pair in _obj(s["ci"], f"{name} ci").items():
            if not isinstance(pair, list) or len(pair) != 2:
                raise _Damaged(f"{name} ci {m} is not [low, high]")
            ci[m] = (_num(pair[0], f"{name} ci {m}"), _num(pair[1], f"{name} ci {m}"))
    beads = stats = None
    if s.get("segments") is not None:
        seg = _obj(s["segments"], f"{name} segments")
        ids = seg.get("ref_ids")
        if not isinstance(ids, list):
            raise _Damaged(f"{name} segments.ref_ids is not a list")
        beads = tuple(tuple(_int(i, f"{name} ref_ids") for i in _list(b, f"{name} ref_ids")) for b in ids)
        if any(i < 0 or i >= n_ref for b in beads for i in b):
            raise _Damaged(f"{name} ref_ids outside 0..{n_ref - 1}")
        stats = {}
        for m, rows in _obj(seg.get("stats"), f"{name} stats").items():
            matrix = [
                [_num(x, f"{name} stats {m}") for x in _list(r, f"{name} stats {m}")] for r in _list(rows, m)
            ]
            arr = np.asarray(matrix, dtype=np.float64)
            if arr.ndim != 2 or arr.shape[0] != len(beads):
                raise _Damaged(f"{name} stats {m}: {len(matrix)} rows for {len(beads)} beads")
            stats[m] = arr
    return SystemRun(name, corpus, ci, beads, stats)


def _num(x: Any, what: str) -> float:
    return float(number(x, what))


# --- steps ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepTest:
    """One system and metric across a comparable step.

    Attributes:
        delta: ``after - before`` (raw: for TER a negative delta is better).
        p_holm: paired AR p-value, Holm-corrected over the system's metrics (``None``: a run
            has no statistics for it).
        significant: ``p_holm < alpha``.
        better: the change is an improvement (by the metric's direction).
    """

    system: str
    metric: str
    before: float
    after: float
    delta: float
    p_holm: float | None
    significant: bool
    better: bool


@dataclass(frozen=True)
class Step:
    """From run ``before`` to run ``after`` (indices into :attr:`Trend.runs`).

    ``breaks`` names what makes the two runs incomparable (``semantic.model: a -> b``);
    ``fields`` the same as ``signature.field`` names. A break has no tests.
    """

    before: int
    after: int
    breaks: tuple[str, ...]
    fields: tuple[str, ...]
    tests: tuple[StepTest, ...]

    @property
    def comparable(self) -> bool:
        return not self.breaks

    @property
    def significant(self) -> list[StepTest]:
        return [t for t in self.tests if t.significant]


def step(
    before: Run,
    after: Run,
    i: int,
    *,
    alpha: float,
    resampling: Resampling | None,
    draws: dict[int, Resampler] | None = None,
) -> Step:
    """The step from ``before`` (run ``i - 1``) to ``after`` (run ``i``); ``draws`` caches
    the random draws by number of units across the steps of a history."""
    breaks: list[str] = []
    fields: list[str] = []
    if before.reference.get("sha256") != after.reference.get("sha256"):
        breaks.append(
            f"reference: {before.reference.get('name')} ({before.reference.get('segments')} segments) -> "
            f"{after.reference.get('name')} ({after.reference.get('segments')} segments)"
        )
        fields.append("reference")
    for change in signature_changes(before.signatures, after.signatures):
        if change.missing:
            side = "added" if change.missing == "baseline" else "removed"
            breaks.append(f"{change.name}: signature {side}")
            fields.append(change.name)
        for key, old, new in change.fields:
            breaks.append(f"{change.name}.{key}: {old} -> {new}")
            fields.append(f"{change.name}.{key}")
    if breaks:
        return Step(i - 1, i, tuple(breaks), tuple(fields), ())
    tests: list[StepTest] = []
    for name, b in before.systems.items():
        a = after.systems.get(name)
        if a is not None:
            tests += _tests(before, b, a, alpha, resampling, draws)
    return Step(i - 1, i, (), (), tuple(tests))


def _tests(
    run: Run,
    b: SystemRun,
    a: SystemRun,
    alpha: float,
    resampling: Resampling | None,
    draws: dict[int, Resampler] | None,
) -> list[StepTest]:
    objects = _metric_objects(run)
    names = [m for m in b.corpus if m in a.corpus and m in objects]
    p: dict[str, float | None] = dict.fromkeys(names)
    testable = [m for m in names if b.stats and a.stats and m in b.stats and m in a.stats]
    if testable and b.beads is not None and a.beads is not None and b.stats and a.stats:
        units = common_units(int(run.reference["segments"]), [b.beads, a.beads])
        stats = {
            "before": unit_stats(units, b.beads, {m: b.stats[m] for m in testable}),
            "after": unit_stats(units, a.beads, {m: a.stats[m] for m in testable}),
        }
        n = len(units)
        rs = draws.setdefault(n, Resampler(n, resampling)) if draws is not None else Resampler(n, resampling)
        p.update(_ar_holm(stats["before"], stats["after"], [objects[m] for m in testable], rs))
    out = []
    for m in names:
        delta = a.corpus[m] - b.corpus[m]
        hib = objects[m].higher_is_better
        pm = p[m]
        out.append(
            StepTest(
                system=b.system,
                metric=m,
                before=b.corpus[m],
                after=a.corpus[m],
                delta=delta,
                p_holm=pm,
                significant=pm is not None and pm < alpha and delta != 0,
                better=(delta > 0) == hib,
            )
        )
    return out


def _ar_holm(
    before: Mapping[str, np.ndarray],
    after: Mapping[str, np.ndarray],
    metrics: Sequence[CorpusMetric],
    rs: Resampler,
) -> dict[str, float | None]:
    """The paired AR p-value of each metric (``metrics.significance.compare_stats``'s, on the same
    draws), Holm-corrected over ``metrics``. The bootstrap CIs ``compare`` also draws are not
    needed here, so this calls the resampler directly, and one resampler (its draws depend only
    on the seed and the number of units) serves every step of a history."""
    raw: list[float | None] = []
    for metric in metrics:
        b, a = before[metric.name], after[metric.name]
        observed = abs(
            float(metric.corpus_scores(a.sum(axis=0, keepdims=True))[0])
            - float(metric.corpus_scores(b.sum(axis=0, keepdims=True))[0])
        )
        x, y = rs.ar_scores(metric, b, a)
        raw.append(p_value(np.abs(x - y), observed))
    return dict(zip([m.name for m in metrics], holm(raw), strict=True))


def _metric_objects(run: Run) -> dict[str, CorpusMetric]:
    """The metric objects of a run (built-in, external scores, installed plug-ins); a
    plug-in that is not installed is left out (its scores are drawn, not tested)."""
    out: dict[str, CorpusMetric] = {}
    for name in dict.fromkeys(m for s in run.systems.values() for m in s.corpus):
        described = {n: MetricBlock.parse(n, d) for n, d in run.metrics.items()}
        try:
            out.update(metric_objects([name], described))
        except Incomparable:
            continue
    return out


# --- the trend --------------------------------------------------------------------------


@dataclass(frozen=True)
class Trend:
    """What ``mtdrift history show`` draws and tabulates.

    Attributes:
        source: the history file.
        runs: the runs shown, in file order.
        steps: ``steps[k]`` joins ``runs[k]`` and ``runs[k + 1]``.
        metrics: the metrics shown (every stored one unless asked otherwise).
        systems: system names in order of appearance.
        display: metric -> the name tables show.
        higher_is_better: metric -> its direction.
        alpha: significance level of the step marks.
        warnings: the damaged lines skipped.
    """

    source: str
    runs: tuple[Run, ...]
    steps: tuple[Step, ...]
    metrics: tuple[str, ...]
    systems: tuple[str, ...]
    display: Mapping[str, str]
    higher_is_better: Mapping[str, bool]
    alpha: float
    warnings: tuple[str, ...] = ()

    @property
    def breaks(self) -> list[Step]:
        return [s for s in self.steps if not s.comparable]


def trend(
    runs: Sequence[Run],
    *,
    source: str = "",
    since: str | None = None,
    metrics: Sequence[str] | None = None,
    alpha: float = ALPHA,
    resampling: Resampling | None = None,
    warnings: Sequence[str] = (),
) -> Trend:
    """The runs from the last one labelled ``since`` on, every step between them tested.

    Raises:
        HistoryError: no runs, an unknown ``since`` label or an unknown metric.
    """
    if not runs:
        raise HistoryError(f"{source or 'the history'}: no runs to show; add one with mtdrift history add")
    shown = list(runs)
    if since is not None:
        at = [k for k, r in enumerate(shown) if r.label == since]
        if not at:
            labels = ", ".join(dict.fromkeys(r.label for r in shown[-5:]))
            raise HistoryError(f"--since {since!r}: no run has that label (the last ones: {labels})")
        shown = shown[at[-1] :]
    display: dict[str, str] = {}
    hib: dict[str, bool] = {}
    for r in shown:
        objects = _metric_objects(r)
        for s in r.systems.values():
            for m in s.corpus:
                info = r.metrics.get(m, {})
                display.setdefault(m, str(info.get("display") or (objects[m].display if m in objects else m)))
                hib.setdefault(
                    m,
                    bool(info.get("higher_is_better", objects[m].higher_is_better if m in objects else True)),
                )
    names = list(display)
    if metrics:
        by = {n.lower(): n for n in names} | {d.lower(): n for n, d in display.items()}
        unknown = [m for m in metrics if m.lower() not in by]
        if unknown:
            raise HistoryError(
                f"--metric {', '.join(unknown)}: not in the history (it has {', '.join(names)})"
            )
        names = list(dict.fromkeys(by[m.lower()] for m in metrics))
    draws: dict[int, Resampler] = {}
    steps = [
        step(shown[k - 1], shown[k], k, alpha=alpha, resampling=resampling, draws=draws)
        for k in range(1, len(shown))
    ]
    return Trend(
        source=source,
        runs=tuple(shown),
        steps=tuple(steps),
        metrics=tuple(names),
        systems=tuple(dict.fromkeys(s for r in shown for s in r.systems)),
        display=display,
        higher_is_better=hib,
        alpha=alpha,
        warnings=tuple(warnings),
    )
