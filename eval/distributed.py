"""The same evaluation on a Dask cluster: partitions of whole documents, scored on the workers
by the functions of ``eval.pipeline``, put back together on the client.

A corpus is cut into partitions of whole documents (:func:`mtdrift.eval.corpus.iter_parts`,
streamed from disk, or :func:`split_corpus` for one in memory); each partition is one task,
``eval.pipeline.evaluate_corpus`` on that sub-corpus. The per-bead results (beads and their
sufficient statistics) come back to the client and are joined in partition order as they
arrive (``eval.results.Joiner``): beads, sentences, segment keys and statistics go to
temporary files (``eval.spill``), the statistics read back as memory maps. Corpus scores, significance and
reports are computed from the same statistics as in one process, and the outputs are
byte-identical. A document pair (``--ref``/``--hyp``) is one partition: alignment needs both
documents whole.

Each worker process builds the encoder, the fact checker and its cache handle once
(:class:`ModelPlugin`, a ``WorkerPlugin`` whose ``setup`` fills a per-process memo), not per
task. The cache is the SQLite file of ``metrics.cache`` at ``cache_dir`` as each worker's host
sees it: on one machine (``local``, ``local:N``) every worker shares it, which SQLite's WAL
journal makes safe for concurrent writers, and the values written are the same bytes whoever
writes them (a text's vectors do not depend on its batch); on a cluster each host keeps its
own (SQLite must not be shared over a network file system).

A worker that dies mid-run loses its tasks to the scheduler, which runs them again on another
worker; the result is the same bytes, since a partition's result depends on nothing but the
partition.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mtdrift.eval.config import Document, RunConfig
from mtdrift.eval.corpus import Corpus, corpus_paths, iter_parts, read_rows
from mtdrift.eval.errors import InputError
from mtdrift.eval.pipeline import evaluate, evaluate_corpus, resolve_language
from mtdrift.eval.results import Evaluation, Joiner
from mtdrift.eval.spill import Spill
from mtdrift.metrics.cache import Cache, CachedEncoder
from mtdrift.metrics.encoders import Encoder, SentenceEncoder
from mtdrift.metrics.facts.checker import FactChecker
from mtdrift.metrics.language import DETECT_CHARS
from mtdrift.metrics.models import DEFAULT_MODEL, hub_offline

PARTITION_ROWS = 1_000
"""Rows (segment x system) per partition, whole documents: enough to keep the per-partition
overhead small (see ``make bench-dask``), few enough to balance the workers and to lose little
when a worker dies."""
CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a scheduler (``tcp://HOST:PORT``) before giving up."""
LOG_LENGTH = 10
"""Messages Dask keeps per worker connection for its developers' logs, in the local clusters
mtdrift starts (``distributed.admin.low-level-log-length``, 1,000 by default). Every message
under 1 MB is kept, and a partition's task (its rows) is one: with the default, a local
cluster's scheduler, which runs in the client's process, held about 0.5 kB per row of the
corpus (measured: +28 MiB for 60,000 rows) until a thousand partitions had gone by."""


