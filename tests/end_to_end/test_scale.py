"""Input and output at scale, without a cluster: Parquet and sharded corpora read as the JSONL
one, a corpus streamed in parts of whole documents, errors naming the shard and the line,
segments.parquet, the HTML cut-off, and the Dask address (``eval.distributed``)."""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mtdrift.api import OUTPUTS, Result
from mtdrift.eval.corpus import Corpus, iter_parts, read_corpus
from mtdrift.eval.distributed import ClusterError, parse_address, split_corpus
from mtdrift.eval.errors import InputError
from mtdrift.eval.pairwise import compare_systems, paired_stats
from mtdrift.eval.pipeline import evaluate_corpus
from mtdrift.eval.render import html as html_render
from mtdrift.eval.render.parquet import write_segments_parquet
from mtdrift.eval.render.tables import segments_csv
from mtdrift.eval.results import Joiner, concat
from mtdrift.eval.spill import Spill, SpilledSeq
from mtdrift.metrics.facts.checker import FactChecker
from tests.support.fakes import FakeEncoder
from tests.support.files import jsonl

SYSTEMS = ("A", "B")


def _rows(docs: int = 5, segs: int = 3) -> list[dict[str, object]]:
    """``docs`` documents of ``segs`` segments, two systems, grouped by document as WMT's files."""
    out: list[dict[str, object]] = []
    for d in range(docs):
        for s in range(segs):
            for system in SYSTEMS:
                ref = f"Document {d} says {s} things about Paris."
                hyp = ref if system == "A" else f"Document {d} says {s + 1} things about Rome."
                out.append({"doc_id": f"d{d}", "seg_id": s, "system": system, "ref": ref, "hyp": hyp})
    return out


