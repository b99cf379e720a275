"""Benchmark a hostile but valid input: a 200,000-word candidate on one line (make bench-longline).

Usage: python scripts/bench_longline.py [--words 200000] [--variant ends|no-ends|both] [--data FILE]
                                        [--timeout 1800] [--model NAME]

The candidate is real text on one line (``tests.support.synth.one_line``): the seed candidate's
words, then those of each distinct ``hypothesis`` of the WMT23 zh-en MQM dev set in file order,
joined by single spaces and cut after ``--words`` words (200,000 words: 1,192,810 characters).
``no-ends`` is the same line with every ``.!?…`` taken out, so that it holds no sentence end at
all. The reference is the seed reference (``seeds/reference_cnn_003_ef437a482faa74df.txt``).

Each variant runs ``mtdrift evaluate --ref REF --hyp LINE --out DIR`` with the default settings
(the default encoder, an empty cache of its own) in a fresh process, and prints its wall time,
its CPU time (the process and its workers), and the wall time spent in the encoders' forward
passes (``SentenceEncoder._forward``, timed in the child) with the texts and characters each
model embedded; the rest (wall minus encode) is starting Python and importing, segmentation,
alignment, the checks, the statistics and the reports.
The last line per variant is ``bench-longline: variant=V words=N wall=S cpu=S encode=S rest=S``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REF = ROOT / "seeds" / "reference_cnn_003_ef437a482faa74df.txt"
HYP = ROOT / "seeds" / "candidate_roundtrip_000_7002d340e3ea555d.txt"
DATA = ROOT.parent / "shared" / "data" / "mqm" / "wmt23_zhen_mqm.dev.jsonl.gz"


def _child(args: list[str]) -> None:
    """Child: run the CLI once with the encoders' forward passes timed; print JSON (``wall``:
    the CLI's own time, without starting Python)."""
    from mtdrift.eval.cli import main
    from mtdrift.metrics.encoders import SentenceEncoder

    spent: dict[str, dict[str, float]] = {}
    forward = SentenceEncoder._forward

    def timed(self: SentenceEncoder, texts: list[str]) -> Any:
        t0 = time.perf_counter()
        try:
            return forward(self, texts)
        finally:
            row = spent.setdefault(self.spec.key, {"wall": 0.0, "texts": 0, "chars": 0})
            row["wall"] += time.perf_counter() - t0
            row["texts"] += len(texts)
            row["chars"] += sum(len(t) for t in texts)

    SentenceEncoder._forward = timed  # type: ignore[method-assign]
    start = time.perf_counter()
    code = main(args)
    wall = time.perf_counter() - start
    print(json.dumps({"code": code, "wall": wall, "encoders": spent}))


def run(variant: str, words: int, data: Path, timeout: int, model: str | None) -> dict[str, Any]:
    from tests.support.synth import one_line

    with tempfile.TemporaryDirectory() as tmp:
        line = Path(tmp) / f"line-{variant}.txt"
        text = one_line(HYP, data, words, ends=variant == "ends")
        line.write_text(text, encoding="utf-8")
        args = ["evaluate", "--ref", str(REF), "--hyp", str(line), "--out", str(Path(tmp) / "out"), "--quiet"]
        args += ["--model", model] if model else []
        env = {**os.environ, "MTDRIFT_CACHE_DIR": str(Path(tmp) / "cache"), "PYTHONPATH": str(ROOT)}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, __file__, "--child", json.dumps(args)],
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"variant": variant, "chars": len(text), "timeout": timeout}
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(f"bench-longline: the run failed ({done.returncode}):\n{done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        warnings = [w for w in done.stderr.splitlines() if "warning" in w]
        return {"variant": variant, "chars": len(text), "process_wall": wall, "cpu": cpu} | {
            **result,
            "warnings": warnings,
        }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--words", type=int, default=200_000)
    p.add_argument("--variant", choices=["ends", "no-ends", "both"], default="both")
    p.add_argument("--data", type=Path, default=DATA, help="MQM JSONL of the candidate's text")
    p.add_argument("--timeout", type=int, default=1800, help="seconds before a run is given up")
    p.add_argument("--model", default=None, help="--model of the run (default: the default encoder)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        _child(json.loads(args.child))
        return
    if not args.data.is_file():
        raise SystemExit(f"bench-longline: {args.data} is missing: ../shared/data/mqm is needed")
    variants = ["ends", "no-ends"] if args.variant == "both" else [args.variant]
    for variant in variants:
        r = run(variant, args.words, args.data, args.timeout, args.model)
        if "timeout" in r:
            head = f"bench-longline: variant={variant} words={args.words} chars={r['chars']:,}"
            print(f"{head} wall>{r['timeout']}")
            continue
        encoders = r["encoders"]
        for name, row in encoders.items():
            print(
                f"  {name}: {row['wall']:.1f} s in forward passes, {row['texts']:,} texts, "
                f"{row['chars']:,} characters"
            )
        for w in r["warnings"]:
            print(f"  {w}")
        encode = sum(row["wall"] for row in encoders.values())
        wall = r["process_wall"]
        print(
            f"bench-longline: variant={variant} words={args.words} chars={r['chars']:,} wall={wall:.1f} "
            f"cpu={r['cpu']:.1f} encode={encode:.1f} rest={wall - encode:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
