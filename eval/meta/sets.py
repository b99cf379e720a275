"""The data sets of a meta-evaluation: the official segment scores of WMT's metrics task, the
human MQM scores, and how ``mtdrift meta``'s options pair them into sets (``--data``,
``--official``, ``--name``, ``--scores``). :func:`read_official` and :func:`load_set` read
files; everything else is pure.
"""

from __future__ import annotations

import gzip
import math
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from mtdrift.eval.corpus import Corpus, build_corpus, read_rows
from mtdrift.eval.errors import InputError
from mtdrift.eval.external import ScoresSpec, parse_scores_option, read_scores, scores_for

KEYS: Final = ("doc_id", "seg_id", "system")
"""The columns that identify one row (one system's output for one segment)."""
ITEM_KEYS: Final = ("doc_id", "seg_id")
"""The columns that identify one item (segment) by default."""
HUMAN: Final = "mqm"
"""The human score column of the official TSV."""


# ---------------------------------------------------------------------------------------------
# reading and joining


def read_official(path: str | Path) -> pd.DataFrame:
    """Read the official per-segment metric scores (``*_official_metric_seg_scores*.tsv[.gz]``).

    Args:
        path: a tab-separated file, gzip-compressed when its name ends in ``.gz``, with a header
            line holding ``seg_id``, ``doc_id``, ``system`` and ``mqm``; every other column is a
            metric's score.

    Returns:
        One row per (doc_id, seg_id, system), in file order: ``doc_id`` and ``system`` as str,
        ``seg_id`` as int64, ``mqm`` and every metric column as float64.

    Raises:
        InputError: the file is missing, unreadable or not gzip; a required column is missing;
            it has no rows; a key is duplicated; ``seg_id`` is not an integer; a score is not a
            number; or ``mqm`` has missing values.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file; check the path")
    if p.is_dir():
        raise InputError(f"{p}: is a directory; expected the official metric scores (TSV, gzip)")
    try:
        table = pd.read_csv(
            p,
            sep="\t",
            compression="gzip" if p.suffix == ".gz" else None,
            dtype={"doc_id": str, "system": str},
            keep_default_na=True,
        )
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise InputError(
            f"{p}: cannot be read as {'gzip-compressed ' if p.suffix == '.gz' else ''}text ({err}); "
            "expected the official metric scores TSV"
        ) from None
    except UnicodeDecodeError as err:
        raise InputError(f"{p}: not valid UTF-8 (offset {err.start}); expected a UTF-8 TSV") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{p}: the file is empty; expected a TSV with a header line and rows") from None
    except pd.errors.ParserError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "parse error"
        raise InputError(f"{p}: not a well-formed TSV ({first}); expected tab-separated columns") from None
    return _check_official(table, str(p))


def _check_official(table: pd.DataFrame, source: str) -> pd.DataFrame:
    required = [*KEYS, HUMAN]
    missing = [c for c in required if c not in table.columns]
    if missing:
        got = ", ".join(map(str, table.columns[:8])) + (" ..." if len(table.columns) > 8 else "")
        raise InputError(
            f"{source}: missing column(s) {', '.join(missing)}; expected a tab-separated header with "
            f"{', '.join(required)} and metric columns, got {got or 'no columns'}"
        )
    if len(table) == 0:
        raise InputError(f"{source}: has a header but no rows; expected one row per segment and system")
    seg = pd.to_numeric(table["seg_id"], errors="coerce")
    bad = seg.isna() | (seg != seg.round())
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{source}: seg_id must be an integer, got {table['seg_id'].iloc[i]!r} on data row {i + 1}"
        )
    out = table.copy()
    out["seg_id"] = seg.astype(np.int64)
    for col in ("doc_id", "system"):
        if out[col].isna().any():
            i = int(np.flatnonzero(out[col].isna().to_numpy())[0])
            raise InputError(f"{source}: {col} is empty on data row {i + 1}; expected a name on every row")
        out[col] = out[col].astype(str)
    for col in out.columns:
        if col in KEYS:
            continue
        values = pd.to_numeric(out[col], errors="coerce")
        wrong = values.isna() & out[col].notna()
        if wrong.any():
            i = int(np.flatnonzero(wrong.to_numpy())[0])
            raise InputError(
                f"{source}: column {col!r} must hold numbers, got {out[col].iloc[i]!r} on data row {i + 1}"
            )
        out[col] = values.astype(np.float64)
    if out[HUMAN].isna().any():
        raise InputError(
            f"{source}: {HUMAN} is missing on {int(out[HUMAN].isna().sum())} row(s); expected a human "
            "score on every row"
        )
    _one_row_per_key(out, source)
    return out


def _one_row_per_key(table: pd.DataFrame, source: str) -> None:
    """Raises InputError when a (doc_id, seg_id, system) key stands on two rows."""
    dup = table.duplicated(list(KEYS))
    if dup.any():
        row = table.loc[dup, list(KEYS)].iloc[0]
        raise InputError(
            f"{source}: {int(dup.sum())} duplicated row key(s), e.g. doc_id={row['doc_id']!r} "
            f"seg_id={row['seg_id']} system={row['system']!r}; expected one row per segment and system"
        )


def metric_columns(table: pd.DataFrame, human: str = HUMAN) -> list[str]:
    """The metric score columns of a table from :func:`read_official` (all but keys and human)."""
    return [c for c in table.columns if c not in KEYS and c != human]


def join_scores(official: pd.DataFrame, scores: pd.DataFrame, *, source: str = "scores") -> pd.DataFrame:
    """Add per-row metric scores to the official table, matched on (doc_id, seg_id, system).

    Args:
        official: the table from :func:`read_official` (or any table with the :data:`KEYS`).
        scores: ``doc_id``, ``seg_id``, ``system`` and one or more score columns (higher =
            better), one row per key, covering exactly the rows of ``official``.
        source: what ``scores`` came from (a file name), used in error messages.

    Returns:
        ``official`` with the score columns appended, in ``official``'s row order.

    Raises:
        InputError: a key column is missing; no score column; a score column name is already
            in ``official``; a key is duplicated; ``seg_id`` is not an integer; some rows of
            either table have no match in the other; or a score is missing or not a number.
    """
    missing = [c for c in KEYS if c not in scores.columns]
    if missing:
        raise InputError(
            f"{source}: missing key column(s) {', '.join(missing)}; expected {', '.join(KEYS)} "
            f"and score columns, got {', '.join(map(str, scores.columns)) or 'no columns'}"
        )
    new = [c for c in scores.columns if c not in KEYS]
    if not new:
        raise InputError(f"{source}: no score column; expected {', '.join(KEYS)} and at least one score")
    clash = [c for c in new if c in official.columns]
    if clash:
        raise InputError(
            f"{source}: score column(s) {', '.join(map(str, clash))} already in the official table; "
            "rename them"
        )
    right = scores.copy()
    seg = pd.to_numeric(right["seg_id"], errors="coerce")
    if (seg.isna() | (seg != seg.round())).any():
        raise InputError(f"{source}: seg_id must be an integer on every row")
    right["seg_id"] = seg.astype(np.int64)
    right["doc_id"] = right["doc_id"].astype(str)
    right["system"] = right["system"].astype(str)
    _one_row_per_key(right, source)
    for col in new:
        values = pd.to_numeric(right[col], errors="coerce")
        if values.isna().any():
            raise InputError(
                f"{source}: column {col!r} has {int(values.isna().sum())} missing or non-numeric "
                "value(s); expected a number on every row"
            )
        right[col] = values.astype(np.float64)
    merged = official.merge(right, on=list(KEYS), how="outer", indicator=True, sort=False)
    only_left = merged["_merge"] == "left_only"
    only_right = merged["_merge"] == "right_only"
    if only_left.any() or only_right.any():
        parts = []
        for mask, what in (
            (only_left, "official rows without a score"),
            (only_right, "scores without a row"),
        ):
            if mask.any():
                row = merged.loc[mask, list(KEYS)].iloc[0]
                parts.append(
                    f"{int(mask.sum())} {what} (e.g. doc_id={row['doc_id']!r} seg_id={row['seg_id']} "
                    f"system={row['system']!r})"
                )
        raise InputError(f"{source}: rows do not match the official table: {'; '.join(parts)}")
    left = official.reset_index(drop=True)
    out = left.merge(right, on=list(KEYS), how="left", sort=False, validate="one_to_one")
    return out


def human_table(
    rows: Iterator[tuple[int, dict[str, Any]]], *, source: str, human: str = "mqm"
) -> pd.DataFrame:
    """``doc_id, seg_id, system, <human>`` of every row of a corpus file.

    Raises:
        InputError: a row without the human score or with one that is not a number.
    """
    out = []
    for line, row in rows:
        value = row.get(human)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise InputError(
                f"{source}: line {line}: no numeric {human!r} field; meta-evaluation needs human scores"
            )
        try:
            score = float(value)
        except ValueError:
            raise InputError(f"{source}: line {line}: {human}={value!r} is not a number") from None
        if math.isnan(score):
            raise InputError(f"{source}: line {line}: {human} is NaN; every row needs a human score")
        out.append(
            {
                "doc_id": str(row.get("doc_id", "")),
                "seg_id": row.get("seg_id"),
                "system": str(row["system"]),
                human: score,
            }
        )
    if not out:
        raise InputError(f"{source}: no rows")
    table = pd.DataFrame(out)
    table["seg_id"] = pd.to_numeric(table["seg_id"], errors="raise").astype(np.int64)
    return table


Key3 = tuple[str, str, str]


def gold_spans(rows: Iterator[tuple[int, dict[str, Any]]]) -> dict[Key3, dict[str, set[int]]]:
    """Annotators' target-side error spans per row: character positions of the hypothesis,
    ``{"all": ..., "major": ...}``, keyed ``(doc_id, seg_id, system)``; rows without an
    ``errors`` list are left out."""
    out: dict[Key3, dict[str, set[int]]] = {}
    for _, row in rows:
        errors = row.get("errors")
        if not isinstance(errors, list):
            continue
        key = (str(row.get("doc_id", "")), str(row.get("seg_id")), str(row["system"]))
        spans = out.setdefault(key, {"all": set(), "major": set()})
        for e in errors:
            if not isinstance(e, dict) or e.get("span_in") != "target":
                continue
            chars = set(range(int(e["start"]), int(e["end"])))
            spans["all"] |= chars
            if e.get("severity") == "major":
                spans["major"] |= chars
    return out


# ---------------------------------------------------------------------------------------------
# several data sets at once


@dataclass(frozen=True)
class DataSpec:
    """One data set to meta-evaluate, as named on the command line.

    Attributes:
        name: how reports call it (``datasets.<name>`` in ``meta.json``).
        data: the corpus with human scores (JSONL/TSV, optionally .gz).
        official: the official per-segment metric scores of the same rows (TSV), or ``None``.
        scores: external per-segment scores of the same rows (``--scores``), each one more
            metric beside mtdrift's (a lower-is-better one negated, as TER).
    """

    name: str
    data: str
    official: str | None = None
    scores: tuple[ScoresSpec, ...] = ()


def set_name(path: str | Path) -> str:
    """The default name of a data set: its file name up to the first dot, less a trailing
    ``_mqm`` (``wmt23_zhen_mqm.dev.jsonl.gz`` -> ``wmt23_zhen``)."""
    file = Path(path).name
    stem = file.split(".", 1)[0] or file
    return stem.removesuffix("_mqm") or stem


SET_OPTIONS: Final = ("--data", "--official", "--name", "--scores")


def pair_sets(
    options: Sequence[tuple[str, str]], *, lower_is_better: Sequence[str] = ()
) -> tuple[DataSpec, ...]:
    """Pair each ``--official``, ``--name`` and ``--scores`` with the ``--data`` right before it
    (``--scores`` may be repeated; ``lower_is_better`` names the external metrics that are
    better when lower).

    With a single ``--data`` its ``--official`` and ``--name`` may come anywhere on the line
    (as before several data sets were allowed).

    Args:
        options: ``(option, value)`` in command-line order, each option one of
            :data:`SET_OPTIONS`.

    Returns:
        One :class:`DataSpec` per ``--data``, in order; a set without ``--name`` is named by
        :func:`set_name`.

    Raises:
        InputError: no ``--data``; with several ``--data``, an ``--official`` or ``--name``
            before the first; two ``--official`` or two ``--name`` for one ``--data``; an
            empty name; two sets with the same name. The message is one line.
    """
    data = [v for o, v in options if o == "--data"]
    if not data:
        raise InputError("give at least one --data FILE (a corpus with human scores)")
    groups: list[dict[str, str]] = [{"--data": data[0]}] if len(data) == 1 else []
    external: list[list[ScoresSpec]] = [[] for _ in data]
    named = [parse_scores_option(v).name for o, v in options if o == "--scores"]
    stray = [n for n in lower_is_better if n not in named]
    if stray:
        raise InputError(f"--lower-is-better {stray[0]}: no --scores {stray[0]}=FILE")
    for option, value in options:
        if option not in SET_OPTIONS:
            raise ValueError(f"unknown option {option!r}; expected one of {', '.join(SET_OPTIONS)}")
        if len(data) > 1 and option == "--data":
            groups.append({"--data": value})
            continue
        if option == "--data":
            continue
        if not groups:
            raise InputError(
                f"{option} {value} comes before any --data; with several --data, give each {option} "
                "right after the --data it belongs to"
            )
        group = groups[-1]
        if option == "--scores":
            spec = parse_scores_option(value, lower_is_better=lower_is_better)
            mine = external[len(groups) - 1]
            if any(s.name == spec.name for s in mine):
                raise InputError(f"--data {group['--data']} has two --scores {spec.name}; give each one name")
            mine.append(spec)
            continue
        if option in group:
            raise InputError(
                f"--data {group['--data']} has two {option} ({group[option]} and {value}); "
                f"give at most one {option} right after each --data"
            )
        group[option] = value
    specs = []
    seen: dict[str, str] = {}
    for group, scores in zip(groups, external, strict=True):
        name = group.get("--name", set_name(group["--data"]))
        if not name.strip():
            raise InputError(f"--data {group['--data']}: the --name is empty; give a name or none")
        if name in seen:
            raise InputError(
                f"two data sets are named {name!r} ({seen[name]} and {group['--data']}); "
                "give each --data its own --name"
            )
        seen[name] = group["--data"]
        specs.append(
            DataSpec(name=name, data=group["--data"], official=group.get("--official"), scores=tuple(scores))
        )
    return tuple(specs)


def _is_human(value: object) -> bool:
    """An ``is_human`` field that says yes: JSON ``true``, or ``true``/``1`` in a TSV."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return value is True


