"""Renderers of a system comparison: terminal, Markdown, JSON, LaTeX (booktabs) and CSV.

Each is a pure function of a :class:`Comparison` (plus the signatures to print under it).
Systems are sorted best first by the primary metric. A ``*`` marks a score whose difference
from the baseline is significant: paired approximate randomization, Holm-corrected over
every (system, metric) comparison, below ``alpha``. With several systems, each metric also
carries every system's rank, 95 % bootstrap rank range and cluster (``metrics.ranking``: the
WMT17-19 rule), shown as findings tables show them: a cluster column and a line between
clusters."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from typing import Any

from mtdrift.metrics.ranking import RULE, RULE_TEXT, Ranking
from mtdrift.metrics.significance import ALPHA, Comparison, MetricResult

DIGITS = 6
"""Decimals of the numbers in compare.json and compare.csv (the tables print fewer)."""
CSV_COLUMNS: tuple[str, ...] = (
    "system", "metric", "baseline", "score", "ci_low", "ci_high", "bs_mean", "ci_half",
    "delta", "delta_low", "delta_high", "p_bootstrap", "p_ar", "p_holm", "agreement", "significant",
)  # fmt: skip


def _fmt(digits: int, x: float | None, signed: bool = False) -> str:
    if x is None:
        return ""
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def _p(x: float | None) -> str:
    if x is None:
        return ""
    return "<0.0001" if x < 1e-4 else f"{x:.4f}"


def significant(r: MetricResult, alpha: float = ALPHA) -> bool:
    return r.p_holm is not None and r.p_holm < alpha


def _cell(c: Comparison, system: str, metric: str, alpha: float) -> str:
    r = c.get(system, metric)
    return _fmt(c.metric(metric).digits, r.score) + ("*" if significant(r, alpha) else "")


def _legend(c: Comparison, alpha: float) -> str:
    rs = c.resampling
    return (
        f"* differs from the baseline {c.baseline!r}: paired approximate randomization "
        f"({rs.trials} trials), Holm-corrected over all comparisons, p < {alpha}. "
        f"95 % CIs: bootstrap over {c.n_segments} paired units ({rs.bootstrap} resamples, seed {rs.seed})."
    )


def _head(c: Comparison) -> list[str]:
    return ["system", *(_name(c, m) + ("↓" if not c.metric(m).higher_is_better else "") for m in c.metrics)]


def _name(c: Comparison, metric: str) -> str:
    """The name tables show for ``metric`` (``BLEU``, ``chrF++``, an external metric's own)."""
    return c.metric(metric).display


def wide_rows(c: Comparison, primary: str, alpha: float = ALPHA) -> tuple[list[str], list[list[str]]]:
    """One row per system, best first by ``primary``: scores with significance marks."""
    rows = []
    for s in c.ranked(primary):
        name = s + (" (baseline)" if s == c.baseline else "")
        rows.append([name, *(_cell(c, s, m, alpha) for m in c.metrics)])
    return _head(c), rows


def terminal(c: Comparison, primary: str, alpha: float = ALPHA) -> str:
    head, rows = wide_rows(c, primary, alpha)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(r: list[str]) -> str:
        return "  ".join(
            x.rjust(w) if k else x.ljust(w) for k, (x, w) in enumerate(zip(r, widths, strict=True))
        )

    body = [line(head), line(["-" * w for w in widths]), *(line(r) for r in rows)]
    return "\n".join([*body, _legend(c, alpha)]) + "\n"


def to_md(c: Comparison, primary: str, signatures: Mapping[str, str], alpha: float = ALPHA) -> str:
    head, rows = wide_rows(c, primary, alpha)
    out = [
        "# mtdrift comparison",
        "",
        f"Systems sorted by {_name(c, primary)}; baseline `{c.baseline}`. ↓: lower is better.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---", *("---:" for _ in head[1:])]) + "|",
        *("| " + " | ".join(_md(x) for x in r) + " |" for r in rows),
        "",
        _legend(c, alpha),
        "",
    ]
    for m in c.metrics:
        d = c.metric(m).digits
        out += [
            f"## {_name(c, m)}",
            "",
            "| system | score | 95 % CI | Δ baseline | Δ 95 % CI | p (bootstrap) | p (AR) | p (Holm) "
            "| people agreeing |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in c.ranked(primary):
            r = c.get(s, m)
            dci = "" if r.delta_ci is None else f"[{_fmt(d, r.delta_ci.low)}, {_fmt(d, r.delta_ci.high)}]"
            agree = "" if r.agreement is None else f"{r.agreement:.1f} %"
            out.append(
                f"| {_md(s)} | {_fmt(d, r.score)} | [{_fmt(d, r.ci.low)}, {_fmt(d, r.ci.high)}] "
                f"| {_fmt(d, r.delta, True)} | {dci} | {_p(r.p_bootstrap)} | {_p(r.p_ar)} | {_p(r.p_holm)} "
                f"| {agree} |"
            )
        out.append("")
    out += _md_rankings(c, alpha)
    out += [
        "People agreeing: the share of human judgements expected to agree with a ranking decided "
        "by this delta (Kocmi et al. 2024, acc = a / (1 + exp(-b·|Δ|)); BLEU a=88.33 b=0.9664, "
        "chrF a=93.00 b=1.1143); published for BLEU and chrF only.",
        "",
        "## Signatures",
        "",
        *(f"- `{k}`: `{v}`" for k, v in sorted(signatures.items())),
    ]
    return "\n".join(out) + "\n"


def _md(x: str) -> str:
    return x.replace("|", "\\|")


def _r(x: float | None) -> float | None:
    """A stored number: rounded to ``DIGITS`` decimals, so that the last bits of a float sum
    (which differ between CPUs' BLAS kernels) never reach the file."""
    return None if x is None else round(float(x), DIGITS)


def _range(r: tuple[int, int]) -> str:
    return str(r[0]) if r[0] == r[1] else f"{r[0]}–{r[1]}"


def _md_rankings(c: Comparison, alpha: float) -> list[str]:
    """Per metric, the systems best first by it: cluster (shown on a cluster's first row, a
    ruled row between clusters), rank, 95 % rank range, score."""
    if not c.rankings:
        return []
    out = [
        "## Rank ranges and clusters",
        "",
        f"Per metric, systems best first; {RULE_TEXT}; p < {alpha}. "
        "A row of dashes is a line between clusters.",
        "",
    ]
    for m, rk in c.rankings.items():
        d = c.metric(m).digits
        clusters = rk.clusters(alpha)
        out += [
            f"### {_name(c, m)}",
            "",
            "| cluster | rank | rank range | system | score |",
            "|---:|---:|---:|---|---:|",
        ]
        previous = 0
        for s in rk.order:
            if previous and clusters[s] != previous:
                out.append("| — | — | — | — | — |")
            first = clusters[s] != previous
            previous = clusters[s]
            out.append(
                f"| {clusters[s] if first else ''} | {rk.rank(s)} | {_range(rk.rank_ranges[s])} "
                f"| {_md(s)} | {_fmt(d, rk.scores[s])} |"
            )
        out.append("")
    return out


def _result(r: MetricResult, alpha: float) -> dict[str, Any]:
    return {
        "score": _r(r.score),
        "ci": {"mean": _r(r.ci.mean), "low": _r(r.ci.low), "high": _r(r.ci.high), "half": _r(r.ci.half)},
        "delta": _r(r.delta),
        "delta_ci": None
        if r.delta_ci is None
        else {"mean": _r(r.delta_ci.mean), "low": _r(r.delta_ci.low), "high": _r(r.delta_ci.high)},
        "p_bootstrap": _r(r.p_bootstrap),
        "p_ar": _r(r.p_ar),
        "p_holm": _r(r.p_holm),
        "agreement": _r(r.agreement),
        "significant": significant(r, alpha) if r.delta is not None else None,
    }


def _ranked(c: Comparison, m: str, s: str, alpha: float) -> dict[str, Any]:
    rk = c.rankings.get(m)
    if rk is None:
        return {"rank": 1, "rank_range": [1, 1], "cluster": 1}
    return {"rank": rk.rank(s), "rank_range": list(rk.rank_ranges[s]), "cluster": rk.clusters(alpha)[s]}


def _pairs(rk: Ranking | None) -> list[dict[str, Any]]:
    if rk is None:
        return []
    return [{"a": a, "b": b, "p_ar": _r(t.p_ar), "p_holm": _r(t.p_holm)} for (a, b), t in rk.pairs.items()]


def to_dict(
    c: Comparison, primary: str, signatures: Mapping[str, str], alpha: float = ALPHA
) -> dict[str, Any]:
    """``compare.json`` as data. Under each metric, ``systems`` holds each system's score,
    CI and test against the baseline, and its ``rank`` (1-based, by this metric),
    ``rank_range`` (``[best, worst]`` over the bootstrap resamples) and ``cluster`` (1 =
    best); ``clusters`` names the rule and ``pairs`` lists every pair's AR test (``a`` ranked
    above ``b``)."""
    return {
        "baseline": c.baseline,
        "primary": primary,
        "alpha": alpha,
        "n_units": c.n_segments,
        "ranking": c.ranked(primary),
        "metrics": {
            m: {
                "display": c.metric(m).display,
                "higher_is_better": c.metric(m).higher_is_better,
                "source": c.metric(m).source,
                "systems": {s: {**_result(c.get(s, m), alpha), **_ranked(c, m, s, alpha)} for s in c.systems},
                "clusters": {"rule": RULE, "alpha": alpha, "text": RULE_TEXT},
                "pairs": _pairs(c.rankings.get(m)),
            }
            for m in c.metrics
        },
        "signatures": {**dict(sorted(signatures.items())), "significance": c.resampling.signature().format()},
    }


def to_json(c: Comparison, primary: str, signatures: Mapping[str, str], alpha: float = ALPHA) -> str:
    return (
        json.dumps(to_dict(c, primary, signatures, alpha), indent=2, ensure_ascii=False, allow_nan=False)
        + "\n"
    )


def to_csv(c: Comparison, primary: str, alpha: float = ALPHA) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for m in c.metrics:
        for s in c.ranked(primary):
            r = c.get(s, m)
            d = r.delta_ci
            w.writerow(
                [
                    s, m, int(s == c.baseline), _g(r.score), _g(r.ci.low), _g(r.ci.high), _g(r.ci.mean),
                    _g(r.ci.half), _g(r.delta), _g(d.low if d else None), _g(d.high if d else None),
                    _g(r.p_bootstrap), _g(r.p_ar), _g(r.p_holm), _g(r.agreement),
                    "" if r.delta is None else int(significant(r, alpha)),
                ]
            )  # fmt: skip
    return buf.getvalue()


def _g(x: float | None) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else repr(round(float(x), DIGITS))


_TEX_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}  # fmt: skip


