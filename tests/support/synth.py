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

from mtdrift.eval.align import Bead

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
        docs = mqm_documents(path)
        tables.append((docs, sorted({s for d in docs for s in d})))
    turn = 0
    counter = 0
    while len(ref_lines) < segments:
        docs, systems = tables[turn % len(tables)]
        system = systems[(turn // len(tables)) % len(systems)]
        turn += 1
        for per_system in docs:
            if len(ref_lines) >= segments or system not in per_system:
                continue
            ref_doc, hyp_doc = [], []
            pending = ""
            for r, h in per_system[system]:
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


@dataclass(frozen=True)
class TextProblem:
    """An alignment problem as running text, with the gold on the data's own segments.

    Attributes:
        ref_text: the reference, one paragraph per document, segments joined by a space.
        hyp_text: the edited candidate, written the same way.
        ref_spans: character span of each reference segment in ``ref_text``.
        hyp_spans: character span of each candidate unit in ``hyp_text``.
        links: gold (reference segment, candidate unit) links; ``None`` for the missing side
            of an omission or an addition.
    """

    ref_text: str
    hyp_text: str
    ref_spans: list[tuple[int, int]]
    hyp_spans: list[tuple[int, int]]
    links: set[tuple[int | None, int | None]]


_FINAL = re.compile(r"[.!?…。\"”’')\]]$")


def text_problem(
    docs: Sequence[Sequence[tuple[str, str]]],
    *,
    rng: np.random.Generator,
    pool: Sequence[str],
    full_stop: bool,
    p: Perturbation | None = None,
) -> TextProblem:
    """Running-text problem from documents of (reference, candidate) segments, edited as the
    shared ``wmt23-dev`` problem was: a candidate segment dropped, merged with the next into
    one sentence (``A, and b``), split in two at a clause boundary, or a foreign sentence
    added. ``full_stop`` gives a segment without final punctuation a full stop (so segment and
    sentence boundaries agree); without it, such a segment (a headline, a title, a list item)
    ends its line, as in real text."""
    p = p or Perturbation(drop=0.06, merge=0.17, split=0.07, add=0.02)
    ref_parts: list[str] = []
    hyp_parts: list[str] = []
    ref_spans: list[tuple[int, int]] = []
    hyp_spans: list[tuple[int, int]] = []
    links: set[tuple[int | None, int | None]] = set()
    r_pos = h_pos = 0

    def fix(s: str) -> str:
        s = " ".join(s.split())
        return s + "." if full_stop and s and not _FINAL.search(s) else s

    for d, doc in enumerate(docs):
        if d:
            r_pos += 2
            h_pos += 2
            ref_parts.append("\n\n")
            hyp_parts.append("\n\n")
        units: list[tuple[str, list[int]]] = []
        k = 0
        segs = [(fix(r), fix(h)) for r, h in doc if r.strip() and h.strip()]
        first = len(ref_spans)
        for r, _ in segs:
            if ref_spans and ref_parts[-1] != "\n\n":
                ref_parts.append(" " if _FINAL.search(ref_parts[-1]) else "\n")
                r_pos += 1
            ref_spans.append((r_pos, r_pos + len(r)))
            ref_parts.append(r)
            r_pos += len(r)
        while k < len(segs):
            seg = first + k
            h = segs[k][1]
            u = rng.random()
            if pool and rng.random() < p.add:
                units.append((str(pool[int(rng.integers(len(pool)))]), []))
            if u < p.drop:
                links.add((seg, None))
            elif u < p.drop + p.merge and k + 1 < len(segs):
                nxt = segs[k + 1][1]
                units.append((h.rstrip(".!?…") + ", and " + nxt[:1].lower() + nxt[1:], [seg, seg + 1]))
                k += 1
            elif u < p.drop + p.merge + p.split and (two := split_in_two(h)):
                units.extend([(two[0], [seg]), (two[1], [seg])])
            else:
                units.append((h, [seg]))
            k += 1
        for j, (text, segs_of) in enumerate(units):
            if j:
                hyp_parts.append(" " if _FINAL.search(hyp_parts[-1]) else "\n")
                h_pos += 1
            unit = len(hyp_spans)
            hyp_spans.append((h_pos, h_pos + len(text)))
            hyp_parts.append(text)
            h_pos += len(text)
            for s in segs_of:
                links.add((s, unit))
            if not segs_of:
                links.add((None, unit))
    return TextProblem("".join(ref_parts) + "\n", "".join(hyp_parts) + "\n", ref_spans, hyp_spans, links)


def _covered(span: tuple[int, int], spans: Sequence[tuple[int, int]]) -> list[int]:
    """Segments that a bead's character span covers (as ``align_score.py`` counts them)."""
    out = []
    for k, (a, b) in enumerate(spans):
        ov = min(span[1], b) - max(span[0], a)
        if ov > 0 and ov >= min(20, 0.3 * (b - a)):
            out.append(k)
    return out


def link_scores(
    beads: Sequence[Bead],
    ref_sents: Sequence[tuple[int, int]],
    hyp_sents: Sequence[tuple[int, int]],
    problem: TextProblem,
) -> tuple[float, float, float]:
    """Link precision, recall and F1 of ``beads`` (over sentences with the character spans
    ``ref_sents``/``hyp_sents``) against the segment-level gold of ``problem``."""
    pred: set[tuple[int | None, int | None]] = set()
    for r, h in beads:
        rs: list[int | None] = []
        hs: list[int | None] = []
        if r:
            rs.extend(_covered((ref_sents[r[0]][0], ref_sents[r[-1]][1]), problem.ref_spans))
        if h:
            hs.extend(_covered((hyp_sents[h[0]][0], hyp_sents[h[-1]][1]), problem.hyp_spans))
        for a in rs or [None]:
            for b in hs or [None]:
                if a is not None or b is not None:
                    pred.add((a, b))
    tp = len(pred & problem.links)
    precision = tp / len(pred) if pred else 0.0
    recall = tp / len(problem.links) if problem.links else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def mqm_documents(path: Path, *, leave_out: str = "") -> list[dict[str, list[tuple[str, str]]]]:
    """Per document of an MQM JSON-lines file, per system, its (reference, candidate) segments
    in order. A document with a reference segment (over 30 characters, final full stop
    ignored) inside ``leave_out`` is left out: give it a held-out problem's whitespace-collapsed
    reference text."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    by_doc: dict[str, dict[str, list[tuple[int, str, str]]]] = {}
    for r in rows:
        by_doc.setdefault(r["doc_id"], {}).setdefault(r["system"], []).append(
            (int(r["seg_id"]), r["reference"], r["hypothesis"])
        )
    out = []
    for systems in by_doc.values():
        any_sys = next(iter(systems.values()))
        if leave_out and any(
            " ".join(ref.split()).rstrip(".") in leave_out for _, ref, _ in any_sys if len(ref) > 30
        ):
            continue
        out.append({s: [(r, h) for _, r, h in sorted(v)] for s, v in systems.items()})
    return out


SENTENCE_ENDS = re.compile(r"[.!?…。！？]")
"""What :func:`one_line` takes out of every word when asked for a line without sentence ends."""


def one_line(hyp: Path, corpus: Path, words: int, *, ends: bool = True) -> str:
    """A candidate of ``words`` words on one line, from real text: the words of ``hyp`` (the
    seed candidate), then those of each distinct ``hypothesis`` of the MQM JSONL ``corpus``
    in file order, joined by single spaces, cut after ``words`` words, ending with one newline.

    ``ends=False``: every ``.``, ``!``, ``?``, ``…``, ``。``, ``！`` and ``？`` is taken out of each
    word first (a word left empty is dropped), so the line holds no sentence end at all (issue 24's
    hostile input, 200,000 words, is ``one_line(HYP, ZHEN, 200_000)``, about 1.2 million characters).
    """
    out: list[str] = []

    def take(text: str) -> None:
        for w in text.split():
            w = w if ends else SENTENCE_ENDS.sub("", w)
            if w and len(out) < words:
                out.append(w)

    take(hyp.read_text(encoding="utf-8"))
    seen: set[str] = set()
    with gzip.open(corpus, "rt", encoding="utf-8") as fh:
        for row in fh:
            if len(out) >= words:
                break
            text = json.loads(row)["hypothesis"]
            if text not in seen:
                seen.add(text)
                take(text)
    if len(out) < words:
        raise ValueError(f"{corpus} holds {len(out)} words, fewer than the {words} asked for")
    return " ".join(out) + "\n"
