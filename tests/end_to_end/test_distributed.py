"""The evaluation on a real Dask ``LocalCluster`` of 2 worker processes, with the real model
(all-MiniLM-L6-v2): the seed pair and 2,000 rows of the WMT23 zh-en dev set give
``segments.csv`` and ``summary.json`` byte-identical to the single-process run, from JSONL,
from JSONL ordered by system (WMT's order), from shards, and still when a worker process is
killed in the middle of the run.

One cluster for the module (its workers load the model once each); the kill test runs last.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mtdrift.eval.config import Document
from mtdrift.eval.distributed import ClusterError, evaluate_corpus_dask, evaluate_dask
from mtdrift.eval.pipeline import evaluate, evaluate_corpus
from mtdrift.eval.read import read_text
from mtdrift.eval.render.tables import segments_csv, summary_json
from mtdrift.eval.results import Evaluation
from mtdrift.metrics.encoders import MiniLMEncoder
from mtdrift.metrics.facts.checker import FactChecker
from tests.support.paths import HYP, REF, need_mqm

pytestmark = [pytest.mark.model, pytest.mark.slow]

ROWS = 2_000
PARTITION_ROWS = 300  # about 7 partitions of whole documents


def _bytes(ev: Evaluation) -> tuple[str, str]:
    return segments_csv(ev), summary_json(ev)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The first whole documents of the zh-en dev set, about 2,000 rows over its 15 systems:
    as one JSONL file and as a glob of shards (JSONL.gz and Parquet mixed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    docs: list[str] = []
    with gzip.open(need_mqm(), "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["doc_id"] not in docs:
                if len(rows) >= ROWS:
                    break
                docs.append(row["doc_id"])
            rows.append(row)
    folder = tmp_path_factory.mktemp("dev")
    (folder / "dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    keep = ["doc_id", "seg_id", "system", "reference", "hypothesis"]
    table = [{k: r[k] for k in keep} for r in rows]
    shards = folder / "shards"
    shards.mkdir()
    for k in range(0, len(docs), 4):
        mine = set(docs[k : k + 4])
        part = [r for r in table if r["doc_id"] in mine]
        if k % 8:
            pq.write_table(pa.Table.from_pylist(part), shards / f"dev-{k:03d}.parquet")
        else:
            text = "".join(json.dumps(r) + "\n" for r in part)
            (shards / f"dev-{k:03d}.jsonl.gz").write_bytes(gzip.compress(text.encode()))
    systems = list(dict.fromkeys(r["system"] for r in rows))
    by_system = sorted(rows, key=lambda r: systems.index(r["system"]))  # WMT's order
    (folder / "by-system.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in by_system), encoding="utf-8"
    )
    return {
        "jsonl": str(folder / "dev.jsonl"),
        "by-system": str(folder / "by-system.jsonl"),
        "parquet": str(folder / "dev.parquet"),
        "shards": f"{shards}/*",
    }


@pytest.fixture(scope="module")
def expected(dev: dict[str, str], real_encoder: MiniLMEncoder, checker: FactChecker) -> tuple[str, str]:
    from mtdrift.eval.corpus import read_corpus

    corpus = read_corpus(dev["jsonl"])
    assert 1_900 <= len(corpus.keys) * len(corpus.systems) <= 2_200
    return _bytes(evaluate_corpus(corpus, encoder=real_encoder, checker=checker))


def _run(source: str, client: Any, cache: Path, **kwargs: Any) -> Evaluation:
    return evaluate_corpus_dask(
        source,
        client=client,
        model="minilm",
        cache_dir=cache,
        threads=1,
        partition_rows=PARTITION_ROWS,
        **kwargs,
    )


def test_the_seed_pair_on_the_cluster_is_byte_identical(
    client: Any, real_encoder: MiniLMEncoder, checker: FactChecker
) -> None:
    """A document pair is one partition (alignment needs it whole), run on a worker."""
    ref = Document(str(REF), read_text(REF))
    hyps = [("roundtrip", Document(str(HYP), read_text(HYP)))]
    expected = _bytes(evaluate(ref, hyps, encoder=real_encoder, checker=checker))
    result = _bytes(evaluate_dask(ref, hyps, client=client, model="minilm", threads=1))
    assert result == expected


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the cluster runs: the first fills it from both workers at once, the next
    reads it."""
    return tmp_path_factory.mktemp("cache")


