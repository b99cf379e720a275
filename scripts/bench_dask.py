"""`make bench-dask`: the WMT23 zh-en dev corpus (8,970 pairs) in one process, on a Dask
``LocalCluster`` of 1 and of 2 worker processes; the overhead of a partition; and, worked from
these figures, an estimate for 10 million pairs on N workers.

Every run scores with an empty cache (none), the model already loaded (the single process
warms up first; a cluster's workers load it when they start, which is timed apart as start-up).

1. single process: ``eval.pipeline.evaluate_corpus``, as ``mtdrift evaluate --data`` runs it;
2. ``local:1`` and ``local:2``: ``eval.distributed.evaluate_corpus_dask``, partitions of
   ``--partition-rows`` rows (default 1,000: 9 partitions), from the first submit to the last
   result back on the client;
3. the overhead of a partition: on the ``local:1`` cluster, the first documents (about 1,400
   rows) as one partition and as one partition per document; the difference over the extra
   partitions is what a partition costs beyond its rows;
4. the client's part: reading and cutting the corpus into partitions (rows/s), and the size
   of a partition's result (bytes per pair, which go to the client's spill file);
5. the client's memory (``--only memory`` runs this part alone): on ``local:2``, corpora of
   2,000, 20,000 and 60,000 rows built from the dev set (its first whole documents, about 2,000 rows,
   repeated with renamed documents), ordered by system as WMT's files are, so that the client
   groups them by document; the client's peak allocation (``tracemalloc``) during the run
   (reading, submitting, joining the partitions as they come back), then, apart, while the
   comparison is computed (the significance tests' resampling) and while the reports are
   written (no plots). A first, untraced run of the
   2,000 rows, reports included, fills a cache (so the measured runs score from it: the
   client's part is the same, the workers' much shorter) and loads what the client loads once
   (the language detector, the renderers' modules).

The last line is ``bench-dask: pairs=N single=R0 local1=R1 local2=R2 overhead_s=O`` (pairs/s),
then ``bench-dask-memory: rows=... run_peak_mib=... compare_peak_mib=... reports_peak_mib=...``
per corpus.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import pickle
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mqm" / "wmt23_zhen_mqm.dev.jsonl.gz"
TARGET = 10_000_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--partition-rows", type=int, default=1_000)
    ap.add_argument("--only", choices=["memory"], help="run only this part")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.only == "memory":
        memory(args)
        return

    from mtdrift.eval.corpus import iter_parts, read_corpus
    from mtdrift.eval.distributed import (
        ModelPlugin,
        RunLog,
        WorkerSpec,
        evaluate_corpus_dask,
        local_cluster,
        split_corpus,
    )
    from mtdrift.eval.pipeline import evaluate_corpus
    from mtdrift.eval.render.tables import segments_csv
    from mtdrift.metrics.encoders import SentenceEncoder
    from mtdrift.metrics.facts.checker import FactChecker

    cores = os.cpu_count() or 1
    corpus = read_corpus(args.data)
    pairs = len(corpus.keys) * len(corpus.systems)
    shape = f"{len(corpus.keys)} segments x {len(corpus.systems)} systems"
    print(f"corpus: {args.data}: {pairs:,} pairs ({shape})")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {cores} cores (load average before: {load}); model {args.model}; no cache")

    # 4. the client's part
    t = time.perf_counter()
    n_parts = sum(1 for _ in iter_parts(args.data, rows=args.partition_rows))
    read_rate = pairs / (time.perf_counter() - t)
    print(
        f"client: reads and cuts {read_rate:,.0f} rows/s ({n_parts} partitions, ~{args.partition_rows} rows)"
    )

    # 1. one process
    encoder = SentenceEncoder(args.model)
    checker = FactChecker()
    encoder.encode(["warm up"])
    checker.check_pairs([("Warm up in Paris.", "Warm up in Paris.")])
    t = time.perf_counter()
    single = evaluate_corpus(corpus, encoder=encoder, checker=checker)
    t_single = time.perf_counter() - t
    first = split_corpus(corpus, rows=args.partition_rows)[0]
    part_bytes = len(pickle.dumps(evaluate_corpus(first, encoder=encoder, checker=checker)))
    per_pair_bytes = part_bytes / (len(first.keys) * len(first.systems))
    print(f"single process: {t_single:.1f} s, {pairs / t_single:.1f} pairs/s")
    print(f"a partition's result: {per_pair_bytes:,.0f} bytes per pair (pickled)")
    del encoder, checker

    rates: dict[int, float] = {}
    overhead = 0.0
    for n in (1, 2):
        t = time.perf_counter()
        with local_cluster(n) as client:  # the cluster `--dask local:N` starts
            threads = max(1, cores // n)
            spec = WorkerSpec(model=args.model, threads=threads)
            client.register_plugin(ModelPlugin(spec), name=spec.key)
            startup = time.perf_counter() - t
            log = RunLog()
            result = evaluate_corpus_dask(
                args.data, client=client, model=args.model, threads=threads,
                partition_rows=args.partition_rows, log=log,
            )  # fmt: skip
            same = segments_csv(result) == segments_csv(single)
            rates[n] = pairs / log.seconds
            print(
                f"local:{n}: {log.seconds:.1f} s, {rates[n]:.1f} pairs/s ({log.partitions} partitions; "
                f"start-up with the model loaded on every worker {startup:.1f} s; "
                f"segments.csv {'identical' if same else 'DIFFERENT'})"
            )
            if n == 1:
                # 3. overhead of a partition: the same rows as one partition, and one per document
                docs = split_corpus(corpus, rows=1)[:10]  # one document each
                subset = functools.reduce(_join, docs)
                rows = len(subset.keys) * len(subset.systems)
                timings = {}
                for label, per in (("one", 10**9), ("many", 1)):
                    log = RunLog()
                    evaluate_corpus_dask(
                        subset, client=client, model=args.model, threads=threads, partition_rows=per, log=log
                    )
                    timings[label] = (log.seconds, log.partitions)
                (t1, p1), (tm, pm) = timings["one"], timings["many"]
                overhead = (tm - t1) / max(1, pm - p1)  # negative: lost in the noise
                own = args.partition_rows / rates[1]
                print(
                    f"overhead: {rows:,} rows as {p1} partition {t1:.2f} s, as {pm} partitions {tm:.2f} s: "
                    f"{overhead:.3f} s per partition ({overhead / own * 100:.1f} % of a "
                    f"{args.partition_rows:,}-row partition's {own:.1f} s on local:1)"
                )
    per_worker = rates[2] / 2
    print()
    print(f"estimate for {TARGET:,} pairs, from these figures (model {args.model}, one core per worker):")
    print(
        f"  a worker scores {per_worker:.1f} pairs/s (local:2 divided by 2; local:1 with both cores: "
        f"{rates[1]:.1f}); a partition of {args.partition_rows:,} rows costs {overhead:.2f} s more"
    )
    partitions = TARGET / args.partition_rows
    for workers in (2, 8, 32, 128):
        compute = TARGET / (workers * per_worker) + partitions * max(0.0, overhead) / workers
        client_bound = TARGET / read_rate
        hours = max(compute, client_bound) / 3600
        bound = " (the client's reading bounds it)" if client_bound > compute else ""
        print(f"  {workers:>4} workers: {hours:6.2f} h{bound}")
    print(
        f"  the client writes every bead's result to its spill file: about "
        f"{TARGET * per_pair_bytes / 2**30:.0f} GiB of temporary disk for {TARGET:,} pairs"
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average after: {load}")
    print(
        f"bench-dask: pairs={pairs} single={pairs / t_single:.1f} local1={rates[1]:.1f} "
        f"local2={rates[2]:.1f} overhead_s={overhead:.3f}"
    )
    sys.stdout.flush()
    memory(args)


MEMORY_ROWS = (2_000, 20_000, 60_000)


def memory(args: argparse.Namespace) -> None:
    """5. The client's peak memory on ``local:2`` for corpora of :data:`MEMORY_ROWS` rows."""
    import gzip
    import tempfile
    import tracemalloc

    from mtdrift.api import Result
    from mtdrift.eval.distributed import ModelPlugin, RunLog, WorkerSpec, evaluate_corpus_dask, local_cluster
    from mtdrift.eval.pairwise import compare_systems
    from mtdrift.eval.results import Evaluation

    with gzip.open(args.data, "rt", encoding="utf-8") as fh:
        dev = [json.loads(line) for line in fh]
    keep = ("doc_id", "seg_id", "system", "reference", "hypothesis")
    print()
    print(f"client memory: local:2, partitions of {args.partition_rows:,} rows, model {args.model}")
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        files = {n: _corpus_file(dev, keep, n, Path(tmp) / f"rows-{n}.jsonl") for n in MEMORY_ROWS}
        threads = max(1, (os.cpu_count() or 1) // 2)
        cache = Path(tmp) / "cache"
        with local_cluster(2) as client:  # the cluster `--dask local:2` starts
            spec = WorkerSpec(model=args.model, threads=threads, cache_dir=str(cache.resolve()))
            client.register_plugin(ModelPlugin(spec), name=spec.key)

            def run(path: Path, log: RunLog) -> Evaluation:
                return evaluate_corpus_dask(
                    str(path), client=client, model=args.model, threads=threads, cache_dir=cache,
                    partition_rows=args.partition_rows, log=log,
                )  # fmt: skip

            t = time.perf_counter()
            warm = run(files[MEMORY_ROWS[0]], RunLog())  # fills the cache; loads the client's modules
            Result(warm, compare_systems(warm)).write(Path(tmp) / "out-warm-up", plots=False)
            del warm
            took = time.perf_counter() - t
            print(f"  warm-up: {MEMORY_ROWS[0]:,} rows scored into the cache in {took:.0f} s")
            for n, path in files.items():
                size = path.stat().st_size
                tracemalloc.start()
                log = RunLog()
                ev = run(path, log)
                run_peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.reset_peak()
                comparison = compare_systems(ev)
                compare_peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.reset_peak()
                Result(ev, comparison).write(Path(tmp) / f"out-{n}", plots=False)
                reports_peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                mib = 2**20
                print(
                    f"  {log.rows:>6,} rows ({size / mib:.1f} MiB of JSONL, {log.partitions} partitions, "
                    f"{log.seconds:.0f} s): client peak {run_peak / mib:.1f} MiB during the run, "
                    f"{compare_peak / mib:.1f} MiB computing the comparison (significance), "
                    f"{reports_peak / mib:.1f} MiB writing the reports"
                )
                print(
                    f"bench-dask-memory: rows={log.rows} run_peak_mib={run_peak / mib:.1f} "
                    f"compare_peak_mib={compare_peak / mib:.1f} reports_peak_mib={reports_peak / mib:.1f}"
                )
                del ev
    sys.stdout.flush()


def _corpus_file(dev: list[dict], keep: tuple[str, ...], n: int, path: Path) -> Path:  # type: ignore[type-arg]
    """``n`` rows or a little more: the first whole documents of ``dev`` up to
    :data:`MEMORY_ROWS`'s first figure, repeated with renamed documents, written ordered by
    system as WMT's files are."""
    first: list[dict] = []  # type: ignore[type-arg]
    for r in dev:
        if len(first) >= MEMORY_ROWS[0] and r["doc_id"] != first[-1]["doc_id"]:
            break
        first.append({k: r[k] for k in keep})
    rows: list[dict] = []  # type: ignore[type-arg]
    rep = 0
    while len(rows) < n:
        rows += [{**r, "doc_id": f"{r['doc_id']}~{rep}" if rep else r["doc_id"]} for r in first]
        rep += 1
    systems = list(dict.fromkeys(r["system"] for r in rows))
    rows.sort(key=lambda r: systems.index(r["system"]))  # stable: documents in order per system
    with path.open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return path


def _join(a, b):  # type: ignore[no-untyped-def]
    from mtdrift.eval.corpus import Corpus

    return Corpus(a.name, a.keys + b.keys, a.refs + b.refs, {s: a.hyps[s] + b.hyps[s] for s in a.hyps})


if __name__ == "__main__":
    main()
