"""Benchmark document mode against line-parallel input on the same segments (make bench-align).

Usage: python scripts/bench_align.py [--segments 2000] [--large 10000] [--data DIR]

Builds one long document pair from the MQM dev corpora in DIR (``tests.support.synth.document_pair``:
whole documents, each against one system's output, every 7th candidate segment dropped and
every 11th merged with the next in the running text), then in the same run, each in a fresh
process without cache:

* ``--aligned`` on the line-parallel segments (one per line, nothing dropped or merged);
* document mode on the running texts (segmentation, alignment, then the same scoring);

and prints the wall time and peak memory (resident, the process and its workers) of each,
and their ratio. Then the aligner alone on a pair of about ``--large`` reference sentences
(segmentation, encoding, alignment), its times and peak memory.
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

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ("wmt23_zhen_mqm.dev.jsonl.gz", "wmt23_heen_mqm.dev.jsonl.gz", "wmt21ted_zhen_mqm.dev.jsonl.gz")


def _one(args: list[str]) -> None:
    """Child: run the CLI once and print its wall time and peak memory as JSON."""
    from mtdrift.eval.cli import main

    start = time.perf_counter()
    code = main(args)
    wall = time.perf_counter() - start
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    print(json.dumps({"code": code, "wall": wall, "peak_mb": peak / 1024}))


def _aligner(ref: str, hyp: str) -> None:
    """Child: segment, encode and align one pair; print the times and peak memory as JSON."""
    from mtdrift.eval.align import align
    from mtdrift.eval.segment import split_sentences
    from mtdrift.metrics.encoders import MiniLMEncoder

    t0 = time.perf_counter()
    rs = [s.text for s in split_sentences(Path(ref).read_text(encoding="utf-8"))]
    hs = [s.text for s in split_sentences(Path(hyp).read_text(encoding="utf-8"))]
    t1 = time.perf_counter()
    texts = list(dict.fromkeys(rs + hs))
    encoded = MiniLMEncoder().encode(texts, tokens=True)
    tok = dict(zip(texts, encoded.tokens or [], strict=True))
    t2 = time.perf_counter()
    result = align(ref=rs, hyp=hs, ref_tokens=[tok[t] for t in rs], hyp_tokens=[tok[t] for t in hs])
    t3 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "ref": len(rs),
                "hyp": len(hs),
                "segment": t1 - t0,
                "encode": t2 - t1,
                "align": t3 - t2,
                "beads": len(result.beads),
                "peak_mb": peak,
            }
        )
    )


def _child(*args: str) -> dict[str, float]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    lines = [x for x in out.stdout.splitlines() if x.startswith("{")]
    if out.returncode or not lines:
        raise SystemExit(f"bench-align: child {args[:2]} failed:\n{out.stderr[-2000:]}")
    result: dict[str, float] = json.loads(lines[-1])
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        _one(sys.argv[2:])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--aligner":
        _aligner(sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--segments", type=int, default=2000)
    ap.add_argument("--large", type=int, default=10_000)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mqm"))
    ap.add_argument("--model", default="minilm", help="scoring encoder (default minilm: the README figures)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.support.synth import document_pair

    paths = [Path(args.data) / c for c in CORPORA]
    if not all(p.is_file() for p in paths):
        raise SystemExit(f"bench-align: needs {', '.join(CORPORA)} in {args.data}")
    pair = document_pair(paths, segments=args.segments)
    with tempfile.TemporaryDirectory(prefix="mtdrift-bench-align-") as tmp:
        d = Path(tmp)
        for name, text in (
            ("ref_lines.txt", "\n".join(pair.ref_lines) + "\n"),
            ("hyp_lines.txt", "\n".join(pair.hyp_lines) + "\n"),
            ("ref_doc.txt", pair.ref_text),
            ("hyp_doc.txt", pair.hyp_text),
        ):
            (d / name).write_text(text, encoding="utf-8")
        common = ["--name", "hyp", "--no-cache", "--quiet", "--model", args.model]
        line = _child(
            "--one", "evaluate", "--aligned", "--ref", str(d / "ref_lines.txt"),
            "--hyp", str(d / "hyp_lines.txt"), "--out", str(d / "aligned"), *common,
        )  # fmt: skip
        doc = _child(
            "--one", "evaluate", "--ref", str(d / "ref_doc.txt"),
            "--hyp", str(d / "hyp_doc.txt"), "--out", str(d / "document"), *common,
        )  # fmt: skip
        print(
            f"pair: {len(pair.ref_lines)} segments in {pair.docs} documents "
            "(candidate as running text: every 7th segment dropped, every 11th merged)"
        )
        print(f"--aligned (line-parallel): {line['wall']:.1f} s, peak {line['peak_mb']:.0f} MB")
        print(f"document mode:             {doc['wall']:.1f} s, peak {doc['peak_mb']:.0f} MB")
        ratio = doc["wall"] / line["wall"]
        print(f"ratio document / aligned:  {ratio:.2f}")
        large = document_pair(paths, segments=int(args.large * 1.1))  # ~9 % of segments merge
        (d / "ref_large.txt").write_text(large.ref_text, encoding="utf-8")
        (d / "hyp_large.txt").write_text(large.hyp_text, encoding="utf-8")
        big = _child("--aligner", str(d / "ref_large.txt"), str(d / "hyp_large.txt"))
    print(
        f"aligner alone, {big['ref']:.0f} x {big['hyp']:.0f} sentences: segmentation {big['segment']:.1f} s, "
        f"encoding {big['encode']:.1f} s, alignment {big['align']:.1f} s; peak {big['peak_mb']:.0f} MB"
    )
    print(
        f"bench-align: segments={len(pair.ref_lines)} aligned_wall={line['wall']:.1f} "
        f"document_wall={doc['wall']:.1f} "
        f"ratio={ratio:.2f} peak_mb={max(line['peak_mb'], doc['peak_mb']):.0f} "
        f"large_sentences={big['ref']:.0f} large_align={big['align']:.1f} "
        f"large_total={big['segment'] + big['encode'] + big['align']:.1f}"
    )


if __name__ == "__main__":
    main()