def test_2000_rows_on_two_workers_are_byte_identical(
    client: Any, dev: dict[str, str], expected: tuple[str, str], cache: Path
) -> None:
    """Both workers fill one fresh cache at once (SQLite, WAL): nothing is lost or changed."""
    result = _run(dev["jsonl"], client, cache)
    assert _bytes(result) == expected  # segments.csv, summary.json
    assert len(result.systems) == 15


def test_the_cli_and_the_api_on_a_scheduler_address_give_the_same_bytes(
    client: Any, dev: dict[str, str], expected: tuple[str, str], cache: Path, tmp_path: Path
) -> None:
    """``mtdrift evaluate --dask tcp://...`` and ``Evaluator.evaluate_corpus(dask=...)`` on the
    module's cluster (read from the cache the run before filled)."""
    from mtdrift.api import Evaluator
    from mtdrift.eval.cli import main

    address = client.scheduler.address
    assert address.startswith("tcp://")
    out = tmp_path / "cli"
    code = main(["evaluate", "--data", dev["jsonl"], "--dask", address, "--partition-rows", "300",
                 "--model", "minilm", "--threads", "1", "--cache", str(cache), "--out", str(out),
                 "--no-plots", "--quiet", "--parquet"])  # fmt: skip
    assert code == 0
    files = [(out / name).read_text(encoding="utf-8") for name in ("segments.csv", "summary.json")]
    assert tuple(files) == expected
    api = Evaluator("minilm", threads=1, cache=cache, progress=False)
    result = api.evaluate_corpus(dev["jsonl"], dask=address, partition_rows=300)
    assert (result.render("segments.csv"), result.render("summary.json")) == expected
    import pandas as pd

    frame = pd.read_parquet(out / "segments.parquet")
    assert len(frame) == len(result.segments) and list(frame.columns) == list(result.segments.columns)


def test_rows_ordered_by_system_give_the_bytes_of_one_process(
    client: Any, dev: dict[str, str], expected: tuple[str, str], cache: Path
) -> None:
    """WMT's order (every document comes back once per system) is read as one process reads it:
    the same corpus, so one process's bytes (the corpus named by its path); on the cluster the
    client groups the rows by document first (read from the cache the first run filled)."""
    from mtdrift.eval.corpus import read_corpus

    one_process = read_corpus(dev["by-system"])
    assert replace(one_process, name=dev["jsonl"]) == read_corpus(dev["jsonl"])
    result = _bytes(_run(dev["by-system"], client, cache))
    assert result[0] == expected[0]
    assert result[1] == expected[1].replace(dev["jsonl"], dev["by-system"])


def test_a_worker_killed_mid_run_changes_nothing(
    client: Any, dev: dict[str, str], expected: tuple[str, str], cache: Path
) -> None:
    """Sharded input (JSONL.gz and Parquet shards; Parquet and shards read as the JSONL corpus,
    test_scale.py), read from the cache the run before filled. After the first two partitions
    come back, one worker process is killed (SIGKILL): its partitions run again elsewhere and
    the outputs are the same bytes."""
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    killed: list[int] = []

    def kill_once(done: int, submitted: int) -> None:
        if done >= 2 and not killed:
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    result = _bytes(_run(dev["shards"], client, cache, progress=kill_once))
    assert killed == [victim]
    assert victim not in client.run(os.getpid).values()  # it was really gone (the nanny restarted it)
    assert result[0] == expected[0]
    assert result[1] == expected[1].replace(dev["jsonl"], dev["shards"])


def test_an_unreachable_scheduler_is_one_clear_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mtdrift.eval.cli import main

    data = tmp_path / "c.jsonl"
    data.write_text(json.dumps({"system": "A", "ref": "Yes.", "hyp": "Yes."}) + "\n")
    code = main(["evaluate", "--data", str(data), "--dask", "tcp://127.0.0.1:9", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("mtdrift: error: --dask tcp://127.0.0.1:9: no Dask scheduler answered within 5 s")
    assert err.count("\n") == 1
    with pytest.raises(ClusterError, match=r"within 1 s"):
        evaluate_corpus_dask(data, address="tcp://127.0.0.1:9", connect_timeout=1)
