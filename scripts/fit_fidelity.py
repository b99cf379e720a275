"""Fit ``fidelity`` and the drift thresholds for one encoder on the MQM dev sets, judged by leaving
one data set out: ``metrics/params/fidelity-v2-<model>.json``.

Usage: python scripts/fit_fidelity.py [--model minilm|mpnet|usem3|lexical] [--data FILE ...]
                                      [--cache DIR] [--out PATH] [--check]

``make fit`` runs it for every packaged encoder, and for the judge that reads no encoder
(``--model lexical``, ``metrics/params/fidelity-v2-lexical.json``: sentence chrF, BLEU, TER and
the fact checker's findings; its candidates are :data:`ENCODER_FREE_CANDIDATES`, its single
inputs :data:`ENCODER_FREE_SINGLE`, and its rows are scored with ``--evidence-model``'s encoder,
whose evidence it never weighs: with the cache of the minilm fit it encodes nothing). It is the
fidelity of an encoder without fitted parameters (a user's model, ``usem3``) and of an
English-only encoder on another target language (``eval.judge.fidelity_params``). Every
encoder's run prints the encoder-free candidates' figures beside its own.

``--model usem3`` (sentence vectors only, no token match) chooses among
:data:`SENTENCE_CANDIDATES` by :func:`choose_for_other_languages`: usem3 is the encoder of a run
without ``--model`` only where the default encoder does not cover the target language
(``metrics.models.default_model``), so its judge must hold where that happens: on en-de left out,
at least chrF and the best of its own inputs; then the best mean, as for the others.
Deterministic: L-BFGS-B from zero, no randomness.

Data. The four dev sets of ``../shared/data/mqm`` (:data:`DATASETS`): WMT23 zh-en (weak
reference), WMT23 he-en (a good reference), TED zh-en (a good reference) and WMT23 en-de
(German target, paragraph segments, error spans; a weak reference). TED's ``ref-A``
rows are a human translation that annotators scored as a system (``is_human``); they are left
out, as from every MT-only correlation. Every row (one system's output for one segment) is scored
as ``eval.pipeline.evaluate_corpus`` scores it, as one 1-1 bead, with the chosen encoder; each bead
carries the evidence of ``eval.judge.EVIDENCE`` that the pipeline computed for it.

Model. A RankNet-style pairwise logistic regression over standardised evidence: for every pair of
rows of the same segment whose MQM differs, the loss is log(1 + exp(-s * w.(x_i - x_j))) with
s = sign(mqm_i - mqm_j); each data set's pairs weigh 1 in all (so a large set does not drown a
small one), plus ``LAMBDA / 2 * |w|^2`` per set. Monotone: weights on agreement are bounded at
>= 0, on mismatch at <= 0 (``eval.judge.HIGHER_IS_BETTER`` / ``LOWER_IS_BETTER``). The score is
squashed to 0-1 by ``1 / (1 + exp(-(a + b * score + c * log_ref_len)))``, fitted by logistic
regression of "annotators marked no major accuracy error" on the sets that have error
annotations (zh-en, TED, en-de; each weighing 1): fidelity reads as that chance. ``c`` lets a longer
reference, which leaves more to get wrong, lower it; within one segment it is a constant, so it
never changes a by-item ranking.

Leave one data set out (LODO). For every candidate feature set (:data:`CANDIDATES`) and every
dev set, the model is fitted on the other two and measured on the third: by-item Kendall tau-b
and system pairwise accuracy (``eval.meta.agreement``), beside each single piece of evidence unfitted. The
shipped features (:data:`FEATURES`) are the candidate with the best mean LODO by-item tau (strict:
an item where only the metric is constant counts as 0, see :func:`figures`) among those never
below their best single input on any held-out set, fewer features winning within 0.002; the
script prints the table and says which one the rule picks (``--check`` fails if that is not
:data:`FEATURES`).

Drift thresholds, read off the calibrated fidelity instead of tuned against the aim.
``major`` = a major finding (changed name or number, lost number, negation flip) or a chance of
a major accuracy error at least ``MAJOR_LIFT`` (2) times the base rate b (the mean over the
labelled sets of their share of rows with one): ``major_below = 1 - 2 b``. ``minor`` = a minor
finding or a chance at least ``MINOR_LIFT`` (1.5) times b: ``minor_below = 1 - 1.5 b``. The aim
of the issue is precision at least twice the base rate at recall at least 0.3; reported leave
one labelled set out (model, squashing and b fitted without zh-en, measured on zh-en; the same
for TED; he-en has no error annotations) and in sample.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from mtdrift.eval.judge import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    PARAMS_VERSION,
    DriftConfig,
    FidelityModel,
    params_file,
)
from mtdrift.eval.meta.agreement import kendall_by_item, sys_accuracy

ROOT = Path(__file__).resolve().parent.parent
LAMBDA = 1.0
MQM_DIR = ROOT.parent / "shared" / "data" / "mqm"
DATASETS: dict[str, str] = {
    "wmt23_zhen": "wmt23_zhen_mqm.dev.jsonl.gz",
    "wmt23_heen": "wmt23_heen_mqm.dev.jsonl.gz",
    "wmt21ted_zhen": "wmt21ted_zhen_mqm.dev.jsonl.gz",
    "wmt23_ende": "wmt23_ende_mqm.dev.jsonl.gz",
}
"""The dev sets, by the name the tables use."""
TARGET_LANG: dict[str, str] = {
    "wmt23_zhen": "en",
    "wmt23_heen": "en",
    "wmt21ted_zhen": "en",
    "wmt23_ende": "de",
}
"""Each dev set's target language (a set not named here: English)."""
ENGLISH_RULE_FINDINGS = ("ent_major", "ent_minor", "negation")
"""Findings that come from English rules (spaCy's English NER, English negation words). On a
set whose target is not English they are set to 0 (:func:`language_aware`), as the
language-aware checker of issue 21 (item 6) reports them there: names only where a packaged NER
model for the language exists, never English negation rules on other text. The checker of this
tree still runs them on German; counted as evidence, they are noise (English NER tags German
nouns: 0.26 changed names per en-de row against 0.06 on the English sets) and take the MiniLM
judge from 0.228 (token recall alone) to 0.183 on en-de left out."""
SPAN_BELOW = 0.45
UNMATCHED_BELOW = 0.45
MAJOR_LIFT = 2.0
MINOR_LIFT = 1.5

