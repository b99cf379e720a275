"""Regression tracking: did the current evaluation get worse than a baseline?

Both sides are ``summary.json`` documents (``mtdrift evaluate`` writes them; ``make baseline``
keeps one). A metric *regressed* when it dropped by more than its tolerance, or, where both
summaries carry per-segment statistics, when it dropped at all and a paired approximate
randomization test, Holm-corrected over the metrics of the system, finds the drop
significant at ``alpha``.

Two summaries are comparable only if they scored the same reference with the same metric
settings: every signature except mtdrift's own version must be equal. Anything else raises
:class:`Incomparable` naming the field that differs.

Default tolerances come from Kocmi et al. 2024 ("Navigating the Metrics Maze"): the drop at
which three in four people would agree that the baseline is better, 1.79 BLEU and 1.28 chrF.
chrF++ borrows chrF's and TER BLEU's (no published calibration; the scales are alike). The
0-1 semantic scores have no calibration either: 0.01 is our choice. ``--max-drop`` overrides.

Metrics beyond the built-in ones are described by the summary's ``metrics`` block. External
scores (``eval.external``) have no default tolerance: their scale is another tool's (COMET 0-1,
MetricX 0-25), so ``--max-drop NAME=DELTA`` must give one. A plug-in's default is its
``max_drop`` attribute, if it has one; its corpus scores need the plug-in installed. Of an
external metric's signature only what the metric is (its name and direction) is compared, not
where the scores came from (file, SHA-256, column, layout): the current run's file differs from
the baseline's by nature."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mtdrift.eval.changes import BeadChanges, bead_changes
from mtdrift.eval.external import PROVENANCE_FIELDS, SIGNATURE_NAME
from mtdrift.eval.pairwise import common_units, unit_stats
from mtdrift.eval.summary import MetricBlock, Summary, SystemBlock
from mtdrift.metrics.registry import METRICS, CorpusMetric, MeanMetric, MetricError, get_metric
from mtdrift.metrics.signature import Signature
from mtdrift.metrics.significance import ALPHA, Comparison, Resampling, compare_stats

IGNORED_SIGNATURES: frozenset[str] = frozenset({"mtdrift"})


def format_p(p: float) -> str:
    """``p=0.0123``; below the resolution of 10,000 trials ``p<0.0001``."""
    return "p<0.0001" if p < 1e-4 else f"p={p:.4g}"


class Incomparable(Exception):
    """The two summaries cannot be compared; the message says which field differs."""


@dataclass(frozen=True)
class MetricCheck:
    """One metric of one system, baseline against current.

    Attributes:
        drop: how much worse the current score is (positive = worse; TER's sign flipped).
        tolerance: the allowed drop.
        p_holm: paired AR p-value of the difference, Holm-corrected over this system's
            metrics (``None`` without segment statistics on both sides).
        regressed: the drop exceeds the tolerance, or is positive and significant.
    """

    system: str
    metric: str
    baseline: float
    current: float
    drop: float
    tolerance: float
    p_holm: float | None
    regressed: bool

    @property
    def reason(self) -> str:
        if not self.regressed:
            return ""
        if self.drop > self.tolerance:
            return f"dropped {self.drop:.4g} > tolerance {self.tolerance:.4g}"
        return (
            f"dropped {self.drop:.4g} (within tolerance {self.tolerance:.4g}) "
            f"but significantly, {format_p(self.p_holm or 0.0)}"
        )


@dataclass(frozen=True)
class CheckResult:
    checks: tuple[MetricCheck, ...]
    paired: dict[str, int | None]  # system -> paired units tested (None: no segment data)
    alpha: float
    display: dict[str, str] = field(default_factory=dict)  # metric -> the name tables show
    changes: dict[str, BeadChanges] = field(default_factory=dict)  # system -> its changed beads

    def shown(self, metric: str) -> str:
        """The name tables show for ``metric``."""
        if metric in self.display:
            return self.display[metric]
        return get_metric(metric).display if metric in METRICS else metric

    @property
    def regressed(self) -> bool:
        return any(c.regressed for c in self.checks)


def parse_tolerances(items: Sequence[str]) -> dict[str, float]:
    """``["BLEU=1.0", "chrf=0.5", "COMET-22=0.01"]`` -> ``{"bleu": 1.0, "chrf": 0.5,
    "COMET-22": 0.01}``: built-in metrics by name or table name, any case; other names (plug-ins,
    external scores) as given, matched against the summaries by :func:`check`.

    Raises:
        ValueError: malformed item, or a negative tolerance.
    """
    by_name = {m: m for m in METRICS} | {get_metric(m).display.lower(): m for m in METRICS}
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--max-drop expects METRIC=DELTA, got {item!r}")
        metric = by_name.get(name.strip().lower(), name.strip())
        try:
            delta = float(value)
        except ValueError:
            raise ValueError(f"--max-drop {item!r}: {value!r} is not a number") from None
        if not delta >= 0:
            raise ValueError(f"--max-drop {item!r}: the tolerance must be >= 0")
        out[metric] = delta
    return out


def check(
    baseline: Summary,
    current: Summary,
    *,
    tolerances: Mapping[str, float] | None = None,
    alpha: float = ALPHA,
    resampling: Resampling | None = None,
) -> CheckResult:
    """Compare two summaries (``summary.json`` read back by :meth:`Summary.parse`).

    Raises:
        Incomparable: different reference, different signatures, or a baseline system
            missing from the current summary.
    """
    _same_reference(baseline, current)
    _same_signatures(baseline, current)
    objects = summary_metrics(baseline)
    tol = _tolerances(objects, tolerances or {})
    pairs = _pair_systems(baseline.systems, current.systems)
    checks: list[MetricCheck] = []
    paired: dict[str, int | None] = {}
    changes: dict[str, BeadChanges] = {}
    for b, c in pairs:
        changes[c.system] = bead_changes(baseline, current, b, c)
        metrics = [m for m in objects.values() if m.name in b.corpus and m.name in c.corpus]
        tested = _paired_test(b, c, metrics, baseline.reference.segments, resampling)
        paired[c.system] = None if tested is None else tested.n_segments
        for metric in metrics:
            m = metric.name
            p = None if tested is None else tested.get("current", m).p_holm
            old, new = float(b.corpus[m]), float(c.corpus[m])
            drop = round((old - new) if metric.higher_is_better else (new - old), 9)
            regressed = drop > tol[m] or (drop > 0 and p is not None and p < alpha)
            checks.append(MetricCheck(c.system, m, old, new, drop, tol[m], p, regressed))
    display = {m.name: m.display for m in objects.values()}
    return CheckResult(tuple(checks), paired, alpha, display, changes)


def summary_metrics(doc: Summary) -> dict[str, CorpusMetric]:
    """The metrics ``doc``'s systems carry, as :func:`metric_objects` builds them."""
    return metric_objects(list(dict.fromkeys(m for s in doc.systems for m in s.corpus)), doc.metrics)


def metric_objects(names: Sequence[str], described: Mapping[str, MetricBlock]) -> dict[str, CorpusMetric]:
    """The metrics a ``summary.json`` carries, in its order: the built-in ones, then those its
    ``metrics`` block describes (external scores rebuilt from it; plug-ins loaded by name).

    Raises:
        Incomparable: a metric the summary does not describe, or a plug-in not installed here.
    """
    out: dict[str, CorpusMetric] = {}
    for name in names:
        if name in METRICS:
            out[name] = get_metric(name)
            continue
        info = described.get(name)
        if info is None:
            raise Incomparable(f"metric {name!r} is not described in the summary's 'metrics' block")
        if info.source == "scores":
            out[name] = MeanMetric(
                name, higher_is_better=info.higher_is_better, title=info.display or name, source="scores"
            )
            continue
        try:
            out[name] = get_metric(name)
        except MetricError as err:
            raise Incomparable(
                f"metric {name!r} comes from a plug-in that cannot be loaded here ({err}); install it"
            ) from None
    return out


def _tolerances(objects: Mapping[str, CorpusMetric], given: Mapping[str, float]) -> dict[str, float]:
    by_name = {n: n for n in objects} | {n.lower(): n for n in objects}
    by_name |= {m.display.lower(): n for n, m in objects.items()}
    tol: dict[str, float] = {}
    for name, delta in given.items():
        metric = by_name.get(name, by_name.get(name.lower()))
        if metric is None:
            have = ", ".join(objects)
            raise Incomparable(f"--max-drop: unknown metric {name!r}; the summaries have {have}")
        tol[metric] = delta
    for name, m in objects.items():
        if name in tol:
            continue
        default = m.max_drop
        if default is None:
            what = "external scores" if m.source == "scores" else "a plug-in without max_drop"
            raise Incomparable(
                f"metric {name!r} ({what}) has no default tolerance; give --max-drop {name}=DELTA "
                "on its own scale"
            )
        tol[name] = float(default)
    return tol


def _same_reference(baseline: Summary, current: Summary) -> None:
    b, c = baseline.reference, current.reference
    if b.sha256 != c.sha256:
        raise Incomparable(
            f"different references: baseline scored {b.name} ({b.segments} segments, sha256 "
            f"{b.sha256[:12]}), current {c.name} ({c.segments} segments, sha256 {c.sha256[:12]})"
        )


@dataclass(frozen=True)
class SignatureChange:
    """One signature that differs between two runs.

    Attributes:
        name: the signature (``semantic``, ``bleu``, ...).
        fields: ``(field, before, after)`` for each field that differs (``"(none)"`` where a
            side lacks it); empty when the whole signature is missing on one side.
        missing: ``"baseline"`` or ``"current"`` when that side has no such signature.
    """

    name: str
    fields: tuple[tuple[str, str, str], ...] = ()
    missing: str | None = None

    def detail(self) -> str:
        """``tok: 13a vs intl, version: 2.6.0 vs 2.7.0``."""
        return ", ".join(f"{k}: {b} vs {c}" for k, b, c in self.fields)


def signature_changes(b: Mapping[str, str], c: Mapping[str, str]) -> list[SignatureChange]:
    """Every signature of ``b`` and ``c`` (each ``name -> signature string``) that differs,
    by name, ignoring mtdrift's own version and where external scores came from."""
    out = []
    for name in sorted((set(b) | set(c)) - IGNORED_SIGNATURES):
        if name not in b or name not in c:
            out.append(SignatureChange(name, missing="baseline" if name not in b else "current"))
            continue
        if b[name] != c[name]:
            fb, fc = _fields(b[name]), _fields(c[name])
            if fb[NAME] == fc[NAME] == SIGNATURE_NAME:  # external scores: not provenance
                fb, fc = ({k: v for k, v in f.items() if k not in PROVENANCE_FIELDS} for f in (fb, fc))
                if fb == fc:
                    continue
            diff = [k for k in dict.fromkeys([*fb, *fc]) if fb.get(k) != fc.get(k)]
            out.append(
                SignatureChange(name, tuple((k, fb.get(k, "(none)"), fc.get(k, "(none)")) for k in diff))
            )
    return out


NAME = "(name)"
"""The key of a signature's name among its fields, in :class:`SignatureChange`."""


def _fields(sig: str) -> dict[str, str]:
    """A signature's name (under :data:`NAME`) and fields; a part that is not ``key:value``
    (a summary written by hand, or damaged) counts as a field of that name with no value."""
    name, *parts = sig.split("|")
    try:
        return {NAME: name, **Signature.parse("|".join(["", *parts])).as_dict()}
    except ValueError:
        return {NAME: name, **{k: v for k, _, v in (p.partition(":") for p in parts)}}


def _same_signatures(baseline: Summary, current: Summary) -> None:
    for change in signature_changes(baseline.signatures, current.signatures):
        if change.missing:
            raise Incomparable(f"signature {change.name!r} is missing from the {change.missing} summary")
        raise Incomparable(
            f"signatures differ for {change.name} ({change.detail()}); the scores are not comparable, "
            "regenerate the baseline with the same settings (make baseline)"
        )


def _pair_systems(
    baseline: Sequence[SystemBlock], current: Sequence[SystemBlock]
) -> list[tuple[SystemBlock, SystemBlock]]:
    if len(baseline) == 1 and len(current) == 1:
        return [(baseline[0], current[0])]
    by_name = {s.system: s for s in current}
    missing = [s.system for s in baseline if s.system not in by_name]
    if missing:
        raise Incomparable(
            f"baseline system(s) {', '.join(map(repr, missing))} not in the current summary "
            f"(it has {', '.join(map(repr, by_name))})"
        )
    return [(s, by_name[s.system]) for s in baseline]


def _paired_test(
    b: SystemBlock,
    c: SystemBlock,
    metrics: Sequence[CorpusMetric],
    n_ref: int,
    resampling: Resampling | None,
) -> Comparison | None:
    """The paired tests of ``metrics`` between the two systems' segment statistics (AR p-values
    Holm-corrected over the metrics), or ``None`` when a side has none."""
    sb, sc = b.segments, c.segments
    if sb is None or sc is None or not metrics:
        return None
    beads_b, beads_c = list(sb.ref_ids), list(sc.ref_ids)
    units = common_units(n_ref, [beads_b, beads_c])
    names = [m.name for m in metrics]
    stats = {
        "baseline": unit_stats(units, beads_b, {m: sb.matrix(m) for m in names}),
        "current": unit_stats(units, beads_c, {m: sc.matrix(m) for m in names}),
    }
    return compare_stats(stats, baseline="baseline", metrics=metrics, resampling=resampling)
