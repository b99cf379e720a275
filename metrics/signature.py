"""Signatures: what makes a number reproducible, as named fields in a fixed order
(``name|key:value|...``, as sacrebleu writes them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


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


def version_of(dist: str, missing: str = "unknown") -> str:
    """The installed version of the distribution ``dist`` (what signatures record), or
    ``missing`` where it is not installed."""
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return missing


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)
