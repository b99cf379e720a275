"""Figures of an evaluation: fidelity along the reference and the sentence alignment.

Everything is drawn with matplotlib's object API (:class:`~matplotlib.figure.Figure` on an
Agg canvas): no pyplot, no global backend, so it works headless and side by side with
whatever backend the caller uses. Output is byte-for-byte reproducible: fixed size, dpi,
style and fonts, and no time stamp or software version in the PNG metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import matplotlib.style
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.textpath import TextToPath
from matplotlib.ticker import Locator, MaxNLocator, MultipleLocator

from mtdrift.eval.run import BeadResult, Evaluation, SystemResult
from mtdrift.eval.segment import Sentence
from mtdrift.metrics.lexical import LEXICAL_METRICS
from mtdrift.metrics.registry import MEAN_METRICS
from mtdrift.metrics.significance import Comparison

DPI = 120
"""Resolution of every figure (pixels per inch)."""

DRIFT_SIZE = (12.0, 5.0)
LABEL_CHARS = 34
"""Reason labels longer than this are cut and end with an ellipsis."""

# PNG text chunks matplotlib would otherwise write ("Software: Matplotlib version...").
_PNG_METADATA: dict[str, str | None] = {"Software": None}

_SYSTEM_COLOURS = (
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
    "#e377c2",
)
_RED = "#d62728"
_AMBER = "#f0a020"
_PURPLE = "#8e44ad"
_PATH = "#ff7f0e"
_LABEL_SIZE = 7.5
_DENSE_BEADS = 80
# Beyond this many systems, or beads per system with several systems, drift.png shows one
# smoothed fidelity curve per system (markers and labels would hide each other).
_MANY_SYSTEMS = 4
_MANY_BEADS = 150
_MANY_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
)  # fmt: skip
_LABEL_LEVELS = (0.44, 0.32, 0.20, 0.08)
"""Heights (data, 0-1) of the rows that reason labels are put in, tried in this order."""


def plot_drift(evaluation: Evaluation, path: Path) -> None:
    """Draw fidelity along the reference document for every system into ``path`` (PNG).

    The x axis runs over the reference sentences (a bead sits at the mean of its reference
    ids; an added bead between its neighbours); the y axis is fidelity, 0-1. Each system
    has a colour; the combined ``fidelity`` is a solid line, semantic fidelity (sentence
    cosine) a dashed one and lexical fidelity (chrF / 100) a dotted one. Omissions are red
    downward triangles at 0 over a red band, additions purple upward triangles, major
    drifts red rings, each labelled with its first reason; minor and major beads are
    shaded (for one system) or shown on a strip per system above the curves (for several).

    Args:
        evaluation: what to draw.
        path: the PNG file to write.
    """
    with _style():
        fig = _figure(DRIFT_SIZE)
        ax = fig.add_axes((0.055, 0.22, 0.885, 0.66))
        _draw_drift(fig, ax, evaluation)
        _save(fig, path)


def plot_alignment(system: SystemResult, ref_sentences: Sequence[Sentence], path: Path) -> None:
    """Draw the reference × candidate similarity matrix and the chosen alignment into ``path``.

    Rows are reference sentences and columns candidate sentences; each bead's cells are
    outlined and a line runs through the bead centres. Omitted reference sentences get a
    red marker at the left edge and a red row band; added candidate sentences a purple
    marker at the top and a purple column band. In aligned mode (no similarity matrix) a
    small figure says that the input was line-aligned.

    Args:
        system: the candidate's result.
        ref_sentences: the reference's sentences (rows of the matrix).
        path: the PNG file to write.
    """
    with _style():
        if system.similarity is None:
            _draw_line_aligned(system, len(ref_sentences), path)
            return
        sim = np.asarray(system.similarity, dtype=np.float64)
        n_ref, n_hyp = sim.shape
        side = 7.5
        scale = side / max(n_ref, n_hyp, 1)
        width = min(max(n_hyp * scale, 3.5), side) + 2.6
        height = min(max(n_ref * scale, 3.5), side) + 2.0
        fig = _figure((width, height))
        left, right = 1.0 / width, 1.0 - 1.5 / width
        bottom, top = 0.7 / height, 1.0 - 1.3 / height
        ax = fig.add_axes((left, bottom, right - left, top - bottom))
        cax = fig.add_axes((right + 0.25 / width, bottom, 0.18 / width, top - bottom))
        _draw_alignment(fig, ax, cax, system, sim)
        _save(fig, path)


def write_plots(evaluation: Evaluation, out_dir: Path) -> list[Path]:
    """Write ``drift.png`` and ``alignment.png`` into ``out_dir`` (created if missing).

    ``alignment.png`` shows the first system; with several systems every system also gets
    ``alignment-<system>.png`` (the name reduced to letters, digits, ``.``, ``_`` and ``-``).

    Args:
        evaluation: what to draw.
        out_dir: the folder to write into.

    Returns:
        The paths written, ``drift.png`` first.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "drift.png"]
    plot_drift(evaluation, written[0])
    systems = evaluation.systems
    if not systems:
        return written
    first = out_dir / "alignment.png"
    plot_alignment(systems[0], evaluation.ref_sentences, first)
    written.append(first)
    if len(systems) > 1 and not evaluation.config.aligned:
        used: set[str] = set()
        for system in systems:
            stem = _file_stem(system.system, used)
            p = out_dir / f"alignment-{stem}.png"
            plot_alignment(system, evaluation.ref_sentences, p)
            written.append(p)
    return written


