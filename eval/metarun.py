"""`mtdrift meta`: mtdrift's metrics beside the official ones, against human MQM scores.

Pure pieces: the human scores of a corpus file's rows, mtdrift's per-row scores of an
evaluation, the joined table, and the Markdown rendering of ``eval.meta``'s result.

Several data sets at once: :func:`pair_sets` turns the command line's ``--data``/``--official``/
``--name`` into :class:`DataSpec` s; :func:`run_meta` reads every set (:func:`load_set`, which
leaves human translations marked ``is_human`` out), scores it with mtdrift (:func:`score_set`),
meta-evaluates each and averages over the sets (:func:`meta_sets`, pure, also usable on tables
built by hand), returning a :class:`MultiMeta`; :func:`report_md` renders it. Nothing here
prints or exits; only the readers touch files.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from mtdrift.eval.corpus import Corpus, build_corpus, read_rows
from mtdrift.eval.meta import (
    DEFAULT_LEVEL,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    HUMAN,
    KEYS,
    MetaResult,
    join_scores,
    meta_evaluate,
    metric_columns,
    read_official,
)
from mtdrift.eval.read import InputError
from mtdrift.eval.run import Evaluation, evaluate_corpus
from mtdrift.eval.scores import ScoresSpec, parse_scores_option, read_scores, scores_for
from mtdrift.metrics.cache import Cache
from mtdrift.metrics.checks import FactChecker
from mtdrift.metrics.embed import Encoder

# mtdrift's scores as meta-evaluated, all oriented higher = better (TER negated).
OURS: tuple[str, ...] = ("bleu", "chrf", "chrfpp", "ter", "semantic", "tokenmatch", "fidelity")


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


def score_table(evaluation: Evaluation) -> pd.DataFrame:
    """One row per (segment, system) of a corpus evaluation with mtdrift's scores (TER negated)."""
    keys = evaluation.keys
    if keys is None:
        raise ValueError("meta-evaluation needs a corpus evaluation (segment keys)")
    rows = []
    for s in evaluation.systems:
        for b in s.beads:
            doc_id, seg_id = keys[b.ref_ids[0]]
            rows.append(
                {
                    "doc_id": doc_id,
                    "seg_id": seg_id,
                    "system": s.system,
                    "bleu": b.bleu,
                    "chrf": b.chrf,
                    "chrfpp": b.chrfpp,
                    "ter": -b.ter,
                    "semantic": b.semantic,
                    "tokenmatch": b.tokenmatch,
                    "fidelity": b.fidelity,
                }
            )
    table = pd.DataFrame(rows)
    table["seg_id"] = pd.to_numeric(table["seg_id"], errors="raise").astype(np.int64)
    # a score not computed (tokenmatch without token vectors) is left out, never filled in
    return table.drop(columns=[c for c in OURS if table[c].isna().all()])


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


def span_scores(evaluation: Evaluation, gold: dict[Key3, dict[str, set[int]]]) -> dict[str, dict[str, float]]:
    """Character-level precision, recall and F1 of mtdrift's drifted hypothesis spans (tokens
    without a counterpart, changed names and numbers) against the annotators' target-side
    spans, micro-averaged over rows, for all errors and for major ones (as the WMT23 error-span
    task scores spans)."""
    keys = evaluation.keys
    if keys is None:
        raise ValueError("span scores need a corpus evaluation (segment keys)")
    counts = {level: [0, 0, 0] for level in ("all", "major")}  # tp, ours, theirs
    for s in evaluation.systems:
        for b in s.beads:
            doc_id, seg_id = keys[b.ref_ids[0]]
            g = gold.get((doc_id, seg_id, s.system))
            if g is None:
                continue
            ours: set[int] = set()
            for a, e in [*b.hyp_spans, *(f.hyp_span for f in b.reasons if f.hyp_span)]:
                ours |= set(range(a, e))
            for level in counts:
                c = counts[level]
                c[0] += len(ours & g[level])
                c[1] += len(ours)
                c[2] += len(g[level])
    out = {}
    for level, (tp, n_ours, n_theirs) in counts.items():
        p = tp / n_ours if n_ours else 0.0
        r = tp / n_theirs if n_theirs else 0.0
        out[level] = {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}
    return out


