"""``systems.png``: each system's score on the primary metric with its confidence interval, and
the significance clusters.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mtdrift.eval.render.figures.common import _esc, _figure, _save, _style
from mtdrift.metrics.lexical import LEXICAL_METRICS
from mtdrift.metrics.registry import MEAN_METRICS
from mtdrift.metrics.significance import ALPHA, Comparison

# --- systems ----------------------------------------------------------------------------


def plot_systems(comparison: Comparison, primary: str, path: Path, alpha: float = ALPHA) -> None:
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