# --- drift ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Note:
    """A reason label to place: anchored at (x, y), drawn in ``colour``; lower ``priority``
    is placed first."""

    x: float
    y: float
    text: str
    colour: str
    priority: float


def _many(evaluation: Evaluation) -> bool:
    systems = evaluation.systems
    return len(systems) > _MANY_SYSTEMS or (
        len(systems) > 1 and max(len(s.beads) for s in systems) > _MANY_BEADS
    )


def _draw_drift_many(fig: Figure, ax: Axes, evaluation: Evaluation) -> None:
    """One smoothed fidelity curve per system: a centred rolling mean over ``w`` beads."""
    systems = evaluation.systems
    n_ref = len(evaluation.ref_sentences)
    legend_rows = -(-len(systems) // 3)
    bottom = min(0.5, 0.1 + 0.034 * legend_rows)  # room for the legend under the x label
    ax.set_position((0.055, bottom, 0.885, 0.88 - bottom))
    longest = max(len(s.beads) for s in systems)
    w = max(1, min(25, longest // 40 * 2 + 1))
    kernel = np.ones(w) / w
    for k, system in enumerate(systems):
        xs = np.asarray(_bead_positions(system.beads))
        fid = np.asarray([b.fidelity for b in system.beads], dtype=np.float64)
        if len(fid) >= w:
            counts = np.convolve(np.ones_like(fid), kernel, mode="same")
            smooth = np.convolve(fid, kernel, mode="same") / counts
        else:
            smooth = fid
        colour = _MANY_COLOURS[k % len(_MANY_COLOURS)]
        ax.plot(xs, smooth, color=colour, lw=1.2, alpha=0.9, zorder=3,
                label=_esc(f"{system.system}: {_scores(system)}"))  # fmt: skip
    cfg = evaluation.config.drift_config
    for level, name in ((cfg.minor_below, "minor"), (cfg.major_below, "major")):
        ax.axhline(level, color="#999999", lw=0.8, ls=(0, (1, 3)), zorder=1)
        ax.text(n_ref - 0.5, level, f" {name} < {level:.2f}", color="#777777", fontsize=7,
                va="center", ha="left", clip_on=False)  # fmt: skip
    ax.set_xlim(-0.5, max(n_ref - 0.5, 0.5))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("reference segment" if evaluation.keys is not None else "reference sentence")
    ax.set_ylabel("fidelity (0–1)")
    ax.xaxis.set_major_locator(_index_locator(n_ref, every_up_to=32))
    ax.grid(axis="y", color="#eeeeee", lw=0.6, zorder=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(
        _esc(f"Drift along the reference · {len(systems)} systems · fidelity, rolling mean over {w} beads"),
        fontsize=11, loc="left", pad=16,
    )  # fmt: skip
    ax.text(0.0, 1.01, _esc(f"reference: {evaluation.ref_name} ({n_ref} segments)"),
            transform=ax.transAxes, fontsize=7.5, color="#555555", va="bottom", ha="left")  # fmt: skip
    fig.legend(loc="lower center", ncol=3, fontsize=7, frameon=False, bbox_to_anchor=(0.5, 0.0))


def _draw_drift(fig: Figure, ax: Axes, evaluation: Evaluation) -> None:
    if _many(evaluation):
        _draw_drift_many(fig, ax, evaluation)
        return
    systems = evaluation.systems
    n_ref = len(evaluation.ref_sentences)
    several = len(systems) > 1
    positions = [_bead_positions(s.beads) for s in systems]
    xs_all = [x for pos in positions for x in pos]
    x_lo = min([-0.5, *(x - 0.5 for x in xs_all)])
    x_hi = max([n_ref - 0.5, x_lo + 1.0, *(x + 0.5 for x in xs_all)])
    strip = 0.055  # height of one system's drift strip (data units) when several systems
    y_top = 1.03 + (strip * len(systems) + 0.02 if several else 0.0)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(-0.06, y_top)

    cfg = evaluation.config.drift_config
    for level, name in ((cfg.minor_below, "minor"), (cfg.major_below, "major")):
        ax.axhline(level, color="#999999", lw=0.8, ls=(0, (1, 3)), zorder=1)
        ax.text(
            x_hi,
            level,
            f" {name} < {level:.2f}",
            color="#777777",
            fontsize=7,
            va="center",
            ha="left",
            clip_on=False,
        )

    notes: list[_Note] = []
    for k, (system, xs) in enumerate(zip(systems, positions, strict=True)):
        colour = _SYSTEM_COLOURS[k % len(_SYSTEM_COLOURS)]
        jitter = (k - (len(systems) - 1) / 2) * 0.12 if several else 0.0
        if several:
            _drift_strip(
                ax,
                system,
                xs,
                y=1.03 + 0.02 + strip * (len(systems) - 1 - k),
                height=strip,
                colour=colour,
            )
        else:
            _drift_shading(ax, system, xs)
        notes += _drift_series(ax, system, xs, colour=colour, jitter=jitter, several=several)

    left_out = _place_notes(fig, ax, notes)

    ax.set_xlabel("reference sentence")
    ax.set_ylabel("fidelity (0–1)")
    ax.set_yticks(np.linspace(0.0, 1.0, 6))
    ax.xaxis.set_major_locator(_index_locator(n_ref, every_up_to=32))
    ax.grid(axis="y", color="#eeeeee", lw=0.6, zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)

    if several:
        title = f"Drift along the reference · {len(systems)} systems"
    elif systems:
        title = f"Drift along the reference · {systems[0].system}: {_scores(systems[0])}"
    else:
        title = "Drift along the reference · no systems"
    ax.set_title(_esc(title), fontsize=11, loc="left", pad=16)
    subtitle = f"reference: {evaluation.ref_name} ({n_ref} sentences)"
    if left_out:
        subtitle += f" · {left_out} reason label{'s' if left_out > 1 else ''} left out for space"
    ax.text(
        0.0,
        1.01,
        _esc(subtitle),
        transform=ax.transAxes,
        fontsize=7.5,
        color="#555555",
        va="bottom",
        ha="left",
    )
    _drift_legend(fig, systems)


def _bead_positions(beads: Sequence[BeadResult]) -> list[float]:
    """x of every bead: the mean of its reference ids; additions spread between neighbours."""
    xs: list[float | None] = [float(np.mean(b.ref_ids)) if b.ref_ids else None for b in beads]
    out: list[float] = []
    k = 0
    while k < len(xs):
        x = xs[k]
        if x is not None:
            out.append(x)
            k += 1
            continue
        end = k
        while end < len(xs) and xs[end] is None:
            end += 1
        prev = out[-1] if out else None
        nxt = xs[end] if end < len(xs) else None
        if prev is None and nxt is None:
            prev, nxt = -1.0, float(end - k)
        elif prev is None:
            assert nxt is not None
            prev = nxt - 1.0
        elif nxt is None:
            nxt = prev + 1.0
        run = end - k
        out += [prev + (nxt - prev) * (i + 1) / (run + 1) for i in range(run)]
        k = end
    return out


def _bead_extent(bead: BeadResult, x: float) -> tuple[float, float]:
    if bead.ref_ids:
        return min(bead.ref_ids) - 0.5, max(bead.ref_ids) + 0.5
    return x - 0.25, x + 0.25


def _drift_shading(ax: Axes, system: SystemResult, xs: Sequence[float]) -> None:
    for bead, x in zip(system.beads, xs, strict=True):
        lo, hi = _bead_extent(bead, x)
        if bead.kind == "omission":
            ax.axvspan(lo, hi, color=_RED, alpha=0.16, lw=0, zorder=0.5)
        elif bead.kind == "addition":
            ax.axvspan(lo, hi, color=_PURPLE, alpha=0.14, lw=0, zorder=0.5)
        elif bead.drift == "major":
            ax.axvspan(lo, hi, color=_RED, alpha=0.11, lw=0, zorder=0.5)
        elif bead.drift == "minor":
            ax.axvspan(lo, hi, color=_AMBER, alpha=0.12, lw=0, zorder=0.5)


def _drift_strip(
    ax: Axes, system: SystemResult, xs: Sequence[float], *, y: float, height: float, colour: str
) -> None:
    """One row of cells above the curves: the drift of each bead of one system."""
    ax.axhspan(y, y + height * 0.8, color="#f4f4f4", lw=0, zorder=0.5)
    for bead, x in zip(system.beads, xs, strict=True):
        lo, hi = _bead_extent(bead, x)
        if bead.kind == "omission":
            fill, alpha = _RED, 0.9
        elif bead.kind == "addition":
            fill, alpha = _PURPLE, 0.9
        elif bead.drift == "major":
            fill, alpha = _RED, 0.45
        elif bead.drift == "minor":
            fill, alpha = _AMBER, 0.5
        else:
            continue
        ax.add_patch(Rectangle((lo, y), hi - lo, height * 0.8, color=fill, alpha=alpha, lw=0, zorder=0.6))
    ax.text(
        ax.get_xlim()[0],
        y + height * 0.4,
        _esc(f"{system.system} "),
        color=colour,
        fontsize=7,
        ha="right",
        va="center",
        clip_on=False,
    )


def _drift_series(
    ax: Axes,
    system: SystemResult,
    xs: Sequence[float],
    *,
    colour: str,
    jitter: float,
    several: bool,
) -> list[_Note]:
    """Curves and markers of one system; returns the labels still to place."""
    beads = system.beads
    aligned = [bool(b.ref_ids and b.hyp_ids) for b in beads]
    x = np.asarray(xs, dtype=np.float64)

    def series(values: list[float]) -> np.ndarray:
        return np.asarray([v if a else np.nan for v, a in zip(values, aligned, strict=True)])

    sem = series([b.semantic for b in beads])
    lex = series([b.chrf / 100.0 for b in beads])
    fid = series([b.fidelity for b in beads])
    dense = len(beads) > _DENSE_BEADS  # long documents: thinner lines, smaller markers
    thin = 0.8 if dense else 1.1
    small = 1.4 if dense else 2.8
    ax.plot(
        x,
        sem,
        color=colour,
        lw=thin,
        ls=(0, (5, 2)),
        marker="s",
        ms=small,
        alpha=0.6 if dense else 0.75,
        zorder=3,
    )
    ax.plot(
        x,
        lex,
        color=colour,
        lw=thin,
        ls=(0, (1, 1.5)),
        marker="D",
        ms=small * 0.93,
        alpha=0.6 if dense else 0.75,
        zorder=3,
    )
    ax.plot(x, fid, color=colour, lw=1.5 if dense else 2.0, marker="o", ms=2.5 if dense else 4, zorder=4)

    notes: list[_Note] = []
    note_colour = colour if several else "#8b1a1a"
    omit_x: list[float] = []
    add_x: list[float] = []
    for group in _runs(beads):
        first = beads[group[0]]
        gx = [xs[i] for i in group]
        if first.kind in ("omission", "addition"):
            (omit_x if first.kind == "omission" else add_x).extend(gx)
            noun = "omission" if first.kind == "omission" else "addition"
            n = len(group)
            text = noun if n == 1 else f"{noun} ({n} sentences)"
            notes.append(_Note(float(np.mean(gx)), 0.0, text, note_colour, -float(n)))
        else:
            for i in group:
                b = beads[i]
                if b.drift == "major":
                    text = _shorten(b.reasons[0].label() if b.reasons else "major drift")
                    notes.append(_Note(xs[i], b.fidelity, text, note_colour, 1.0 + b.fidelity))
    major = [i for i, b in enumerate(beads) if aligned[i] and b.drift == "major"]
    if major:
        ax.plot(
            x[major],
            fid[major],
            ls="none",
            marker="o",
            ms=10,
            mfc="none",
            mec=_RED,
            mew=1.6,
            zorder=5,
        )
    edge = colour if several else _RED
    if omit_x:
        ax.plot(
            np.asarray(omit_x) + jitter,
            np.zeros(len(omit_x)),
            ls="none",
            marker="v",
            ms=8,
            mfc=_RED,
            mec=edge,
            mew=1.0,
            zorder=5,
            clip_on=False,
        )
    if add_x:
        ax.plot(
            np.asarray(add_x) + jitter,
            np.zeros(len(add_x)),
            ls="none",
            marker="^",
            ms=8,
            mfc=_PURPLE,
            mec=colour if several else _PURPLE,
            mew=1.0,
            zorder=5,
            clip_on=False,
        )
    return notes


def _runs(beads: Sequence[BeadResult]) -> list[list[int]]:
    """Bead indices grouped: consecutive omissions together, consecutive additions together,
    every other bead alone."""
    out: list[list[int]] = []
    for i, b in enumerate(beads):
        if out and b.kind in ("omission", "addition") and beads[out[-1][-1]].kind == b.kind:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def _place_notes(fig: Figure, ax: Axes, notes: list[_Note]) -> int:
    """Put labels in the rows of ``_LABEL_LEVELS`` where they overlap no other label, with a
    thin leader line to what they explain; returns how many found no room and were left out.

    Omissions and additions (longest runs first) are placed before major drifts (lowest
    fidelity first). Labels anchored at 0 try the bottom row first, the others the top row,
    so leader lines stay short and neighbours alternate rows.
    """
    x_lo, x_hi = ax.get_xlim()
    axes_px = ax.get_position().width * fig.get_figwidth() * DPI
    per_px = (x_hi - x_lo) / axes_px
    font = FontProperties(size=_LABEL_SIZE)
    measure = TextToPath()
    pad = 8 * per_px
    rows: list[list[tuple[float, float]]] = [[] for _ in _LABEL_LEVELS]
    top_down = list(range(len(_LABEL_LEVELS)))
    left_out = 0
    for note in sorted(notes, key=lambda n: (n.priority, n.x)):
        w_pt, _, _ = measure.get_text_width_height_descent(note.text, font, ismath=False)
        width = (w_pt * DPI / 72.0 + 8) * per_px  # text plus the box padding
        cx = min(max(note.x, x_lo + width / 2), x_hi - width / 2)
        lo, hi = cx - width / 2 - pad, cx + width / 2 + pad
        order = top_down[::-1] if note.y <= 0.0 else top_down
        free = [r for r in order if all(hi <= a or lo >= b for a, b in rows[r])]
        if not free:
            left_out += 1
            continue
        row = free[0]
        rows[row].append((lo, hi))
        ax.annotate(
            note.text,
            xy=(note.x, note.y),
            xytext=(cx, _LABEL_LEVELS[row]),
            textcoords="data",
            fontsize=_LABEL_SIZE,
            color=note.colour,
            ha="center",
            va="center",
            parse_math=False,
            zorder=6,
            bbox={
                "boxstyle": "round,pad=0.25",
                "fc": "white",
                "ec": note.colour,
                "lw": 0.6,
                "alpha": 0.9,
            },
            arrowprops={
                "arrowstyle": "-",
                "color": note.colour,
                "lw": 0.6,
                "alpha": 0.7,
                "shrinkA": 0,
                "shrinkB": 4,
            },
        )
    return left_out


def _drift_legend(fig: Figure, systems: Sequence[SystemResult]) -> None:
    several = len(systems) > 1
    ink = "#444444" if several or not systems else _SYSTEM_COLOURS[0]
    handles: list[Line2D | Patch] = []
    labels: list[str] = []
    if several:
        for k, s in enumerate(systems):
            handles.append(Line2D([], [], color=_SYSTEM_COLOURS[k % len(_SYSTEM_COLOURS)], lw=3))
            labels.append(_esc(f"{s.system}: {_scores(s)}"))
    handles += [
        Line2D([], [], color=ink, lw=2.0, marker="o", ms=4),
        Line2D([], [], color=ink, lw=1.1, ls=(0, (5, 2)), marker="s", ms=2.8, alpha=0.75),
        Line2D([], [], color=ink, lw=1.1, ls=(0, (1, 1.5)), marker="D", ms=2.6, alpha=0.75),
        Line2D([], [], ls="none", marker="o", ms=10, mfc="none", mec=_RED, mew=1.6),
        Line2D([], [], ls="none", marker="v", ms=8, mfc=_RED, mec=_RED),
        Line2D([], [], ls="none", marker="^", ms=8, mfc=_PURPLE, mec=_PURPLE),
        Patch(color=_AMBER, alpha=0.3 if not several else 0.5),
        Patch(color=_RED, alpha=0.2 if not several else 0.45),
        Line2D([], [], color="#999999", lw=0.8, ls=(0, (1, 3))),
    ]
    labels += [
        "fidelity (combined)",
        "semantic fidelity (sentence cosine)",
        "lexical fidelity (chrF / 100)",
        "major drift (labelled with its reason)",
        "omission: reference sentence missing",
        "addition: candidate text not in reference",
        "minor drift",
        "major drift / omission",
        "drift thresholds on fidelity",
    ]
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=5 if not several else 4,
        fontsize=7.5,
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
        handlelength=2.6,
        columnspacing=1.6,
    )


# --- systems ----------------------------------------------------------------------------


def plot_systems(comparison: Comparison, primary: str, path: Path, alpha: float = 0.05) -> None:
    """``systems.png``: one panel per metric, each system's score with its 95 % bootstrap
    interval, systems sorted best first by ``primary``; the baseline drawn in black, systems
    significantly different from it filled, the others hollow."""
    order = comparison.ranked(primary)
    metrics = comparison.metrics
    height = 1.4 + 0.3 * len(order)
    with _style():
        fig = _figure((2.3 * len(metrics) + 1.6, height))
        axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
        ys = np.arange(len(order))[::-1]
        bands = _cluster_bands(comparison, primary, order, alpha)
        for ax, m in zip(axes, metrics, strict=True):
            for top, bottom in bands:  # the primary metric's clusters, every other one shaded
                ax.axhspan(ys[bottom] - 0.5, ys[top] + 0.5, color="#f2f2f2", lw=0, zorder=0)
            rk = comparison.rankings.get(m)
            clusters = rk.clusters(alpha) if rk is not None else {}
            for y, s in zip(ys, order, strict=True):
                if rk is not None:
                    lo, hi = rk.rank_ranges[s]
                    ax.annotate(
                        f"c{clusters[s]} r{lo}" + (f"–{hi}" if hi != lo else ""),
                        (1.0, y - 0.14), xycoords=("axes fraction", "data"), ha="right", va="top",
                        fontsize=5.5, color="#777777",
                    )  # fmt: skip
                r = comparison.get(s, m)
                base = s == comparison.baseline
                sig = r.p_holm is not None and r.p_holm < alpha
                colour = "#000000" if base else ("#1f77b4" if sig else "#7f9fbf")
                ax.plot([r.ci.low, r.ci.high], [y, y], color=colour, lw=1.4, zorder=2)
                ax.plot([r.score], [y], ls="none", marker="o", ms=5, zorder=3,
                        mfc=colour if (base or sig) else "white", mec=colour, mew=1.2)  # fmt: skip
            base_score = comparison.get(comparison.baseline, m).score
            ax.axvline(base_score, color="#999999", lw=0.7, ls=(0, (2, 2)), zorder=1)
            metric = comparison.metric(m)
            arrow = "" if metric.higher_is_better else " (lower is better)"
            scale = "0–1" if m in MEAN_METRICS else "0–100" if m in LEXICAL_METRICS else "its own scale"
            ax.set_title(_esc(f"{metric.display}{arrow}"), fontsize=9)
            ax.set_xlabel(scale, fontsize=7.5, color="#555555")
            ax.tick_params(labelsize=7)
            ax.grid(axis="x", color="#eeeeee", lw=0.6, zorder=0)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        axes[0].set_yticks(ys)
        axes[0].set_yticklabels(
            [_esc(s + (" (baseline)" if s == comparison.baseline else "")) for s in order]
        )
        axes[0].set_ylim(-0.7, len(order) - 0.3)
        fig.suptitle(
            _esc(
                f"Systems with 95 % bootstrap CIs ({comparison.n_segments} paired units), sorted by "
                f"{comparison.metric(primary).display} · filled: differs from the baseline "
                f"(AR, Holm, p < {alpha})"
                + (
                    f"\nshaded: every other {comparison.metric(primary).display} cluster · "
                    "c: cluster · r: 95 % rank range"
                    if comparison.rankings
                    else ""
                )
            ),
            fontsize=9.5, x=0.01, ha="left",
        )  # fmt: skip
        title_top = 1 - (0.85 if comparison.rankings else 0.55) / height
        fig.subplots_adjust(left=0.16 if len(metrics) > 3 else 0.3, right=0.99, top=title_top,
                            bottom=0.5 / height + 0.05, wspace=0.25)  # fmt: skip
        _save(fig, path)


def _cluster_bands(
    comparison: Comparison, primary: str, order: Sequence[str], alpha: float
) -> list[tuple[int, int]]:
    """``(first, last)`` positions in ``order`` of every other cluster of ``primary`` (the
    second, the fourth...), for shading."""
    rk = comparison.rankings.get(primary)
    if rk is None:
        return []
    clusters = rk.clusters(alpha)
    runs: dict[int, list[int]] = {}
    for k, s in enumerate(order):
        runs.setdefault(clusters[s], []).append(k)
    return [(min(v), max(v)) for c, v in sorted(runs.items()) if c % 2 == 0]


# --- meta-evaluation --------------------------------------------------------------------


def plot_meta(meta: dict[str, object], ours: Sequence[str], path: Path) -> None:
    """``meta.png``: each metric's segment-level Kendall tau by item with its 95 % CI (left)
    and system-level pairwise accuracy (right); mtdrift's metrics in blue, the official ones in
    grey, both panels sorted by tau by item.

    Args:
        meta: ``MetaResult.to_dict()``.
        ours: names of mtdrift's metrics.
        path: the PNG file to write.
    """
    metrics = meta["metrics"]
    assert isinstance(metrics, dict)
    names = sorted(
        metrics,
        key=lambda m: (
            -(metrics[m]["seg_kendall_by_item"] if metrics[m]["seg_kendall_by_item"] is not None else -9)
        ),
    )
    height = 1.6 + 0.28 * len(names)
    with _style():
        fig = _figure((11.0, height))
        left, right = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 2]})
        ys = np.arange(len(names))[::-1]
        for y, m in zip(ys, names, strict=True):
            r = metrics[m]
            colour = "#1f77b4" if m in ours else "#7f7f7f"
            tau, ci = r["seg_kendall_by_item"], r["seg_kendall_by_item_ci"]
            if tau is not None:
                if ci and None not in ci:
                    left.plot(ci, [y, y], color=colour, lw=1.4)
                left.plot([tau], [y], "o", color=colour, ms=5)
            if r["sys_accuracy"] is not None:
                right.barh([y], [r["sys_accuracy"]], color=colour, height=0.6)
                right.text(r["sys_accuracy"] + 0.005, y, f"{r['sys_accuracy']:.3f}", va="center", fontsize=7)
        left.set_yticks(ys)
        left.set_yticklabels([_esc(m) for m in names], fontsize=8)
        left.set_xlabel("segment-level Kendall tau-b by item (95 % CI)", fontsize=8.5)
        right.set_xlabel("system-level pairwise accuracy", fontsize=8.5)
        right.set_xlim(0.5, 1.0)
        for ax in (left, right):
            ax.grid(axis="x", color="#eeeeee", lw=0.6)
            ax.tick_params(labelsize=7.5)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        fig.suptitle(
            _esc(f"Agreement with MQM · {meta['n_rows']} rows, {meta['n_items']} segments, "
                 f"{meta['n_systems']} systems · blue: mtdrift"),
            fontsize=10, x=0.01, ha="left",
        )  # fmt: skip
        fig.subplots_adjust(
            left=0.2, right=0.97, top=1 - 0.5 / height, bottom=0.55 / height + 0.03, wspace=0.08
        )
        _save(fig, path)


