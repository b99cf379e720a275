"""What ``mtdrift check`` prints and writes, all from one :class:`CheckResult`: the terminal
text (one line per metric, the top changed beads, the verdict), ``check.md`` (ready to paste
as a pull-request comment, and what goes to ``GITHUB_STEP_SUMMARY``), ``check.json`` and the
JUnit XML that CI systems read."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from mtdrift.eval.changes import BeadChanges, UnitChange
from mtdrift.eval.regression import CheckResult, MetricCheck, format_p

TOP = 10  # changed beads per system in the terminal; check.md and check.json hold them all
WIDTH = 200  # characters of a text in the terminal


def check_text(result: CheckResult, *, top: int = TOP) -> str:
    lines = []
    for system, units in result.paired.items():
        how = (
            f"paired AR test over {units} units, Holm-corrected, alpha {result.alpha}"
            if units is not None
            else "no segment statistics on both sides: tolerances only"
        )
        lines.append(f"system {system}: {how}")
    for c in result.checks:
        lines.append(_metric_line(result, c))
    for changes in result.changes.values():
        lines += _changes_text(changes, top)
    lines.append(verdict(result))
    return "\n".join(lines) + "\n"


def verdict(result: CheckResult) -> str:
    """The last line: ``mtdrift check: ok, ...`` or ``mtdrift check: REGRESSION in ...``."""
    bad = [c for c in result.checks if c.regressed]
    if bad:
        names = ", ".join(f"{c.system} {result.shown(c.metric)}" for c in bad)
        return f"mtdrift check: REGRESSION in {len(bad)} metric(s): {names}"
    return f"mtdrift check: ok, no metric of {len(result.paired)} system(s) regressed"


def _metric_line(result: CheckResult, c: MetricCheck) -> str:
    status = "REGRESSED" if c.regressed else "ok"
    p = "" if c.p_holm is None else f", {format_p(c.p_holm)}"
    line = (
        f"{status:9} {c.system} {result.shown(c.metric)}: {c.baseline:.4f} -> {c.current:.4f} "
        f"(drop {c.drop:+.4f}, tolerance {c.tolerance:g}{p})"
    )
    return line + (f": {c.reason}" if c.regressed else "")


def _counts(changes: BeadChanges) -> str:
    return ", ".join(f"{len(changes.of(d))} {d}" for d in ("worse", "better", "changed"))


def _short(text: str) -> str:
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


def _changes_text(changes: BeadChanges, top: int) -> list[str]:
    head = f"beads that changed, {changes.system}"
    if changes.note:
        return [f"{head}: not listed: {changes.note}"]
    lines = [
        f"{head} (matched on the reference sentences, {changes.n_units} units): {_counts(changes)}"
        + (
            f"; the first {top} here, all in check.md and check.json (--out)"
            if len(changes.units) > top
            else ""
        )
    ]
    for u in changes.units[:top]:
        lines += [
            f"  {u.direction.upper():7} {_refs(u)}: {'; '.join(u.what())}",
            f"          reference: {_short(u.ref)}",
            f"          baseline:  {_short(u.baseline_hyp) or '(omitted)'}",
            f"          current:   {_short(u.current_hyp) or '(omitted)'}",
        ]
    return lines


def _refs(u: UnitChange) -> str:
    ids = u.ref_ids
    return f"ref {ids[0]}" if len(ids) == 1 else f"refs {ids[0]}-{ids[-1]}"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*").replace("\n", " ") or "*(omitted)*"


def check_md(result: CheckResult) -> str:
    """``check.md``: the verdict, a table of the metrics, and every changed bead with the
    reference and both candidates' text."""
    out = [f"## {verdict(result)}", ""]
    out += [
        "| | system | metric | baseline | current | drop | tolerance | p (Holm) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in result.checks:
        mark = "❌ regressed" if c.regressed else "✅ ok"
        p = "" if c.p_holm is None else format_p(c.p_holm).removeprefix("p=")
        out.append(
            f"| {mark} | {c.system} | {result.shown(c.metric)} | {c.baseline:.4f} | {c.current:.4f} "
            f"| {c.drop:+.4f} | {c.tolerance:g} | {p} |"
        )
    out.append("")
    for changes in result.changes.values():
        out.append(f"### Beads that changed: {changes.system}")
        out.append("")
        if changes.note:
            out += [f"Not listed: {changes.note}.", ""]
            continue
        out += [
            f"Matched on the reference sentences ({changes.n_units} units): {_counts(changes)}.",
            "",
        ]
        if not changes.units:
            continue
        out += [
            "| | sentences | what changed | reference | baseline | current |",
            "|---|---|---|---|---|---|",
        ]
        for u in changes.units:
            out.append(
                f"| {u.direction} | {_refs(u)} | {_md('; '.join(u.what()))} | {_md(u.ref)} "
                f"| {_md(u.baseline_hyp)} | {_md(u.current_hyp)} |"
            )
        out.append("")
    return "\n".join(out)


def error_md(message: str) -> str:
    """The Markdown of a check that could not run."""
    return f"## mtdrift check: cannot compare\n\n{message}\n"


def check_json(result: CheckResult) -> str:
    """``check.json``: the verdict, every metric check and every changed bead."""
    doc: dict[str, Any] = {
        "regressed": result.regressed,
        "alpha": result.alpha,
        "paired_units": result.paired,
        "checks": [
            {
                "system": c.system,
                "metric": c.metric,
                "display": result.shown(c.metric),
                "baseline": c.baseline,
                "current": c.current,
                "drop": c.drop,
                "tolerance": c.tolerance,
                "p_holm": c.p_holm,
                "regressed": c.regressed,
                "reason": c.reason or None,
            }
            for c in result.checks
        ],
        "changes": {
            system: {
                "note": ch.note,
                "units": ch.n_units,
                "changed": [_unit_json(u) for u in ch.units],
            }
            for system, ch in result.changes.items()
        },
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _unit_json(u: UnitChange) -> dict[str, Any]:
    return {
        "direction": u.direction,
        "ref_ids": list(u.ref_ids),
        "what": u.what(),
        "newly_omitted": list(u.newly_omitted),
        "restored": list(u.restored),
        "added": {"baseline": u.baseline_added, "current": u.current_added},
        "drift": {"baseline": u.baseline_drift, "current": u.current_drift},
        "fidelity": {"baseline": round(u.baseline_fidelity, 6), "current": round(u.current_fidelity, 6)},
        "ref": u.ref,
        "hyp": {"baseline": u.baseline_hyp, "current": u.current_hyp},
    }


def check_junit(result: CheckResult) -> str:
    """JUnit XML: one test suite per system, one test case per metric; a regressed metric is a
    failure whose message is the reason. The suite's ``system-out`` lists the changed beads."""
    root = ET.Element("testsuites", name="mtdrift check")
    systems = list(dict.fromkeys(c.system for c in result.checks)) or list(result.paired)
    for system in systems:
        cases = [c for c in result.checks if c.system == system]
        failures = sum(c.regressed for c in cases)
        suite = ET.SubElement(
            root, "testsuite", name=system, tests=str(len(cases)), failures=str(failures), errors="0"
        )
        for c in cases:
            case = ET.SubElement(
                suite, "testcase", classname=f"mtdrift.check.{system}", name=result.shown(c.metric)
            )
            if c.regressed:
                failure = ET.SubElement(case, "failure", message=c.reason, type="regression")
                failure.text = _metric_line(result, c)
        if system in result.changes:
            ET.SubElement(suite, "system-out").text = "\n".join(_changes_text(result.changes[system], TOP))
    _totals(root)
    return _xml(root)


def error_junit(message: str) -> str:
    """JUnit XML for a check that could not run (incomparable or unreadable summaries): one
    test case ``comparable`` in error, with the message."""
    root = ET.Element("testsuites", name="mtdrift check")
    suite = ET.SubElement(root, "testsuite", name="mtdrift check", tests="1", failures="0", errors="1")
    case = ET.SubElement(suite, "testcase", classname="mtdrift.check", name="comparable")
    ET.SubElement(case, "error", message=message, type="incomparable").text = message
    _totals(root)
    return _xml(root)


def _totals(root: ET.Element) -> None:
    for key in ("tests", "failures", "errors"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in root)))


def _xml(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
