"""Sentence-level TER statistics: sacrebleu 2.6.0's extraction against ``metrics.ter_fast``.

Both run single-process on the same WMT23 zh-en pairs (all of them by default): sacrebleu as
``metrics.lexical`` calls it (``TER()._extract_corpus_statistics`` in chunks of 32 segments),
then ``ter_stats``. Every row is compared exactly (``==``).

Prints both times and, last: ``bench-ter: pairs=N sacrebleu_s=S fast_s=F speedup=X
mismatches=M``. Exits 1 if any row differs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sacrebleu.metrics import TER  # noqa: E402

from mtdrift.metrics.ter_fast import ter_stats  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "mqm" / "wmt23_zhen_mqm.dev.jsonl.gz"
CHUNK = 32  # as metrics.lexical


def sacrebleu_stats(hyps: list[str], refs: list[str]) -> np.ndarray:
    ter = TER()
    rows: list[list[float]] = []
    for start in range(0, len(hyps), CHUNK):
        rows += ter._extract_corpus_statistics(hyps[start : start + CHUNK], [refs[start : start + CHUNK]])
    return np.asarray(rows, dtype=np.float64).reshape(len(hyps), 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--limit", type=int, default=0, help="only the first N pairs (0: all)")
    args = ap.parse_args()

    with gzip.open(args.data, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    if args.limit:
        rows = rows[: args.limit]
    hyps = [r["hypothesis"] for r in rows]
    refs = [r["reference"] for r in rows]
    print(f"bench-ter: {len(rows)} pairs from {args.data}", flush=True)

    t0 = time.perf_counter()
    fast = ter_stats(hyps, refs)
    fast_s = time.perf_counter() - t0
    print(f"ter_fast:  {fast_s:8.2f} s ({1000 * fast_s / len(rows):.2f} ms/pair)", flush=True)

    t0 = time.perf_counter()
    slow = sacrebleu_stats(hyps, refs)
    slow_s = time.perf_counter() - t0
    print(f"sacrebleu: {slow_s:8.2f} s ({1000 * slow_s / len(rows):.2f} ms/pair)", flush=True)

    bad = np.flatnonzero((fast != slow).any(axis=1))
    for k in bad[:10]:
        print(f"  mismatch row {k}: sacrebleu {slow[k].tolist()} ter_fast {fast[k].tolist()}")
    print(
        f"bench-ter: pairs={len(rows)} sacrebleu_s={slow_s:.2f} fast_s={fast_s:.2f} "
        f"speedup={slow_s / fast_s:.1f} mismatches={bad.size}"
    )
    return 1 if bad.size else 0


if __name__ == "__main__":
    sys.exit(main())