def plot_meta_sets(meta: dict[str, object], ours: Sequence[str], path: Path) -> None:
    """``meta.png`` for several data sets: one panel per set, side by side, with each metric's
    segment-level Kendall tau by item and its 95 % CI, then a panel with the macro mean. Rows
    are metrics by their display name (official ones without ``-refA``/``-refB``, so one metric
    is one row across sets): first those every set has, by macro mean, then the others, blank
    in the sets without them. The macro panel shows the mean over all sets filled and, hollow,
    the mean over the first group of ``macro.subsets`` (the largest group of sets that some
    metrics are limited to) of every metric that group has, mtdrift's included, so hollow
    compares with hollow. mtdrift's metrics in blue, the official ones in grey.

    Args:
        meta: ``MultiMeta.to_dict()``.
        ours: names of mtdrift's metrics.
        path: the PNG file to write.
    """
    datasets = meta["datasets"]
    macro = meta["macro"]
    assert isinstance(datasets, dict) and isinstance(macro, dict)
    full: dict[str, float | None] = {n: r["seg_kendall_by_item"] for n, r in macro["metrics"].items()}
    # every metric of the largest group of sets that not all metrics cover, mtdrift's included
    subset = macro["subsets"][0] if macro["subsets"] else {"datasets": [], "metrics": {}}
    fewer: dict[str, float | None] = {n: r["seg_kendall_by_item"] for n, r in subset["metrics"].items()}
    single: dict[str, float | None] = {}
    for n, set_name in macro["one_set_only"].items():
        doc = datasets[set_name]
        column = next(c for c in doc["metrics"] if doc["display_names"].get(c, c) == n)
        single[n] = doc["metrics"][column]["seg_kendall_by_item"]

    def by_tau(group: dict[str, float | None]) -> list[str]:
        return sorted(group, key=lambda m: -_or(group[m], -9.0))

    rest = {n: t for n, t in fewer.items() if n not in full}
    names = by_tau(full) + by_tau({**rest, **single})
    names += [n for g in macro["subsets"][1:] for n in g["metrics"] if n not in names]
    ys = dict(zip(names, np.arange(len(names))[::-1], strict=True))
    height = 1.9 + 0.26 * len(names)
    panels = len(datasets) + 1
    width = 2.5 + 2.3 * panels
    with _style():
        fig = _figure((width, height))
        axes = fig.subplots(1, panels, sharey=True, sharex=True)
        for ax, (set_name, doc) in zip(axes, datasets.items(), strict=False):
            shown = doc["display_names"]
            for column, r in doc["metrics"].items():
                name = shown.get(column, column)
                tau, ci = r["seg_kendall_by_item"], r["seg_kendall_by_item_ci"]
                if name not in ys or tau is None:
                    continue
                colour = "#1f77b4" if name in ours else "#7f7f7f"
                if ci and None not in ci:
                    ax.plot(ci, [ys[name]] * 2, color=colour, lw=1.3)
                ax.plot([tau], [ys[name]], "o", color=colour, ms=4.5)
            ax.set_title(_esc(f"{set_name}\n{doc['n_rows']} rows, {doc['n_systems']} systems"), fontsize=8.5)
        last = axes[-1]
        for means, hollow in ((full, False), (fewer, True)):
            for name, tau in means.items():
                if tau is None:
                    continue
                colour = "#1f77b4" if name in ours else "#7f7f7f"
                last.plot([tau], [ys[name]], "D", ms=5, color=colour, mfc="white" if hollow else colour)
        title = "macro mean over all sets"
        if subset["datasets"]:
            title += _esc(f"\nhollow: over {', '.join(subset['datasets'])}")
        last.set_title(title, fontsize=8.5)
        axes[0].set_yticks(list(ys.values()))
        axes[0].set_yticklabels([_esc(n) for n in ys], fontsize=8)
        for ax in axes:
            ax.axvline(0.0, color="#cccccc", lw=0.6)
            ax.grid(axis="x", color="#eeeeee", lw=0.6)
            ax.tick_params(labelsize=7.5)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        fig.supxlabel("segment-level Kendall tau-b by item (95 % CI)", fontsize=8.5)
        fig.suptitle(
            _esc(f"Agreement with MQM over {len(datasets)} data sets · blue: mtdrift"),
            fontsize=10, x=0.01, ha="left",
        )  # fmt: skip
        fig.subplots_adjust(
            left=2.3 / width, right=0.98, top=1 - 0.9 / height, bottom=0.75 / height, wspace=0.1
        )
        _save(fig, path)


