"""Tabular renderers: ``segments.csv``, ``summary.json``, ``report.md`` and the terminal table."""

from __future__ import annotations

import csv
import heapq
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TextIO

from mtdrift.eval.results import BeadResult, Evaluation
from mtdrift.eval.summary import DIGITS, Summary, stat_row
from mtdrift.metrics.registry import MetricInfo

SEGMENT_COLUMNS: tuple[str, ...] = (
    "system", "bead", "kind", "ref_ids", "hyp_ids", "ref", "hyp",
    "semantic", "tokenmatch", "bleu", "chrf", "chrfpp", "ter",
    "fidelity", "drift", "reasons", "ref_spans", "hyp_spans", "doc_id", "seg_id",
)  # fmt: skip


def _num(x: float) -> str:
    return f"{x:.{DIGITS}f}"


def _ids(ids: tuple[int, ...]) -> str:
    return ";".join(str(i) for i in ids)


def _spans(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    return " | ".join(text[s:e] for s, e in spans)


def segment_columns(evaluation: Evaluation) -> list[str]:
    """:data:`SEGMENT_COLUMNS`, then one column per metric beyond the built-in ones (plug-ins,
    external scores), named after the metric."""
    return [*SEGMENT_COLUMNS, *(m.name for m in evaluation.extra)]


def segment_rows(evaluation: Evaluation) -> Iterator[list[Any]]:
    """One row per bead of every system, in :func:`segment_columns` order, as typed values
    (scores as floats, ids as ``0;1`` strings, ``""`` for a missing side); what
    :func:`segments_csv` writes and ``mtdrift.Result.segments`` holds."""
    keys = evaluation.keys
    extra = [m.name for m in evaluation.extra]
    for s in evaluation.systems:
        for b in s.beads:
            doc_id, seg_id = keys[b.ref_ids[0]] if keys is not None and b.ref_ids else ("", "")
            yield [
                s.system, b.index, b.kind, _ids(b.ref_ids), _ids(b.hyp_ids), b.ref, b.hyp,
                b.semantic, b.tokenmatch, b.bleu, b.chrf, b.chrfpp, b.ter, b.fidelity,
                b.drift, b.reason_text(), _spans(b.ref, b.ref_spans), _spans(b.hyp, b.hyp_spans),
                doc_id, seg_id, *(float(b.extra[m]) for m in extra),
            ]  # fmt: skip


def segments_csv(evaluation: Evaluation) -> str:
    """One row per bead of every system; scores with 6 decimals; empty string for a missing
    side (never ``nan``). Metrics beyond the built-in ones (plug-ins, external scores) follow
    :data:`SEGMENT_COLUMNS`, one column each, named after the metric."""
    buf = io.StringIO()
    write_segments_csv(evaluation, buf)
    return buf.getvalue()


def write_segments_csv(evaluation: Evaluation, out: TextIO) -> None:
    """:func:`segments_csv` written into ``out`` a row at a time (a Dask run's beads are read
    back from disk as they are written: the file is never held)."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(segment_columns(evaluation))
    for row in segment_rows(evaluation):
        w.writerow([_num(v) if isinstance(v, float) else v for v in row])


def summary(evaluation: Evaluation) -> dict[str, Any]:
    """The corpus-level summary as plain JSON-able data (:class:`~mtdrift.eval.summary.Summary`)."""
    return Summary.of(evaluation).to_json()


def summary_json(evaluation: Evaluation) -> str:
    """``summary.json``: indented, except that each bead's ids, label and statistics stay on
    one line."""
    buf = io.StringIO()
    write_summary_json(evaluation, buf)
    return buf.getvalue()


def write_summary_json(evaluation: Evaluation, out: TextIO) -> None:
    """:func:`summary_json` written into ``out`` piece by piece: the parts that grow with the
    corpus (the sentences, each bead's ids, label and statistics) are written as they are read,
    so that a Dask run's beads, read back from disk, are never held together."""
    doc = Summary.of(evaluation, per_bead=False).to_json()
    holes: list[tuple[Iterable[Any], bool]] = []  # (items, indented): generators, read when written

    def hole(items: Iterable[Any], *, indented: bool = False) -> str:
        holes.append((items, indented))
        return f"\x00{len(holes) - 1}\x00"

    doc["reference"]["sentences"] = hole((r.text for r in evaluation.ref_sentences), indented=True)
    for s, block in zip(evaluation.systems, doc["systems"], strict=True):
        block["segments"] = {
            "ref_ids": hole(list(b.ref_ids) for b in s.beads),
            "hyp_ids": hole(list(b.hyp_ids) for b in s.beads),
            "drift": hole(b.drift for b in s.beads),
            "hyp_sentences": hole((h.text for h in s.hyp_sentences), indented=True),
            "stats": {m: hole(stat_row(r.tolist()) for r in s.stats[m]) for m in sorted(s.stats)},
        }
    pieces = _HOLE.split(json.dumps(doc, indent=2, ensure_ascii=False))
    for k, piece in enumerate(pieces):
        if k % 2 == 0:
            out.write(piece)
            continue
        items, indented = holes[int(piece)]
        if indented:
            line = pieces[k - 1].rsplit("\n", 1)[-1]  # the key's line: its indent
            out.writelines(_indented(items, len(line) - len(line.lstrip(" "))))
        else:
            out.writelines(_one_line(items))
    out.write("\n")


_HOLE = re.compile(r'"\\u0000(\d+)\\u0000"')


def _one_line(items: Iterable[Any]) -> Iterator[str]:
    """A JSON list on one line, without spaces: ``[[0],[1,2]]``."""
    yield "["
    for k, x in enumerate(items):
        yield ("," if k else "") + json.dumps(x, separators=(",", ":"))
    yield "]"


def _indented(texts: Iterable[str], pad: int) -> Iterator[str]:
    """A JSON list of strings as ``json.dumps(..., indent=2, ensure_ascii=False)`` writes it
    inside an object whose keys are indented by ``pad``."""
    inner, empty = "\n" + " " * (pad + 2), True
    yield "["
    for text in texts:
        yield ("" if empty else ",") + inner + json.dumps(text, ensure_ascii=False)
        empty = False
    yield "]" if empty else "\n" + " " * pad + "]"


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans with overlapping or touching ones merged."""
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def mark_spans(
    text: str, spans: list[tuple[int, int]], *, escape: Callable[[str], str], open_: str, close: str
) -> str:
    """``text`` escaped, each (merged) span wrapped in ``open_`` ... ``close``."""
    out, pos = [], 0
    for s, e in merge_spans(spans):
        out += [escape(text[pos:s]), open_, escape(text[s:e]), close]
        pos = e
    out.append(escape(text[pos:]))
    return "".join(out)


def _mark(text: str, spans: list[tuple[int, int]]) -> str:
    """Wrap the (merged) spans of ``text`` in ``**``."""
    return mark_spans(text, spans, escape=_md_escape, open_="**", close="**")


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*").replace("\n", " ")


def bead_spans(b: BeadResult) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    ref = list(b.ref_spans) + [f.ref_span for f in b.reasons if f.ref_span]
    hyp = list(b.hyp_spans) + [f.hyp_span for f in b.reasons if f.hyp_span]
    return ref, hyp


def _severity_key(b: BeadResult) -> tuple[int, float, int]:
    return ({"major": 0, "minor": 1}.get(b.drift, 2), b.fidelity, b.index)


def corpus_rows(evaluation: Evaluation) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the corpus table (one row per system): every metric the evaluation
    carries, by its table name, then the counts."""
    metrics = evaluation.metrics
    counts = ["beads", "omitted", "added", "off-target", "major", "minor"]
    head = ["system", *(m.display for m in metrics), *counts]
    rows = []
    for s in evaluation.systems:
        c = s.counts()
        rows.append(
            [s.system]
            + [f"{s.corpus[m.name]:.{m.digits}f}" for m in metrics]
            + [str(len(s.beads)), str(c["beads"].get("omission", 0)), str(c["beads"].get("addition", 0)),
               str(c["reasons"]["off-target"]), str(c["drift"]["major"]), str(c["drift"]["minor"])]
        )  # fmt: skip
    return head, rows


def terminal_table(evaluation: Evaluation) -> str:
    """A short plain-text table of corpus scores and counts."""
    head, rows = corpus_rows(evaluation)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(r: list[str]) -> str:
        cells = zip(r, widths, strict=True)
        return "  ".join(c.rjust(w) if k else c.ljust(w) for k, (c, w) in enumerate(cells))

    table = [line(head), line(["-" * w for w in widths]), *(line(r) for r in rows)]
    return "\n".join([*table, language_line(evaluation)]) + "\n"


def language_line(evaluation: Evaluation) -> str:
    """``language: de (detected, p=1.00); BLEU tok:13a`` for the terminal and report.md."""
    lang = evaluation.config.language
    said = evaluation.config.lang if lang is None else lang.describe()
    tok = evaluation.signatures.get("bleu_corpus", "").split("|")
    tok_field = next((f for f in tok if f.startswith("tok:")), "tok:?")
    note = evaluation.config.encoder_note
    return f"language: {said}; BLEU {tok_field}" + ("" if note is None else f"; encoder {note}")


MD_MAX_BEADS = 5_000
"""Drifted beads (all systems) ``report.md`` lists, worst first; past this it says how many
more there are and where (``segments.csv``), instead of growing with the corpus."""


def report_md(evaluation: Evaluation) -> str:
    """The Markdown report: summary, then the beads that drifted, worst first, spans marked
    (at most :data:`MD_MAX_BEADS` in all, shared by the systems)."""
    head, rows = corpus_rows(evaluation)
    out = [
        "# mtdrift report",
        "",
        f"Reference: `{evaluation.ref_name}` ({len(evaluation.ref_sentences)} sentences); "
        f"{language_line(evaluation)}.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
        "BLEU, chrF, chrF++, TER: sacrebleu, 0-100 (TER lower is better), over all beads with "
        "omitted sentences scored against an empty candidate. semantic, tokenmatch, fidelity: 0-1 "
        "means over beads. Drifted spans are **bold**: tokens without a counterpart on the other "
        "side, changed names and numbers.",
        "",
        "![drift along the document](drift.png)",
        "",
    ]
    each = max(1, MD_MAX_BEADS // max(1, len(evaluation.systems)))
    for s in evaluation.systems:
        n_drifted = sum(1 for b in s.beads if b.drift != "none")
        drifted = heapq.nsmallest(each, (b for b in s.beads if b.drift != "none"), key=_severity_key)
        out += [f"## {s.system}: {n_drifted} of {len(s.beads)} beads drifted", ""]
        if len(drifted) < n_drifted:
            out += [
                f"The {len(drifted):,} worst are listed; the other {n_drifted - len(drifted):,} are in "
                "segments.csv (and segments.parquet).",
                "",
            ]
        out += [
            "| bead | kind | drift | fidelity | reasons | reference | candidate |",
            "|---|---|---|---|---|---|---|",
        ]
        for b in drifted:
            rs, hs = bead_spans(b)
            out.append(
                f"| {b.index} | {b.kind} | {b.drift} | {b.fidelity:.2f} | {_md_escape(b.reason_text())} "
                f"| {_mark(b.ref, rs) or '—'} | {_mark(b.hyp, hs) or '—'} |"
            )
        out.append("")
    out += ["## Signatures", ""]
    out += [f"- `{k}`: `{v}`" for k, v in sorted(evaluation.signatures.items())]
    return "\n".join(out) + "\n"


def metrics_text(infos: Sequence[MetricInfo]) -> str:
    """What ``mtdrift metrics`` prints: one line per metric, then its signature."""
    lines = []
    for m in infos:
        better = "higher" if m.higher_is_better else "lower"
        lines.append(f"{m.name:12} {m.source:8} {better} is better, {m.num_stats} stats/segment ({m.origin})")
        lines.append(f"{'':12} {m.signature or 'depends on the encoder (--model): see summary.json'}")
    plugins = sum(1 for m in infos if m.source == "plugin")
    lines.append(
        f"{len(infos) - plugins} built-in metric(s), {plugins} installed plug-in(s); "
        "--metric NAME computes a plug-in"
    )
    return "\n".join(lines) + "\n"
