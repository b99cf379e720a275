"""The figures of ``mtdrift meta``: each metric's agreement with the annotators, on one set and
over several sets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mtdrift.eval.meta.agreement import Interval
from mtdrift.eval.meta.evaluation import MacroGroup, MetaResult, MultiMeta
from mtdrift.eval.render.figures.common import _esc, _figure, _save, _style


def plot_meta(meta: MetaResult, ours: Sequence[str], path: Path) -> None:
    """``meta.png``: each metric's segment-level Kendall tau by item with its 95 % CI (left)
    and system-level pairwise accuracy (right); mtdrift's metrics in blue, the official ones in
    grey, both panels sorted by tau by item.

    Args:
        meta: one set's figures.
        ours: names of mtdrift's metrics.
        path: the PNG file to write.
    """
    metrics = meta.metrics
    names = sorted(metrics, key=lambda m: -_or(metrics[m].seg_kendall_by_item, -9.0))
    height = 1.6 + 0.28 * len(names)
    with _style():
        fig = _figure((11.0, height))
        left, right = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 2]})
        ys = np.arange(len(names))[::-1]
        for y, m in zip(ys, names, strict=True):
            r = metrics[m]
            colour = "#1f77b4" if m in ours else "#7f7f7f"
            tau, ci = r.seg_kendall_by_item, r.seg_kendall_by_item_ci
            if not math.isnan(tau):
                if _defined(ci):
                    left.plot([ci.low, ci.high], [y, y], color=colour, lw=1.4)
                left.plot([tau], [y], "o", color=colour, ms=5)
            if not math.isnan(r.sys_accuracy):
                right.barh([y], [r.sys_accuracy], color=colour, height=0.6)
                right.text(r.sys_accuracy + 0.005, y, f"{r.sys_accuracy:.3f}", va="center", fontsize=7)
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
            _esc(f"Agreement with MQM · {meta.n_rows} rows, {meta.n_items} segments, "
                 f"{meta.n_systems} systems · blue: mtdrift"),
            fontsize=10, x=0.01, ha="left",
        )  # fmt: skip
        fig.subplots_adjust(
            left=0.2, right=0.97, top=1 - 0.5 / height, bottom=0.55 / height + 0.03, wspace=0.08
        )
        _save(fig, path)


def plot_meta_sets(meta: MultiMeta, ours: Sequence[str], path: Path) -> None:
    """``meta.png`` for several data sets: one panel per set, side by side, with each metric's
    segment-level Kendall tau by item and its 95 % CI, then a panel with the macro mean. Rows
    are metrics by their display name (official ones without ``-refA``/``-refB``, so one metric
    is one row across sets): first those every set has, by macro mean, then the others, blank
    in the sets without them. The macro panel shows the mean over all sets filled and, hollow,
    the mean over the first group of ``macro.subsets`` (the largest group of sets that some
    metrics are limited to) of every metric that group has, mtdrift's included, so hollow
    compares with hollow. mtdrift's metrics in blue, the official ones in grey.

    Args:
        meta: the sets' figures and their macro mean.
        ours: names of mtdrift's metrics.
        path: the PNG file to write.
    """
    datasets = {s.name: s for s in meta.sets}
    macro = meta.macro
    full = {n: r.seg_kendall_by_item for n, r in macro.metrics.items()}
    # every metric of the largest group of sets that not all metrics cover, mtdrift's included
    subset = macro.subsets[0] if macro.subsets else MacroGroup((), {})
    fewer = {n: r.seg_kendall_by_item for n, r in subset.metrics.items()}
    single: dict[str, float] = {}
    for n, set_name in macro.one_set_only.items():
        s = datasets[set_name]
        column = next(c for c in s.result.metrics if s.display.get(c, c) == n)
        single[n] = s.result.metrics[column].seg_kendall_by_item

    def by_tau(group: dict[str, float]) -> list[str]:
        return sorted(group, key=lambda m: -_or(group[m], -9.0))

    rest = {n: t for n, t in fewer.items() if n not in full}
    names = by_tau(full) + by_tau({**rest, **single})
    names += [n for g in macro.subsets[1:] for n in g.metrics if n not in names]
    ys = dict(zip(names, np.arange(len(names))[::-1], strict=True))
    height = 1.9 + 0.26 * len(names)
    panels = len(datasets) + 1
    width = 2.5 + 2.3 * panels
    with _style():
        fig = _figure((width, height))
        axes = fig.subplots(1, panels, sharey=True, sharex=True)
        for ax, (set_name, s) in zip(axes, datasets.items(), strict=False):
            for column, r in s.result.metrics.items():
                name = s.display.get(column, column)
                tau, ci = r.seg_kendall_by_item, r.seg_kendall_by_item_ci
                if name not in ys or math.isnan(tau):
                    continue
                colour = "#1f77b4" if name in ours else "#7f7f7f"
                if _defined(ci):
                    ax.plot([ci.low, ci.high], [ys[name]] * 2, color=colour, lw=1.3)
                ax.plot([tau], [ys[name]], "o", color=colour, ms=4.5)
            n_rows, n_systems = s.result.n_rows, s.result.n_systems
            ax.set_title(_esc(f"{set_name}\n{n_rows} rows, {n_systems} systems"), fontsize=8.5)
        last = axes[-1]
        for means, hollow in ((full, False), (fewer, True)):
            for name, tau in means.items():
                if math.isnan(tau):
                    continue
                colour = "#1f77b4" if name in ours else "#7f7f7f"
                last.plot([tau], [ys[name]], "D", ms=5, color=colour, mfc="white" if hollow else colour)
        title = "macro mean over all sets"
        if subset.datasets:
            title += _esc(f"\nhollow: over {', '.join(subset.datasets)}")
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


def _or(x: float, default: float) -> float:
    """``x``, or ``default`` where it is undefined (NaN)."""
    return default if math.isnan(x) else x


def _defined(ci: Interval) -> bool:
    return not (math.isnan(ci.low) or math.isnan(ci.high))
