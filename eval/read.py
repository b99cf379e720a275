"""Reading user files: the only place that turns bytes into text.

Every failure is an :class:`InputError` whose message is one line naming the file, what was
expected, what came, and what to do."""

from __future__ import annotations

import codecs
import gzip
import unicodedata
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final

from mtdrift.eval.errors import InputError

NORMALIZATION: Final = "NFC"
"""The Unicode normalisation applied to every input; recorded in the signatures."""


def decode_text(data: bytes, *, source: str) -> str:
    """Decode a file's bytes into normalised text.

    UTF-8 with or without BOM; CRLF and lone CR become LF; the text is NFC-normalised. Empty
    lines are kept (they are data).

    Args:
        data: the raw bytes.
        source: the file name, used in error messages.

    Returns:
        The text, with ``\\n`` line ends, NFC.

    Raises:
        InputError: the bytes are empty, binary, or not UTF-8.
    """
    if not data.strip():
        what = "is empty" if not data else "holds only whitespace"
        raise InputError(f"{source}: the file {what}; expected UTF-8 text with at least one sentence")
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data[:nul].count(b"\n") + 1
        raise InputError(
            f"{source}: looks like a binary file (NUL byte at offset {nul}, line {line}); expected "
            "UTF-8 text, one document or one segment per line"
        )
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(
            f"{source}: not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start}, "
            f"line {line}); re-encode it as UTF-8, e.g. iconv -f LATIN1 -t UTF-8"
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError(
            f"{source}: the file holds no text (only a byte-order mark or Unicode spaces); "
            "expected UTF-8 text with at least one sentence"
        )
    return unicodedata.normalize(NORMALIZATION, text)


MAX_SEGMENT_CHARS: Final = 20_000
"""Longest segment of line-parallel input (``--aligned``, corpus rows), in characters."""


def check_segments(
    segments: Sequence[str], *, source: str, lines: Sequence[int] | None = None, unit: str = "line"
) -> None:
    """Refuse a segment too long to score (the checks' parser and TER are built for sentences).

    Args:
        segments: the segments, in order.
        source: the file name, for the message.
        lines: the 1-based line of each segment in the file; ``k + 1`` when ``None``.
        unit: what ``lines`` count (``"row"`` for a Parquet file).

    Raises:
        InputError: the first segment over :data:`MAX_SEGMENT_CHARS` characters.
    """
    for k, seg in enumerate(segments):
        if len(seg) > MAX_SEGMENT_CHARS:
            line = lines[k] if lines is not None else k + 1
            raise InputError(
                f"{source}: {unit} {line}: a segment of {len(seg):,} characters (at most "
                f"{MAX_SEGMENT_CHARS:,} in line-parallel input); split it, or drop --aligned to "
                "let mtdrift split the text into sentences"
            )


def read_text(path: str | Path) -> str:
    """Read and decode one file (see :func:`decode_text`).

    Raises:
        InputError: the path is missing, a directory, unreadable, or its content is bad.
    """
    p = Path(path)
    return decode_text(read_bytes(p, "a text file"), source=str(p))


def gunzip(data: bytes, path: Path) -> bytes:
    """``data`` decompressed when ``path`` ends in ``.gz``, else unchanged.

    Raises:
        InputError: not valid gzip (naming ``path`` and what to do).
    """
    if path.suffix != ".gz":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as err:
        raise InputError(
            f"{path}: not a valid gzip file ({err}); decompress it or drop the .gz suffix"
        ) from None


def read_bytes(path: Path, expected: str) -> bytes:
    """A file's bytes, or an :class:`InputError` naming it (missing, a directory, unreadable).

    Args:
        path: the file.
        expected: what it should be, for the message (``"a text file"``).
    """
    if not path.exists():
        raise InputError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise InputError(f"{path}: is a directory; expected {expected}")
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror}); check its permissions") from None