FINDINGS = ("num_major", "num_minor", "ent_major", "ent_minor", "negation")
CANDIDATES: dict[str, tuple[str, ...]] = {
    "tm_r": ("tm_r",),
    "tm_r, tm_p": ("tm_r", "tm_p"),
    "tm_r, tm_p, findings": ("tm_r", "tm_p", *FINDINGS),
    "tm_r, tm_p, chrf, findings": ("tm_r", "tm_p", "chrf", *FINDINGS),
    "tm_r, tm_p, ref/hyp_unmatched, findings": ("tm_r", "tm_p", "ref_unmatched", "hyp_unmatched", *FINDINGS),
    "fidelity-v1's 18": (
        "sem", "tm_p", "tm_r", "ref_unmatched", "hyp_unmatched", "ref_min", "chrf", "chrf_p", "chrf_r",
        "bleu", "neg_ter", "log_len_ratio", "abs_log_len_ratio", *FINDINGS,
    ),
}  # fmt: skip
"""Feature sets compared by leaving one data set out (simplest first)."""
FEATURES_BY_MODEL: dict[str, tuple[str, ...]] = {
    "minilm": CANDIDATES["tm_r, tm_p, chrf, findings"],  # four dev sets, en-de among them
    "mpnet": CANDIDATES["tm_r, tm_p, findings"],  # three dev sets: not yet re-fitted on the four
}
"""Each encoder's shipped evidence: what the selection rule picks for it (``--check`` verifies
it). On the three English-target sets the rule picked the same three-part model for both; with
en-de added it picks chrF beside the token match for MiniLM (mean 0.197 against 0.195)."""
FEATURES: tuple[str, ...] = FEATURES_BY_MODEL["mpnet"]
"""The default encoder's shipped evidence."""
SINGLE = ("tm_r", "tm_p", "sem", "chrf", "bleu", "neg_ter", "ref_unmatched")
"""Single inputs reported unfitted (mismatch evidence negated)."""

