"""Segment-level corpora: many systems' outputs for one set of reference segments.

The file layout is the research one (WMT, mt-metrics-eval): one row per (segment, system)
with ``doc_id, seg_id, system, ref, hyp``, as JSON lines or a TSV with a header, optionally
gzip-compressed. ``reference`` and ``hypothesis`` are accepted for ``ref`` and ``hyp`` (the
layout of ``../shared/data/mqm/*.jsonl.gz``); other keys are ignored. Segments keep the
order of their first appearance, so each document's segments stay in order.

Parquet files (``.parquet``, same columns) and globs of shards (``shards/*.jsonl.gz``,
``data/*.parquet``; shards in sorted path order, read as one corpus) are read too. Files
are read as they are asked for, never whole: JSONL/TSV a line at a time, Parquet by row batches.
A corpus larger than memory is read with :func:`iter_parts`, in parts of whole documents,
whatever the order of its rows.

Every system must have every segment once, and a segment has one reference: anything else
is an :class:`InputError` naming the file (the shard), the line (the row of a Parquet file)
and what to do.
"""

from __future__ import annotations

import array
import csv
import glob
import itertools
import json
import pickle
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mtdrift.eval.errors import InputError
from mtdrift.eval.read import NORMALIZATION, check_segments, iter_lines, read_bytes

ALIASES: dict[str, tuple[str, ...]] = {
    "doc_id": ("doc_id",),
    "seg_id": ("seg_id",),
    "system": ("system",),
    "ref": ("ref", "reference"),
    "hyp": ("hyp", "hypothesis"),
}
REQUIRED: tuple[str, ...] = ("system", "ref", "hyp")

Key = tuple[str, str]
Located = tuple[str, str, int, dict[str, Any]]
"""A row and where it came from: ``(file, "line" or "row", number from 1, row)``."""
PARQUET_BATCH = 10_000
"""Rows per batch read from a Parquet file."""


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
    """Whether ``path`` names a corpus by its suffix (``.jsonl``, ``.tsv``, either ``.gz``;
    ``.parquet``), or is a glob of such shards."""
    return _format(Path(path)) is not None


def corpus_paths(source: str | Path) -> list[Path]:
    """The files of a corpus: ``source`` itself, or the shards a glob matches, sorted.

    Raises:
        InputError: a glob that matches no file, or a shard of an unknown format.
    """
    text = str(source)
    if not glob.has_magic(text):
        return [Path(text)]
    paths = sorted(Path(p) for p in glob.glob(text, recursive=True) if not Path(p).is_dir())
    if not paths:
        raise InputError(f"{text}: the pattern matches no file; check the path and the quotes around it")
    for p in paths:
        if _format(p) is None:
            raise InputError(
                f"{p}: unknown corpus format (matched by {text}); expected .jsonl, .tsv (optionally .gz) "
                "or .parquet shards"
            )
    return paths


def read_corpus(path: str | Path) -> Corpus:
    """Read a JSONL, TSV (gzip allowed, by suffix ``.gz``) or Parquet corpus, or a glob of
    shards as one corpus.

    Raises:
        InputError: missing or unreadable file, bad gzip or Parquet, undecodable bytes, missing
            columns, duplicate or missing segments, two references for one segment, or (shards)
            a document in more than one shard.
    """
    p = Path(path)
    paths = corpus_paths(path)
    if len(paths) == 1 and paths[0] == p and _format(p) != "parquet":
        return build_corpus(read_rows(p), name=str(p))
    return _assemble(_sharded_rows(paths, str(path)), name=str(path))


def iter_parts(source: str | Path, *, rows: int) -> Iterator[Corpus]:
    """A corpus as consecutive parts of whole documents, about ``rows`` rows each: the parts,
    concatenated, are :func:`read_corpus`'s corpus, segment for segment, whatever the order of
    the rows (WMT's files are ordered by system); each is named ``str(source)``, as the whole.

    Two passes, in bounded memory. The first streams the rows (one JSONL/TSV line, one Parquet
    row batch at a time) into a temporary file, noting where each document's rows lie and the
    order in which segments first appear; the second reads each part's rows back from that
    file. What stays in memory besides the part being built: a file offset per row and a
    segment id per segment, no text. A document never splits; one whose segments are scattered
    among others' (in order of first appearance) keeps everything between them in its part.

    Raises:
        InputError: as :func:`read_corpus`; also a system with no rows in a part.
    """
    if rows < 1:
        raise ValueError(f"rows must be positive, got {rows}")
    name = str(source)
    paths = corpus_paths(source)
    with tempfile.TemporaryFile(prefix="mtdrift-rows-") as spill:
        index = _RowIndex.build(_sharded_rows(paths, name), spill)
        if not index.offsets:
            raise InputError(f"{name}: no rows; expected one row per (segment, system)")
        systems: tuple[str, ...] | None = None
        for docs in index.parts(rows):
            group = index.read(docs, spill)
            part = _assemble(group, name=name)
            if systems is None:
                systems = part.systems
            elif set(part.systems) != set(systems):
                _missing_system(name, group, systems, part.systems)
            yield part


