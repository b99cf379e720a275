"""``drift.png``: fidelity along the reference, one line per system, drifted beads marked with
their reasons (one strip per system when there are many).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.textpath import TextToPath

from mtdrift.eval.render.figures.common import (
    _AMBER,
    _LABEL_SIZE,
    _PURPLE,
    _RED,
    _SYSTEM_COLOURS,
    DPI,
    _esc,
    _figure,
    _index_locator,
    _save,
    _scores,
    _shorten,
    _style,
)
from mtdrift.eval.results import BeadResult, Evaluation, SystemResult

DRIFT_SIZE = (12.0, 5.0)
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
