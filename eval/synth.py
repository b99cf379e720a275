"""Generated alignment problems with known answers, from real parallel sentences.

Used by the tests and by ``scripts/tune_align.py``: start from reference units and their
translations with a known alignment, then drop, merge, split and add candidate units at
random (seeded), keeping track of the true beads.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.align import Bead

_SPLIT_POINTS = re.compile(r"(?<=[,;:])\s+|\s+(?=(?:and|but|while|which|who|when|after|as)\s)")


@dataclass(frozen=True)
class Problem:
    """A reference, a candidate and the true alignment between them."""

    ref: list[str]
    hyp: list[str]
    gold: list[Bead]


@dataclass(frozen=True)
class Perturbation:
    """Probabilities per 1-1 bead of each edit (checked in this order)."""

    drop: float = 0.1
    merge: float = 0.1
    split: float = 0.1
    add: float = 0.05


def split_in_two(text: str) -> tuple[str, str] | None:
    """Split a sentence at the clause boundary nearest its middle; ``None`` if it has none
    leaving at least three words on each side."""
    mid = len(text) / 2
    best: tuple[float, int, int] | None = None
    for m in _SPLIT_POINTS.finditer(text):
        left, right = text[: m.start()], text[m.end() :]
        if len(left.split()) < 3 or len(right.split()) < 3:
            continue
        dist = abs(m.start() - mid)
        if best is None or dist < best[0]:
            best = (dist, m.start(), m.end())
    if best is None:
        return None
    left, right = text[: best[1]].rstrip(",;: "), text[best[2] :]
    return left + ".", right[:1].upper() + right[1:]


def perturb(
    base: Problem, *, rng: np.random.Generator, pool: Sequence[str], p: Perturbation | None = None
) -> Problem:
    """Apply random edits to the candidate side of ``base``; only its 1-1 beads are edited.

    Args:
        base: a problem whose ``gold`` covers every sentence of both sides, in order.
        rng: the random generator (the caller seeds it).
        pool: sentences from elsewhere, inserted as additions.
        p: edit probabilities.
    """
    p = p or Perturbation()
    hyp: list[str] = []
    gold: list[Bead] = []
    beads = list(base.gold)
    k = 0
    while k < len(beads):
        r_ids, h_ids = beads[k]
        texts = [base.hyp[j] for j in h_ids]
        one_one = len(r_ids) == 1 and len(h_ids) == 1
        u = rng.random()
        if pool and rng.random() < p.add:
            gold.append(((), (len(hyp),)))
            hyp.append(str(pool[int(rng.integers(len(pool)))]))
        nxt = beads[k + 1] if k + 1 < len(beads) else None
        if one_one and u < p.drop:
            gold.append((r_ids, ()))
        elif one_one and u < p.drop + p.merge and nxt is not None and len(nxt[0]) == 1 and len(nxt[1]) == 1:
            gold.append(((*r_ids, *nxt[0]), (len(hyp),)))
            hyp.append(texts[0] + " " + base.hyp[nxt[1][0]])
            k += 1
        elif one_one and u < p.drop + p.merge + p.split and (two := split_in_two(texts[0])):
            gold.append((r_ids, (len(hyp), len(hyp) + 1)))
            hyp.extend(two)
        else:
            gold.append((r_ids, tuple(range(len(hyp), len(hyp) + len(texts)))))
            hyp.extend(texts)
        k += 1
    return Problem(ref=list(base.ref), hyp=hyp, gold=gold)


def bead_f1(predicted: Sequence[Bead], gold: Sequence[Bead]) -> float:
    """Strict bead F1: a predicted bead counts only when identical to a gold bead (1-0 and 0-1
    beads included)."""
    pred, true = set(predicted), set(gold)
    if not pred and not true:
        return 1.0
    hit = len(pred & true)
    if hit == 0:
        return 0.0
    precision, recall = hit / len(pred), hit / len(true)
    return 2 * precision * recall / (precision + recall)


def mqm_problems(
    path: Path,
    *,
    seed: int,
    per: int = 30,
    system: str | None = None,
    docs: slice | None = None,
    exclude: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Problems from an MQM JSON-lines file (``doc_id, seg_in_doc, system, reference,
    hypothesis``): consecutive documents joined until ``per`` segments, references against
    ``system``'s outputs (or a system drawn at random per document, never one in ``exclude``,
    when ``None``), then :func:`perturb` with references of other documents as the pool of
    additions."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    by_doc: dict[str, dict[str, list[tuple[int, str, str]]]] = {}
    for r in rows:
        by_doc.setdefault(r["doc_id"], {}).setdefault(r["system"], []).append(
            (r["seg_in_doc"], r["reference"], r["hypothesis"])
        )
    systems = sorted({r["system"] for r in rows} - exclude)
    rng = np.random.default_rng(seed)
    pool_all = list(dict.fromkeys(r["reference"] for r in rows))
    out: list[Problem] = []
    ref: list[str] = []
    hyp: list[str] = []
    for d in list(by_doc)[docs or slice(None)]:
        drawn = systems[int(rng.integers(len(systems)))]
        for _, r, h in sorted(by_doc[d][system or drawn]):
            ref.append(r)
            hyp.append(h)
        if len(ref) >= per:
            base = Problem(ref, hyp, [((i,), (i,)) for i in range(len(ref))])
            taken = set(ref)
            out.append(perturb(base, rng=rng, pool=[s for s in pool_all if s not in taken]))
            ref, hyp = [], []
    return out


@dataclass(frozen=True)
class DocumentPair:
    """A long reference and candidate built from segment-level corpora.

    Attributes:
        ref_lines: the reference segments, one per line (line-parallel with ``hyp_lines``).
        hyp_lines: the candidate segments, one per line.
        ref_text: the reference as running text: one paragraph per document, segments joined
            by a space.
        hyp_text: the candidate as running text, edited: some segments dropped, some merged
            with the next (see :func:`document_pair`).
        docs: number of documents.
    """

    ref_lines: list[str]
    hyp_lines: list[str]
    ref_text: str
    hyp_text: str
    docs: int


def document_pair(
    paths: Sequence[Path], *, segments: int = 2000, drop_every: int = 7, merge_every: int = 11
) -> DocumentPair:
    """One long document pair from MQM JSON-lines files (``doc_id, seg_id, system,
    reference, hypothesis``): whole documents in file order, each against one system's output
    (the systems of a file taken in turn, sorted by name, so a file read twice gives another
    candidate), until ``segments`` segments; then every ``drop_every``-th candidate segment is
    dropped and every ``merge_every``-th is merged with the next in the running text.
    Deterministic."""
    ref_lines: list[str] = []
    hyp_lines: list[str] = []
    ref_docs: list[list[str]] = []
    hyp_docs: list[list[str]] = []
    tables = []
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh]
        by_doc: dict[str, dict[str, list[tuple[int, str, str]]]] = {}
        for r in rows:
            by_doc.setdefault(r["doc_id"], {}).setdefault(r["system"], []).append(
                (int(r["seg_id"]), r["reference"], r["hypothesis"])
            )
        tables.append((by_doc, sorted({r["system"] for r in rows})))
    turn = 0
    counter = 0
    while len(ref_lines) < segments:
        by_doc, systems = tables[turn % len(tables)]
        system = systems[(turn // len(tables)) % len(systems)]
        turn += 1
        for per_system in by_doc.values():
            if len(ref_lines) >= segments or system not in per_system:
                continue
            ref_doc, hyp_doc = [], []
            pending = ""
            for _, r, h in sorted(per_system[system]):
                ref_lines.append(r)
                hyp_lines.append(h)
                ref_doc.append(r)
                counter += 1
                if counter % drop_every == 0:
                    continue
                text = (pending + " " + h).strip() if pending else h
                if counter % merge_every == 0:
                    pending = text
                    continue
                pending = ""
                hyp_doc.append(text)
            if pending:
                hyp_doc.append(pending)
            ref_docs.append(ref_doc)
            hyp_docs.append(hyp_doc)
    return DocumentPair(
        ref_lines=ref_lines,
        hyp_lines=hyp_lines,
        ref_text="\n\n".join(" ".join(d) for d in ref_docs) + "\n",
        hyp_text="\n\n".join(" ".join(d) for d in hyp_docs) + "\n",
        docs=len(ref_docs),
    )