def _missing_system(name: str, group: list[Located], have: tuple[str, ...], now: tuple[str, ...]) -> None:
    where = _where(group[0])
    missing = sorted(set(have) - set(now))
    if missing:
        raise InputError(
            f"{name}: system {missing[0]!r} has no rows for the documents from {where} on; "
            "every system needs an output for every segment"
        )
    extra = sorted(set(now) - set(have))[0]
    raise InputError(
        f"{where}: system {extra!r} first appears here, after documents it has no rows for; "
        "every system needs an output for every segment"
    )


_KEPT = tuple(n for names in ALIASES.values() for n in names)
"""The columns a spilled row keeps (:class:`_RowIndex`): the others are never read again."""


@dataclass
class _RowIndex:
    """Where each document's rows lie in a spill file, and the documents in the order their
    segments first appear (runs of one document)."""

    offsets: dict[str, array.array]  # document -> file offset of each of its rows, in file order
    runs: list[tuple[str, int]]  # (document, segments) in order of first appearance

    @classmethod
    def build(cls, located: Iterable[Located], spill: IO[bytes]) -> _RowIndex:
        offsets: dict[str, array.array] = {}
        runs: list[tuple[str, int]] = []
        segments: dict[str, set[str]] = {}
        counters: dict[str, int] = {}
        for source, unit, number, row in located:
            f = _fields(row, f"{source}: {unit} {number}")  # a bad row is reported where it is
            doc = f["doc_id"] or ""
            system = str(f["system"])
            seg = f["seg_id"] if f["seg_id"] is not None else str(counters.get(system, 0))
            counters[system] = counters.get(system, 0) + 1
            seen = segments.setdefault(doc, set())
            if seg not in seen:
                seen.add(seg)
                if runs and runs[-1][0] == doc:
                    runs[-1] = (doc, runs[-1][1] + 1)
                else:
                    runs.append((doc, 1))
            offsets.setdefault(doc, array.array("q")).append(spill.tell())
            kept = {k: row[k] for k in _KEPT if k in row}
            kept["seg_id"] = seg  # a missing one numbered over the whole corpus, as read_corpus does
            pickle.dump((source, unit, number, kept), spill, protocol=pickle.HIGHEST_PROTOCOL)
        return cls(offsets=offsets, runs=runs)

    def parts(self, rows: int) -> Iterator[list[str]]:
        """The documents of each part: cut between runs where no document continues on both
        sides, once a part holds ``rows`` rows."""
        last = {doc: k for k, (doc, _) in enumerate(self.runs)}
        docs: list[str] = []
        taken: set[str] = set()
        count, reach = 0, -1
        for k, (doc, _) in enumerate(self.runs):
            if k > reach and count >= rows:
                yield docs
                docs, taken, count = [], set(), 0
            reach = max(reach, last[doc])
            if doc not in taken:
                docs.append(doc)
                taken.add(doc)
                count += len(self.offsets[doc])
        if docs:
            yield docs

    def read(self, docs: list[str], spill: IO[bytes]) -> list[Located]:
        """The rows of ``docs``, in file order."""
        out: list[Located] = []
        for offset in sorted(itertools.chain.from_iterable(self.offsets[d] for d in docs)):
            if spill.tell() != offset:  # rows of a document in a row are read without a seek
                spill.seek(offset)
            out.append(pickle.load(spill))
        return out


def read_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """The raw rows of a corpus file as ``(line number, row)``, every column kept (the row
    number, from 1, for a Parquet file), read as they are asked for: a JSONL or TSV file a line
    at a time (decompressed as it streams), a Parquet file by row batches; never whole.

    Raises:
        InputError: as :func:`read_corpus`, for the file itself and its syntax.
    """
    p = Path(path)
    fmt = _format(p)
    if fmt is None:
        raise InputError(
            f"{p}: unknown corpus format; expected a .jsonl or .tsv file (optionally .gz) or .parquet"
        )
    if fmt == "parquet":
        if not p.is_file():
            read_bytes(p, "a Parquet file")  # missing or a directory: today's messages
        return _parquet_rows(p)
    lines = iter_lines(p, f"a {fmt.upper()} file")  # streamed: a line at a time
    return _jsonl(lines, str(p)) if fmt == "jsonl" else _tsv_rows(lines, str(p))


def build_corpus(rows: Iterator[tuple[int, dict[str, Any]]], *, name: str) -> Corpus:
    """Assemble and check a corpus from ``(line number, row)`` pairs (see :func:`read_corpus`).

    Raises:
        InputError: as :func:`read_corpus`.
    """
    return _assemble(((name, "line", line, row) for line, row in rows), name=name)


