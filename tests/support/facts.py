"""Findings of the fact checks as short readable strings."""

from __future__ import annotations

from collections.abc import Sequence

from mtdrift.metrics.findings import Finding


def labels(findings: Sequence[Finding]) -> list[str]:
    """``"major number: 3 -> 4"``: each finding's severity and label, in order."""
    return [f"{f.severity} {f.label()}" for f in findings]
