"""Findings: each reason why a bead drifted (a changed name, number or negation, an omission,
an off-target sentence, low fidelity), as data, in one position order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["minor", "major"]
FindingKind = Literal["omission", "addition", "off-target", "entity", "number", "negation", "semantic"]


@dataclass(frozen=True)
class Finding:
    """One reason why a bead drifted, as data.

    Attributes:
        kind: what kind of evidence this is.
        severity: how much it weighs on the bead's drift label.
        ref: the reference side's value (a name, a number, a cue); ``None`` when the
            candidate added something the reference does not have.
        hyp: the candidate side's value; ``None`` when the candidate lost it.
        ref_span: character offsets ``(start, end)`` of ``ref`` in the bead's reference text,
            or ``None`` when not located.
        hyp_span: the same for ``hyp`` in the bead's candidate text.
    """

    kind: FindingKind
    severity: Severity
    ref: str | None = None
    hyp: str | None = None
    ref_span: tuple[int, int] | None = None
    hyp_span: tuple[int, int] | None = None

    def label(self) -> str:
        """Short reader-facing text, e.g. ``entity: Harir -> Khalil`` or ``number: 2007 -> (missing)``."""
        if self.kind in ("omission", "addition"):
            return self.kind
        if self.kind == "off-target":
            return f"off-target: {self.hyp}"
        if self.kind == "semantic":
            return f"low fidelity ({self.ref})" if self.ref else "low fidelity"
        if self.kind == "negation":
            return f"negation: {self.ref or '(none)'} -> {self.hyp or '(none)'}"
        return f"{self.kind}: {self.ref or '(none)'} -> {self.hyp or '(missing)'}"


_BIG = 1 << 62


def _sort_key(finding: Finding) -> tuple[int, int, int, str, str]:
    """Position order: reference-anchored findings by reference offset, then candidate-only."""
    ref_start = finding.ref_span[0] if finding.ref_span is not None else _BIG
    hyp_start = finding.hyp_span[0] if finding.hyp_span is not None else _BIG
    kind_order = {"entity": 0, "number": 1, "negation": 2}.get(finding.kind, 3)
    return (ref_start, hyp_start, kind_order, finding.ref or "", finding.hyp or "")


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Sort findings deterministically by position.

    Findings located in the reference come first, by reference offset; findings only located
    in the candidate (additions) follow, by candidate offset. Ties break on kind and values.

    Args:
        findings: any findings of one aligned unit.

    Returns:
        A new, sorted list.
    """
    return sorted(findings, key=_sort_key)