class ClusterError(InputError):
    """The ``--dask`` address cannot be used: malformed, or no scheduler answers there."""


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker builds once: the encoder, the checker and the cache.

    Attributes:
        model: a key of ``metrics.models.MODELS``.
        device: torch device on the worker.
        backend: what runs the model (``metrics.encoders.BACKENDS``; ``auto``: ONNX Runtime on
            the CPU).
        threads: torch threads per worker (``None``: torch's default).
        cache_dir: the cache directory as the worker's host sees it; ``None``: no cache.
    """

    model: str = DEFAULT_MODEL
    device: str = "cpu"
    backend: str = "auto"
    threads: int | None = 1
    cache_dir: str | None = None

    @property
    def key(self) -> str:
        """A name for this spec (its plugin's name on the workers)."""
        text = f"{self.model}|{self.device}|{self.backend}|{self.threads}|{self.cache_dir}"
        return "mtdrift-" + hashlib.sha256(text.encode()).hexdigest()[:12]


@functools.cache
def worker_state(spec: WorkerSpec) -> tuple[Encoder, FactChecker, Cache | None]:
    """The encoder, checker and cache of ``spec``, built once per process (the model is
    loaded here, not on the first task)."""
    hub_offline()
    inner = SentenceEncoder(spec.model, device=spec.device, threads=spec.threads, backend=spec.backend)
    inner.encode(["warm up"])  # loads the model now
    cache = Cache(spec.cache_dir) if spec.cache_dir is not None else None
    encoder: Encoder = CachedEncoder(inner, cache) if cache is not None else inner
    checker = FactChecker(cache=cache)
    checker.check_pairs([("Warm up in Paris.", "Warm up in Paris.")])  # loads spaCy now
    return encoder, checker, cache


try:
    from distributed import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - dask is a pinned dependency
    _WorkerPlugin = object  # type: ignore[assignment,misc]


class ModelPlugin(_WorkerPlugin):  # type: ignore[misc,valid-type]
    """Builds :func:`worker_state` when a worker starts (and on every worker that joins or
    replaces a dead one), so that tasks find the model loaded."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.name = spec.key

    def setup(self, worker: Any) -> None:
        worker_state(self.spec)


def _evaluate_part(part: Corpus, spec: WorkerSpec, config: RunConfig) -> Evaluation:
    """One partition of a corpus, on a worker (lexical statistics in this process: a Dask
    worker may not start processes of its own)."""
    encoder, checker, cache = worker_state(spec)
    return evaluate_corpus(
        part, encoder=encoder, checker=checker, config=replace(config, workers=0), cache=cache
    )


def _evaluate_documents(
    ref: Document, hyps: Sequence[tuple[str, Document]], spec: WorkerSpec, config: RunConfig
) -> Evaluation:
    encoder, checker, cache = worker_state(spec)
    return evaluate(
        ref, hyps, encoder=encoder, checker=checker, config=replace(config, workers=0), cache=cache
    )


def split_corpus(corpus: Corpus, *, rows: int = PARTITION_ROWS) -> list[Corpus]:
    """``corpus`` cut into consecutive parts of about ``rows`` rows, each cut where no document
    continues on both sides (a document never splits; one whose segments are scattered keeps
    everything between them in its part). Concatenated, the parts are ``corpus``."""
    if rows < 1:
        raise ValueError(f"rows must be positive, got {rows}")
    per_segment = max(1, len(corpus.hyps))
    last: dict[str, int] = {}
    for k, (doc, _) in enumerate(corpus.keys):
        last[doc] = k
    parts, start, reach = [], 0, -1
    for k, (doc, _) in enumerate(corpus.keys):
        reach = max(reach, last[doc])
        if k == reach and (k + 1 - start) * per_segment >= rows:
            parts.append(_slice(corpus, start, k + 1))
            start = k + 1
    if start < len(corpus.keys) or not parts:
        parts.append(_slice(corpus, start, len(corpus.keys)))
    return parts


def _slice(corpus: Corpus, start: int, end: int) -> Corpus:
    return Corpus(
        name=corpus.name,
        keys=corpus.keys[start:end],
        refs=corpus.refs[start:end],
        hyps={s: h[start:end] for s, h in corpus.hyps.items()},
    )


def parse_address(address: str) -> tuple[str, int | None]:
    """``("local", N)`` for ``local`` (N: the cores of this machine) or ``local:N``;
    ``(address, None)`` for a scheduler address.

    Raises:
        ClusterError: anything else.
    """
    if address == "local":
        return "local", max(1, os.cpu_count() or 1)
    if address.startswith("local:"):
        n = address.removeprefix("local:")
        if not n.isdigit() or int(n) < 1:
            raise ClusterError(f"--dask {address}: expected local:N with N worker processes (N >= 1)")
        return "local", int(n)
    if "://" in address and address.split("://", 1)[1]:
        return address, None
    raise ClusterError(
        f"--dask {address}: expected local, local:N or a scheduler address such as tcp://HOST:8786"
    )


@contextmanager
def connect(address: str, *, connect_timeout: float = CONNECT_TIMEOUT) -> Iterator[Any]:
    """A ``distributed.Client`` for ``address`` (see :func:`parse_address`); a local cluster
    (worker processes, one thread each, no dashboard) is started for it and closed after.

    Raises:
        ClusterError: a malformed address, or no scheduler answered within ``connect_timeout``.
    """
    from distributed import Client

    where, n = parse_address(address)
    if n is not None:
        with local_cluster(n) as client:
            yield client
        return
    try:
        client = Client(where, timeout=connect_timeout)
    except (OSError, TimeoutError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ClusterError(
            f"--dask {address}: no Dask scheduler answered within {connect_timeout:g} s ({reason}); "
            "check the address, or start one with `dask scheduler`"
        ) from None
    try:
        yield client
    finally:
        client.close()


@contextmanager
def local_cluster(n: int) -> Iterator[Any]:
    """A client of a new local cluster of ``n`` worker processes (one thread each, no
    dashboard, :data:`LOG_LENGTH` messages kept per connection), closed after."""
    import dask
    from distributed import Client, LocalCluster

    with (
        dask.config.set({"distributed.admin.low-level-log-length": LOG_LENGTH}),
        LocalCluster(
            n_workers=n,
            processes=True,
            threads_per_worker=1,
            dashboard_address=None,
            silence_logs=logging.ERROR,  # not the nanny's warnings about slow shutdowns
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@dataclass
class RunLog:
    """What a distributed run did (for benchmarks): partitions, their rows and the seconds
    from the first submit to the last result."""

    partitions: int = 0
    rows: int = 0
    seconds: float = 0.0


def evaluate_corpus_dask(
    source: str | Path | Corpus,
    *,
    address: str = "local",
    model: str = DEFAULT_MODEL,
    config: RunConfig | None = None,
    cache_dir: str | Path | None = None,
    device: str = "cpu",
    backend: str = "auto",
    threads: int | None = None,
    partition_rows: int = PARTITION_ROWS,
    connect_timeout: float = CONNECT_TIMEOUT,
    client: Any = None,
    log: RunLog | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Evaluation:
    """``eval.pipeline.evaluate_corpus`` on a Dask cluster, with the same result.

    Args:
        source: a corpus file or glob of shards (streamed in partitions: only the partitions in
            flight are in memory), or a :class:`Corpus` already read.
        address: ``local``, ``local:N`` or a scheduler address (see :func:`connect`).
        model: the packaged encoder (a key of ``metrics.models.MODELS``).
        config: settings; defaults when ``None``.
        cache_dir: the cache directory (on each worker's host); ``None``: no cache.
        device: torch device on the workers.
        backend: what runs the model on the workers (``metrics.encoders.BACKENDS``).
        threads: the model's threads per worker; ``None``: the cores divided among the local
            workers, or torch's default on a remote cluster.
        partition_rows: rows per partition (whole documents).
        connect_timeout: seconds to wait for a remote scheduler.
        client: an open ``distributed.Client`` to use instead of ``address``.
        log: filled with the number of partitions, rows and seconds.
        progress: called on the client after each partition's result with (partitions done,
            partitions submitted so far).

    Raises:
        InputError: bad input (as ``read_corpus``), naming the shard and line.
        ClusterError: the address is malformed or no scheduler answers.
    """
    if not isinstance(source, Corpus):
        for path in corpus_paths(source):  # before a cluster starts: a glob that matches nothing
            if not path.is_file():
                read_rows(path)  # today's message for a missing path or a directory
    parts: Iterable[Corpus] = (
        split_corpus(source, rows=partition_rows)
        if isinstance(source, Corpus)
        else iter_parts(source, rows=partition_rows)
    )
    cfg = replace(config or RunConfig(), aligned=True)
    return _run(
        parts, _evaluate_part, (cfg,), address=address, model=model, cache_dir=cache_dir, device=device,
        backend=backend, threads=threads, connect_timeout=connect_timeout, client=client, log=log,
        progress=progress, prepare=_resolve_language,
    )  # fmt: skip


def evaluate_dask(
    ref: Document,
    hyps: Sequence[tuple[str, Document]],
    *,
    address: str = "local",
    model: str = DEFAULT_MODEL,
    config: RunConfig | None = None,
    cache_dir: str | Path | None = None,
    device: str = "cpu",
    backend: str = "auto",
    threads: int | None = None,
    connect_timeout: float = CONNECT_TIMEOUT,
    client: Any = None,
) -> Evaluation:
    """``eval.pipeline.evaluate`` (a reference document and its candidates) on a Dask cluster: one
    partition, since alignment needs the documents whole. Same arguments as
    :func:`evaluate_corpus_dask`."""
    cfg = config or RunConfig()
    return _run(
        [(ref, list(hyps))], _evaluate_documents, (cfg,), address=address, model=model,
        cache_dir=cache_dir, device=device, backend=backend, threads=threads,
        connect_timeout=connect_timeout, client=client, log=None, unpack=True,
    )  # fmt: skip


def _resolve_language(config: RunConfig, parts: Iterator[Corpus]) -> tuple[RunConfig, Iterator[Corpus]]:
    """The corpus's language decided on the client, as one process decides it (from the
    references' first ``DETECT_CHARS`` characters, read from as many partitions as that takes),
    so that no partition detects its own; the partitions read are handed on."""
    if config.language is not None:
        return config, parts
    head: list[Corpus] = []
    texts: list[str] = []
    size = 0
    for part in parts:
        head.append(part)
        texts.extend(part.refs)
        size += sum(len(t) + 1 for t in part.refs)
        if size >= DETECT_CHARS:
            break
    name = head[0].name if head else "corpus"
    return resolve_language(config, texts, source=name), itertools.chain(head, parts)


def _run(
    parts: Iterable[Any],
    task: Any,
    extra: tuple[Any, ...],
    *,
    address: str,
    model: str,
    cache_dir: str | Path | None,
    device: str,
    threads: int | None,
    connect_timeout: float,
    backend: str = "auto",
    client: Any,
    log: RunLog | None,
    unpack: bool = False,
    progress: Callable[[int, int], None] | None = None,
    prepare: Callable[[RunConfig, Iterator[Any]], tuple[RunConfig, Iterator[Any]]] | None = None,
) -> Evaluation:
    n_local = parse_address(address)[1] if client is None else None
    if threads is None and n_local is not None:
        threads = max(1, (os.cpu_count() or 1) // n_local)
    if cache_dir is not None:
        cache_dir = str(Path(cache_dir).resolve())
        # created once here, so that workers on this machine never race to create it (not
        # writable here: the workers' machines may still have it)
        with contextlib.suppress(OSError):
            Cache(cache_dir).close()
    spec = WorkerSpec(model=model, device=device, backend=backend, threads=threads, cache_dir=cache_dir)
    with _client(client, address, connect_timeout) as c:
        if prepare is not None:  # once a scheduler answers: an unreachable one fails first
            cfg, parts = prepare(extra[0], iter(parts))
            extra = (cfg, *extra[1:])
        c.register_plugin(ModelPlugin(spec), name=spec.key)
        # a document pair is one partition, kept whole (its similarity matrix, its gap cost);
        # a corpus's partitions go to disk as they come back, their statistics stay here
        whole: list[Evaluation] = []
        joiner = None if unpack else Joiner(Spill())
        sink = whole.append if joiner is None else joiner.add
        _map_in_order(c, parts, task, spec, extra, sink, unpack=unpack, log=log, progress=progress)
    if not whole and (joiner is None or joiner.parts == 0):
        raise InputError("no partitions to evaluate")
    joined = whole[0] if joiner is None else joiner.result()
    # the workers ran with workers=0 (no processes of their own); the result says what was asked
    return replace(joined, config=replace(joined.config, workers=extra[0].workers))


@contextmanager
def _client(client: Any, address: str, connect_timeout: float) -> Iterator[Any]:
    if client is not None:
        yield client
        return
    with connect(address, connect_timeout=connect_timeout) as c:
        yield c


def _map_in_order(
    client: Any,
    parts: Iterable[Any],
    task: Any,
    spec: WorkerSpec,
    extra: tuple[Any, ...],
    sink: Callable[[Evaluation], None],
    *,
    unpack: bool,
    log: RunLog | None,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Submit the partitions as they are read, and hand each result to ``sink`` in partition
    order as soon as those before it are in. At most a few partitions per worker are in flight
    or waiting for an earlier one, so a corpus larger than memory streams."""
    from distributed import KilledWorker, wait

    workers = max(1, len(client.scheduler_info().get("workers", {})))
    limit = 2 * workers + 1
    run = hashlib.sha256(f"{time.time_ns()}|{os.getpid()}|{spec.key}".encode()).hexdigest()[:10]
    pending: dict[Any, int] = {}
    ready: dict[int, Evaluation] = {}  # came back before an earlier partition
    done = 0  # partitions handed to sink
    started = time.perf_counter()
    rows = 0

    def collect(block: bool) -> None:
        nonlocal done
        if not pending:
            return
        finished = (
            wait(list(pending), return_when="FIRST_COMPLETED").done
            if block
            else [f for f in pending if f.done()]
        )
        for f in finished:
            k = pending.pop(f)
            try:
                ready[k] = f.result()
            except KilledWorker:
                raise ClusterError(
                    f"partition {k} lost every worker that ran it (out of memory?); "
                    "try a smaller --partition-rows or workers with more memory"
                ) from None
            f.release()
            while done in ready:
                sink(ready.pop(done))
                done += 1
            if progress is not None:
                progress(done + len(ready), done + len(ready) + len(pending))

    for k, part in enumerate(parts):
        args = (*part, spec, *extra) if unpack else (part, spec, *extra)
        if isinstance(part, Corpus):
            rows += len(part.keys) * len(part.hyps)
        pending[client.submit(task, *args, key=f"mtdrift-{run}-part-{k:06d}", pure=False)] = k
        collect(block=False)
        while len(pending) + len(ready) >= limit:
            collect(block=True)
    while pending:
        collect(block=True)
    if log is not None:
        log.partitions, log.rows, log.seconds = done, rows, time.perf_counter() - started
