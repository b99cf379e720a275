"""`mtdrift meta`: mtdrift's metrics beside the official ones, against human MQM scores.

Pure pieces: the human scores of a corpus file's rows, mtdrift's per-row scores of an
evaluation, the joined table, and the Markdown rendering of ``eval.meta``'s result.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from eval.meta import KEYS, MetaResult
from eval.read import InputError
from eval.run import Evaluation

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
    result: MetaResult, ours: Sequence[str] = OURS, spans: dict[str, dict[str, float]] | None = None
) -> str:
    """The table of ``meta.md``: one row per metric, mtdrift's first, by-item tau first."""
    data = result.to_dict()
    metrics = data["metrics"]
    order = [m for m in ours if m in metrics] + [m for m in metrics if m not in ours]
    out = [
        "# mtdrift meta-evaluation",
        "",
        f"{data['n_rows']} rows, {data['n_items']} segments, {data['n_systems']} systems; human score: "
        f"`{data['human']}`. Kendall tau-b by item: across the systems within one segment, averaged "
        "over segments (segments where a side is constant skipped). 95 % CIs: bootstrap over segments "
        f"({data['bootstrap']['n_resamples']} resamples, seed {data['bootstrap']['seed']}). mtdrift's "
        "metrics are in **bold**; TER is negated (higher = better).",
        "",
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
    if spans:
        out += [
            "",
            "## Drifted spans against the annotators' target-side error spans",
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
    return "\n".join(out) + "\n"


__all__ = ["KEYS", "OURS", "human_table", "meta_md", "score_table"]
