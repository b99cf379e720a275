"""Corpus input (JSONL/TSV, gzip), pairing of differently aligned systems, and the
comparison outputs of a many-system evaluation."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from mtdrift.eval.config import RunConfig
from mtdrift.eval.corpus import read_corpus
from mtdrift.eval.errors import InputError
from mtdrift.eval.pairwise import common_units, compare_systems, paired_stats, unit_stats
from mtdrift.eval.pipeline import evaluate_corpus
from mtdrift.eval.render import pairwise as cmp
from mtdrift.eval.render.tables import segments_csv
from mtdrift.metrics.encoders import Encoded, Encoder
from mtdrift.metrics.facts.checker import FactChecker
from mtdrift.metrics.lexical import get_lexical
from mtdrift.metrics.registry import METRICS, corpus_score, get_metric
from mtdrift.metrics.signature import Signature
from mtdrift.metrics.significance import Resampling
from tests.support.fakes import FakeEncoder
from tests.support.files import jsonl

ROWS = [
    {
        "doc_id": "d1",
        "seg_id": 0,
        "system": "A",
        "ref": "The cat sat on the mat.",
        "hyp": "A cat sat on the mat.",
    },
    {"doc_id": "d1", "seg_id": 1, "system": "A", "ref": "He paid 300 dollars.", "hyp": "He paid 30 dollars."},
    {"doc_id": "d2", "seg_id": 0, "system": "A", "ref": "Rain is expected.", "hyp": ""},
    {
        "doc_id": "d1",
        "seg_id": 0,
        "system": "B",
        "ref": "The cat sat on the mat.",
        "hyp": "The cat sat on the mat.",
    },
    {
        "doc_id": "d1",
        "seg_id": 1,
        "system": "B",
        "ref": "He paid 300 dollars.",
        "hyp": "He paid 300 dollars.",
    },
    {"doc_id": "d2", "seg_id": 0, "system": "B", "ref": "Rain is expected.", "hyp": "Rain is likely."},
]


def _tsv(rows: Sequence[dict[str, object]]) -> str:
    cols = ["doc_id", "seg_id", "system", "ref", "hyp"]
    return "\t".join(cols) + "\n" + "".join("\t".join(str(r[c]) for c in cols) + "\n" for r in rows)


def test_jsonl_tsv_and_gzip_read_the_same(tmp_path: Path) -> None:
    (tmp_path / "c.jsonl").write_text(jsonl(ROWS))
    (tmp_path / "c.tsv").write_text(_tsv(ROWS))
    (tmp_path / "c.jsonl.gz").write_bytes(gzip.compress(jsonl(ROWS).encode()))
    # the MQM layout: reference/hypothesis keys, extra keys ignored, rows interleaved by system
    mqm = [
        {
            "reference": r["ref"],
            "hypothesis": r["hyp"],
            "mqm": -1.0,
            **{k: r[k] for k in ("doc_id", "seg_id", "system")},
        }
        for r in ROWS
    ]
    (tmp_path / "m.jsonl").write_text(jsonl([mqm[i] for i in (0, 3, 1, 4, 2, 5)]))
    corpora = [read_corpus(tmp_path / n) for n in ("c.jsonl", "c.tsv", "c.jsonl.gz", "m.jsonl")]
    for c in corpora:
        assert c.keys == (("d1", "0"), ("d1", "1"), ("d2", "0"))
        assert c.refs == ("The cat sat on the mat.", "He paid 300 dollars.", "Rain is expected.")
        assert c.systems == ("A", "B")
        assert c.hyps["A"] == ("A cat sat on the mat.", "He paid 30 dollars.", "")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "x.jsonl",
            jsonl([{"doc_id": "d", "seg_id": 0, "system": "A", "ref": "r"}]),
            "line 1: no hyp or hypothesis field",
        ),
        ("x.jsonl", jsonl(ROWS[:2] + ROWS[:1]), "line 3: system 'A' has segment d1/0 twice"),
        ("x.jsonl", jsonl(ROWS[:3] + ROWS[3:5]), "system 'B' lacks 1 of 3 segments (first: d2/0)"),
        (
            "x.jsonl",
            jsonl([*ROWS[:3], {**ROWS[3], "ref": "Another reference."}]),
            "line 4: segment d1/0 has a different reference than on line 1",
        ),
        ("x.jsonl", "{not json}\n", "line 1: not valid JSON"),
        ("x.jsonl", jsonl([{**ROWS[0], "hyp": None}]), "line 1: no hyp or hypothesis field"),
        ("x.jsonl", jsonl([{**ROWS[0], "hyp": 3}]), "line 1: hyp must be a string, got int"),
        (
            "x.tsv",
            "doc_id\tseg_id\tsystem\tref\thyp\nd\t0\tA\tr\n",
            "line 2: expected 5 tab-separated fields",
        ),
        ("x.jsonl.gz", "not gzip at all", "not a valid gzip file"),
        ("x.jsonl", "", "the file is empty"),
        ("x.csv", "a,b\n", "unknown corpus format"),
    ],
)
def test_bad_corpus_names_the_file_and_the_line(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(InputError) as err:
        read_corpus(p)
    text = str(err.value)
    assert text.startswith(str(p) + ": ")
    assert message in text
    assert "\n" not in text


def test_bad_corpus_on_the_command_line_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mtdrift.eval.cli import main

    p = tmp_path / "x.jsonl"
    p.write_text(jsonl(ROWS[:3] + ROWS[3:5]))
    assert main(["evaluate", "--data", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "lacks 1 of 3 segments" in err and str(p) in err
    assert main(["evaluate", "--data", str(p), "--ref", str(p), "--out", str(tmp_path / "o")]) == 2
    assert "not both" in capsys.readouterr().err


class CountingEncoder:
    """Wraps an encoder and counts how often each text is asked for."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.asked: Counter[str] = Counter()

    def encode(self, texts: Sequence[str], *, tokens: bool = False) -> Encoded:
        self.asked.update(texts)
        return self.inner.encode(texts, tokens=tokens)

    def signature(self) -> Signature:
        return self.inner.signature()