def _or(x: object, default: float) -> float:
    return float(x) if isinstance(x, (int, float)) else default


# --- alignment --------------------------------------------------------------------------


def _draw_alignment(fig: Figure, ax: Axes, cax: Axes, system: SystemResult, sim: np.ndarray) -> None:
    n_ref, n_hyp = sim.shape
    image = ax.imshow(
        sim,
        cmap="Blues",
        vmin=0.0,
        vmax=1.0,
        aspect="auto",
        interpolation="nearest",
        origin="upper",
        zorder=1,
    )
    bar = fig.colorbar(image, cax=cax)
    bar.set_label("sentence similarity (0–1)", fontsize=8)
    bar.ax.tick_params(labelsize=7)

    cell = 7.5 / max(n_ref, n_hyp, 1)  # inches per cell, roughly
    lw = float(np.clip(cell * 14, 0.6, 2.0))
    ms = float(np.clip(cell * 40, 3.0, 9.0))
    centres: list[tuple[float, float]] = []
    omitted: list[int] = []
    added: list[int] = []
    for bead in system.beads:
        if bead.ref_ids and bead.hyp_ids:
            r0, r1 = min(bead.ref_ids), max(bead.ref_ids)
            h0, h1 = min(bead.hyp_ids), max(bead.hyp_ids)
            ax.add_patch(
                Rectangle(
                    (h0 - 0.5, r0 - 0.5),
                    h1 - h0 + 1,
                    r1 - r0 + 1,
                    fill=False,
                    ec=_PATH,
                    lw=lw,
                    zorder=3,
                )
            )
            centres.append(((h0 + h1) / 2, (r0 + r1) / 2))
        elif bead.ref_ids:
            omitted += bead.ref_ids
        else:
            added += bead.hyp_ids
    if centres:
        cx, cy = zip(*centres, strict=True)
        ax.plot(cx, cy, color=_PATH, lw=max(lw * 0.6, 0.6), alpha=0.8, zorder=4)
    for r in omitted:
        ax.axhspan(r - 0.5, r + 0.5, color=_RED, alpha=0.22, lw=0, zorder=2)
    for h in added:
        ax.axvspan(h - 0.5, h + 0.5, color=_PURPLE, alpha=0.22, lw=0, zorder=2)
    if omitted:
        ax.plot(
            np.full(len(omitted), -0.5),
            omitted,
            ls="none",
            marker=">",
            ms=ms,
            mfc=_RED,
            mec="white",
            mew=0.5,
            clip_on=False,
            zorder=5,
        )
    if added:
        ax.plot(
            added,
            np.full(len(added), -0.5),
            ls="none",
            marker="v",
            ms=ms,
            mfc=_PURPLE,
            mec="white",
            mew=0.5,
            clip_on=False,
            zorder=5,
        )

    ax.set_xlim(-0.5, n_hyp - 0.5)
    ax.set_ylim(n_ref - 0.5, -0.5)
    ax.xaxis.set_major_locator(_index_locator(n_hyp))
    ax.yaxis.set_major_locator(_index_locator(n_ref))
    ax.tick_params(labelsize=7, top=True, labeltop=True, bottom=True, labelbottom=False)
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("candidate sentence", fontsize=9)
    ax.set_ylabel("reference sentence", fontsize=9)

    counts = system.counts()["beads"]
    parts = [f"{n}× {kind}" for kind, n in counts.items()]
    height = fig.get_figheight()
    x0 = ax.get_position().x0
    fig.text(
        x0,
        1.0 - 0.2 / height,
        _esc(f"Alignment · {system.system}"),
        fontsize=11,
        va="top",
        ha="left",
    )
    fig.text(
        x0,
        1.0 - 0.48 / height,
        _esc(f"beads: {', '.join(parts) or 'none'}"),
        fontsize=7.5,
        color="#555555",
        va="top",
        ha="left",
    )
    handles = [
        Patch(fill=False, ec=_PATH, lw=1.5),
        Line2D([], [], color=_PATH, lw=1.2),
        Line2D([], [], ls="none", marker=">", ms=7, mfc=_RED, mec=_RED),
        Line2D([], [], ls="none", marker="v", ms=7, mfc=_PURPLE, mec=_PURPLE),
    ]
    labels = [
        "aligned bead (its cells)",
        "alignment path",
        f"omitted reference sentence ({len(omitted)})",
        f"added candidate sentence ({len(added)})",
    ]
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=2,
        fontsize=7.5,
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
    )