def iter_lines(path: Path, expected: str) -> Iterator[tuple[int, str]]:
    """A text file's lines as ``(line number from 1, line)``, read a line at a time (gzip
    decompressed as it streams, by the suffix ``.gz``): what ``decode_text(gunzip(read_bytes(
    path)))`` gives, split at ``\\n``, without holding the file.

    The same rules as :func:`decode_text`: a BOM at the start is dropped, CRLF and lone CR end
    lines, each line is NFC; the same messages for an empty, binary or non-UTF-8 file (a
    problem is found where the reading reaches it, so lines before it were already given).
    Missing files and directories are refused before the first line is asked for.

    Args:
        path: the file.
        expected: what it should be, for the messages (``"a JSONL file"``).

    Raises:
        InputError: as :func:`read_bytes`, :func:`gunzip` and :func:`decode_text`.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise InputError(f"{path}: is a directory; expected {expected}")
    return _lines(path)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        fh = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror}); check its permissions") from None
    with fh:
        offset = 0  # bytes before this line (after decompression), BOM included
        bom = 0
        number = 0  # lines given (and held back) so far
        rawno = 0  # byte lines read so far (what decode_text's messages count)
        raw_text = False  # a byte other than ASCII whitespace seen
        held: list[tuple[int, str]] | None = []  # lines before the first non-blank one
        for raw in _raw_lines(fh, path):
            if offset == 0 and raw.startswith(codecs.BOM_UTF8):
                raw, bom = raw[len(codecs.BOM_UTF8) :], len(codecs.BOM_UTF8)
                offset = bom
                raw_text = True
            nul = raw.find(b"\x00")
            if nul >= 0:
                raise InputError(
                    f"{path}: looks like a binary file (NUL byte at offset {offset + nul}, line "
                    f"{rawno + 1}); expected UTF-8 text, one document or one segment per line"
                )
            newline = raw.endswith(b"\n")
            body = raw[:-1] if newline else raw
            if newline and body.endswith(b"\r"):
                body = body[:-1]
            try:
                text = body.decode("utf-8", errors="strict")
            except UnicodeDecodeError as err:
                at = offset + err.start
                raise InputError(
                    f"{path}: not valid UTF-8 (byte 0x{body[err.start]:02x} at offset {at - bom}, "
                    f"line {rawno + 1}); re-encode it as UTF-8, e.g. iconv -f LATIN1 -t UTF-8"
                ) from None
            raw_text = raw_text or bool(body.strip())
            pieces = text.split("\r")
            if not newline and len(pieces) > 1 and pieces[-1] == "":
                pieces.pop()  # a lone CR ends the file: no line after it
            offset += len(raw)
            rawno += 1
            for piece in pieces:
                number += 1
                line = (number, unicodedata.normalize(NORMALIZATION, piece))
                if held is None:
                    yield line
                    continue
                held.append(line)
                if piece.strip():
                    yield from held
                    held = None
        if held is not None:
            if offset == 0:
                what = "is empty"
            elif not raw_text:
                what = "holds only whitespace"
            else:
                raise InputError(
                    f"{path}: the file holds no text (only a byte-order mark or Unicode spaces); "
                    "expected UTF-8 text with at least one sentence"
                )
            raise InputError(f"{path}: the file {what}; expected UTF-8 text with at least one sentence")


def _raw_lines(fh: Iterable[bytes], path: Path) -> Iterator[bytes]:
    """The byte lines of ``fh`` (each with its ``\\n``, the last maybe without); a bad gzip
    stream, or a read that fails, is an :class:`InputError`."""
    try:
        yield from fh
    except OSError as err:
        if path.suffix != ".gz" or err.strerror is not None:
            raise InputError(f"{path}: cannot be read ({err.strerror}); check its permissions") from None
        raise InputError(
            f"{path}: not a valid gzip file ({err}); decompress it or drop the .gz suffix"
        ) from None
    except (EOFError, zlib.error) as err:
        raise InputError(
            f"{path}: not a valid gzip file ({err}); decompress it or drop the .gz suffix"
        ) from None