def _f(x: float | None) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _ci(ci: Sequence[float | None] | None) -> str:
    if ci is None or any(v is None for v in ci):
        return ""
    lo, hi = ci
    return f"[{_f(lo)}, {_f(hi)}]"


def meta_md(
    result: MetaResult,
    ours: Sequence[str] = OURS,
    spans: dict[str, dict[str, float]] | None = None,
    *,
    notes: Sequence[str] = (),
) -> str:
    """The table of ``meta.md``: one row per metric, mtdrift's first, by-item tau first.

    ``notes`` are paragraphs put under the description (e.g. which systems were left out).
    """
    data = result.to_dict()
    out = [
        "# mtdrift meta-evaluation",
        "",
        f"{data['n_rows']} rows, {data['n_items']} segments, {data['n_systems']} systems; human score: "
        f"`{data['human']}`. {_HOW} 95 % CIs: bootstrap over segments "
        f"({data['bootstrap']['n_resamples']} resamples, seed {data['bootstrap']['seed']}). {_OURS_NOTE}",
        "",
    ]
    for note in notes:
        out += [note, ""]
    out += _table(data, ours)
    out += _span_lines(spans, "##")
    return "\n".join(out) + "\n"


_HOW = (
    "Kendall tau-b by item: across the systems within one segment, averaged over segments "
    "(segments where a side is constant skipped)."
)
_OURS_NOTE = "mtdrift's metrics are in **bold**; TER is negated (higher = better)."


