"""Tune and check the segmenter and aligner on running-text problems with the gold on the
data's own segments (as ``../shared/data/align/wmt23-dev``, which is kept for checking).

Usage: python scripts/tune_align_text.py [--problems 24] [--grid]

Problems: ten consecutive documents of the MQM dev corpora (WMT23 zh-en without the ten
documents of ``wmt23-dev``, WMT23 he-en, WMT21 TED zh-en), each document against the output
of a system drawn at random (never GPT4-5shot, which ``tests/eval/test_align.py`` checks on),
edited by ``tests.support.synth.text_problem`` (seed ``SEED + k``); half of them with a full stop added
to segments without final punctuation (as ``wmt23-dev``), half as real text. Prints the mean
link F1 of the defaults (and with ``--grid`` of a few settings around them).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from mtdrift.eval.align import AlignConfig, align
from mtdrift.eval.segment import split_sentences
from mtdrift.metrics.encoders import MiniLMEncoder, TokenVectors

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: the generated problems
from tests.support.synth import TextProblem, link_scores, mqm_documents, text_problem

SEED = 20261202
CHECKED = "GPT4-5shot"
MQM = Path("../shared/data/mqm")
CORPORA = ("wmt23_zhen_mqm.dev.jsonl.gz", "wmt23_heen_mqm.dev.jsonl.gz", "wmt21ted_zhen_mqm.dev.jsonl.gz")
DEV = Path("../shared/data/align/wmt23-dev/ref.txt")


def problems(count: int) -> list[TextProblem]:
    held_out = " ".join(DEV.read_text(encoding="utf-8").split()) if DEV.is_file() else ""
    docs = [
        {s: segs for s, segs in d.items() if s != CHECKED}
        for c in CORPORA
        for d in mqm_documents(MQM / c, leave_out=held_out)
    ]
    pool = list(dict.fromkeys(r for d in docs for segs in d.values() for r, _ in segs))
    out = []
    for k in range(count):
        rng = np.random.default_rng(SEED + k)
        start = int(rng.integers(0, len(docs) - 10))
        chosen = []
        for d in docs[start : start + 10]:
            systems = sorted(d)
            chosen.append(d[systems[int(rng.integers(len(systems)))]])
        taken = {r for doc in chosen for r, _ in doc}
        out.append(
            text_problem(
                chosen, rng=rng, pool=[s for s in pool[:5000] if s not in taken], full_stop=k % 2 == 0
            )
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", type=int, default=24)
    ap.add_argument("--grid", action="store_true")
    args = ap.parse_args()
    probs = problems(args.problems)
    segmented = [(split_sentences(p.ref_text), split_sentences(p.hyp_text)) for p in probs]
    enc = MiniLMEncoder()
    texts = sorted({s.text for r, h in segmented for s in (*r, *h)})
    tok = dict(zip(texts, enc.encode(texts, tokens=True).tokens or [], strict=True))

    def toks(xs: list[str]) -> list[TokenVectors]:
        return [tok[t] for t in xs]

    base = AlignConfig()
    configs = [base]
    if args.grid:
        configs += [
            replace(base, extend=0),
            replace(base, extend=4),
            replace(base, extend=16),
            replace(base, gap_mix=0.8),
            replace(base, gap_mix=1.0),
            replace(base, merge_penalty=0.1),
            replace(base, merge_penalty=0.3),
            replace(base, gain_floor=0.03),
            replace(base, lexical_weight=0.2),
        ]
    for cfg in configs:
        scores = []
        for p, (rs, hs) in zip(probs, segmented, strict=True):
            r_txt, h_txt = [s.text for s in rs], [s.text for s in hs]
            beads = align(
                ref=r_txt, hyp=h_txt, ref_tokens=toks(r_txt), hyp_tokens=toks(h_txt), config=cfg
            ).beads
            scores.append(
                link_scores(beads, [(s.start, s.end) for s in rs], [(s.start, s.end) for s in hs], p)
            )
        arr = np.asarray(scores)
        fs, real = arr[0::2, 2], arr[1::2, 2]
        print(
            f"P {arr[:, 0].mean():.4f} R {arr[:, 1].mean():.4f} F1 {arr[:, 2].mean():.4f} "
            f"(full stops {fs.mean():.4f}, real text {real.mean():.4f}, min {arr[:, 2].min():.4f})  "
            f"{cfg.signature()}",
            flush=True,
        )
    print(f"{len(probs)} problems, {sum(len(p.links) for p in probs)} gold links")


if __name__ == "__main__":
    main()
