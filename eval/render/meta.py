"""Markdown of a meta-evaluation: one set's table (``meta.md``), and several sets with their
macro mean (``report.md`` of ``mtdrift meta``). mtdrift's metrics are in bold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from mtdrift.eval.meta.evaluation import MACRO_FIGURES, MacroMetric, MetaResult, MultiMeta, SetMeta
from mtdrift.metrics.registry import METRICS


def _f(x: float | None) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _ci(ci: Sequence[float | None] | None) -> str:
    if ci is None or any(v is None for v in ci):
        return ""
    lo, hi = ci
    return f"[{_f(lo)}, {_f(hi)}]"


def meta_md(
    result: MetaResult,
    ours: Sequence[str] = METRICS,
    spans: dict[str, dict[str, float]] | None = None,
    *,
    notes: Sequence[str] = (),
) -> str:
    """The table of ``meta.md``: one row per metric, mtdrift's first, by-item tau first.

    ``notes`` are paragraphs put under the description (e.g. which systems were left out).
    """
    data = result.to_dict()
    out = [
        "# mtdrift meta-evaluation",
        "",
        f"{data['n_rows']} rows, {data['n_items']} segments, {data['n_systems']} systems; human score: "
        f"`{data['human']}`. {_HOW} 95 % CIs: bootstrap over segments "
        f"({data['bootstrap']['n_resamples']} resamples, seed {data['bootstrap']['seed']}). {_OURS_NOTE}",
        "",
    ]
    for note in notes:
        out += [note, ""]
    out += _table(data, ours)
    out += _span_lines(spans, "##")
    return "\n".join(out) + "\n"


_HOW = (
    "Kendall tau-b by item: across the systems within one segment, averaged over segments "
    "(segments where a side is constant skipped)."
)
_OURS_NOTE = "mtdrift's metrics are in **bold**; TER is negated (higher = better)."


def _table(data: dict[str, Any], ours: Sequence[str]) -> list[str]:
    metrics = data["metrics"]
    order = [m for m in ours if m in metrics] + [m for m in metrics if m not in ours]
    out = [
        "| metric | seg tau by item | 95 % CI | skipped | seg tau | seg Pearson | sys Pearson | sys tau "
        "| sys accuracy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in order:
        m = metrics[name]
        shown = f"**{name}**" if name in ours else name
        out.append(
            f"| {shown} | {_f(m['seg_kendall_by_item'])} | {_ci(m['seg_kendall_by_item_ci'])} | "
            f"{m['n_items_skipped']} | {_f(m['seg_kendall'])} | {_f(m['seg_pearson'])} | "
            f"{_f(m['sys_pearson'])} | {_f(m['sys_kendall'])} | {_f(m['sys_accuracy'])} |"
        )
    return out


def _span_lines(spans: dict[str, dict[str, float]] | None, heading: str) -> list[str]:
    if not spans:
        return []
    return [
        "",
        f"{heading} Drifted spans against the annotators' target-side error spans",
        "",
        "Character-level, micro-averaged over rows (mtdrift's spans: hypothesis tokens without a "
        "counterpart in the reference, changed names and numbers).",
        "",
        "| errors | precision | recall | F1 |",
        "|---|---:|---:|---:|",
        *(
            f"| {level} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} |"
            for level, v in spans.items()
        ),
    ]


# ---------------------------------------------------------------------------------------------
# rendering several sets


def _human_note(s: SetMeta) -> list[str]:
    if not s.about.human_systems:
        return []
    names = ", ".join(f"`{n}`" for n in s.about.human_systems)
    if s.about.human_kept:
        return [f"Kept (--keep-human): {names}, a human translation scored as a system (`is_human: true`)."]
    return [
        f"Left out: {names}, a human translation scored as a system (`is_human: true`), so that "
        "the figures rank MT output only; --keep-human keeps it."
    ]


def sets_md(meta: MultiMeta) -> str:
    """``meta.md``: with one set, :func:`meta_md` (its table as before, plus a note when a human
    translation was left out); with several, one section per set (the same table), then the
    macro mean over the sets and, apart, the metrics only some sets have."""
    if len(meta.sets) == 1:
        s = meta.sets[0]
        return meta_md(s.result, s.ours, s.about.spans, notes=_human_note(s))
    first = meta.sets[0].result
    out = [
        f"# mtdrift meta-evaluation: {len(meta.sets)} data sets",
        "",
        f"{', '.join(f'`{s.name}`' for s in meta.sets)}; human score: `{first.human}`. {_HOW} "
        f"95 % CIs: bootstrap over segments within each set ({first.n_resamples} resamples, seed "
        f"{first.seed}). {_OURS_NOTE} The macro mean over the sets closes the report.",
    ]
    for s in meta.sets:
        r = s.result
        source = f"`{s.about.data}`" if s.about.data else "given as a table"
        official = f", official scores `{s.about.official}`" if s.about.official else ", no official scores"
        out += [
            "",
            f"## {s.name}",
            "",
            f"{r.n_rows} rows, {r.n_items} segments, {r.n_systems} systems; {source}{official}.",
        ]
        for note in _human_note(s):
            out += ["", note]
        out += ["", *_table(r.to_dict(), s.ours), *_span_lines(s.about.spans, "###")]
    macro = meta.macro
    figures = "| seg tau by item | seg tau | seg Pearson | sys Pearson | sys tau | sys accuracy |"
    out += [
        "",
        f"## Macro mean over {len(meta.sets)} data sets",
        "",
        "The unweighted mean over the sets of each figure (point estimates; no interval), for the "
        "metrics every set has. Official metrics are named without their reference suffix "
        "(`COMET-refA` and `COMET-refB` are both `COMET`).",
        "",
        f"| metric {figures}",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(_macro_row(m) for m in macro.metrics.values()),
    ]
    for group in macro.subsets:
        out += [
            "",
            f"### Over {_and(group.datasets)} only",
            "",
            f"Every metric these {len(group.datasets)} sets all have, averaged over them: comparable "
            "with each other, not with the table above.",
            "",
            f"| metric {figures}",
            "|---|---:|---:|---:|---:|---:|---:|",
            *(_macro_row(m) for m in group.metrics.values()),
        ]
    if macro.one_set_only:
        named = ", ".join(f"`{n}` ({s})" for n, s in macro.one_set_only.items())
        out += ["", f"In one set only, so in no mean (see that set's table): {named}."]
    return "\n".join(out) + "\n"


def _and(names: Sequence[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def _macro_row(m: MacroMetric) -> str:
    shown = f"**{m.name}**" if m.ours else m.name
    return f"| {shown} | " + " | ".join(_f(getattr(m, f)) for f in MACRO_FIGURES) + " |"
