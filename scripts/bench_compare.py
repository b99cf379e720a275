"""`make bench-compare`: significance testing of the 15 WMT23 dev systems, mtdrift against
sacrebleu's own ``PairedTest``, on the same lexical metrics (BLEU and chrF), the same seed
and the same numbers of resamples (bootstrap 1,000, approximate randomization 10,000).

Both sides start from the texts: statistics extraction is included in both timings. sacrebleu
needs one ``PairedTest`` run per test type (each extracts the statistics again); mtdrift
extracts them once and runs both tests. The p-values of both are compared as well.

Then the rank ranges and clusters (``metrics.ranking``): mtdrift's ``compare`` with every
pair of the 15 systems tested (105 AR tests per metric, Holm per metric), the AR tests of all
pairs alone, and what sacrebleu would need for the same all-pairs tests (one ``PairedTest`` AR
run per system as baseline, 14 of them, estimated from the run above).

Prints one line per phase and, last: ``bench-compare: systems=15 segments=598
mtdrift_wall=S sacrebleu_wall=S0 speedup=X max_p_diff=D`` and ``bench-compare-ranking:
systems=15 pairs=105 metrics=2 compare_all_pairs=S ar_all_pairs=S
sacrebleu_all_pairs_estimate=S``.
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
    from mtdrift.metrics.significance import compare_stats

    corpus = read_corpus(args.data)
    refs = list(corpus.refs)
    named = [(s, list(h)) for s, h in corpus.hyps.items()]
    print(f"{len(named)} systems x {len(refs)} segments, metrics {', '.join(METRICS)}")

    t0 = time.perf_counter()
    stats = {s: {m: get_lexical(m).stats(hyps=h, refs=refs) for m in METRICS} for s, h in named}
    t_stats = time.perf_counter() - t0
    ours = compare_stats(stats, baseline=named[0][0], metrics=list(METRICS))
    mtdrift_wall = time.perf_counter() - t0
    print(f"mtdrift: statistics {t_stats:.2f} s, CIs + paired bootstrap + AR {mtdrift_wall - t_stats:.2f} s, "
          f"total {mtdrift_wall:.2f} s")  # fmt: skip

    sacre_wall = 0.0
    ar_wall = 0.0
    max_diff = 0.0
    for test_type in ("bs", "ar"):
        t0 = time.perf_counter()
        _, scores = PairedTest(named, {"bleu": BLEU(), "chrf": CHRF()}, [refs], test_type=test_type)()
        took = time.perf_counter() - t0
        sacre_wall += took
        ar_wall = took if test_type == "ar" else ar_wall
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
    _ranking(stats, ar_wall, len(named))
    return 0


def _ranking(stats, sacre_ar_wall: float, n_systems: int) -> None:  # type: ignore[no-untyped-def]
    """All pairs against the baseline tests alone, on the statistics already extracted."""
    from mtdrift.metrics.ranking import Ranking
    from mtdrift.metrics.significance import Resampler, Resampling, compare_stats

    first = next(iter(stats))
    t0 = time.perf_counter()
    full = compare_stats(stats, baseline=first, metrics=list(METRICS))
    all_pairs = time.perf_counter() - t0
    # the part the pairs add: their AR tests and the rank ranges (with the bootstrap already drawn)
    rs = Resampler(next(iter(next(iter(stats.values())).values())).shape[0], Resampling())
    _ = rs.flips, rs.counts
    pairs = [(i, j) for i in range(n_systems) for j in range(i + 1, n_systems)]
    t0 = time.perf_counter()
    from mtdrift.metrics.registry import get_metric

    for m in METRICS:
        rs.ar_pairs(get_metric(m), [stats[s][m] for s in stats], pairs)
    extra = time.perf_counter() - t0
    rk: Ranking = full.rankings["chrf"]
    clusters = rk.clusters(0.05)
    print(f"ranking: chrF clusters {max(clusters.values())}, lines after ranks {rk.lines(0.05)}")
    # sacrebleu has no all-pairs test: 14 PairedTest AR runs, one per system as baseline
    estimate = sacre_ar_wall * (n_systems - 1)
    print(
        f"bench-compare-ranking: systems={n_systems} pairs={len(pairs)} metrics={len(METRICS)} "
        f"compare_all_pairs={all_pairs:.2f} ar_all_pairs={extra:.2f} "
        f"sacrebleu_all_pairs_estimate={estimate:.0f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