def test_corpus_rows_become_one_bead_each_and_the_reference_is_embedded_once(
    tmp_path: Path, fake_encoder: FakeEncoder, checker: FactChecker
) -> None:
    (tmp_path / "c.jsonl").write_text(jsonl(ROWS))
    corpus = read_corpus(tmp_path / "c.jsonl")
    enc = CountingEncoder(fake_encoder)
    ev = evaluate_corpus(corpus, encoder=enc, checker=checker)
    for ref in corpus.refs:
        assert enc.asked[ref] == 1  # once, although two systems use it
    assert [s.system for s in ev.systems] == ["A", "B"]
    for s in ev.systems:
        assert [(b.ref_ids, b.hyp_ids) for b in s.beads] == [((0,), (0,)), ((1,), (1,)), ((2,), (2,))]
        refs, hyps = list(corpus.refs), list(corpus.hyps[s.system])
        for m in ("bleu", "chrf"):
            from sacrebleu.metrics import BLEU, CHRF

            sacre = BLEU() if m == "bleu" else CHRF()
            assert s.corpus[m] == pytest.approx(sacre.corpus_score(hyps, [refs]).score, abs=1e-9)
    rows = list(csv.DictReader(io.StringIO(segments_csv(ev))))
    assert [(r["system"], r["doc_id"], r["seg_id"]) for r in rows][:3] == [
        ("A", "d1", "0"),
        ("A", "d1", "1"),
        ("A", "d2", "0"),
    ]
    b = ev.system("B")
    assert b.beads[0].bleu == pytest.approx(100.0)
    a = ev.system("A")
    assert any(f.kind == "number" for f in a.beads[1].reasons)  # 300 -> 30
    assert "|seg:rows|" in ev.signatures["input"]


def test_common_units_pair_differently_aligned_systems() -> None:
    # system 1 merges reference 1+2, system 2 merges 2+3 and adds a sentence before 0
    s1 = [(0,), (1, 2), (3,), (4,)]
    s2 = [(), (0,), (1,), (2, 3), (4,)]
    units = common_units(5, [s1, s2])
    assert units == [(0,), (1, 2, 3), (4,)]
    stats = {"bleu": np.arange(len(s2) * 10, dtype=float).reshape(len(s2), 10)}
    summed = unit_stats(units, s2, stats)["bleu"]
    assert summed.shape == (3, 10)
    assert np.array_equal(summed[0], stats["bleu"][0] + stats["bleu"][1])  # the addition joins unit 0
    assert np.array_equal(summed.sum(axis=0), stats["bleu"].sum(axis=0))  # nothing lost
    with pytest.raises(ValueError, match=r"outside 0\.\.4"):
        common_units(5, [[(5,)]])


def test_paired_units_keep_every_corpus_score(fake_encoder: FakeEncoder, checker: FactChecker) -> None:
    from mtdrift.eval.config import Document
    from mtdrift.eval.pipeline import evaluate
    from tests.support.paths import HYP, REF

    ref = Document("ref", REF.read_text())
    hyp = HYP.read_text()
    lines = hyp.split("\n")
    merged = "\n".join([lines[0] + " " + lines[1], *lines[2:]])
    ev = evaluate(
        ref, [("a", Document("a", hyp)), ("b", Document("b", merged))], encoder=fake_encoder, checker=checker
    )
    units, stats = paired_stats(ev)
    assert sorted(i for u in units for i in u) == list(range(len(ev.ref_sentences)))
    for s in ev.systems:
        for m in METRICS:
            assert corpus_score(get_metric(m), stats[s.system][m]) == pytest.approx(s.corpus[m], abs=1e-9)


