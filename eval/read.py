"""Reading user files: the only place that turns bytes into text.

Every failure is an :class:`InputError` whose message is one line naming the file, what was
expected, what came, and what to do."""

from __future__ import annotations

import codecs
import gzip
import unicodedata
import zlib
from collections.abc import Sequence
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