ENCODER_FREE = "lexical"
"""``--model lexical``: the judge that reads no encoder (``eval.judge.ENCODER_FREE``)."""
ENCODER_FREE_CANDIDATES: dict[str, tuple[str, ...]] = {
    "chrf": ("chrf",),
    "chrf, findings": ("chrf", *FINDINGS),
    "chrf, bleu, findings": ("chrf", "bleu", *FINDINGS),
    "chrf, bleu, neg_ter, findings": ("chrf", "bleu", "neg_ter", *FINDINGS),
    "chrf_p, chrf_r, bleu, neg_ter, length, findings": (
        "chrf_p", "chrf_r", "bleu", "neg_ter", "log_len_ratio", "abs_log_len_ratio", *FINDINGS,
    ),
}  # fmt: skip
"""The encoder-free judge's candidate feature sets (simplest first): no encoder evidence."""
ENCODER_FREE_FEATURES: tuple[str, ...] = ENCODER_FREE_CANDIDATES["chrf, bleu, findings"]
"""The shipped encoder-free judge's evidence: what the selection rule picks among
:data:`ENCODER_FREE_CANDIDATES` (``--model lexical --check`` verifies it)."""
ENCODER_FREE_SINGLE = ("chrf", "bleu", "neg_ter")
"""The encoder-free judge's single inputs."""

SENTENCE_CANDIDATES: dict[str, tuple[str, ...]] = {
    "sem": ("sem",),
    "sem, findings": ("sem", *FINDINGS),
    "sem, chrf, findings": ("sem", "chrf", *FINDINGS),
    "sem, chrf, bleu, findings": ("sem", "chrf", "bleu", *FINDINGS),
    "sem, neg_ter, findings": ("sem", "neg_ter", *FINDINGS),
    "sem, chrf, neg_ter, findings": ("sem", "chrf", "neg_ter", *FINDINGS),
    "sem, chrf, bleu, neg_ter, findings": ("sem", "chrf", "bleu", "neg_ter", *FINDINGS),
}
"""Candidates of an encoder with sentence vectors only (``usem3``: no token match), simplest first."""
SENTENCE_SINGLE = ("sem", "chrf", "bleu", "neg_ter")
"""Their single inputs."""
OTHER_LANGUAGE_ENCODERS = ("usem3",)
"""Encoders whose judge is the default only where the default encoder does not cover the target
(``metrics.models.default_model``: usem3 on German, Chinese, Japanese, ...). Their rule
(:func:`choose_for_other_languages`) asks what the issue asks of the default judge on a set whose
target the default encoder does not cover (en-de): at least chrF and the best of its own inputs
there, left out of the fit."""
FEATURES_BY_MODEL["usem3"] = SENTENCE_CANDIDATES["sem, chrf, bleu, findings"]


# ---------------------------------------------------------------------------------------------
# evidence


