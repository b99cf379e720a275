"""Tune the aligner's settings on generated problems from the MQM tuning half.

Usage: python scripts/tune_align.py [--data ../shared/data/mqm/wmt23_zhen_mqm.dev.jsonl.gz]

Each problem: consecutive WMT23 documents (about 30 segments), the references against one
system's outputs (a system drawn per problem), edited at random by ``tests.support.synth.perturb``;
four passes over the documents with seeds ``SEED`` to ``SEED + 3`` (72 problems), never
drawing ``CHECKED``: the test suite checks on its outputs (seed 12345). Prints the mean strict
bead F1 of each setting in a small grid around the defaults, best last.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

from mtdrift.eval.align import AlignConfig, align
from mtdrift.metrics.encoders import MiniLMEncoder, TokenVectors

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: the generated problems
from tests.support.synth import bead_f1, mqm_problems

SEED = 20261122
PASSES = 4
CHECKED = "GPT4-5shot"
"""The system whose outputs ``tests/eval/test_align.py`` checks the aligner on: never tuned on."""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/mqm/wmt23_zhen_mqm.dev.jsonl.gz")
    args = ap.parse_args()
    held_out = frozenset({CHECKED})
    probs = [p for k in range(PASSES) for p in mqm_problems(Path(args.data), seed=SEED + k, exclude=held_out)]
    enc = MiniLMEncoder()
    texts = sorted({t for p in probs for t in (*p.ref, *p.hyp)})
    tok = dict(zip(texts, enc.encode(texts, tokens=True).tokens or [], strict=True))

    def toks(xs: list[str]) -> list[TokenVectors]:
        return [tok[t] for t in xs]

    # lexical weight, gap mix, merge penalty, length weight, gain weight
    grid = itertools.product([0.1, 0.2], [0.9], [0.2], [0.0, 0.1], [0.0, 2.0])
    results = []
    for w, mix, mp, lw, gw in grid:
        cfg = AlignConfig(lexical_weight=w, gap_mix=mix, merge_penalty=mp, length_weight=lw, gain_weight=gw)
        f1 = [
            bead_f1(
                align(ref=p.ref, hyp=p.hyp, ref_tokens=toks(p.ref), hyp_tokens=toks(p.hyp), config=cfg).beads,
                p.gold,
            )
            for p in probs
        ]
        results.append((float(np.mean(f1)), float(np.min(f1)), cfg))
    results.sort(key=lambda x: x[0])
    for mean, lo, cfg in results:
        print(f"F1 mean {mean:.4f} min {lo:.4f}  {cfg.signature()}")
    print(f"{len(probs)} problems, {sum(len(p.gold) for p in probs)} gold beads")


if __name__ == "__main__":
    main()
