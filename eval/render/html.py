"""``report.html``: one self-contained file a reader explores offline, without a server.

Styles, script and the drift chart (SVG) are inline; nothing is fetched from anywhere. The
page holds the summary (scores with 95 % CIs, counts), the comparison table when there are
several systems, the drift along the document (one curve per system; a point links to its
bead), every bead side by side (reference left, candidate right, drifted spans marked,
omissions and additions shown with an empty, marked cell), filters (drift, kind, system), a
search box, sorting by any column, and the signatures. A pure function of the evaluation.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import replace

from mtdrift.eval.render.pairwise import significant
from mtdrift.eval.render.tables import bead_spans, corpus_rows, mark_spans
from mtdrift.eval.results import BeadResult, Evaluation
from mtdrift.metrics.significance import ALPHA, DEFAULT_PRIMARY, Comparison

_COLOURS = (
    "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#7f7f7f", "#bcbd22", "#e377c2",
    "#ff7f0e", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#d62728",
)  # fmt: skip

_CSS = """
:root { --major: #d62728; --minor: #f0a020; --add: #8e44ad; --ink: #222; --mute: #666; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0 auto; max-width: 1400px; padding: 16px 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 22px 0 8px; }
.sub { color: var(--mute); margin: 0 0 12px; }
table { border-collapse: collapse; }
.scores td, .scores th { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: right; }
.scores td:first-child, .scores th:first-child { text-align: left; }
.ci { color: var(--mute); font-size: 12px; }
.sig { color: #1f77b4; font-weight: 600; }
#chart svg { width: 100%; height: auto; border: 1px solid #eee; }
#chart circle { cursor: pointer; }
#chart .legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
#controls { position: sticky; top: 0; background: #fff; padding: 8px 0; border-bottom: 1px solid #ddd;
  z-index: 2; display: flex; gap: 12px; flex-wrap: wrap; align-items: center; }
#controls label { font-size: 13px; color: var(--mute); }
#beads { width: 100%; table-layout: fixed; }
#beads th { position: sticky; top: 46px; background: #f6f6f6; cursor: pointer; font-size: 12px;
  padding: 4px; border-bottom: 2px solid #ccc; text-align: left; }
#beads td { vertical-align: top; padding: 5px 6px; border-bottom: 1px solid #eee; font-size: 13px; }
#beads td.num { text-align: right; font-variant-numeric: tabular-nums; }
#beads tr.major td:first-child { border-left: 4px solid var(--major); }
#beads tr.minor td:first-child { border-left: 4px solid var(--minor); }
#beads tr.target { outline: 3px solid #1f77b4; }
mark { background: #ffe08a; padding: 0 1px; }
.missing { color: var(--major); font-style: italic; background: #fdecea; }
.added { color: var(--add); font-style: italic; background: #f4ecf7; }
.drift-major { color: var(--major); font-weight: 600; } .drift-minor { color: #b07000; }
.sigs { font: 12px/1.5 ui-monospace, monospace; color: var(--mute); word-break: break-all; }
@media print { #controls, #chart { display: none; } #beads th { position: static; }
  body { max-width: none; } }
"""

_JS = """
(function () {
  var table = document.getElementById('beads');
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var q = function (id) { return document.getElementById(id); };
  function apply() {
    var d = q('f-drift').value, k = q('f-kind').value, s = q('f-system').value;
    var text = q('f-search').value.toLowerCase();
    var shown = 0;
    rows.forEach(function (r) {
      var ok = (!d || r.dataset.drift === d) && (!k || r.dataset.kind === k) &&
               (!s || r.dataset.system === s) && (!text || r.textContent.toLowerCase().indexOf(text) >= 0);
      r.style.display = ok ? '' : 'none';
      if (ok) { shown += 1; }
    });
    q('shown').textContent = shown + ' of ' + rows.length + ' beads';
  }
  ['f-drift', 'f-kind', 'f-system', 'f-search'].forEach(function (id) {
    q(id).addEventListener('input', apply);
    q(id).addEventListener('change', apply);
  });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    th.addEventListener('click', function () {
      var asc = th.dataset.dir !== 'asc';
      th.dataset.dir = asc ? 'asc' : 'desc';
      var numeric = th.dataset.type === 'num';
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.v !== undefined ? a.cells[col].dataset.v : a.cells[col].textContent;
        var y = b.cells[col].dataset.v !== undefined ? b.cells[col].dataset.v : b.cells[col].textContent;
        if (numeric) { x = parseFloat(x); y = parseFloat(y); }
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      rows.forEach(function (r) { table.tBodies[0].appendChild(r); });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll('#chart circle'), function (c) {
    c.addEventListener('click', function () { go(c.dataset.target); });
  });
  function go(id) {
    var row = q(id);
    if (!row) { return; }
    if (row.style.display === 'none') {
      ['f-drift', 'f-kind', 'f-system'].forEach(function (f) { q(f).value = ''; });
      q('f-search').value = ''; apply();
    }
    Array.prototype.forEach.call(document.querySelectorAll('tr.target'), function (t) {
      t.classList.remove('target');
    });
    row.classList.add('target');
    row.scrollIntoView({block: 'center'});
    history.replaceState(null, '', '#' + id);
  }
  apply();
})();
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    return mark_spans(text, spans, escape=_e, open_="<mark>", close="</mark>")


def bead_id(system_index: int, bead: BeadResult) -> str:
    """The HTML id of a bead's row (stable: system position and bead index)."""
    return f"b{system_index}-{bead.index}"


def _summary(evaluation: Evaluation, comparison: Comparison | None, alpha: float) -> str:
    head, rows = corpus_rows(evaluation)
    out = ["<table class='scores'><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    # the first columns after the system are the evaluation's metrics, in order
    columns = [m.name for m in evaluation.metrics] + [""] * (len(head) - 1 - len(evaluation.metrics))
    compared = set(comparison.metrics) if comparison is not None else set()
    for s, row in zip(evaluation.systems, rows, strict=True):
        cells = [f"<td>{_e(row[0])}</td>"]
        for m, value in zip(columns, row[1:], strict=True):
            if comparison is None or m not in compared:
                cells.append(f"<td>{_e(value)}</td>")
                continue
            r = comparison.get(s.system, m)
            d = comparison.metric(m).digits
            shown = f"<span class='sig'>{_e(value)}*</span>" if significant(r, alpha) else _e(value)
            cells.append(f"<td>{shown}<br><span class='ci'>[{r.ci.low:.{d}f}, {r.ci.high:.{d}f}]</span></td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _chart(evaluation: Evaluation) -> str:
    width, height, pad = 1200.0, 300.0, 40.0
    n = max(len(evaluation.ref_sentences), 1)
    parts = [f"<svg viewBox='0 0 {width:.0f} {height:.0f}' xmlns='http://www.w3.org/2000/svg' role='img'>"]
    parts.append(f"<rect x='0' y='0' width='{width:.0f}' height='{height:.0f}' fill='white'/>")
    for level in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = height - pad - level * (height - 2 * pad)
        parts.append(f"<line x1='{pad}' x2='{width - 10}' y1='{y:.1f}' y2='{y:.1f}' stroke='#eee'/>")
        parts.append(
            f"<text x='{pad - 6}' y='{y + 4:.1f}' font-size='11' text-anchor='end' fill='#666'>"
            f"{level:.2f}</text>"
        )
    parts.append(
        f"<text x='{width / 2:.0f}' y='{height - 6:.0f}' font-size='12' text-anchor='middle' fill='#444'>"
        "reference sentence / segment</text>"
    )
    legend = []
    for k, s in enumerate(evaluation.systems):
        colour = _COLOURS[k % len(_COLOURS)]
        pts = []
        dots = []
        last = 0.0
        for b in s.beads:
            x_ref = sum(b.ref_ids) / len(b.ref_ids) if b.ref_ids else last + 0.5
            last = x_ref
            x = pad + (x_ref + 0.5) / n * (width - pad - 10)
            y = height - pad - b.fidelity * (height - 2 * pad)
            pts.append(f"{x:.1f},{y:.1f}")
            bad = b.drift == "major" or b.kind in ("omission", "addition")
            fill = "#d62728" if bad else ("#f0a020" if b.drift == "minor" else colour)
            title = f"{s.system} bead {b.index} ({b.kind}): fidelity {b.fidelity:.2f}, {b.drift}"
            if b.reasons:
                title += " · " + b.reason_text()
            dots.append(
                f"<circle cx='{x:.1f}' cy='{y:.1f}' r='{5 if bad else 3.5}' fill='{fill}' stroke='{colour}' "
                f"data-target='{bead_id(k, b)}'><title>{_e(title)}</title></circle>"
            )
        parts.append(f"<polyline points='{' '.join(pts)}' fill='none' stroke='{colour}' stroke-width='1.5'/>")
        parts += dots
        legend.append(f"<span style='color:{colour}'>&#9632; {_e(s.system)}</span>")
    parts.append("</svg>")
    legend.append("<span style='color:#d62728'>&#9679; major / omission / addition</span>")
    legend.append("<span style='color:#f0a020'>&#9679; minor</span>")
    return "".join(parts) + "<div class='legend'>" + "".join(legend) + "</div>"


_COLUMNS = (
    ("system", "text"), ("bead", "num"), ("kind", "text"), ("drift", "text"), ("fidelity", "num"),
    ("semantic", "num"), ("tokenmatch", "num"), ("BLEU", "num"), ("chrF", "num"), ("TER", "num"),
    ("reasons", "text"), ("reference", "text"), ("candidate", "text"),
)  # fmt: skip
_NUMS = 10  # the metrics' columns end here; further metrics (plug-ins, external scores) follow


def _columns(evaluation: Evaluation) -> tuple[tuple[str, str], ...]:
    """The bead table's columns: ``_COLUMNS`` with one more per metric beyond the built-in ones."""
    extra = tuple((m.display, "num") for m in evaluation.extra)
    return (*_COLUMNS[:_NUMS], *extra, *_COLUMNS[_NUMS:])


def _bead_rows(evaluation: Evaluation) -> str:
    out = []
    for k, s in enumerate(evaluation.systems):
        for b in s.beads:
            rs, hs = bead_spans(b)
            ref = _marked(b.ref, rs) if b.ref_ids else ""
            hyp = _marked(b.hyp, hs) if b.hyp_ids else ""
            ref_cell = (
                f"<td class='text'>{ref}</td>"
                if b.ref_ids
                else "<td class='text added'>(added: no reference)</td>"
            )
            hyp_cell = (
                f"<td class='text'>{hyp}</td>" if b.hyp_ids else "<td class='text missing'>(omitted)</td>"
            )
            nums = [(b.fidelity, 3), (b.semantic, 3), (b.tokenmatch, 3), (b.bleu, 1), (b.chrf, 1), (b.ter, 1)]
            nums += [(b.extra[m.name], m.digits) for m in evaluation.extra]
            out.append(
                f"<tr id='{bead_id(k, b)}' class='{b.drift}' data-system='{_e(s.system)}' "
                f"data-drift='{b.drift}' data-kind='{b.kind}'><td>{_e(s.system)}</td>"
                f"<td class='num' data-v='{b.index}'>{b.index}</td>"
                f"<td>{b.kind}</td><td class='drift-{b.drift}'>{b.drift}</td>"
                + "".join(_num_cell(v, d) for v, d in nums)
                + f"<td>{_e(b.reason_text())}</td>{ref_cell}{hyp_cell}</tr>"
            )
    return "\n".join(out)


HTML_MAX_BEADS = 5_000
"""Beads (all systems) the page shows, in the chart and the table; past this the page says
where the rest are (``segments.csv``), instead of growing to hundreds of megabytes."""


def _cut(evaluation: Evaluation) -> tuple[Evaluation, str]:
    """The evaluation with at most :data:`HTML_MAX_BEADS` beads in all, shared by the systems:
    each keeps its drifted beads first (``major``, then ``minor``), then its others from the
    start, shown in document order; and the note that says so (empty when nothing was cut)."""
    total = sum(len(s.beads) for s in evaluation.systems)
    if total <= HTML_MAX_BEADS:
        return evaluation, ""
    each = max(1, HTML_MAX_BEADS // len(evaluation.systems))
    shown = replace(
        evaluation, systems=tuple(replace(s, beads=_worst_first(s.beads, each)) for s in evaluation.systems)
    )
    kept = sum(len(s.beads) for s in shown.systems)
    note = (
        f"<p class='cut'><b>Showing {each:,} beads of each system ({kept:,} of {total:,})</b>: its "
        "drifted beads first (major, then minor), then the others from the start of the document; "
        "a page with every bead would be too large to open. Every bead is in segments.csv "
        "(and segments.parquet); the summary above covers all of them.</p>"
    )
    return shown, note


_DRIFT_RANK = {"major": 0, "minor": 1}


def _worst_first(beads: Sequence[BeadResult], n: int) -> tuple[BeadResult, ...]:
    """``n`` of ``beads``: the drifted ones first (major, then minor), then by position; in
    document order. One pass that holds at most ``n`` indices of each rank, not a sort of all."""
    if len(beads) <= n:
        return tuple(beads)
    ranks: list[list[int]] = [[], [], []]
    for k, b in enumerate(beads):
        kept = ranks[_DRIFT_RANK.get(b.drift, 2)]
        if len(kept) < n:
            kept.append(k)
    chosen = (ranks[0] + ranks[1] + ranks[2])[:n]
    return tuple(beads[k] for k in sorted(chosen))


def _options(values: list[str]) -> str:
    return "<option value=''>all</option>" + "".join(
        f"<option value='{_e(v)}'>{_e(v)}</option>" for v in values
    )


def report_html(
    evaluation: Evaluation,
    comparison: Comparison | None = None,
    *,
    primary: str = DEFAULT_PRIMARY,
    alpha: float = ALPHA,
    signatures: Mapping[str, str] | None = None,
) -> str:
    """The whole page as one string (UTF-8, no external references)."""
    sigs = dict(signatures if signatures is not None else evaluation.signatures)
    if comparison is not None:
        sigs["significance"] = comparison.resampling.signature().format()
    shown, cut_note = _cut(evaluation)
    systems = [s.system for s in evaluation.systems]
    by_kind: dict[str, int] = {}
    counts = {"major": 0, "minor": 0}
    for s in evaluation.systems:  # one pass: a Dask run's beads are read back from disk
        for b in s.beads:
            by_kind[b.kind] = by_kind.get(b.kind, 0) + 1
            if b.drift in counts:
                counts[b.drift] += 1
    kinds = sorted(by_kind)
    omitted, added = by_kind.get("omission", 0), by_kind.get("addition", 0)
    compare_html = ""
    if comparison is not None and len(systems) > 1:
        from mtdrift.eval.render.pairwise import wide_rows

        head, rows = wide_rows(comparison, primary, alpha)
        compare_html = (
            f"<h2>Comparison (sorted by {_e(comparison.metric(primary).display)}; * differs from the "
            "baseline "
            f"{_e(comparison.baseline)}, paired approximate randomization, Holm, p &lt; {alpha})</h2>"
            "<table class='scores'><thead><tr>"
            + "".join(f"<th>{_e(h)}</th>" for h in head)
            + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
            + "</tbody></table>"
        )
    columns = _columns(evaluation)
    head_cells = "".join(f"<th data-type='{t}'>{_e(n)}</th>" for n, t in columns)
    widths = {"system": 90, "bead": 44, "kind": 62, "drift": 52, "reasons": 150}
    colgroup = "".join(
        f"<col style='width:{widths.get(n, 72)}px'>" if n in widths or t == "num" else "<col>"
        for n, t in columns
    )
    lower = [m.display for m in evaluation.metrics if not m.higher_is_better]
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mtdrift report: {_e(evaluation.ref_name)}</title>
<style>{_CSS}</style></head>
<body>
<h1>mtdrift report</h1>
<p class="sub">Reference <code>{_e(evaluation.ref_name)}</code> ({len(evaluation.ref_sentences)} sentences),
{len(systems)} system(s). {counts["major"]} major and {counts["minor"]} minor drifts, {omitted} omissions,
{added} additions. 95 % bootstrap CIs under each score; {", ".join(lower)} lower is better.</p>
<h2>Summary</h2>
{_summary(evaluation, comparison, alpha)}
{compare_html}
<h2>Drift along the document</h2>
<div id="chart">{_chart(shown)}</div>
<h2>Beads</h2>
{cut_note}<div id="controls">
<label>drift <select id="f-drift">{_options(["major", "minor", "none"])}</select></label>
<label>kind <select id="f-kind">{_options(kinds)}</select></label>
<label>system <select id="f-system">{_options(systems)}</select></label>
<label>search <input id="f-search" type="search" placeholder="text, reason..."></label>
<span id="shown"></span>
</div>
<table id="beads"><colgroup>{colgroup}</colgroup><thead><tr>{head_cells}</tr></thead><tbody>
{_bead_rows(shown)}
</tbody></table>
<h2>Signatures</h2>
<div class="sigs">{"".join(f"<div><b>{_e(k)}</b>: {_e(v)}</div>" for k, v in sorted(sigs.items()))}</div>
<script>{_JS}</script>
</body></html>
"""
    return page


def _num_cell(value: float | None, digits: int) -> str:
    """A score's cell; empty when it was not computed (``tokenmatch`` without token vectors).

    The sort key ``data-v`` has 10 significant digits, not the float's full repr: the last bits
    of a score may differ between CPUs (numpy's ``exp`` and ``log`` take SIMD paths on some), and
    the page must be the same bytes on every machine."""
    if value is None:
        return "<td class='num'></td>"
    return f"<td class='num' data-v='{value:.10g}'>{value:.{digits}f}</td>"