def _parquet(rows: Sequence[dict[str, object]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(list(rows)), path, row_group_size=7)


def _shards(rows: Sequence[dict[str, object]], folder: Path, docs_per_shard: int = 2) -> None:
    """JSONL.gz and Parquet shards, a few documents each, named in document order."""
    folder.mkdir()
    docs = list(dict.fromkeys(str(r["doc_id"]) for r in rows))
    for k in range(0, len(docs), docs_per_shard):
        mine = set(docs[k : k + docs_per_shard])
        part = [r for r in rows if r["doc_id"] in mine]
        if k // docs_per_shard % 2:
            _parquet(part, folder / f"shard-{k:03d}.parquet")
        else:
            (folder / f"shard-{k:03d}.jsonl.gz").write_bytes(gzip.compress(jsonl(part).encode()))


def test_parquet_and_shards_read_as_the_jsonl_corpus(tmp_path: Path) -> None:
    rows = _rows()
    (tmp_path / "c.jsonl").write_text(jsonl(rows))
    _parquet(rows, tmp_path / "c.parquet")
    _shards(rows, tmp_path / "shards")
    expected = read_corpus(tmp_path / "c.jsonl")
    for source in (tmp_path / "c.parquet", f"{tmp_path}/shards/*"):
        result = read_corpus(source)
        assert replace(result, name=expected.name) == expected, source


@pytest.mark.parametrize("rows_per_part", [1, 6, 14, 1000])
def test_streamed_parts_are_whole_documents_and_join_to_the_corpus(
    tmp_path: Path, rows_per_part: int
) -> None:
    _shards(_rows(), tmp_path / "shards")
    source = f"{tmp_path}/shards/*"
    expected = read_corpus(source)
    parts = list(iter_parts(source, rows=rows_per_part))
    docs = [{d for d, _ in p.keys} for p in parts]
    assert all(not (a & b) for k, a in enumerate(docs) for b in docs[k + 1 :])  # never split
    assert all(p.name == source for p in parts)
    assert sum((p.keys for p in parts), ()) == expected.keys
    for system in expected.systems:
        assert sum((p.hyps[system] for p in parts), ()) == expected.hyps[system]
    assert len(parts) == (5 if rows_per_part <= 6 else 2 if rows_per_part == 14 else 1)


def test_split_corpus_keeps_a_scattered_document_in_one_part() -> None:
    # d1's segments are scattered around d2's: no cut may fall between them
    keys = (("d1", "0"), ("d2", "0"), ("d1", "1"), ("d3", "0"), ("d3", "1"))
    corpus = Corpus("c", keys, tuple(f"r{k}" for k in range(5)), {"A": tuple(f"h{k}" for k in range(5))})
    parts = split_corpus(corpus, rows=1)
    assert [p.keys for p in parts] == [keys[:3], keys[3:]]
    assert sum((p.refs for p in parts), ()) == corpus.refs


def test_parts_evaluated_apart_join_to_the_whole(
    tmp_path: Path, fake_encoder: FakeEncoder, checker: FactChecker
) -> None:
    """Joined in memory (concat) or on disk as they come (what the Dask client does: beads,
    sentences, keys and statistics spilled), the parts give every file of the whole."""
    corpus = read_corpus_from(_rows())
    whole = evaluate_corpus(corpus, encoder=fake_encoder, checker=checker)
    parts = [evaluate_corpus(p, encoder=fake_encoder, checker=checker) for p in split_corpus(corpus, rows=6)]
    assert len(parts) == 5
    assert segments_csv(concat(parts)) == segments_csv(whole)
    joiner = Joiner(Spill())
    for part in parts:
        joiner.add(part)
    spilled = joiner.result()
    assert all(isinstance(s.beads, SpilledSeq) for s in spilled.systems)
    assert isinstance(spilled.ref_sentences, SpilledSeq) and isinstance(spilled.keys, SpilledSeq)
    for s, w in zip(spilled.systems, whole.systems, strict=True):
        assert set(s.stats) == set(w.stats)
        for m, rows in s.stats.items():  # on disk, read through a memory map: the same numbers
            assert isinstance(rows, np.memmap) and not rows.flags.writeable, m
            assert rows.dtype == w.stats[m].dtype and np.array_equal(rows, w.stats[m]), m
        # the comparison's units are the segments: the statistics are read where they lie
        units, paired = paired_stats(spilled)
        assert np.shares_memory(paired[s.system]["bleu"], s.stats["bleu"])
        assert list(units) == [(k,) for k in range(len(spilled.ref_sentences))]
    expected, result = (Result(ev, compare_systems(ev)) for ev in (whole, spilled))
    for name in OUTPUTS:
        assert result.render(name) == expected.render(name), name
    for run, out in ((expected, tmp_path / "whole"), (result, tmp_path / "spilled")):
        run.write(out, plots=False, parquet=True)
    for name in (*OUTPUTS, "segments.parquet/part-00000.parquet"):
        assert (tmp_path / "spilled" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


def read_corpus_from(rows: Sequence[dict[str, object]]) -> Corpus:
    from mtdrift.eval.corpus import build_corpus

    return build_corpus(iter(enumerate(rows, start=1)), name="c.jsonl")


@pytest.mark.parametrize(
    ("bad", "shard", "match"),
    [
        # a row without a reference, in the second shard: named by shard and line
        ({"doc_id": "d1", "system": "A", "hyp": "x"}, "shard-002.jsonl.gz", r"line 1: no ref"),
        # the same in a Parquet shard: named by shard and row
        ({"doc_id": "d1", "system": "A", "ref": None, "hyp": "x"}, "shard-002.parquet", r"row 1: no ref"),
    ],
)  # fmt: skip
def test_a_bad_row_names_its_shard_and_line(
    tmp_path: Path, bad: dict[str, object], shard: str, match: str
) -> None:
    rows = _rows()
    folder = tmp_path / "shards"
    folder.mkdir()
    (folder / "shard-001.jsonl.gz").write_bytes(gzip.compress(jsonl(rows[:6]).encode()))
    tail = [bad, *rows[6:]]
    if shard.endswith(".parquet"):
        _parquet([{**r, "ref": r.get("ref")} for r in tail], folder / shard)
    else:
        (folder / shard).write_bytes(gzip.compress(jsonl(tail).encode()))
    for read in (read_corpus, lambda s: list(iter_parts(s, rows=4))):
        with pytest.raises(InputError, match=rf"^{re.escape(str(folder / shard))}: {match}"):
            read(f"{folder}/*")


def test_a_document_in_two_shards_is_refused(tmp_path: Path) -> None:
    rows = _rows(docs=2)
    folder = tmp_path / "shards"
    folder.mkdir()
    (folder / "a.jsonl").write_text(jsonl(rows[:3]))  # d0 starts here
    (folder / "b.jsonl").write_text(jsonl(rows[3:]))  # and goes on here
    with pytest.raises(InputError, match=r"b.jsonl: line 1: document 'd0' is also in .*a.jsonl; keep each"):
        read_corpus(f"{folder}/*.jsonl")


def test_a_glob_that_matches_nothing_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"the pattern matches no file"):
        read_corpus(f"{tmp_path}/none-*.jsonl")


def _by_system(rows: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """The rows ordered by system, as WMT's files are: each document comes back once per system."""
    return sorted(rows, key=lambda r: SYSTEMS.index(str(r["system"])))


@pytest.mark.parametrize(
    ("order", "rows_per_part", "parts"),
    [
        # WMT's order: every document comes back for the second system; still cut by document
        ("by system", 1, 5),
        ("by system", 14, 2),
        # d0's second segment first appears after d1's: d0 and d1 stay in one part
        ("scattered", 1, 4),
        # no seg_id: numbered per system over the whole file, as read_corpus numbers them
        ("no seg_id", 1, 5),
    ],
)  # fmt: skip
def test_rows_in_any_order_stream_as_the_corpus_read_whole(
    tmp_path: Path, order: str, rows_per_part: int, parts: int
) -> None:
    rows = _rows()
    if order == "scattered":
        rows = [rows[0], rows[1], rows[6], rows[7], *rows[2:6], *rows[8:]]
    elif order == "no seg_id":
        rows = [{k: v for k, v in r.items() if k != "seg_id"} for r in rows]
    path = tmp_path / "c.jsonl"
    path.write_text(jsonl(_by_system(rows)))
    expected = read_corpus(path)
    result = list(iter_parts(path, rows=rows_per_part))
    assert len(result) == parts
    assert sum((p.keys for p in result), ()) == expected.keys
    assert sum((p.refs for p in result), ()) == expected.refs
    for system in expected.systems:
        assert sum((p.hyps[system] for p in result), ()) == expected.hyps[system]
    docs = [{d for d, _ in p.keys} for p in result]
    assert all(not (a & b) for k, a in enumerate(docs) for b in docs[k + 1 :])  # never split


def test_a_streamed_jsonl_file_is_never_held_whole(tmp_path: Path) -> None:
    """A 5 MB JSONL corpus: reading its rows allocates at most a hundredth of the file at once
    (a whole read holds its bytes, its text and its rows, several times the file); cutting it in
    parts of 100 rows at most a fifth (the parts' index: a file offset per row, an id per
    segment, no text)."""
    import tracemalloc

    from mtdrift.eval.corpus import read_rows

    ref = "A long reference sentence about the committee's decision on the budget. " * 3
    rows = [
        {"doc_id": f"d{k // 40}", "seg_id": k % 40, "system": system, "ref": f"{k} {ref}", "hyp": f"{ref}{k}"}
        for k in range(5_000)
        for system in SYSTEMS
    ]  # fmt: skip
    path = tmp_path / "big.jsonl"
    path.write_text(jsonl(rows))
    size = path.stat().st_size
    assert size > 5_000_000
    tracemalloc.start()
    try:
        n_rows = sum(1 for _ in read_rows(path))
        _, read_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        n_parts = sum(len(p.keys) * len(p.systems) for p in iter_parts(path, rows=100))
        _, parts_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n_rows == n_parts == len(rows)
    assert read_peak < size / 100, f"peak {read_peak:,} bytes reading a file of {size:,}"
    assert parts_peak < size / 5, f"peak {parts_peak:,} bytes cutting a file of {size:,}"


def test_segments_parquet_holds_the_csv_rows(
    tmp_path: Path, fake_encoder: FakeEncoder, checker: FactChecker
) -> None:
    import pandas as pd

    ev = evaluate_corpus(read_corpus_from(_rows()), encoder=fake_encoder, checker=checker)
    files = write_segments_parquet(ev, tmp_path / "segments.parquet", rows_per_file=7)
    assert [f.name for f in files] == [f"part-{k:05d}.parquet" for k in range(5)]  # 30 rows, 7 a file
    result = pd.read_parquet(tmp_path / "segments.parquet")
    expected = list(csv.DictReader(io.StringIO(segments_csv(ev))))
    assert list(result.columns) == list(expected[0])
    assert result["ref"].tolist() == [r["ref"] for r in expected]
    assert [f"{x:.6f}" for x in result["chrf"]] == [r["chrf"] for r in expected]
    assert [";".join(map(str, x)) for x in result["ref_ids"]] == [r["ref_ids"] for r in expected]


def test_report_md_lists_the_worst_drifted_beads_and_says_where_the_rest_are(
    monkeypatch: pytest.MonkeyPatch, fake_encoder: FakeEncoder, checker: FactChecker
) -> None:
    from mtdrift.eval.render import tables

    ev = evaluate_corpus(read_corpus_from(_rows()), encoder=fake_encoder, checker=checker)
    whole = tables.report_md(ev)
    monkeypatch.setattr(tables, "MD_MAX_BEADS", 2 * len(ev.systems))  # 2 drifted beads of each system
    cut = tables.report_md(ev)
    shortened = 0
    for s in ev.systems:
        drifted = sorted((b for b in s.beads if b.drift != "none"), key=tables._severity_key)
        section = cut.split(f"## {s.system}:")[1].split("\n## ")[0]
        rows = re.findall(r"^\| (\d+) \|", section, flags=re.M)
        assert [int(r) for r in rows] == [b.index for b in drifted[:2]]  # the worst, worst first
        if len(drifted) > 2:
            shortened += 1
            assert f"The 2 worst are listed; the other {len(drifted) - 2:,} are in segments.csv" in section
        whole_section = whole.split(f"## {s.system}:")[1].split("\n## ")[0]
        assert [int(r) for r in re.findall(r"^\| (\d+) \|", whole_section, flags=re.M)] == [
            b.index for b in drifted
        ]
    assert shortened, "the fixture needs a system with more drifted beads than the cut keeps"
    assert "worst are listed" not in whole


def test_the_html_table_is_cut_with_a_note(
    monkeypatch: pytest.MonkeyPatch, fake_encoder: FakeEncoder, checker: FactChecker
) -> None:
    ev = evaluate_corpus(read_corpus_from(_rows()), encoder=fake_encoder, checker=checker)
    monkeypatch.setattr(html_render, "HTML_MAX_BEADS", 8)
    page = html_render.report_html(ev)
    assert page.count("<tr id=") == 8  # 4 beads of each system
    assert "Showing 4 beads of each system (8 of 30)</b>: its drifted beads first" in page
    # each system's drifted beads are kept before its others, in document order
    late = [b for s in ev.systems for b in s.beads[4:] if b.drift != "none"]
    assert late, "the fixture needs a drifted bead past the first four, or the order is not tested"
    for k, s in enumerate(ev.systems):
        drifted = [b.index for b in s.beads if b.drift != "none"]
        kept = [b.index for b in html_render._worst_first(s.beads, 4)]
        assert kept == sorted(kept) and len(kept) == 4
        assert set(drifted[:4]) <= set(kept)
        rows = re.findall(rf"<tr id='b{k}-(\d+)'", page)
        assert [int(i) for i in rows] == kept
    monkeypatch.setattr(html_render, "HTML_MAX_BEADS", 5000)
    assert "Showing 4 beads" not in html_render.report_html(ev)


@pytest.mark.parametrize(
    ("address", "expected"),
    [("local:2", ("local", 2)), ("tcp://10.0.0.1:8786", ("tcp://10.0.0.1:8786", None))],
)
def test_dask_addresses(address: str, expected: tuple[str, int | None]) -> None:
    assert parse_address(address) == expected


@pytest.mark.parametrize("address", ["local:0", "local:x", "10.0.0.1:8786", "tcp://"])
def test_a_malformed_dask_address_is_refused(address: str) -> None:
    with pytest.raises(ClusterError, match=r"expected local"):
        parse_address(address)


@pytest.mark.parametrize("name", ["missing.parquet", "missing.jsonl.gz"])
def test_a_missing_corpus_is_refused_before_a_cluster_starts(tmp_path: Path, name: str) -> None:
    from mtdrift.eval.distributed import evaluate_corpus_dask

    with pytest.raises(InputError, match=r"missing\.[a-z.]+: no such file"):
        evaluate_corpus_dask(tmp_path / name, address="local:1")