@dataclass(frozen=True)
class LoadedSet:
    """A data set read and checked, not yet scored by mtdrift.

    Attributes:
        spec: what was asked for.
        corpus: the rows to score (human translations left out unless kept).
        table: ``doc_id, seg_id, system``, the human score and the official metrics' columns
            (if any), one row per row of ``corpus``.
        official_columns: the official metrics' columns of ``table``, in file order.
        human_systems: systems whose rows are marked ``is_human``, in order of appearance.
        human_kept: whether they are in ``corpus`` and ``table``.
        gold: the annotators' target-side error spans (see :func:`gold_spans`).
        external: the external scores' signatures (file, SHA-256, column), by column of
            ``table`` (their names), after the official columns.
    """

    spec: DataSpec
    corpus: Corpus
    table: pd.DataFrame
    official_columns: tuple[str, ...]
    human_systems: tuple[str, ...]
    human_kept: bool
    gold: dict[Key3, dict[str, set[int]]]
    external: Mapping[str, str] = field(default_factory=dict)


def load_set(spec: DataSpec, *, human: str = HUMAN, keep_human: bool = False) -> LoadedSet:
    """Read one data set: the corpus, its human scores and the official scores, checked to
    cover the same rows.

    A system with rows marked ``is_human: true`` (a human translation scored as a system, like
    TED's ``ref-A``) is left out of everything unless ``keep_human``: correlations are about
    ranking MT output.

    Args:
        spec: the files.
        human: the human score column; ``mqm`` is taken from the official file when one is
            given (its per-rater averaging is the official one), any other from the corpus.
        keep_human: keep the systems marked ``is_human``.

    Raises:
        InputError: a file is missing or malformed, every system is a human translation, or
            the official file's rows are not the corpus's rows.
    """
    rows = list(read_rows(spec.data))
    marked = tuple(dict.fromkeys(str(row.get("system")) for _, row in rows if _is_human(row.get("is_human"))))
    kept = rows if keep_human else [(line, row) for line, row in rows if str(row.get("system")) not in marked]
    if not kept:
        raise InputError(
            f"{spec.data}: every system is a human translation (is_human: true); "
            "give --keep-human to meta-evaluate them"
        )
    corpus = build_corpus(iter(kept), name=spec.data)
    humans = human_table(iter(kept), source=spec.data, human=human)
    columns: tuple[str, ...] = ()
    table = humans
    if spec.official is not None:
        official = read_official(spec.official)
        if marked and not keep_human:
            official = official[~official["system"].isin(marked)].reset_index(drop=True)
        _same_rows(official, humans, spec)
        columns = tuple(metric_columns(official))
        table = official
        if human != HUMAN:
            table = official.drop(columns=[HUMAN]).merge(humans, on=list(KEYS), sort=False)
    external: dict[str, str] = {}
    for scores_spec in spec.scores:
        scores = read_scores(scores_spec)
        by_system = scores_for(scores, keys=corpus.keys, systems=corpus.systems)
        sign = 1.0 if scores_spec.higher_is_better else -1.0  # meta reads higher = better
        column = pd.DataFrame(
            [
                {"doc_id": doc_id, "seg_id": seg_id, "system": system, scores.name: sign * float(v)}
                for system, values in by_system.items()
                for (doc_id, seg_id), v in zip(corpus.keys, values, strict=True)
            ]
        )
        table = join_scores(table, column, source=scores_spec.path)
        external[scores.name] = scores.signature().format()
    return LoadedSet(
        spec=spec,
        corpus=corpus,
        table=table,
        official_columns=columns,
        human_systems=marked,
        human_kept=keep_human,
        gold=gold_spans(iter(kept)),
        external=external,
    )


def _same_rows(official: pd.DataFrame, humans: pd.DataFrame, spec: DataSpec) -> None:
    both = official[list(KEYS)].merge(humans[list(KEYS)], how="outer", indicator=True, sort=False)
    parts = []
    for side, what in (("left_only", "official rows not in the data"), ("right_only", "data rows not in it")):
        rows = both[both["_merge"] == side]
        if len(rows):
            r = rows.iloc[0]
            parts.append(
                f"{len(rows)} {what} (e.g. doc_id={r['doc_id']!r} seg_id={r['seg_id']} "
                f"system={r['system']!r})"
            )
    if parts:
        raise InputError(
            f"{spec.official}: does not hold the rows of {spec.data}: {'; '.join(parts)}; "
            "give the official scores of the same rows"
        )
