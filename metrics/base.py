"""Shared types of the metrics: signatures and findings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Signature:
    """What makes a number reproducible, as named fields in a fixed order.

    Rendered like sacrebleu's: ``name|key:value|key:value``. Built from named fields, never
    from ``__dict__``, so adding an attribute cannot silently change a signature.
    """

    name: str
    fields: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, name: str, items: Iterable[tuple[str, object]]) -> Signature:
        return cls(name=name, fields=tuple((k, _fmt(v)) for k, v in items))

    def format(self) -> str:
        """The one-line form, e.g. ``semantic|model:all-MiniLM-L6-v2|pool:mean``."""
        return "|".join([self.name, *(f"{k}:{v}" for k, v in self.fields)])

    def as_dict(self) -> dict[str, str]:
        return dict(self.fields)

    @classmethod
    def parse(cls, text: str) -> Signature:
        """The inverse of :meth:`format`: ``Signature.parse(s.format()) == s``.

        Raises:
            ValueError: a field without ``key:value``.
        """
        name, *parts = text.split("|")
        fields = []
        for part in parts:
            key, sep, value = part.partition(":")
            if not sep:
                raise ValueError(f"signature field {part!r} of {text!r} is not key:value")
            fields.append((key, value))
        return cls(name=name, fields=tuple(fields))

    def __str__(self) -> str:
        return self.format()


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


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