def _draw_line_aligned(system: SystemResult, n_ref: int, path: Path) -> None:
    fig = _figure((6.0, 1.6))
    fig.text(0.04, 0.68, _esc(f"Alignment · {system.system}"), fontsize=11, ha="left", va="center")
    fig.text(
        0.04,
        0.34,
        f"Line-aligned input (--aligned): reference line i is paired with candidate\n"
        f"line i for all {n_ref} lines; no alignment search, no similarity matrix.",
        fontsize=8.5,
        color="#444444",
        ha="left",
        va="center",
    )
    _save(fig, path)


# --- shared -----------------------------------------------------------------------------


@contextmanager
def _style() -> Iterator[None]:
    """matplotlib's default style whatever the user's matplotlibrc says (backend untouched)."""
    with mpl.style.context("default"), mpl.rc_context({"font.family": "DejaVu Sans"}):
        yield


def _index_locator(n: int, every_up_to: int = 40) -> Locator:
    """A tick at every index for short documents, at round intervals for long ones."""
    return MultipleLocator(1) if n <= every_up_to else MaxNLocator(integer=True, nbins=25)


def _figure(size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size, dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, format="png", dpi=DPI, metadata=_PNG_METADATA, facecolor="white")


def _scores(system: SystemResult) -> str:
    c = system.corpus
    parts = []
    if "fidelity" in c:
        parts.append(f"fidelity {c['fidelity']:.2f}")
    if "bleu" in c:
        parts.append(f"BLEU {c['bleu']:.1f}")
    if "chrf" in c:
        parts.append(f"chrF {c['chrf']:.1f}")
    return " · ".join(parts)


def _shorten(text: str, limit: int = LABEL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _esc(text: str) -> str:
    """Text shown literally where matplotlib would parse ``$...$`` as mathtext."""
    return text.replace("$", r"\$")


def _file_stem(name: str, used: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "system"
    base, k = stem, 2
    while stem in used:
        stem, k = f"{base}-{k}", k + 1
    used.add(stem)
    return stem
