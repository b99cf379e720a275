"""Tests of metrics.findings: what a check found, in reading order."""

from __future__ import annotations

from mtdrift.metrics.findings import Finding, sort_findings


def test_sort_findings_orders_by_position() -> None:
    # ref-located findings by ref offset first, then candidate-only findings
    added = Finding(kind="entity", severity="minor", hyp="X", hyp_span=(0, 1))
    late = Finding(kind="number", severity="major", ref="9", ref_span=(20, 21))
    early = Finding(kind="negation", severity="major", ref="not", ref_span=(3, 6))
    result = sort_findings([added, late, early])
    assert result == [early, late, added]
