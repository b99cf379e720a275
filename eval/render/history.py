"""The history of a system, drawn and tabulated from one :class:`~mtdrift.eval.history.Trend`:
``history.png`` (one panel per metric, one line per system over the runs, the 95 % intervals
as a band, significant steps marked with their labels, breaks as dashed lines naming the
fields that changed), ``history.md`` (the last runs and their steps) and a self-contained
``history.html`` (the picture inlined, the same tables). Nothing here computes a score."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from mtdrift.eval.history import Step, StepTest, Trend
from mtdrift.eval.regression import format_p

LAST = 20  # runs in the tables of history.md and history.html
_GREEN = "#2ca02c"


def _digits(trend: Trend, metric: str) -> int:
    return (
        2
        if any(abs(r.systems[s].corpus.get(metric, 0.0)) > 1.5 for r in trend.runs for s in r.systems)
        else 4
    )


def _step_text(trend: Trend, s: Step, t: StepTest) -> str:
    d = _digits(trend, t.metric)
    p = "" if t.p_holm is None else f", {format_p(t.p_holm)}"
    return f"{t.system} {trend.display[t.metric]} {t.before:.{d}f} -> {t.after:.{d}f} ({t.delta:+.{d}f}{p})"


def step_summary(trend: Trend, s: Step) -> str:
    """One line per step: ``break: ...``, ``significant: ...`` or ``no significant change``."""
    if s.breaks:
        return "break (not comparable): " + "; ".join(s.breaks)
    sig = [t for t in s.significant if t.metric in trend.metrics]
    if sig:
        return "significant: " + "; ".join(
            f"{'better' if t.better else 'worse'} {_step_text(trend, s, t)}" for t in sig
        )
    if not s.tests:
        return "no system in both runs"
    if all(t.p_holm is None for t in s.tests):
        return "not tested (no segment statistics)"
    return "no significant change"


def history_md(trend: Trend, *, last: int = LAST) -> str:
    """``history.md``: the last runs (scores per system and metric) and what each step did."""
    runs = list(enumerate(trend.runs))[-last:]
    out = [
        "# mtdrift history",
        "",
        f"{len(trend.runs)} run(s) of `{trend.source}`"
        + (f", the last {len(runs)} below" if len(runs) < len(trend.runs) else "")
        + f". Steps: paired approximate-randomization test on the stored statistics, Holm-corrected "
        f"over each system's metrics, alpha {trend.alpha}; a break is a change of signature or reference.",
        "",
        "![history](history.png)",
        "",
    ]
    cols = [(s, m) for s in trend.systems for m in trend.metrics]
    many = len(trend.systems) > 1
    head = ["#", "label", "time", *(f"{s} {trend.display[m]}" if many else trend.display[m] for s, m in cols)]
    out += ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for k, r in runs:
        cells = [str(k + 1), _md(r.label), r.time]
        for s, m in cols:
            sys = r.systems.get(s)
            cells.append(
                "" if sys is None or m not in sys.corpus else f"{sys.corpus[m]:.{_digits(trend, m)}f}"
            )
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "## Steps", "", "| from | to | what happened |", "|---|---|---|"]
    for st in trend.steps[-(last - 1) :] if last > 1 else []:
        what = step_summary(trend, st)
        out.append(
            f"| {_md(trend.runs[st.before].label)} | {_md(trend.runs[st.after].label)} | {_md(what)} |"
        )
    if trend.warnings:
        out += ["", "## Skipped lines", "", *(f"- {_md(w)}" for w in trend.warnings)]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def plot_history(trend: Trend, path: Path) -> None:
    """``history.png``: one panel per metric; x is the run, labelled."""
    from mtdrift.eval.render.figures.common import (
        _RED,
        _SYSTEM_COLOURS,
        _esc,
        _figure,
        _save,
        _shorten,
        _style,
    )

    n = len(trend.metrics)
    xs = list(range(len(trend.runs)))
    width = min(16.0, max(8.0, 0.9 * len(xs) + 4))
    with _style():
        fig = _figure((width, 1.0 + 2.0 * n))
        axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
        # the runs between breaks: each piece is drawn on its own, never joined across a break
        cuts = [s.after for s in trend.breaks]
        pieces = [range(a, b) for a, b in zip([0, *cuts], [*cuts, len(xs)], strict=True)]
        for ax, metric in zip(axes, trend.metrics, strict=True):
            for k, system in enumerate(trend.systems):
                colour = _SYSTEM_COLOURS[k % len(_SYSTEM_COLOURS)]
                label: str | None = _esc(system)
                for piece in pieces:
                    pts = [
                        (x, trend.runs[x].systems[system]) for x in piece if system in trend.runs[x].systems
                    ]
                    pts = [(x, s) for x, s in pts if metric in s.corpus]
                    if not pts:
                        continue
                    px = [x for x, _ in pts]
                    ax.plot(
                        px, [s.corpus[metric] for _, s in pts], "-o", color=colour, ms=4, lw=1.6, label=label
                    )
                    label = None
                    band = [(x, s.ci[metric]) for x, s in pts if s.ci and metric in s.ci]
                    if len(band) == 1:  # a run alone between breaks: its interval as an error bar
                        (x, (lo1, hi1)), y = band[0], pts[0][1].corpus[metric]
                        ax.errorbar([x], [y], yerr=[[y - lo1], [hi1 - y]], color=colour, alpha=0.4, capsize=3)
                    elif band:
                        bx, lo, hi = [x for x, _ in band], [c[0] for _, c in band], [c[1] for _, c in band]
                        ax.fill_between(bx, lo, hi, color=colour, alpha=0.15, lw=0)
            for s in trend.steps:
                for t in s.significant:
                    if t.metric != metric:
                        continue
                    colour = _GREEN if t.better else _RED
                    ax.plot([s.after], [t.after], "^" if t.delta > 0 else "v", color=colour, ms=11, zorder=5)
                    ax.annotate(
                        _esc(_shorten(trend.runs[s.after].label, 18)),
                        (s.after, t.after),
                        xytext=(6, 8 if t.delta > 0 else -14),
                        textcoords="offset points",
                        fontsize=8,
                        color=colour,
                        fontweight="bold",
                    )
            for s in trend.breaks:
                ax.axvline(s.before + 0.5, color="#555555", ls="--", lw=1.2)
            ax.set_ylabel(
                _esc(trend.display[metric]) + ("" if trend.higher_is_better[metric] else " (lower better)")
            )
            ax.grid(alpha=0.3)
        top = axes[0]
        for st in trend.breaks:
            right = st.before + 0.5 < len(xs) / 2  # the text on the roomier side of the line
            note = top.annotate(
                _esc(break_label(st)),
                (st.before + 0.5, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(0, 3),
                textcoords="offset points",
                ha="left" if right else "right",
                va="bottom",
                fontsize=7.5,
                color="#555555",
            )
            note.set_in_layout(False)
        if top.get_legend_handles_labels()[1]:
            top.legend(loc="lower left", fontsize=8, frameon=False)
        last = axes[-1]
        last.set_xticks(xs)
        last.set_xticklabels(
            [_esc(_shorten(r.label, 16)) for r in trend.runs], rotation=30, ha="right", fontsize=8
        )
        last.set_xlim(-0.5, len(xs) - 0.5)
        title = (
            f"{len(trend.runs)} runs · ▲▼ significant step (paired AR, Holm, alpha {trend.alpha}) · "
            "band: 95 % CI · dashed: break"
        )
        height = fig.get_figheight()
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / height))  # room for the break labels
        fig.suptitle(title, fontsize=9, y=1 - 0.1 / height, va="top")
        _save(fig, path)


def break_label(st: Step, shown: int = 2) -> str:
    """``break: semantic.model, fidelity.model +10``: the changed fields, models first."""
    fields = sorted(st.fields, key=lambda f: (not f.endswith(".model"), not f.startswith("semantic")))
    more = f" +{len(fields) - shown}" if len(fields) > shown else ""
    return f"break: {', '.join(fields[:shown])}{more}"


def history_html(trend: Trend, png: bytes, *, last: int = LAST) -> str:
    """``history.html``: one file, the picture inlined as a data URI, the tables of
    ``history.md``; no script, no external resource."""
    e = html.escape
    cols = [(s, m) for s in trend.systems for m in trend.metrics]
    many = len(trend.systems) > 1
    head = ["#", "label", "time", *(f"{s} {trend.display[m]}" if many else trend.display[m] for s, m in cols)]
    rows = []
    for k, r in list(enumerate(trend.runs))[-last:]:
        cells = [str(k + 1), r.label, r.time]
        for s, m in cols:
            sys = r.systems.get(s)
            cells.append(
                "" if sys is None or m not in sys.corpus else f"{sys.corpus[m]:.{_digits(trend, m)}f}"
            )
        rows.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
    steps = []
    for st in trend.steps[-(last - 1) :] if last > 1 else []:
        text = step_summary(trend, st)
        cls = "break" if st.breaks else ("sig" if text.startswith("significant") else "")
        before, after = e(trend.runs[st.before].label), e(trend.runs[st.after].label)
        steps.append(f'<tr class="{cls}"><td>{before}</td><td>{after}</td><td>{e(text)}</td></tr>')
    warn = "".join(f"<li>{e(w)}</li>" for w in trend.warnings)
    img = base64.b64encode(png).decode("ascii")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mtdrift history</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;max-width:80em}}
table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.25em .5em;text-align:left}}
tr.break td{{background:#eee}}tr.sig td{{background:#fff4d6}}img{{max-width:100%}}
</style></head><body>
<h1>mtdrift history</h1>
<p>{len(trend.runs)} run(s) of <code>{e(trend.source)}</code>. Steps: paired approximate-randomization test on
the stored statistics, Holm-corrected over each system's metrics, alpha {trend.alpha}; a break is a change of
signature or reference.</p>
<img alt="history" src="data:image/png;base64,{img}">
<h2>Runs</h2>
<table><tr>{"".join(f"<th>{e(h)}</th>" for h in head)}</tr>{"".join(rows)}</table>
<h2>Steps</h2>
<table><tr><th>from</th><th>to</th><th>what happened</th></tr>{"".join(steps)}</table>
{f"<h2>Skipped lines</h2><ul>{warn}</ul>" if warn else ""}
</body></html>
"""


def write_history(trend: Trend, out: Path) -> list[Path]:
    """Write ``history.png``, ``history.html`` and ``history.md`` into ``out`` (which exists)."""
    png = out / "history.png"
    plot_history(trend, png)
    paths = [png, out / "history.html", out / "history.md"]
    paths[1].write_text(history_html(trend, png.read_bytes()), encoding="utf-8")
    paths[2].write_text(history_md(trend), encoding="utf-8")
    return paths