def _tex(text: str) -> str:
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in text)


def to_tex(c: Comparison, primary: str, signatures: Mapping[str, str], alpha: float = ALPHA) -> str:
    """A booktabs table (needs ``\\usepackage{booktabs}``): scores with ± half-CI, a
    superscript * for significant differences, the signatures in a footnote-size block. With
    several systems, as in WMT findings tables: a cluster column (``#``) and the rank range by
    ``primary``, and a ``\\midrule`` between two clusters of ``primary``."""
    rk = c.rankings.get(primary)
    clusters = rk.clusters(alpha) if rk is not None else {}
    lead = ["\\#", "Range"] if rk is not None else []
    cols = "r" * len(lead) + "l" + "r" * len(c.metrics)
    head = [
        *lead,
        "System",
        *(
            _tex(_name(c, m)) + ("$\\downarrow$" if not c.metric(m).higher_is_better else "")
            for m in c.metrics
        ),
    ]
    lines = [
        "% mtdrift comparison; needs \\usepackage{booktabs}",
        "\\begin{table}[t]",
        "\\centering",
        "\\small",
        f"\\begin{{tabular}}{{{cols}}}",
        "\\toprule",
        " & ".join(head) + " \\\\",
        "\\midrule",
    ]
    previous = 0
    for s in c.ranked(primary):
        cells = [_tex(s) + (" (baseline)" if s == c.baseline else "")]
        if rk is not None:
            if previous and clusters[s] != previous:
                lines.append("\\midrule")
            first = clusters[s] != previous
            previous = clusters[s]
            cells = [str(clusters[s]) if first else "", _range(rk.rank_ranges[s]).replace("–", "--"), *cells]
        for m in c.metrics:
            r, d = c.get(s, m), c.metric(m).digits
            mark = "$^{*}$" if significant(r, alpha) else ""
            cells.append(f"{_fmt(d, r.score)}{mark} {{\\scriptsize $\\pm${_fmt(d, r.ci.half)}}}")
        lines.append(" & ".join(cells) + " \\\\")
    clustering = (
        f" \\#: cluster by {_tex(_name(c, primary))}, lines between clusters: every system above a line "
        f"significantly outperforms every system below it (WMT17--19 findings; paired approximate "
        f"randomization, Holm over all pairs, $p<{alpha}$). Range: 95\\,\\% rank range over "
        f"{c.resampling.bootstrap} bootstrap resamples (Koehn, 2012)."
        if rk is not None
        else ""
    )
    lines += [
        "\\bottomrule",
        "\\end{tabular}",
        f"\\caption{{Systems sorted by {_tex(_name(c, primary))}. $\\pm$: half the 95\\,\\% bootstrap "
        f"interval. $^{{*}}$: differs from {_tex(c.baseline)} (paired approximate randomization, "
        f"Holm-corrected, $p<{alpha}$).{clustering}}}",
        "\\label{tab:mtdrift}",
        "\\end{table}",
        "{\\scriptsize",
        *(f"\\texttt{{{_tex(k)}: {_tex(v)}}}\\\\" for k, v in sorted(signatures.items())),
        f"\\texttt{{significance: {_tex(c.resampling.signature().format())}}}",
        "}",
    ]
    return "\n".join(lines) + "\n"