def _table(data: dict[str, Any], ours: Sequence[str]) -> list[str]:
    metrics = data["metrics"]
    order = [m for m in ours if m in metrics] + [m for m in metrics if m not in ours]
    out = [
        "| metric | seg tau by item | 95 % CI | skipped | seg tau | seg Pearson | sys Pearson | sys tau "
        "| sys accuracy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in order:
        m = metrics[name]
        shown = f"**{name}**" if name in ours else name
        out.append(
            f"| {shown} | {_f(m['seg_kendall_by_item'])} | {_ci(m['seg_kendall_by_item_ci'])} | "
            f"{m['n_items_skipped']} | {_f(m['seg_kendall'])} | {_f(m['seg_pearson'])} | "
            f"{_f(m['sys_pearson'])} | {_f(m['sys_kendall'])} | {_f(m['sys_accuracy'])} |"
        )
    return out


def _span_lines(spans: dict[str, dict[str, float]] | None, heading: str) -> list[str]:
    if not spans:
        return []
    return [
        "",
        f"{heading} Drifted spans against the annotators' target-side error spans",
        "",
        "Character-level, micro-averaged over rows (mtdrift's spans: hypothesis tokens without a "
        "counterpart in the reference, changed names and numbers).",
        "",
        "| errors | precision | recall | F1 |",
        "|---|---:|---:|---:|",
        *(
            f"| {level} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} |"
            for level, v in spans.items()
        ),
    ]


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


@dataclass(frozen=True)
class Provenance:
    """Where a data set's scores came from, carried from :class:`SetTable` to :class:`SetMeta`.

    Attributes:
        data, official: the files they came from (for the report), if any.
        human_systems, human_kept: as in :class:`LoadedSet`.
        spans: :func:`span_scores` of mtdrift's spans, or ``None``.
        signatures: mtdrift's signatures of the scores (empty when none of ours is scored).
    """

    data: str | None = None
    official: str | None = None
    human_systems: tuple[str, ...] = ()
    human_kept: bool = False
    spans: dict[str, dict[str, float]] | None = None
    signatures: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SetTable:
    """One data set's rows with every score to meta-evaluate: the input of :func:`meta_sets`.

    Attributes:
        name: the set's name.
        table: ``doc_id, seg_id, system``, the human score and the metric ``columns``.
        columns: the metric columns to evaluate (higher = better), mtdrift's first.
        ours: which of them are mtdrift's.
        about: where they came from.
    """

    name: str
    table: pd.DataFrame
    columns: tuple[str, ...]
    ours: tuple[str, ...] = ()
    about: Provenance = field(default_factory=Provenance)


def score_set(
    loaded: LoadedSet, *, encoder: Encoder, checker: FactChecker, cache: Cache | None = None
) -> SetTable:
    """Score every row of a loaded set with mtdrift's metrics and join the official scores.

    Raises:
        InputError: mtdrift's rows do not match the table's (should not happen).
    """
    evaluation = evaluate_corpus(loaded.corpus, encoder=encoder, checker=checker, cache=cache)
    spec = loaded.spec
    scores = score_table(evaluation)
    ours = tuple(c for c in OURS if c in scores.columns)
    table = join_scores(loaded.table, scores, source=f"mtdrift scores of {spec.data}")
    return SetTable(
        name=spec.name,
        table=table,
        columns=(*ours, *loaded.official_columns, *loaded.external),
        ours=ours,
        about=Provenance(
            data=spec.data,
            official=spec.official,
            human_systems=loaded.human_systems,
            human_kept=loaded.human_kept,
            spans=span_scores(evaluation, loaded.gold) if loaded.gold else None,
            signatures=dict(sorted({**evaluation.signatures, **loaded.external}.items())),
        ),
    )


_REF_SUFFIX: Final = re.compile(r"-ref[A-Z]$")


def display_names(columns: Sequence[str], ours: Sequence[str] = ()) -> dict[str, str]:
    """Each metric column's name across data sets: an official column without its reference
    suffix (``COMET-refA`` and ``COMET-refB`` are both ``COMET``), so that the same metric lines
    up over sets scored against different references. mtdrift's columns keep their names, and
    so does a column whose short name another column of the same set would also get."""
    short = {c: c if c in ours else _REF_SUFFIX.sub("", c) for c in columns}
    count = Counter(short.values())
    return {c: s if count[s] == 1 else c for c, s in short.items()}


MACRO_FIGURES: Final = (
    "seg_kendall_by_item",
    "seg_kendall",
    "seg_pearson",
    "sys_pearson",
    "sys_kendall",
    "sys_accuracy",
)
"""The figures the macro mean averages over data sets (point estimates; no interval)."""


@dataclass(frozen=True)
class SetMeta:
    """One data set's meta-evaluation and where it came from.

    Attributes:
        name: the set's name.
        result: every metric's agreement, keyed by the set's own column names.
        ours: which metrics are mtdrift's.
        display: column -> the name it has in the macro mean (:func:`display_names`).
        about: where the scores came from (the :class:`SetTable`'s).
    """

    name: str
    result: MetaResult
    ours: tuple[str, ...]
    display: Mapping[str, str]
    about: Provenance = field(default_factory=Provenance)

    def core_dict(self) -> dict[str, Any]:
        """The keys a single-set ``meta.json`` had before several sets were allowed:
        ``MetaResult.to_dict()``, then ``spans`` (when scored) and ``signatures`` (when any)."""
        doc = self.result.to_dict()
        if self.about.spans is not None:
            doc["spans"] = self.about.spans
        if self.about.signatures:
            doc["signatures"] = dict(self.about.signatures)
        return doc

    def to_dict(self) -> dict[str, Any]:
        """:meth:`core_dict` plus ``data``, ``official`` (``None`` without), ``human_systems``,
        ``human_systems_kept`` and ``display_names`` (only the columns renamed in the macro)."""
        return {
            **self.core_dict(),
            "data": self.about.data,
            "official": self.about.official,
            "human_systems": list(self.about.human_systems),
            "human_systems_kept": self.about.human_kept,
            "display_names": {c: d for c, d in self.display.items() if c != d},
        }


@dataclass(frozen=True)
class MacroMetric:
    """One metric's figures averaged over data sets: the unweighted mean of each set's figure,
    NaN when it is undefined in any of them.

    Attributes:
        name: the display name (:func:`display_names`).
        columns: set name -> the metric's column in that set, in set order.
        ours: whether it is one of mtdrift's metrics.
    """

    name: str
    columns: Mapping[str, str]
    ours: bool
    seg_kendall_by_item: float
    seg_kendall: float
    seg_pearson: float
    sys_pearson: float
    sys_kendall: float
    sys_accuracy: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the figures (NaN as None), ``n_datasets`` and ``columns``."""
        return {
            **{f: _num(getattr(self, f)) for f in MACRO_FIGURES},
            "n_datasets": len(self.columns),
            "columns": dict(self.columns),
        }


@dataclass(frozen=True)
class MacroGroup:
    """Every metric that some data sets all have, averaged over those sets.

    Attributes:
        datasets: the sets averaged over, in the order given.
        metrics: display name -> its mean over ``datasets``, mtdrift's first.
    """

    datasets: tuple[str, ...]
    metrics: Mapping[str, MacroMetric]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"datasets": [...], "metrics": {name: MacroMetric.to_dict()}}``."""
        return {"datasets": list(self.datasets), "metrics": {n: m.to_dict() for n, m in self.metrics.items()}}


@dataclass(frozen=True)
class MacroMeta:
    """The macro mean over data sets.

    A metric missing from some sets (an official one where a set has no official scores) is
    not in ``metrics``: a mean over fewer sets is another figure. For each group of two or more
    (not all) sets that such metrics share, ``subsets`` averages *every* metric those sets all
    have over them, mtdrift's included, so that the rows of one group compare. A metric in a
    single set has no mean; ``one_set_only`` names it and its set.

    Attributes:
        datasets: the sets' names, in order.
        metrics: the metrics present in every set, averaged over all of them, mtdrift's first.
        subsets: one :class:`MacroGroup` per such group of sets, largest first.
        one_set_only: display name -> the one set that has it.
    """

    datasets: tuple[str, ...]
    metrics: Mapping[str, MacroMetric]
    subsets: tuple[MacroGroup, ...] = ()
    one_set_only: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"datasets", "figures", "metrics": {name: ...}, "subsets": [...],
        "one_set_only": {name: set}}``."""
        return {
            "datasets": list(self.datasets),
            "figures": list(MACRO_FIGURES),
            "metrics": {n: m.to_dict() for n, m in self.metrics.items()},
            "subsets": [g.to_dict() for g in self.subsets],
            "one_set_only": dict(self.one_set_only),
        }


def macro_mean(sets: Sequence[SetMeta]) -> MacroMeta:
    """Average each figure of :data:`MACRO_FIGURES` over the sets, per display name (see
    :class:`MacroMeta` for the metrics that only some sets have).

    Raises:
        ValueError: no set.
    """
    if not sets:
        raise ValueError("expected at least one data set, got none")
    columns: dict[str, dict[str, str]] = {}
    ours: set[str] = set()
    for s in sets:
        for column in s.result.metrics:
            name = s.display.get(column, column)
            columns.setdefault(name, {})[s.name] = column
            if column in s.ours:
                ours.add(name)
    by_name = {s.name: s for s in sets}
    order = sorted(columns, key=lambda n: n not in ours)  # stable: first appearance otherwise

    def over(group: tuple[str, ...]) -> dict[str, MacroMetric]:
        out = {}
        for name in order:
            if not all(g in columns[name] for g in group):
                continue
            cols = {g: columns[name][g] for g in group}
            figures = {
                f: math.fsum(getattr(by_name[g].result.metrics[c], f) for g, c in cols.items()) / len(cols)
                for f in MACRO_FIGURES
            }
            out[name] = MacroMetric(name=name, columns=cols, ours=name in ours, **figures)
        return out

    everywhere = tuple(by_name)
    groups = dict.fromkeys(
        tuple(g for g in everywhere if g in columns[n]) for n in order if 1 < len(columns[n]) < len(sets)
    )
    return MacroMeta(
        datasets=everywhere,
        metrics=over(everywhere),
        subsets=tuple(MacroGroup(g, over(g)) for g in sorted(groups, key=len, reverse=True)),
        one_set_only={n: next(iter(columns[n])) for n in order if len(columns[n]) == 1 < len(sets)},
    )


@dataclass(frozen=True)
class MultiMeta:
    """The meta-evaluation of one or more data sets and their macro mean.

    Attributes:
        sets: one per data set, in the order given.
        macro: the mean over them (with one set, that set's own figures).
    """

    sets: tuple[SetMeta, ...]
    macro: MacroMeta

    def to_dict(self) -> dict[str, Any]:
        """``meta.json``: ``datasets.<name>`` (:meth:`SetMeta.to_dict`) and ``macro``
        (:meth:`MacroMeta.to_dict`); with a single set, its :meth:`SetMeta.core_dict` keys
        first, at the top level, as before several sets were allowed."""
        doc: dict[str, Any] = self.sets[0].core_dict() if len(self.sets) == 1 else {}
        doc["datasets"] = {s.name: s.to_dict() for s in self.sets}
        doc["macro"] = self.macro.to_dict()
        return doc


def meta_sets(
    sets: Sequence[SetTable],
    *,
    human: str = HUMAN,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
) -> MultiMeta:
    """Meta-evaluate each set (:func:`eval.meta.meta_evaluate`) and average over them.

    Pure: reads and prints nothing. Each set gets its own bootstrap, with the same seed.

    Raises:
        ValueError: no set, two sets with one name, or a set's table is unusable (the message
            starts with the set's name).
    """
    if not sets:
        raise ValueError("expected at least one data set, got none")
    names = [s.name for s in sets]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"data set names must be distinct, got {', '.join(map(repr, twice))} twice")
    out = []
    for s in sets:
        try:
            result = meta_evaluate(
                s.table, list(s.columns), human=human, n_resamples=n_resamples, seed=seed, level=level
            )
        except ValueError as err:
            raise ValueError(f"{s.name}: {err}") from None
        out.append(
            SetMeta(
                name=s.name,
                result=result,
                ours=s.ours,
                display=display_names(s.columns, s.ours),
                about=s.about,
            )
        )
    return MultiMeta(sets=tuple(out), macro=macro_mean(out))


def run_meta(
    specs: Sequence[DataSpec],
    *,
    encoder: Encoder,
    checker: FactChecker,
    cache: Cache | None = None,
    human: str = HUMAN,
    keep_human: bool = False,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> MultiMeta:
    """`mtdrift meta` without the command line: read every set (all of them before any is
    scored, so a bad file fails fast), score each with mtdrift, meta-evaluate, average.

    Raises:
        InputError: a file is missing or malformed, or its rows cannot be meta-evaluated
            (the message names the file).
        ModelUnavailableError: the packaged model cannot be loaded.
    """
    loaded = []
    for spec in specs:
        try:
            loaded.append(load_set(spec, human=human, keep_human=keep_human))
        except ValueError as err:
            raise InputError(f"{spec.data}: {err}") from None
    tables = [score_set(s, encoder=encoder, checker=checker, cache=cache) for s in loaded]
    try:
        return meta_sets(tables, human=human, n_resamples=n_resamples, seed=seed)
    except ValueError as err:
        raise InputError(str(err)) from None


def _num(x: float) -> float | None:
    return None if math.isnan(x) else x


# ---------------------------------------------------------------------------------------------
# rendering several sets


def _human_note(s: SetMeta) -> list[str]:
    if not s.about.human_systems:
        return []
    names = ", ".join(f"`{n}`" for n in s.about.human_systems)
    if s.about.human_kept:
        return [f"Kept (--keep-human): {names}, a human translation scored as a system (`is_human: true`)."]
    return [
        f"Left out: {names}, a human translation scored as a system (`is_human: true`), so that "
        "the figures rank MT output only; --keep-human keeps it."
    ]


def report_md(meta: MultiMeta) -> str:
    """``meta.md``: with one set, :func:`meta_md` (its table as before, plus a note when a human
    translation was left out); with several, one section per set (the same table), then the
    macro mean over the sets and, apart, the metrics only some sets have."""
    if len(meta.sets) == 1:
        s = meta.sets[0]
        return meta_md(s.result, s.ours, s.about.spans, notes=_human_note(s))
    first = meta.sets[0].result
    out = [
        f"# mtdrift meta-evaluation: {len(meta.sets)} data sets",
        "",
        f"{', '.join(f'`{s.name}`' for s in meta.sets)}; human score: `{first.human}`. {_HOW} "
        f"95 % CIs: bootstrap over segments within each set ({first.n_resamples} resamples, seed "
        f"{first.seed}). {_OURS_NOTE} The macro mean over the sets closes the report.",
    ]
    for s in meta.sets:
        r = s.result
        source = f"`{s.about.data}`" if s.about.data else "given as a table"
        official = f", official scores `{s.about.official}`" if s.about.official else ", no official scores"
        out += [
            "",
            f"## {s.name}",
            "",
            f"{r.n_rows} rows, {r.n_items} segments, {r.n_systems} systems; {source}{official}.",
        ]
        for note in _human_note(s):
            out += ["", note]
        out += ["", *_table(r.to_dict(), s.ours), *_span_lines(s.about.spans, "###")]
    macro = meta.macro
    figures = "| seg tau by item | seg tau | seg Pearson | sys Pearson | sys tau | sys accuracy |"
    out += [
        "",
        f"## Macro mean over {len(meta.sets)} data sets",
        "",
        "The unweighted mean over the sets of each figure (point estimates; no interval), for the "
        "metrics every set has. Official metrics are named without their reference suffix "
        "(`COMET-refA` and `COMET-refB` are both `COMET`).",
        "",
        f"| metric {figures}",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(_macro_row(m) for m in macro.metrics.values()),
    ]
    for group in macro.subsets:
        out += [
            "",
            f"### Over {_and(group.datasets)} only",
            "",
            f"Every metric these {len(group.datasets)} sets all have, averaged over them: comparable "
            "with each other, not with the table above.",
            "",
            f"| metric {figures}",
            "|---|---:|---:|---:|---:|---:|---:|",
            *(_macro_row(m) for m in group.metrics.values()),
        ]
    if macro.one_set_only:
        named = ", ".join(f"`{n}` ({s})" for n, s in macro.one_set_only.items())
        out += ["", f"In one set only, so in no mean (see that set's table): {named}."]
    return "\n".join(out) + "\n"


def _and(names: Sequence[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def _macro_row(m: MacroMetric) -> str:
    shown = f"**{m.name}**" if m.ours else m.name
    return f"| {shown} | " + " | ".join(_f(getattr(m, f)) for f in MACRO_FIGURES) + " |"


__all__ = [
    "KEYS",
    "OURS",
    "DataSpec",
    "LoadedSet",
    "MacroGroup",
    "MacroMeta",
    "MacroMetric",
    "MultiMeta",
    "Provenance",
    "SetMeta",
    "SetTable",
    "display_names",
    "gold_spans",
    "human_table",
    "load_set",
    "macro_mean",
    "meta_md",
    "meta_sets",
    "pair_sets",
    "report_md",
    "run_meta",
    "score_set",
    "score_table",
    "set_name",
    "span_scores",
]
