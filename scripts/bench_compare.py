"""`make bench-compare`: significance testing of the 15 WMT23 dev systems, mtdrift against
sacrebleu's own ``PairedTest``, on the same lexical metrics (BLEU and chrF), the same seed
and the same numbers of resamples (bootstrap 1,000, approximate randomization 10,000).

Both sides start from the texts: statistics extraction is included in both timings. sacrebleu
needs one ``PairedTest`` run per test type (each extracts the statistics again); mtdrift
extracts them once and runs both tests. The p-values of both are compared as well.

Prints one line per phase and, last: ``bench-compare: systems=15 segments=598
mtdrift_wall=S sacrebleu_wall=S0 speedup=X max_p_diff=D``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "mqm" / "wmt23_zhen_mqm.dev.jsonl.gz"
METRICS = ("bleu", "chrf")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA))
    args = ap.parse_args()
    if not Path(args.data).is_file():
        print(f"bench-compare: {args.data} is absent; ../shared/data/mqm is needed", file=sys.stderr)
        return 2

    from sacrebleu.metrics import BLEU, CHRF
    from sacrebleu.significance import PairedTest

    from mtdrift.eval.corpus import read_corpus
    from mtdrift.metrics.lexical import get_lexical
    from mtdrift.metrics.significance import compare

    corpus = read_corpus(args.data)
    refs = list(corpus.refs)
    named = [(s, list(h)) for s, h in corpus.hyps.items()]
    print(f"{len(named)} systems x {len(refs)} segments, metrics {', '.join(METRICS)}")

    t0 = time.perf_counter()
    stats = {s: {m: get_lexical(m).stats(hyps=h, refs=refs) for m in METRICS} for s, h in named}
    t_stats = time.perf_counter() - t0
    ours = compare(stats, baseline=named[0][0], metrics=list(METRICS))
    mtdrift_wall = time.perf_counter() - t0
    print(f"mtdrift: statistics {t_stats:.2f} s, CIs + paired bootstrap + AR {mtdrift_wall - t_stats:.2f} s, "
          f"total {mtdrift_wall:.2f} s")  # fmt: skip

    sacre_wall = 0.0
    max_diff = 0.0
    for test_type in ("bs", "ar"):
        t0 = time.perf_counter()
        _, scores = PairedTest(named, {"bleu": BLEU(), "chrf": CHRF()}, [refs], test_type=test_type)()
        took = time.perf_counter() - t0
        sacre_wall += took
        print(f"sacrebleu PairedTest {test_type}: {took:.2f} s")
        keys = [k for k in scores if k != "System"]
        for key, m in zip(keys, METRICS, strict=True):
            for k, (system, _) in enumerate(named[1:], start=1):
                r = ours.get(system, m)
                p = r.p_bootstrap if test_type == "bs" else r.p_ar
                assert p is not None
                max_diff = max(max_diff, abs(p - scores[key][k].p_value))
    print(
        f"bench-compare: systems={len(named)} segments={len(refs)} mtdrift_wall={mtdrift_wall:.2f} "
        f"sacrebleu_wall={sacre_wall:.2f} speedup={sacre_wall / mtdrift_wall:.1f} max_p_diff={max_diff:.2g}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
