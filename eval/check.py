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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtdrift.eval.pairing import common_units, unit_stats
from mtdrift.metrics.registry import DISPLAY, METRICS, get_metric
from mtdrift.metrics.significance import Comparison, Resampling, compare, delta_for_agreement

AGREEMENT_FOR_TOLERANCE = 75.0  # percent of people who would notice the drop


def _calibrated(metric: str) -> float:
    value = delta_for_agreement(metric, AGREEMENT_FOR_TOLERANCE)
    assert value is not None  # both calibrations reach 75 %
    return round(value, 2)


DEFAULT_TOLERANCES: dict[str, float] = {
    "bleu": _calibrated("bleu"),
    "chrf": _calibrated("chrf"),
    "chrfpp": _calibrated("chrf"),
    "ter": _calibrated("bleu"),
    "semantic": 0.01,
    "tokenmatch": 0.01,
    "fidelity": 0.01,
}
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

    @property
    def regressed(self) -> bool:
        return any(c.regressed for c in self.checks)


def parse_tolerances(items: Sequence[str]) -> dict[str, float]:
    """``["BLEU=1.0", "chrf=0.5"]`` -> ``{"bleu": 1.0, "chrf": 0.5}`` (names as in tables too).

    Raises:
        ValueError: malformed item, unknown metric, or a negative tolerance.
    """
    by_name = {m: m for m in METRICS} | {DISPLAY[m].lower(): m for m in METRICS}
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--max-drop expects METRIC=DELTA, got {item!r}")
        metric = by_name.get(name.strip().lower())
        if metric is None:
            raise ValueError(f"--max-drop: unknown metric {name!r}; known: {', '.join(METRICS)}")
        try:
            delta = float(value)
        except ValueError:
            raise ValueError(f"--max-drop {item!r}: {value!r} is not a number") from None
        if not delta >= 0:
            raise ValueError(f"--max-drop {item!r}: the tolerance must be >= 0")
        out[metric] = delta
    return out


def check(
    baseline: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    tolerances: Mapping[str, float] | None = None,
    alpha: float = 0.05,
    resampling: Resampling | None = None,
) -> CheckResult:
    """Compare two parsed ``summary.json`` documents.

    Raises:
        Incomparable: different reference, different signatures, or a baseline system
            missing from the current summary.
    """
    tol = {**DEFAULT_TOLERANCES, **(tolerances or {})}
    _same_reference(baseline, current)
    _same_signatures(baseline, current)
    pairs = _pair_systems(baseline["systems"], current["systems"])
    checks: list[MetricCheck] = []
    paired: dict[str, int | None] = {}
    for b, c in pairs:
        metrics = [m for m in METRICS if m in b["corpus"] and m in c["corpus"]]
        tested = _paired_test(b, c, metrics, int(baseline["reference"]["segments"]), resampling)
        paired[c["system"]] = None if tested is None else tested.n_segments
        for m in metrics:
            p = None if tested is None else tested.get("current", m).p_holm
            hib = get_metric(m).higher_is_better
            old, new = float(b["corpus"][m]), float(c["corpus"][m])
            drop = round((old - new) if hib else (new - old), 9)
            regressed = drop > tol[m] or (drop > 0 and p is not None and p < alpha)
            checks.append(MetricCheck(c["system"], m, old, new, drop, tol[m], p, regressed))
    return CheckResult(tuple(checks), paired, alpha)


def _same_reference(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    try:
        b, c = baseline["reference"], current["reference"]
    except KeyError:
        raise Incomparable(
            "a summary lacks its 'reference' block; re-run mtdrift evaluate to rewrite it"
        ) from None
    if b["sha256"] != c["sha256"]:
        raise Incomparable(
            f"different references: baseline scored {b['name']} ({b['segments']} segments, sha256 "
            f"{b['sha256'][:12]}), current {c['name']} ({c['segments']} segments, sha256 {c['sha256'][:12]})"
        )


def _fields(sig: str) -> dict[str, str]:
    out = {}
    for part in sig.split("|"):
        key, sep, value = part.partition(":")
        out[key] = value if sep else ""
    return out


def _same_signatures(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    b, c = baseline.get("signatures", {}), current.get("signatures", {})
    for name in sorted((set(b) | set(c)) - IGNORED_SIGNATURES):
        if name not in b or name not in c:
            side = "baseline" if name not in b else "current"
            raise Incomparable(f"signature {name!r} is missing from the {side} summary")
        if b[name] != c[name]:
            fb, fc = _fields(b[name]), _fields(c[name])
            diff = [k for k in dict.fromkeys([*fb, *fc]) if fb.get(k) != fc.get(k)]
            detail = ", ".join(f"{k}: {fb.get(k, '(none)')} vs {fc.get(k, '(none)')}" for k in diff)
            raise Incomparable(
                f"signatures differ for {name} ({detail}); the scores are not comparable, "
                "regenerate the baseline with the same settings (make baseline)"
            )


def _pair_systems(
    baseline: Sequence[Mapping[str, Any]], current: Sequence[Mapping[str, Any]]
) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    if len(baseline) == 1 and len(current) == 1:
        return [(baseline[0], current[0])]
    by_name = {s["system"]: s for s in current}
    missing = [s["system"] for s in baseline if s["system"] not in by_name]
    if missing:
        raise Incomparable(
            f"baseline system(s) {', '.join(map(repr, missing))} not in the current summary "
            f"(it has {', '.join(map(repr, by_name))})"
        )
    return [(s, by_name[s["system"]]) for s in baseline]


def _paired_test(
    b: Mapping[str, Any],
    c: Mapping[str, Any],
    metrics: Sequence[str],
    n_ref: int,
    resampling: Resampling | None,
) -> Comparison | None:
    """The paired tests of ``metrics`` between the two systems' segment statistics (AR p-values
    Holm-corrected over the metrics), or ``None`` when a side has none."""
    sb, sc = b.get("segments"), c.get("segments")
    if not sb or not sc or not metrics:
        return None
    beads_b = [tuple(ids) for ids in sb["ref_ids"]]
    beads_c = [tuple(ids) for ids in sc["ref_ids"]]
    units = common_units(n_ref, [beads_b, beads_c])
    stats = {
        "baseline": unit_stats(
            units, beads_b, {m: np.asarray(sb["stats"][m], dtype=np.float64) for m in metrics}
        ),
        "current": unit_stats(
            units, beads_c, {m: np.asarray(sc["stats"][m], dtype=np.float64) for m in metrics}
        ),
    }
    return compare(stats, baseline="baseline", metrics=metrics, resampling=resampling)
