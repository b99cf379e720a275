"""Segment-level corpora: many systems' outputs for one set of reference segments.

The file layout is the research one (WMT, mt-metrics-eval): one row per (segment, system)
with ``doc_id, seg_id, system, ref, hyp``, as JSON lines or a TSV with a header, optionally
gzip-compressed. ``reference`` and ``hypothesis`` are accepted for ``ref`` and ``hyp`` (the
layout of ``../shared/data/mqm/*.jsonl.gz``); other keys are ignored. Segments keep the
order of their first appearance, so each document's segments stay in order.

Every system must have every segment once, and a segment has one reference: anything else
is an :class:`InputError` naming the file, the line and what to do.
"""

from __future__ import annotations

import csv
import gzip
import json
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtdrift.eval.read import NORMALIZATION, InputError, check_segments, decode_text, read_bytes

ALIASES: dict[str, tuple[str, ...]] = {
    "doc_id": ("doc_id",),
    "seg_id": ("seg_id",),
    "system": ("system",),
    "ref": ("ref", "reference"),
    "hyp": ("hyp", "hypothesis"),
}
REQUIRED: tuple[str, ...] = ("system", "ref", "hyp")

Key = tuple[str, str]


@dataclass(frozen=True)
class Corpus:
    """Reference segments and every system's outputs for them, in segment order.

    Attributes:
        name: where it came from (for messages and reports).
        keys: ``(doc_id, seg_id)`` of each segment.
        refs: the reference of each segment.
        hyps: ``hyps[system]`` holds that system's output for each segment, systems in
            order of first appearance.
    """

    name: str
    keys: tuple[Key, ...]
    refs: tuple[str, ...]
    hyps: dict[str, tuple[str, ...]]

    @property
    def systems(self) -> tuple[str, ...]:
        return tuple(self.hyps)


def is_corpus_file(path: str | Path) -> bool:
    """Whether ``path`` names a corpus file by its suffix (``.jsonl``, ``.tsv``, either ``.gz``)."""
    return _format(Path(path)) is not None


def read_corpus(path: str | Path) -> Corpus:
    """Read a JSONL or TSV corpus (gzip allowed, by suffix ``.gz``).

    Raises:
        InputError: missing or unreadable file, bad gzip, undecodable bytes, missing
            columns, duplicate or missing segments, or two references for one segment.
    """
    p = Path(path)
    return build_corpus(read_rows(p), name=str(p))


def read_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """The raw rows of a corpus file as ``(line number, row)``, every column kept.

    Raises:
        InputError: as :func:`read_corpus`, for the file itself and its syntax.
    """
    p = Path(path)
    fmt = _format(p)
    if fmt is None:
        raise InputError(f"{p}: unknown corpus format; expected a .jsonl or .tsv file (optionally .gz)")
    data = read_bytes(p, f"a {fmt.upper()} file")
    if p.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise InputError(
                f"{p}: not a valid gzip file ({err}); decompress it or drop the .gz suffix"
            ) from None
    text = decode_text(data, source=str(p))
    return _jsonl_rows(text, str(p)) if fmt == "jsonl" else _tsv_rows(text, str(p))


def build_corpus(rows: Iterator[tuple[int, dict[str, Any]]], *, name: str) -> Corpus:
    """Assemble and check a corpus from ``(line number, row)`` pairs (see :func:`read_corpus`).

    Raises:
        InputError: as :func:`read_corpus`.
    """
    keys: dict[Key, int] = {}
    refs: dict[Key, tuple[str, int]] = {}
    hyps: dict[str, dict[Key, str]] = {}
    counters: dict[str, int] = {}
    for line, row in rows:
        f = _fields(row, name, line)
        system, ref, hyp = str(f["system"]), str(f["ref"]), str(f["hyp"])  # required: never None
        check_segments([ref, hyp], source=name, lines=[line, line])
        seg_id = f["seg_id"] if f["seg_id"] is not None else str(counters.get(system, 0))
        counters[system] = counters.get(system, 0) + 1
        key = (f["doc_id"] or "", seg_id)
        keys.setdefault(key, len(keys))
        if key in refs and refs[key][0] != ref:
            raise InputError(
                f"{name}: line {line}: segment {_key(key)} has a different reference than on line "
                f"{refs[key][1]}; give each segment one reference (use distinct seg_id values)"
            )
        refs.setdefault(key, (ref, line))
        own = hyps.setdefault(system, {})
        if key in own:
            raise InputError(
                f"{name}: line {line}: system {system!r} has segment {_key(key)} twice; "
                "give each system one output per segment"
            )
        own[key] = hyp
    if not keys:
        raise InputError(f"{name}: no rows; expected one row per (segment, system)")
    order = list(keys)
    for system, own in hyps.items():
        if len(own) != len(order):
            missing = [k for k in order if k not in own]
            raise InputError(
                f"{name}: system {system!r} lacks {len(missing)} of {len(order)} segments "
                f"(first: {_key(missing[0])}); every system needs an output for every segment"
            )
    return Corpus(
        name=name,
        keys=tuple(order),
        refs=tuple(refs[k][0] for k in order),
        hyps={s: tuple(own[k] for k in order) for s, own in hyps.items()},
    )


def _format(p: Path) -> str | None:
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".tsv": "tsv"}.get(last)


def _jsonl_rows(text: str, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for line, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as err:
            raise InputError(
                f"{name}: line {line}: not valid JSON ({err.msg}); expected one object per line"
            ) from None
        if not isinstance(row, dict):
            raise InputError(f"{name}: line {line}: expected a JSON object, got {type(row).__name__}")
        yield line, row


def _tsv_rows(text: str, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader)
    for line, cells in enumerate(reader, start=2):
        if len(cells) != len(header):
            raise InputError(
                f"{name}: line {line}: expected {len(header)} tab-separated fields as in the header, "
                f"got {len(cells)}; tabs inside a text are not allowed in TSV (use JSONL)"
            )
        yield line, dict(zip(header, cells, strict=True))


def _fields(row: dict[str, Any], name: str, line: int) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for field, names in ALIASES.items():
        value = next((row[n] for n in names if n in row), None)
        if value is None:
            if field in REQUIRED:
                wanted = " or ".join(names)
                raise InputError(
                    f"{name}: line {line}: no {wanted!s} field; expected doc_id, seg_id, system, "
                    f"ref (or reference), hyp (or hypothesis), got {', '.join(map(str, row)) or 'nothing'}"
                )
            out[field] = None
            continue
        if field in ("ref", "hyp"):
            if not isinstance(value, str):
                raise InputError(f"{name}: line {line}: {field} must be a string, got {type(value).__name__}")
            out[field] = unicodedata.normalize(NORMALIZATION, value)
        else:
            out[field] = str(value)
    return out


def _key(key: Key) -> str:
    return f"{key[0]}/{key[1]}" if key[0] else key[1]
