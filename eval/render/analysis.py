"""Renderers of an analysis (``eval.analyze``): tables as data, then JSON, Markdown, HTML and
plots, all from the same tables (compare-mt's reporters: one table, many renderings).

Nothing here computes a statistic or reads a file.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from mtdrift.eval.analyze import Analysis

Table = tuple[list[str], list[list[Any]]]
TABLES: tuple[str, ...] = (
    "word_accuracy",
    "sentence_buckets",
    "drift_buckets",
    "ngrams",
    "differences",
    "scatter",
)
TITLES = {
    "word_accuracy": "Word F-measure by reference frequency bucket",
    "sentence_buckets": "Sentence buckets: reference length, length difference, length ratio",
    "drift_buckets": "Beads by drift label and by reason",
    "ngrams": "N-grams one system matches and the other misses",
    "differences": "Where the two systems differ most",
    "scatter": "Per-unit scores of the two systems",
}


def tables(a: Analysis) -> dict[str, Table]:
    """Every table of ``a`` as ``(columns, rows)``; the pair-only tables are empty for one system."""
    metrics = [m for m in a.config.metrics if any(m in s.means for s in a.sentences)]
    out: dict[str, Table] = {
        "word_accuracy": (
            ["system", "bucket", "matches", "ref_words", "hyp_words", "recall", "precision", "fmeasure"],
            [[w.system, w.bucket, w.matches, w.ref_words, w.hyp_words, w.recall, w.precision, w.fmeasure]
             for w in a.words],
        ),
        "sentence_buckets": (
            ["system", "by", "bucket", "beads", *metrics],
            [[s.system, s.by, s.bucket, s.beads, *(s.means.get(m) for m in metrics)] for s in a.sentences],
        ),
        "drift_buckets": (
            ["system", "by", "bucket", "beads", "share", "examples"],
            [[d.system, d.by, d.bucket, d.beads, d.share, list(d.examples)] for d in a.drift],
        ),
        "ngrams": (
            ["better", "ngram", "score", f"matches_{a.systems[0]}", f"matches_{a.systems[-1]}"],
            [[g.better, g.ngram, g.score, g.matches_a, g.matches_b] for g in a.ngrams],
        ),
        "differences": (
            ["metric", "unit", "delta", f"score_{a.systems[0]}", f"score_{a.systems[-1]}", "ref",
             f"hyp_{a.systems[0]}", f"hyp_{a.systems[-1]}"],
            [[d.metric, d.unit, d.delta, d.score_a, d.score_b, d.ref, d.hyp_a, d.hyp_b]
             for d in a.differences],
        ),
        "scatter": (
            ["unit", "ref_ids", f"fidelity_{a.systems[0]}", f"fidelity_{a.systems[-1]}",
             f"drift_{a.systems[0]}", f"drift_{a.systems[-1]}"],
            [[u.index, ";".join(map(str, u.ref_ids)), u.scores[0].get("fidelity"),
              u.scores[1].get("fidelity"), u.drift[0], u.drift[1]] for u in a.units],
        ),
    }  # fmt: skip
    return out


def to_dict(a: Analysis) -> dict[str, Any]:
    """``analysis.json``: the systems, the signature, then each table as a list of records."""
    doc: dict[str, Any] = {"systems": list(a.systems), "signature": a.signature()}
    for name, (columns, rows) in tables(a).items():
        doc[name] = [dict(zip(columns, (_json(x) for x in row), strict=True)) for row in rows]
    return doc


def to_json(a: Analysis) -> str:
    return json.dumps(to_dict(a), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _json(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _cell(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:.4f}"
    if isinstance(x, list):
        return " · ".join(_short(str(v), 120) for v in x)
    return str(x)


def _short(text: str, n: int = 160) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def to_md(a: Analysis) -> str:
    """``analysis.md``: every table, pair-only ones only for a pair."""
    vs = f"`{a.systems[0]}` against `{a.systems[1]}`" if a.pair else f"`{a.systems[0]}` against the reference"
    out = ["# mtdrift analysis", "", f"{vs}. Signature: `{a.signature()}`", ""]
    for name, (columns, rows) in tables(a).items():
        if not rows or name == "scatter":
            continue
        out += [f"## {TITLES[name]}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for row in rows:
            out.append(
                "| "
                + " | ".join(_md(_cell(x) if isinstance(x, list) else _short(_cell(x), 300)) for x in row)
                + " |"
            )
        out.append("")
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_html(a: Analysis, plots: list[str] | None = None) -> str:
    """``analysis.html``: one self-contained page (plots referenced by file name)."""
    vs = f"{a.systems[0]} against {a.systems[1]}" if a.pair else f"{a.systems[0]} against the reference"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>mtdrift analysis</title>",
        "<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:1200px}"
        "table{border-collapse:collapse;margin:0 0 1.5em}td,th{border:1px solid #ddd;padding:2px 6px;"
        "vertical-align:top}th{background:#f4f4f4}td.n{text-align:right}code{font-size:12px}</style>",
        "</head><body>",
        f"<h1>mtdrift analysis: {html.escape(vs)}</h1>",
        f"<p><code>{html.escape(a.signature())}</code></p>",
    ]
    for p in plots or []:
        parts.append(f"<p><img src='{html.escape(p)}' alt='{html.escape(p)}' style='max-width:100%'></p>")
    for name, (columns, rows) in tables(a).items():
        if not rows or name == "scatter":
            continue
        parts.append(f"<h2 id='{name}'>{html.escape(TITLES[name])}</h2><table><tr>")
        parts += [f"<th>{html.escape(c)}</th>" for c in columns]
        parts.append("</tr>")
        for row in rows:
            cells = [
                f"<td class='n'>{html.escape(_cell(x))}</td>"
                if isinstance(x, int | float)
                else f"<td>{html.escape(_cell(x) if isinstance(x, list) else _short(_cell(x), 400))}</td>"
                for x in row
            ]
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def plot(a: Analysis, directory: Path) -> list[Path]:
    """``analysis_words.png`` (F-measure by bucket), ``analysis_lengths.png`` (mean score by
    reference-length bucket) and, for a pair, ``analysis_scatter.png`` (fidelity X against Y,
    coloured by the worse drift label of the two)."""
    from mtdrift.eval.render.figures.common import _esc, _figure, _save, _style

    out = []
    colours = ["#1f77b4", "#ff7f0e"]
    with _style():
        fig = _figure((7.5, 3.4))
        ax = fig.subplots()
        labels = list(dict.fromkeys(w.bucket for w in a.words))
        width = 0.8 / len(a.systems)
        for k, s in enumerate(a.systems):
            ys = [w.fmeasure for w in a.words if w.system == s]
            ax.bar(np.arange(len(labels)) + k * width, ys, width, label=_esc(s), color=colours[k])
        ax.set_xticks(np.arange(len(labels)) + width * (len(a.systems) - 1) / 2, labels, fontsize=8)
        ax.set_xlabel(f"word frequency in the {'reference' if a.freq_source == 'ref' else 'counts'}")
        ax.set_ylabel("F-measure (0-1)")
        ax.set_title("Word F-measure by frequency bucket (compare-mt's definition, on beads)", fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        _save(fig, directory / "analysis_words.png")
        out.append(directory / "analysis_words.png")

        metric = next((m for m in ("fidelity", "chrf") if any(m in s.means for s in a.sentences)), None)
        if metric is not None:
            fig = _figure((7.5, 3.4))
            ax = fig.subplots()
            for k, s in enumerate(a.systems):
                rows = [x for x in a.sentences if x.system == s and x.by == "ref_length"]
                ys = [float("nan") if (v := x.means.get(metric)) is None else v for x in rows]
                ax.plot(range(len(rows)), ys, marker="o", label=_esc(s), color=colours[k])
                ax.set_xticks(range(len(rows)), [x.bucket for x in rows], fontsize=8)
            ax.set_xlabel("reference length (words)")
            ax.set_ylabel(f"mean {metric}")
            ax.set_title(f"Mean sentence {metric} by reference length", fontsize=9)
            ax.legend(fontsize=8)
            fig.tight_layout()
            _save(fig, directory / "analysis_lengths.png")
            out.append(directory / "analysis_lengths.png")

        pts = [u for u in a.units if "fidelity" in u.scores[0] and "fidelity" in u.scores[1]]
        if a.pair and pts:
            order = {"none": 0, "minor": 1, "major": 2}
            drift_colour = {"none": "#9e9e9e", "minor": "#f0a030", "major": "#d62728"}
            fig = _figure((5.2, 5.0))
            ax = fig.subplots()
            for label in ("none", "minor", "major"):
                sel = [u for u in pts if max(u.drift, key=order.__getitem__) == label]
                ax.scatter(
                    [u.scores[0]["fidelity"] for u in sel],
                    [u.scores[1]["fidelity"] for u in sel],
                    s=10,
                    alpha=0.7,
                    color=drift_colour[label],
                    label=f"worse drift: {label} ({len(sel)})",
                )
            ax.plot([0, 1], [0, 1], color="#555555", lw=0.7, ls=(0, (2, 2)))
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.set_xlabel(_esc(f"fidelity of {a.systems[0]}"))
            ax.set_ylabel(_esc(f"fidelity of {a.systems[1]}"))
            ax.set_title("Fidelity per unit, coloured by the worse drift label", fontsize=9)
            ax.legend(fontsize=7, loc="lower right")
            fig.tight_layout()
            _save(fig, directory / "analysis_scatter.png")
            out.append(directory / "analysis_scatter.png")
    return out


def frame(a: Analysis, name: str) -> Any:
    """One table as a pandas DataFrame.

    Raises:
        ValueError: an unknown table name.
    """
    import pandas as pd

    if name not in TABLES:
        raise ValueError(f"unknown analysis {name!r}; known: {', '.join(TABLES)}")
    columns, rows = tables(a)[name]
    return pd.DataFrame(rows, columns=columns)