def language_aware(t: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``t`` with the English-rule findings (:data:`ENGLISH_RULE_FINDINGS`) set to 0 when the
    target language ``lang`` is not English, and ``major_finding`` then read off the numbers."""
    if lang == "en":
        return t
    out = t.copy()
    for c in ENGLISH_RULE_FINDINGS:
        out[c] = 0.0
    out["major_finding"] = out["num_major"] > 0
    return out


def load(data: str | Path, cache_dir: str | None, model: str, backend: str = "auto") -> pd.DataFrame:
    """One row per (doc_id, seg_id, system) of one MQM file, human rows left out: MQM, the
    error labels and the evidence computed with encoder ``model`` (``cache_dir``: the mtdrift
    cache to use, ``None`` for none)."""
    from mtdrift.eval.config import RunConfig
    from mtdrift.eval.corpus import build_corpus, read_rows
    from mtdrift.eval.pipeline import evaluate_corpus
    from mtdrift.metrics.cache import Cache, CachedEncoder
    from mtdrift.metrics.encoders import Encoder, load_encoder
    from mtdrift.metrics.facts.checker import FactChecker

    cache = Cache(cache_dir) if cache_dir is not None else None
    enc: Encoder = load_encoder(model, threads=2, backend=backend)
    if cache is not None:
        enc = CachedEncoder(enc, cache)
    lines = [(n, r) for n, r in read_rows(data) if not r.get("is_human")]  # the file is read once
    corpus = build_corpus(iter(lines), name=str(data))
    # labels are not used here: a placeholder model keeps the run independent of the file it
    # writes; each bead carries the evidence the pipeline computed for it
    placeholder = FidelityModel(("sem",), (0.0,), (1.0,), (1.0,), 0.0, 1.0, unmatched_below=UNMATCHED_BELOW)
    drift = DriftConfig(minor_below=0.0, major_below=0.0, span_below=SPAN_BELOW, model=placeholder)
    ev = evaluate_corpus(
        corpus, encoder=enc, checker=FactChecker(cache=cache), cache=cache, config=RunConfig(drift=drift)
    )
    assert ev.keys is not None
    rec = []
    for s in ev.systems:
        for i, b in enumerate(s.beads):
            doc, seg = ev.keys[i]
            assert b.evidence is not None  # every corpus row is a 1-1 bead
            rec.append(
                {
                    "doc_id": str(doc),
                    "seg_id": int(seg),
                    "system": s.system,
                    "major_finding": any(f.severity == "major" and f.kind != "semantic" for f in b.reasons),
                    **b.evidence,
                }
            )
    feats = pd.DataFrame(rec)
    rows = [r for _, r in lines]

    def acc(r: Mapping[str, Any], severity: str | None) -> bool:
        return any(
            str(e["category"]).casefold().startswith("accuracy")
            and (severity is None or e["severity"] == severity)
            for e in r.get("errors") or []
        )

    gold = pd.DataFrame(
        {
            "doc_id": [str(r["doc_id"]) for r in rows],
            "seg_id": [int(r["seg_id"]) for r in rows],
            "system": [str(r["system"]) for r in rows],
            "mqm": [float(r["mqm"]) for r in rows],
            "labelled": ["errors" in r for r in rows],
            "major_acc": [acc(r, "major") for r in rows],
        }
    )
    out = gold.merge(feats, on=["doc_id", "seg_id", "system"], how="left", validate="one_to_one")
    if out["chrf"].isna().any():
        raise SystemExit(f"{int(out['chrf'].isna().sum())} rows without evidence")
    out["item"] = out["doc_id"] + "|" + out["seg_id"].astype(str)
    out["icode"] = pd.factorize(out["item"])[0]
    return out


# ---------------------------------------------------------------------------------------------
# model


def within_item_pairs(y: np.ndarray, icode: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i, j), i < j, of rows in the same item with different human scores."""
    firsts, seconds = [], []
    order = np.argsort(icode, kind="stable")
    for g in np.split(order, np.flatnonzero(np.diff(icode[order])) + 1):
        a, b = np.triu_indices(len(g), 1)
        keep = y[g[a]] != y[g[b]]
        firsts.append(g[a][keep])
        seconds.append(g[b][keep])
    return np.concatenate(firsts), np.concatenate(seconds)


def bounds_for(cols: Sequence[str]) -> list[tuple[float | None, float | None]]:
    """L-BFGS-B bounds of a monotone model (``eval.judge.HIGHER_IS_BETTER`` / ``LOWER_IS_BETTER``)."""
    return [
        (0.0, None) if c in HIGHER_IS_BETTER else (None, 0.0) if c in LOWER_IS_BETTER else (None, None)
        for c in cols
    ]


def standardiser(tables: Sequence[pd.DataFrame], cols: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of ``cols`` over the rows of ``tables`` (1 where constant)."""
    x = np.concatenate([t[list(cols)].to_numpy(np.float64) for t in tables])
    sd = x.std(0)
    sd[sd == 0] = 1.0
    return x.mean(0), sd


def fit_ranknet(tables: Sequence[pd.DataFrame], cols: Sequence[str], lam: float = LAMBDA) -> dict[str, Any]:
    """The monotone pairwise model over ``tables``, each set's pairs weighing 1 in all."""
    mu, sd = standardiser(tables, cols)
    diffs, weights = [], []
    for t in tables:
        x = (t[list(cols)].to_numpy(np.float64) - mu) / sd
        y = t["mqm"].to_numpy()
        i, j = within_item_pairs(y, t["icode"].to_numpy())
        diffs.append((x[i] - x[j]) * np.sign(y[i] - y[j])[:, None])
        weights.append(np.full(len(i), 1.0 / len(i)))
    diff, wt = np.concatenate(diffs), np.concatenate(weights)
    n = len(tables)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = diff @ w
        prob_wrong = 0.5 * (1.0 - np.tanh(z / 2.0))  # 1 / (1 + exp(z)), stable
        value = (wt * np.logaddexp(0.0, -z)).sum() / n + lam * (w @ w) / (2 * len(diff))
        grad = -(diff.T @ (wt * prob_wrong)) / n + lam * w / len(diff)
        return float(value), grad

    res = minimize(
        loss,
        np.zeros(len(cols)),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds_for(cols),
        options={"maxiter": 2000},
    )
    return {"features": tuple(cols), "weights": np.asarray(res.x), "mean": mu, "scale": sd}


def score(fit: Mapping[str, Any], t: pd.DataFrame) -> np.ndarray:
    x = (t[list(fit["features"])].to_numpy(np.float64) - fit["mean"]) / fit["scale"]
    return np.asarray(x @ fit["weights"])


def fit_squash(tables: Sequence[pd.DataFrame], scores: Sequence[np.ndarray]) -> tuple[float, float, float]:
    """(a, b, c) of P(no major accuracy error) = 1 / (1 + exp(-(a + b * score + c * log_ref_len)))
    by maximum likelihood, each table weighing 1 in all; b > 0."""
    s = np.concatenate(scores)
    ln = np.concatenate([t["log_ref_len"].to_numpy(np.float64) for t in tables])
    good = np.concatenate([~t["major_acc"].to_numpy(bool) for t in tables]).astype(np.float64)
    wt = np.concatenate([np.full(len(t), 1.0 / len(t)) for t in tables]) / len(tables)
    design = np.stack([np.ones_like(s), s, ln], axis=1)

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        z = design @ p
        q = 0.5 * (1.0 + np.tanh(z / 2.0))
        value = float((wt * (np.logaddexp(0.0, z) - good * z)).sum())
        return value, design.T @ (wt * (q - good))

    res = minimize(
        loss,
        np.array([0.0, 1.0, 0.0]),
        jac=True,
        method="L-BFGS-B",
        bounds=[(None, None), (1e-6, None), (None, None)],
    )
    return float(res.x[0]), float(res.x[1]), float(res.x[2])


def squash(s: np.ndarray, t: pd.DataFrame, abc: tuple[float, float, float]) -> np.ndarray:
    a, b, c = abc
    z = a + b * s + c * t["log_ref_len"].to_numpy(np.float64)
    return 0.5 * (1.0 + np.tanh(z / 2.0))


def figures(t: pd.DataFrame, s: np.ndarray) -> dict[str, float]:
    """By-item Kendall tau-b and system pairwise accuracy of scores ``s`` on table ``t``.

    ``by_item`` is ``eval.meta.agreement``'s (the official rule: an item where either side is constant is
    skipped). ``by_item_strict`` counts an item where only the metric is constant as tau 0: a
    score with many ties (a share of unmatched tokens, a count) abstains on the hard items and
    the official rule then averages it over the easy ones only. The selection uses the strict one.
    """
    y = t["mqm"].to_numpy()
    items = t["item"].to_numpy()
    k = kendall_by_item(y, s, items)
    human_varies = int(pd.Series(y).groupby(items).nunique().gt(1).sum())
    return {
        "by_item": float(k.mean_tau),
        "by_item_strict": float(k.mean_tau * k.n_used / human_varies),
        "sys_acc": float(sys_accuracy(y, s, t["system"].to_numpy())),
    }


def lodo(tables: Mapping[str, pd.DataFrame], cols: Sequence[str]) -> dict[str, dict[str, float]]:
    """For each set: the model fitted on the others, measured on it."""
    out = {}
    for held, t in tables.items():
        fit = fit_ranknet([u for n, u in tables.items() if n != held], cols)
        out[held] = figures(t, score(fit, t))
    return out


def single(t: pd.DataFrame, c: str) -> np.ndarray:
    """A piece of evidence as a score, higher = better (mismatch negated)."""
    x = t[c].to_numpy(np.float64)
    return -x if c in LOWER_IS_BETTER else x


def choose(
    results: Mapping[str, Mapping[str, Mapping[str, float]]],
    best_single: Mapping[str, float],
    candidates: Mapping[str, tuple[str, ...]] = CANDIDATES,
) -> str:
    """The selection rule of the module doc: best mean LODO by-item tau among the candidates
    never below the best single input on a held-out set, fewer features within 0.002."""
    ok = [
        name
        for name, r in results.items()
        if all(r[s]["by_item_strict"] >= best_single[s] - 1e-12 for s in best_single)
    ] or list(results)
    mean = {n: float(np.mean([v["by_item_strict"] for v in results[n].values()])) for n in ok}
    top = max(mean.values())
    close = [n for n in ok if mean[n] >= top - 0.002]
    return min(close, key=lambda n: (len(candidates[n]), -mean[n]))


def choose_for_other_languages(
    results: Mapping[str, Mapping[str, Mapping[str, float]]],
    singles: Mapping[str, Mapping[str, Mapping[str, float]]],
    candidates: Mapping[str, tuple[str, ...]],
    sets: Sequence[str],
) -> str:
    """The rule of :data:`OTHER_LANGUAGE_ENCODERS`: among the candidates that, on every held-out
    set of ``sets`` (targets the default encoder does not cover), reach at least chrF and the best
    single input among their own features, the best mean LODO by-item tau over all sets, fewer
    features within 0.002 (as :func:`choose`). None qualifying: :func:`choose`'s pick."""
    ok = [
        name
        for name, r in results.items()
        if all(
            r[s]["by_item_strict"]
            >= max(singles[c][s]["by_item_strict"] for c in {"chrf", *candidates[name]} & set(singles))
            - 1e-12
            for s in sets
        )
    ]
    if not ok:
        best = {
            s: max(v[s]["by_item_strict"] for v in singles.values()) for s in next(iter(results.values()))
        }
        return choose(results, best, candidates)
    return choose({n: results[n] for n in ok}, {}, {n: candidates[n] for n in ok})


# ---------------------------------------------------------------------------------------------
# drift thresholds


def prf(flag: np.ndarray, pos: np.ndarray) -> dict[str, float]:
    tp = int((flag & pos).sum())
    p = tp / int(flag.sum()) if flag.any() else 0.0
    r = tp / int(pos.sum()) if pos.any() else 0.0
    return {
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / (p + r) if p + r else 0.0,
        "flag_rate": float(flag.mean()),
        "base_rate": float(pos.mean()),
        "lift": p / float(pos.mean()) if pos.any() else 0.0,
    }


def drift_fit(
    tables: Sequence[pd.DataFrame], fit: Mapping[str, Any]
) -> tuple[tuple[float, float, float], float, float]:
    """Squashing and thresholds fitted on the labelled ``tables`` for ranking model ``fit``."""
    abc = fit_squash(tables, [score(fit, t) for t in tables])
    base = float(np.mean([t["major_acc"].mean() for t in tables]))
    return abc, round(1.0 - MAJOR_LIFT * base, 3), round(1.0 - MINOR_LIFT * base, 3)


def drift_figures(
    t: pd.DataFrame, fit: Mapping[str, Any], abc: tuple[float, float, float], t_major: float
) -> dict[str, Any]:
    fid = squash(score(fit, t), t, abc)
    pos = t["major_acc"].to_numpy(bool)
    mf = t["major_finding"].to_numpy(bool)
    return {
        "major": prf(mf | (fid < t_major), pos),
        "findings_only": prf(mf, pos),
        "fidelity_only": prf(fid < t_major, pos),
    }


# ---------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--model", default="minilm", help="packaged encoder (minilm, mpnet, usem3), or lexical (no encoder)"
    )
    ap.add_argument(
        "--evidence-model",
        default="minilm",
        help="with --model lexical: the encoder the rows are scored with (its evidence is not weighed)",
    )
    ap.add_argument(
        "--data", action="append", help="MQM dev files (default: the three of ../shared/data/mqm)"
    )
    ap.add_argument("--cache", default=None, help="mtdrift cache directory (default as for mtdrift)")
    ap.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    ap.add_argument("--out", type=Path, default=None, help="default metrics/params/fidelity-v2-<model>.json")
    ap.add_argument(
        "--english-findings-everywhere",
        action="store_true",
        help="keep the English-rule findings on non-English targets (see TARGET_LANG; for comparison)",
    )
    ap.add_argument(
        "--backend",
        default="auto",
        help="what runs the encoder: auto (ONNX Runtime on the CPU), onnxruntime or torch (for comparison)",
    )
    ap.add_argument("--check", action="store_true", help="fail unless the rule picks the shipped FEATURES")
    args = ap.parse_args(argv)
    t0 = time.time()
    from mtdrift.metrics.cache import default_cache_dir

    cache = None if args.no_cache else str(args.cache or default_cache_dir())
    paths = (
        {Path(p).name.split("_mqm")[0]: Path(p) for p in args.data}
        if args.data
        else {n: MQM_DIR / f for n, f in DATASETS.items()}
    )
    free = args.model == ENCODER_FREE
    sentence_only = args.model in OTHER_LANGUAGE_ENCODERS
    candidates = ENCODER_FREE_CANDIDATES if free else SENTENCE_CANDIDATES if sentence_only else CANDIDATES
    features = ENCODER_FREE_FEATURES if free else FEATURES_BY_MODEL.get(args.model, FEATURES)
    single_inputs = ENCODER_FREE_SINGLE if free else SENTENCE_SINGLE if sentence_only else SINGLE
    tables = {}
    for name, path in paths.items():
        raw = load(path, cache, args.evidence_model if free else args.model, args.backend)
        tables[name] = (
            raw if args.english_findings_everywhere else language_aware(raw, TARGET_LANG.get(name, "en"))
        )
        t = tables[name]
        print(
            f"{name}: {len(t)} rows, {t['item'].nunique()} segments, {t['system'].nunique()} systems, "
            f"{t['doc_id'].nunique()} documents ({time.time() - t0:.0f}s)",
            flush=True,
        )
    labelled = {n: t for n, t in tables.items() if t["labelled"].all()}

    what = "no encoder (lexical + findings)" if free else f"encoder {args.model}"
    print(f"\n{what}: by-item tau (strict) / system accuracy, each data set left out in turn")
    header = "  " + f"{'':44s}" + "".join(f"{n:>26s}" for n in tables) + f"{'mean':>9s}"
    print(header)

    def line(name: str, r: Mapping[str, Mapping[str, float]]) -> None:
        cells = "".join(
            f"{r[n]['by_item']:7.3f} ({r[n]['by_item_strict']:.3f}) / {r[n]['sys_acc']:.3f}" for n in tables
        )
        print(f"  {name:44s}{cells}{np.mean([v['by_item_strict'] for v in r.values()]):9.3f}")

    shown = SENTENCE_SINGLE if sentence_only else SINGLE
    singles = {c: {n: figures(t, single(t, c)) for n, t in tables.items()} for c in shown}
    for c, r in singles.items():
        line(f"{c} (unfitted)", r)
    best_single = {n: max(singles[c][n]["by_item_strict"] for c in single_inputs) for n in tables}
    results = {}
    for name, cols in candidates.items():
        results[name] = lodo(tables, cols)
        line(name, results[name])
    if not free:
        print("  encoder-free judges, for comparison (--model lexical ships one of them):")
        for name, cols in ENCODER_FREE_CANDIDATES.items():
            line(f"  {name}", lodo(tables, cols))
    if sentence_only:
        other = [n for n in tables if TARGET_LANG.get(n, "en") != "en"]
        picked = choose_for_other_languages(results, singles, candidates, other)
    else:
        picked = choose(results, best_single, candidates)
    shipped = next(n for n, c in candidates.items() if c == features)
    print(f"\nthe rule picks: {picked}; shipped: {shipped}")

    full = fit_ranknet(list(tables.values()), features)
    abc, t_major, t_minor = drift_fit(list(labelled.values()), full)
    print(f"shipped model, fitted on {', '.join(tables)}:")
    for c, w, m, s in zip(features, full["weights"], full["mean"], full["scale"], strict=True):
        print(f"  {c:18s} weight {w:+.4f}  (mean {m:+.4f}, sd {s:.4f})")
    print(
        f"  fidelity = 1 / (1 + exp(-({abc[0]:+.4f} + {abc[1]:.4f} * score {abc[2]:+.4f} * log_ref_len)))"
        f"; major_below {t_major:.3f}, minor_below {t_minor:.3f}"
    )

    print("\ndrift label major against rows with a major accuracy error, each labelled set left out")
    drift_lodo: dict[str, Any] = {}
    for held, t in labelled.items():
        rest = {n: u for n, u in tables.items() if n != held}
        fit = fit_ranknet(list(rest.values()), features)
        abc_h, tm_h, _ = drift_fit([u for n, u in labelled.items() if n != held], fit)
        drift_lodo[held] = {"major_below": tm_h, **drift_figures(t, fit, abc_h, tm_h)}
        for what in ("major", "findings_only", "fidelity_only"):
            r = drift_lodo[held][what]
            print(
                f"  {held:14s} {what:14s} P {r['precision']:.3f} R {r['recall']:.3f} "
                f"lift {r['lift']:.2f} (base {r['base_rate']:.3f}) flags {r['flag_rate']:.3f}"
                + (f"  [major_below {tm_h:.3f}]" if what == "major" else "")
            )
    in_sample = {n: drift_figures(t, full, abc, t_major) for n, t in labelled.items()}

    def rounded(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: rounded(v) for k, v in x.items()}
        return round(float(x), 6) if isinstance(x, (float, np.floating)) else x

    params = {
        "version": PARAMS_VERSION,
        "encoder": args.model,
        "fitted_on": {n: f"{DATASETS.get(n, paths[n].name)}, {len(t)} rows" for n, t in tables.items()},
        "lambda": LAMBDA,
        "model": {
            "kind": "ranknet-logistic, monotone, data sets weighted equally",
            "features": list(features),
            "mean": [round(float(v), 8) for v in full["mean"]],
            "scale": [round(float(v), 8) for v in full["scale"]],
            "weights": [round(float(v), 8) for v in full["weights"]],
            "squash": {
                "intercept": round(abc[0], 8),
                "slope": round(abc[1], 8),
                "length": round(abc[2], 8),
            },
            "unmatched_below": UNMATCHED_BELOW,
        },
        "drift": {
            "minor_below": t_minor,
            "major_below": t_major,
            "span_below": SPAN_BELOW,
            "base_rate": round(float(np.mean([t["major_acc"].mean() for t in labelled.values()])), 6),
            "rule": f"major_below = 1 - {MAJOR_LIFT} b, minor_below = 1 - {MINOR_LIFT} b; b: the mean base "
            "rate of major accuracy errors over the labelled sets",
        },
        "lodo": {
            "by_item_and_sys_acc": rounded(results[shipped]),
            "best_single_by_item": rounded(best_single),
            "best_own_single_by_item": rounded(
                {
                    n: max(singles[c][n]["by_item_strict"] for c in set(features) & set(singles))
                    for n in tables
                }
            ),
            "drift": rounded(drift_lodo),
            "drift_in_sample": rounded(in_sample),
        },
    }
    out = args.out or params_file(args.model)
    out.write_text(json.dumps(params, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {out} ({DriftConfig.load(out).source}); {time.time() - t0:.0f}s")
    if args.check and picked != shipped:
        print(f"fit: the selection rule picks {picked!r}, not the shipped {shipped!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