def test_comparison_outputs(tmp_path: Path, fake_encoder: FakeEncoder, checker: FactChecker) -> None:
    rows = [{**r, "system": "C", "hyp": r["ref"]} for r in ROWS[:3]] + ROWS
    (tmp_path / "c.jsonl").write_text(jsonl(rows))
    ev = evaluate_corpus(
        read_corpus(tmp_path / "c.jsonl"), encoder=fake_encoder, checker=checker, config=RunConfig()
    )
    c = compare_systems(ev, baseline="A", resampling=Resampling(bootstrap=100, trials=200))
    assert c.ranked("chrf") == ["C", "B", "A"]
    assert c.ranked("ter") == ["C", "B", "A"]  # lower is better
    data = json.loads(cmp.to_json(c, "chrf", ev.signatures))
    assert data["ranking"] == ["C", "B", "A"] and data["baseline"] == "A"
    for m in METRICS:
        for s in ("A", "B", "C"):
            r = data["metrics"][m]["systems"][s]
            assert set(r) >= {
                "score",
                "ci",
                "delta",
                "delta_ci",
                "p_bootstrap",
                "p_ar",
                "p_holm",
                "agreement",
            }
            assert r["ci"]["low"] <= r["ci"]["high"]
    assert data["metrics"]["bleu"]["systems"]["B"]["agreement"] is not None
    assert data["metrics"]["semantic"]["systems"]["B"]["agreement"] is None
    table = list(csv.DictReader(io.StringIO(cmp.to_csv(c, "chrf"))))
    assert len(table) == 3 * len(METRICS)
    tex = cmp.to_tex(c, "chrf", ev.signatures)
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert tex.index("C &") < tex.index("B &") < tex.index("A (baseline)")
    md = cmp.to_md(c, "chrf", ev.signatures)
    assert "## Signatures" in md and ev.signatures["bleu"] in md
    term = cmp.terminal(c, "chrf")
    assert term.splitlines()[2].startswith("C ")
    # the exact corpus scores are sacrebleu's on the rows
    chrf_b = get_lexical("chrf").corpus_score(ev.system("B").stats["chrf"])
    assert c.get("B", "chrf").score == pytest.approx(chrf_b, abs=1e-12)


def test_many_system_plots_are_written_and_reproducible(
    tmp_path: Path, fake_encoder: FakeEncoder, checker: FactChecker
) -> None:
    from mtdrift.eval.render.figures import write_plots
    from mtdrift.eval.render.figures.systems import plot_systems

    rows = [{**r, "system": f"S{k}", "hyp": str(r["hyp"])[: 5 + 3 * k]} for k in range(6) for r in ROWS[3:]]
    (tmp_path / "c.jsonl").write_text(jsonl(rows))
    ev = evaluate_corpus(read_corpus(tmp_path / "c.jsonl"), encoder=fake_encoder, checker=checker)
    c = compare_systems(ev, resampling=Resampling(bootstrap=50, trials=50))
    digests = []
    for run in ("a", "b"):
        out = tmp_path / run
        written = write_plots(ev, out)
        assert [p.name for p in written] == [
            "drift.png",
            "alignment.png",
        ]  # corpus rows: no per-system alignment
        plot_systems(c, "chrf", out / "systems.png")
        data = [(out / n).read_bytes() for n in ("drift.png", "systems.png")]
        assert all(d.startswith(b"\x89PNG") and len(d) > 10_000 for d in data)
        digests.append(data)
    assert digests[0] == digests[1]


def test_chunked_corpus_evaluation_equals_one_pass(
    tmp_path: Path, fake_encoder: FakeEncoder, checker: FactChecker
) -> None:
    rows = [{**r, "seg_id": f"{r['seg_id']}-{k}", "hyp": f"{r['hyp']} {k}"} for k in range(3) for r in ROWS]
    (tmp_path / "c.jsonl").write_text(jsonl(rows))
    corpus = read_corpus(tmp_path / "c.jsonl")
    whole = evaluate_corpus(corpus, encoder=fake_encoder, checker=checker)
    chunked = evaluate_corpus(corpus, encoder=fake_encoder, checker=checker, chunk=2)
    assert len(whole.ref_sentences) == 9
    assert segments_csv(chunked) == segments_csv(whole)
    from mtdrift.eval.render.tables import summary_json

    assert summary_json(chunked) == summary_json(whole)
    assert chunked.ref_sentences == whole.ref_sentences
    assert [s.hyp_sentences for s in chunked.systems] == [s.hyp_sentences for s in whole.systems]


def test_lexical_worker_process_gives_the_same_numbers(
    tmp_path: Path, fake_encoder: FakeEncoder, checker: FactChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mtdrift.eval.pipeline

    (tmp_path / "c.jsonl").write_text(jsonl(ROWS))
    corpus = read_corpus(tmp_path / "c.jsonl")
    alone = evaluate_corpus(corpus, encoder=fake_encoder, checker=checker, config=RunConfig(workers=0))
    monkeypatch.setattr(mtdrift.eval.pipeline, "PARALLEL_MIN_PAIRS", 1)
    beside = evaluate_corpus(corpus, encoder=fake_encoder, checker=checker, config=RunConfig(workers=1))
    assert segments_csv(beside) == segments_csv(alone)
    for a, b in zip(alone.systems, beside.systems, strict=True):
        for m in a.stats:
            assert np.array_equal(a.stats[m], b.stats[m])
