"""``segments.parquet/``: the rows of ``segments.csv``, typed, in files of at most
:data:`ROWS_PER_FILE` rows, for corpora too large to read as CSV.

The directory reads as one table, in the order of ``segments.csv``
(``pandas.read_parquet(DIR)``, ``pyarrow.dataset.dataset(DIR)``, DuckDB's
``read_parquet('DIR/*.parquet')``). Scores are float64 at full precision (``segments.csv``
rounds them to 6 decimals); ``ref_ids``/``hyp_ids`` are lists of ints; a missing side is an
empty string and an empty list, never null.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mtdrift.eval.render.tables import SEGMENT_COLUMNS, segment_columns, segment_rows
from mtdrift.eval.results import Evaluation
from mtdrift.metrics.registry import METRICS

ROWS_PER_FILE = 500_000
"""Rows per file of ``segments.parquet/`` (about 100-200 MB of text per file)."""
PARQUET_MIN_BEADS = 1_000_000
"""From this many beads on (all systems), the CLI writes ``segments.parquet/`` even without
``--parquet``: a CSV of a million rows is past what a spreadsheet opens."""


def _schema(columns: list[str]) -> Any:
    """Typed columns: ids as lists of ints, scores (and every metric beyond the built-in ones,
    after :data:`SEGMENT_COLUMNS`) as float64, the rest as strings."""
    import pyarrow as pa

    types = {
        "bead": pa.int64(),
        "ref_ids": pa.list_(pa.int64()),
        "hyp_ids": pa.list_(pa.int64()),
        **dict.fromkeys(METRICS, pa.float64()),
        **dict.fromkeys(columns[len(SEGMENT_COLUMNS) :], pa.float64()),
    }
    return pa.schema([(c, types.get(c, pa.string())) for c in columns])


def _ids(text: str) -> list[int]:
    return [int(i) for i in text.split(";")] if text else []


def _rows(evaluation: Evaluation, columns: list[str]) -> Iterator[dict[str, Any]]:
    """The rows of ``segments.csv`` (:func:`segment_rows`), ids as lists."""
    for values in segment_rows(evaluation):
        row = dict(zip(columns, values, strict=True))
        row["ref_ids"], row["hyp_ids"] = _ids(row["ref_ids"]), _ids(row["hyp_ids"])
        yield row


def write_segments_parquet(
    evaluation: Evaluation, directory: Path, *, rows_per_file: int = ROWS_PER_FILE
) -> list[Path]:
    """Write ``directory/part-00000.parquet`` ... (replacing what was there); returns the files.

    Only one file's rows are held at once, beside the evaluation itself.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    columns = segment_columns(evaluation)
    schema = _schema(columns)
    files: list[Path] = []
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        path = directory / f"part-{len(files):05d}.parquet"
        pq.write_table(pa.Table.from_pylist(batch, schema=schema), path, compression="zstd")
        files.append(path)
        batch.clear()

    for row in _rows(evaluation, columns):
        batch.append(row)
        if len(batch) >= rows_per_file:
            flush()
    if batch or not files:
        flush()
    return files
