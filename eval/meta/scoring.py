"""mtdrift's own metrics on a meta-evaluation set: the set's segments evaluated as a corpus, one
score column per metric beside the official ones, and agreement with the annotators' error
spans where the set has them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mtdrift.eval.meta.sets import Key3, LoadedSet, join_scores
from mtdrift.eval.pipeline import evaluate_corpus
from mtdrift.eval.results import Evaluation
from mtdrift.metrics.cache import Cache
from mtdrift.metrics.encoders import Encoder
from mtdrift.metrics.facts.checker import FactChecker
from mtdrift.metrics.registry import METRICS

# mtdrift's scores as meta-evaluated, all oriented higher = better (TER negated).


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
    return table.drop(columns=[c for c in METRICS if table[c].isna().all()])


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
    ours = tuple(c for c in METRICS if c in scores.columns)
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
