"""``alignment-SYSTEM.png``: the aligner's similarity matrix of one system with its path of
beads (or the diagonal of a line-aligned run).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from mtdrift.eval.render.figures.common import (
    _PATH,
    _PURPLE,
    _RED,
    _esc,
    _figure,
    _index_locator,
    _save,
    _style,
)
from mtdrift.eval.results import SystemResult
from mtdrift.eval.segment import Sentence


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
