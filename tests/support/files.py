"""Small input files written by a test: JSON, JSON Lines (gzipped like the dev sets or not)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def jsonl(rows: Sequence[Mapping[str, object]]) -> str:
    """Rows as JSON Lines text."""
    return "".join(json.dumps(r) + "\n" for r in rows)


def write_jsonl(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    """Rows as a gzipped JSON Lines file (the dev sets' layout); returns ``path``."""
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(jsonl(rows))
    return path


def write_json(folder: Path, name: str, doc: Any) -> str:
    """``doc`` as ``folder/name`` (JSON); returns the path as a command-line argument."""
    path = folder / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)