def _sharded_rows(paths: list[Path], name: str) -> Iterator[Located]:
    """Rows of each shard in turn, located; a document in two shards is an error."""
    unit = {True: "row", False: "line"}
    owner: dict[str, Path] = {}
    for p in paths:
        mine: set[str] = set()
        kind = unit[_format(p) == "parquet"]
        for n, row in read_rows(p):
            if len(paths) > 1:
                d = row.get("doc_id")
                d = "" if d is None else str(d)
                if d not in mine:
                    if d in owner:
                        raise InputError(
                            f"{p}: {kind} {n}: document {d!r} is also in {owner[d]}; keep each "
                            f"document in one shard (it is evaluated whole)"
                        )
                    owner[d] = p
                    mine.add(d)
            yield str(p), kind, n, row


def _parquet_rows(p: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        f = pq.ParquetFile(p)
    except (pa.ArrowException, OSError) as err:
        raise InputError(
            f"{p}: not a readable Parquet file ({err}); write it with pyarrow or pandas"
        ) from None
    n = 0
    try:
        for batch in f.iter_batches(batch_size=PARQUET_BATCH):
            for row in batch.to_pylist():
                n += 1
                yield n, row
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{p}: row {n + 1}: cannot be read ({err}); rewrite the file") from None
    if n == 0:
        raise InputError(f"{p}: no rows; expected one row per (segment, system)")


def _assemble(rows: Iterable[Located], *, name: str) -> Corpus:
    keys: dict[Key, int] = {}
    refs: dict[Key, tuple[str, tuple[str, str]]] = {}
    hyps: dict[str, dict[Key, str]] = {}
    counters: dict[str, int] = {}
    for source, unit, number, row in rows:
        where = f"{source}: {unit} {number}"
        f = _fields(row, where)
        system, ref, hyp = str(f["system"]), str(f["ref"]), str(f["hyp"])  # required: never None
        check_segments([ref, hyp], source=source, lines=[number, number], unit=unit)
        seg_id = f["seg_id"] if f["seg_id"] is not None else str(counters.get(system, 0))
        counters[system] = counters.get(system, 0) + 1
        key = (f["doc_id"] or "", seg_id)
        keys.setdefault(key, len(keys))
        if key in refs and refs[key][0] != ref:
            other_source, other_pos = refs[key][1]
            before = other_pos if other_source == source else f"{other_source}: {other_pos}"
            raise InputError(
                f"{where}: segment {_key(key)} has a different reference than on {before}; "
                "give each segment one reference (use distinct seg_id values)"
            )
        refs.setdefault(key, (ref, (source, f"{unit} {number}")))
        own = hyps.setdefault(system, {})
        if key in own:
            raise InputError(
                f"{where}: system {system!r} has segment {_key(key)} twice; "
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
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".tsv": "tsv", ".parquet": "parquet"}.get(last)


def jsonl_rows(text: str, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The objects of JSON-lines ``text`` as ``(line number, row)``, blank lines skipped.

    Raises:
        InputError: a line that is not a JSON object (naming ``name`` and the line).
    """
    return _jsonl(enumerate(text.split("\n"), start=1), name)


def _jsonl(lines: Iterable[tuple[int, str]], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for line, raw in lines:
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


def _tsv_rows(lines: Iterable[tuple[int, str]], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows of TSV ``lines`` (``(number, line)``, the header first) as dicts."""
    reader = csv.reader((text for _, text in lines), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader)
    for line, cells in enumerate(reader, start=2):
        if len(cells) != len(header):
            raise InputError(
                f"{name}: line {line}: expected {len(header)} tab-separated fields as in the header, "
                f"got {len(cells)}; tabs inside a text are not allowed in TSV (use JSONL)"
            )
        yield line, dict(zip(header, cells, strict=True))


def _where(located: Located) -> str:
    return f"{located[0]}: {located[1]} {located[2]}"


def _fields(row: dict[str, Any], where: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for field, names in ALIASES.items():
        value = next((row[n] for n in names if n in row), None)
        if value is None:
            if field in REQUIRED:
                wanted = " or ".join(names)
                raise InputError(
                    f"{where}: no {wanted!s} field; expected doc_id, seg_id, system, "
                    f"ref (or reference), hyp (or hypothesis), got {', '.join(map(str, row)) or 'nothing'}"
                )
            out[field] = None
            continue
        if field in ("ref", "hyp"):
            if not isinstance(value, str):
                raise InputError(f"{where}: {field} must be a string, got {type(value).__name__}")
            out[field] = unicodedata.normalize(NORMALIZATION, value)
        else:
            out[field] = str(value)
    return out


def _key(key: Key) -> str:
    return f"{key[0]}/{key[1]}" if key[0] else key[1]
