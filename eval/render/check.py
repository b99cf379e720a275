"""The text ``mtdrift check`` prints: one line per metric, then the verdict."""

from __future__ import annotations

from mtdrift.eval.check import CheckResult, format_p


def check_text(result: CheckResult) -> str:
    lines = []
    for system, units in result.paired.items():
        how = (
            f"paired AR test over {units} units, Holm-corrected, alpha {result.alpha}"
            if units is not None
            else "no segment statistics on both sides: tolerances only"
        )
        lines.append(f"system {system}: {how}")
    for c in result.checks:
        status = "REGRESSED" if c.regressed else "ok"
        p = "" if c.p_holm is None else f", {format_p(c.p_holm)}"
        line = (
            f"{status:9} {c.system} {result.shown(c.metric)}: {c.baseline:.4f} -> {c.current:.4f} "
            f"(drop {c.drop:+.4f}, tolerance {c.tolerance:g}{p})"
        )
        if c.regressed:
            line += f": {c.reason}"
        lines.append(line)
    bad = [c for c in result.checks if c.regressed]
    if bad:
        names = ", ".join(f"{c.system} {result.shown(c.metric)}" for c in bad)
        lines.append(f"mtdrift check: REGRESSION in {len(bad)} metric(s): {names}")
    else:
        lines.append(f"mtdrift check: ok, no metric of {len(result.paired)} system(s) regressed")
    return "\n".join(lines) + "\n"
