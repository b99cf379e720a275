"""Fit the drift thresholds (``metrics/params/drift-v1.json``) on the MQM tuning half.

Usage: python scripts/calibrate_drift.py [--data ../shared/data/mqm/wmt23_zhen_mqm.dev.jsonl.gz]
                                         [--out metrics/params/drift-v1.json] [--seed N]

Each row (one system's output for one segment) is treated as one aligned 1-1 bead and scored
as ``eval.run`` scores a bead: sentence cosine and greedy token-match F1 of the MiniLM
embeddings, sentence chrF, and their mean, ``eval.explain.fidelity``.

* ``major_below``: the fidelity threshold (``fidelity < t`` predicts positive) with the best F1
  for "the segment has at least one major accuracy error" (severity major, category
  ``accuracy/...``).
* ``minor_below``: the same for "the segment has any accuracy error", searched only at or
  above ``major_below``.
* ``span_below``: the token threshold of ``metrics.semantic.unmatched_spans`` with the best
  character-level F1 (pooled over rows) of the marked candidate spans against the union of the
  annotators' target-side error spans (all raters, categories and severities), as in the WMT23
  error-span task.

Thresholds are searched on a 0.001 grid (span: 0.300-0.700 by 0.025, ``--span-range``), ties
going to the lower threshold, so the written numbers are the ones measured. The span F1 is also
measured up to 1.000, where marking more keeps raising it towards the F1 of marking every
character; those figures go into the JSON (``grid_f1``, ``grid_marked_char_rate``), so a
reader can see where the searched range stops. Each task also reports its base rate, the F1 of
flagging everything, and the MCC, which flagging everything does not reward.

The same fit is repeated in 5 folds split by document (seeded): fitted on four fifths of the
documents, measured on the rest, and the held-out counts pooled, which are the honest figures.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.explain import fidelity
from metrics.embed import MiniLMEncoder
from metrics.lexical import get_lexical
from metrics.semantic import cosine, token_match, unmatched_spans

SEED = 20261122
FOLDS = 5
SEG_GRID = np.round(np.arange(0, 1001) / 1000.0, 3)
SPAN_GRID = np.round(np.arange(0.300, 1.000 + 1e-9, 0.025), 3)  # measured; searched in a range
SPAN_RANGE = (0.300, 0.700)
DATA = "../shared/data/mqm/wmt23_zhen_mqm.dev.jsonl.gz"
FITTED_ON = "wmt23_zhen_mqm.dev (tuning half)"


@dataclass(frozen=True)
class Scored:
    """Per-row evidence needed for the fit.

    Attributes:
        doc: document id of each row, shape (N,).
        fid: fidelity of each row, shape (N,).
        major_acc: the row has a major accuracy error, shape (N,) bool.
        any_acc: the row has an accuracy error of either severity, shape (N,) bool.
        span_counts: shape (N, len(SPAN_GRID), 4): per row and span threshold, characters
            [marked and gold, marked, gold, all].
    """

    doc: np.ndarray
    fid: np.ndarray
    major_acc: np.ndarray
    any_acc: np.ndarray
    span_counts: np.ndarray


def load(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _is_accuracy(e: dict[str, Any]) -> bool:
    return str(e["category"]).startswith("accuracy")


def _gold_mask(row: dict[str, Any]) -> np.ndarray:
    mask = np.zeros(len(row["hypothesis"]), dtype=bool)
    for e in row["errors"]:
        if e["span_in"] == "target" and e["end"] > e["start"]:
            mask[e["start"] : e["end"]] = True
    return mask


def score(rows: Sequence[dict[str, Any]], threads: int) -> Scored:
    refs = [r["reference"] for r in rows]
    hyps = [r["hypothesis"] for r in rows]
    texts = list(dict.fromkeys(refs + hyps))
    t0 = time.perf_counter()
    encoded = MiniLMEncoder(threads=threads).encode(texts, tokens=True)
    assert encoded.tokens is not None  # asked for
    print(f"encoded {len(texts)} distinct texts in {time.perf_counter() - t0:.1f} s")
    vec = dict(zip(texts, encoded.sentence, strict=True))
    tok = dict(zip(texts, encoded.tokens, strict=True))
    chrf_metric = get_lexical("chrf")
    chrf = chrf_metric.sentence_scores(chrf_metric.stats(hyps=hyps, refs=refs))

    n = len(rows)
    fid = np.zeros(n)
    counts = np.zeros((n, len(SPAN_GRID), 4), dtype=np.int64)
    for i, (r, h) in enumerate(zip(refs, hyps, strict=True)):
        match = token_match(hyp=tok[h], ref=tok[r])
        fid[i] = fidelity(semantic=cosine(vec[r], vec[h]), tokenmatch=match.f1, chrf=float(chrf[i]))
        gold = _gold_mask(rows[i])
        n_gold = int(gold.sum())
        for g, thr in enumerate(SPAN_GRID):
            marked = np.zeros(len(h), dtype=bool)
            for s, e in unmatched_spans(h, tok[h].offsets, match.hyp_best, float(thr)):
                marked[s:e] = True
            counts[i, g] = (int((marked & gold).sum()), int(marked.sum()), n_gold, len(h))
    return Scored(
        doc=np.array([r["doc_id"] for r in rows]),
        fid=fid,
        major_acc=np.array(
            [any(e["severity"] == "major" and _is_accuracy(e) for e in r["errors"]) for r in rows]
        ),
        any_acc=np.array([any(_is_accuracy(e) for e in r["errors"]) for r in rows]),
        span_counts=counts,
    )


def prf(tp: float, n_pred: float, n_gold: float) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def seg_counts(fid: np.ndarray, y: np.ndarray, thr: np.ndarray) -> np.ndarray:
    """Shape (len(thr), 4): [true positives, predicted, gold, all] of ``fid < thr``."""
    pred = fid[:, None] < thr[None, :]
    full = np.full(len(thr), y.sum())
    return np.stack([(pred & y[:, None]).sum(0), pred.sum(0), full, np.full(len(thr), len(y))], 1)


def _f1(c: np.ndarray) -> np.ndarray:
    tp, pred, gold = (c[..., k].astype(np.float64) for k in range(3))
    denom = pred + gold
    return np.divide(2 * tp, denom, out=np.zeros_like(denom), where=denom > 0)


def best_seg(fid: np.ndarray, y: np.ndarray, lo: float = 0.0) -> float:
    """The grid threshold >= ``lo`` with the best F1; ties to the lowest."""
    grid = SEG_GRID
    grid = grid[grid >= lo - 1e-12]
    return float(grid[int(np.argmax(_f1(seg_counts(fid, y, grid))))])


def _mcc(c: np.ndarray) -> np.ndarray:
    tp, pred, gold, n = (c[..., k].astype(np.float64) for k in range(4))
    fp, fn = pred - tp, gold - tp
    tn = n - tp - fp - fn
    denom = np.sqrt(pred * gold * (n - pred) * (n - gold))
    return np.divide(tp * tn - fp * fn, denom, out=np.zeros_like(denom), where=denom > 0)


def best_span(counts: np.ndarray, span_range: tuple[float, float]) -> int:
    """Index into SPAN_GRID of the best pooled character F1 within the range; ties to the lowest."""
    lo, hi = span_range
    grid = SPAN_GRID
    allowed = (grid >= lo - 1e-9) & (grid <= hi + 1e-9)
    f1 = np.where(allowed, _f1(counts.sum(0)), -1.0)
    return int(np.argmax(f1))


def fit(s: Scored, idx: np.ndarray, span_range: tuple[float, float]) -> tuple[float, float, int]:
    major = best_seg(s.fid[idx], s.major_acc[idx])
    minor = best_seg(s.fid[idx], s.any_acc[idx], lo=major)
    return major, minor, best_span(s.span_counts[idx], span_range)


def auc(score_: np.ndarray, y: np.ndarray) -> float:
    """ROC AUC of ``score_`` ranking positives first (ties count half)."""
    order = np.argsort(score_, kind="mergesort")
    ranks = np.empty(len(score_))
    sorted_s = score_[order]
    # average ranks over ties
    _, first, cnt = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = first + (cnt - 1) / 2.0 + 1
    ranks[order] = np.repeat(avg, cnt)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _figures(c: np.ndarray) -> dict[str, float]:
    p, r, f = prf(*(float(x) for x in c[:3]))
    return {"precision": p, "recall": r, "f1": f, "mcc": float(_mcc(c))}


def run(s: Scored, seed: int, span_range: tuple[float, float] = SPAN_RANGE) -> dict[str, Any]:
    everything = np.arange(len(s.fid))
    major, minor, span_i = fit(s, everything, span_range)

    # 5 folds by document, seeded
    docs = np.array(sorted(set(s.doc.tolist())))
    perm = np.random.default_rng(seed).permutation(len(docs))
    fold_of_doc = {docs[j]: k % FOLDS for k, j in enumerate(perm)}
    fold = np.array([fold_of_doc[d] for d in s.doc])
    cv = {name: np.zeros(4, np.int64) for name in ("major", "minor", "span")}
    folds = []
    for k in range(FOLDS):
        train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        f_major, f_minor, f_span = fit(s, train, span_range)
        c_major = seg_counts(s.fid[test], s.major_acc[test], np.array([f_major]))[0]
        c_minor = seg_counts(s.fid[test], s.any_acc[test], np.array([f_minor]))[0]
        c_span = s.span_counts[test, f_span].sum(0)
        cv["major"] += c_major
        cv["minor"] += c_minor
        cv["span"] += c_span
        folds.append(
            {
                "fold": k,
                "docs": len(set(s.doc[test].tolist())),
                "rows": len(test),
                "major_below": f_major,
                "minor_below": f_minor,
                "span_below": float(SPAN_GRID[f_span]),
                "major_f1": _figures(c_major)["f1"],
                "minor_f1": _figures(c_minor)["f1"],
                "span_f1": _figures(c_span)["f1"],
            }
        )

    def seg_report(name: str, y: np.ndarray, thr: float, what: str) -> dict[str, Any]:
        base = float(y.mean())
        mcc = _mcc(seg_counts(s.fid, y, SEG_GRID))
        return {
            "mcc_best_threshold": float(SEG_GRID[int(np.argmax(mcc))]),
            "target": what,
            "base_rate": base,
            "positives": int(y.sum()),
            "fit_all": _figures(seg_counts(s.fid, y, np.array([thr]))[0]),
            "cv_by_doc": _figures(cv[name]),
            "f1_if_all_flagged": 2 * base / (1 + base),
            "flagged_rate": float((s.fid < thr).mean()),
            "auc_low_fidelity": auc(-s.fid, y),
        }

    span_counts_all = s.span_counts[:, span_i].sum(0)
    pooled = s.span_counts.sum(0)
    gold_chars, all_chars = int(span_counts_all[2]), int(span_counts_all[3])
    return {
        "major_below": major,
        "minor_below": minor,
        "span_below": float(SPAN_GRID[span_i]),
        "fit": {
            "major": seg_report("major", s.major_acc, major, "segment has >=1 major accuracy/* error"),
            "minor": seg_report(
                "minor", s.any_acc, minor, "segment has >=1 accuracy/* error (major or minor)"
            ),
            "span": {
                "target": "character F1, pooled over rows, of marked candidate spans vs the "
                "union of target-side MQM error spans (all raters, categories, severities)",
                "searched": f"{span_range[0]:.3f}-{span_range[1]:.3f} step 0.025",
                "gold_char_rate": gold_chars / all_chars,
                "marked_char_rate": float(span_counts_all[1]) / all_chars,
                "fit_all": _figures(span_counts_all),
                "cv_by_doc": _figures(cv["span"]),
                "f1_if_all_marked": 2 * gold_chars / (gold_chars + all_chars),
                "grid_f1": {
                    f"{t:.3f}": round(float(f), 4) for t, f in zip(SPAN_GRID, _f1(pooled), strict=True)
                },
                "grid_marked_char_rate": {
                    f"{t:.3f}": round(float(m) / all_chars, 4)
                    for t, m in zip(SPAN_GRID, pooled[:, 1], strict=True)
                },
            },
            "cv_folds": folds,
        },
    }


def _rounded(x: Any) -> Any:
    if isinstance(x, float):
        return round(x, 3)
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_rounded(v) for v in x]
    return x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--out", default="metrics/params/drift-v1.json")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument(
        "--span-range",
        type=float,
        nargs=2,
        default=SPAN_RANGE,
        metavar=("LO", "HI"),
        help="span_below is searched in this part of the grid (default 0.30 0.70)",
    )
    args = ap.parse_args()
    t0 = time.perf_counter()
    data = Path(args.data)
    rows = load(data)
    s = score(rows, args.threads)
    result = run(s, args.seed, tuple(args.span_range))
    result.update(
        {
            "fitted_on": FITTED_ON,
            "data_sha256": hashlib.sha256(data.read_bytes()).hexdigest()[:12],
            "rows": len(rows),
            "docs": len(set(s.doc.tolist())),
            "seed": args.seed,
            "folds": FOLDS,
            "script": "scripts/calibrate_drift.py",
            "fidelity": "mean(semantic,tokenmatch,chrf/100); positive when fidelity < threshold",
        }
    )
    out = _rounded(result)
    # the grid's F1s keep 4 decimals: they are close to one another
    for key in ("grid_f1", "grid_marked_char_rate"):
        out["fit"]["span"][key] = result["fit"]["span"][key]
    Path(args.out).write_text(json.dumps(out, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    fit_ = result["fit"]
    print(f"\n{len(rows)} rows, {result['docs']} docs; {FOLDS}-fold CV by doc, seed {args.seed}")
    head = ("task", "threshold", "base", "P", "R", "F1", "MCC", "cv P", "cv R", "cv F1", "all F1")
    print(f"{head[0]:<8}{head[1]:>10}" + "".join(f"{h:>7}" for h in head[2:]))
    for name, thr in (
        ("major", result["major_below"]),
        ("minor", result["minor_below"]),
        ("span", result["span_below"]),
    ):
        rep = fit_[name]
        base = rep.get("base_rate", rep.get("gold_char_rate"))
        trivial = rep.get("f1_if_all_flagged", rep.get("f1_if_all_marked"))
        a, c = rep["fit_all"], rep["cv_by_doc"]
        cells = (base, a["precision"], a["recall"], a["f1"], a["mcc"])
        cells += (c["precision"], c["recall"], c["f1"], trivial)
        print(f"{name:<8}{thr:>10.3f}" + "".join(f"{x:>7.3f}" for x in cells))
    print("(base: positive rate, for span the gold character rate; all F1: F1 of flagging all)")
    for name in ("major", "minor"):
        rep = fit_[name]
        print(
            f"{name}: flags {rep['flagged_rate']:.3f} of rows; AUC of low fidelity "
            f"{rep['auc_low_fidelity']:.3f}; MCC-best threshold {rep['mcc_best_threshold']:.3f}"
        )
    sp = fit_["span"]
    best_t, best_f = max(sp["grid_f1"].items(), key=lambda kv: (kv[1], -float(kv[0])))
    print(
        f"span: marks {sp['marked_char_rate']:.3f} of characters; over the whole grid F1 peaks "
        f"at {best_t} ({best_f:.3f}, marking {sp['grid_marked_char_rate'][best_t]:.3f})"
    )
    per_fold = [
        f"{f['major_below']:.3f}/{f['minor_below']:.3f}/{f['span_below']:.3f}" for f in fit_["cv_folds"]
    ]
    print("fold thresholds (major/minor/span):", ", ".join(per_fold))
    print(f"wrote {args.out} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
