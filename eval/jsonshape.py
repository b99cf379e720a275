"""The shape of JSON read back from mtdrift's own files (``summary.json``, a history line):
each helper returns its value typed, or raises :class:`ShapeError` naming the part."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ShapeError(ValueError):
    """A part of a JSON document of the wrong type; the message names it."""


def obj(x: object, what: str) -> Mapping[str, Any]:
    if not isinstance(x, Mapping):
        raise ShapeError(f"{what} is not an object")
    return x


def lst(x: object, what: str) -> list[Any]:
    if not isinstance(x, list):
        raise ShapeError(f"{what} is not a list")
    return x


def string(x: object, what: str) -> str:
    if not isinstance(x, str):
        raise ShapeError(f"{what} is not a string")
    return x


def boolean(x: object, what: str) -> bool:
    if not isinstance(x, bool):
        raise ShapeError(f"{what} is not true or false")
    return x


def integer(x: object, what: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise ShapeError(f"{what} is not an integer")
    return x


def number(x: object, what: str) -> float:
    """A JSON number, never a string that looks like one; an integer stays an integer (so that
    it is written back as it was read)."""
    if isinstance(x, bool) or not isinstance(x, int | float) or x != x or x in (float("inf"), float("-inf")):
        raise ShapeError(f"{what} is not a number ({x!r})")
    return x
