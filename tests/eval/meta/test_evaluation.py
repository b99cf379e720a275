"""`mtdrift meta` end to end: the real model and sacrebleu on WMT23 rows, against MQM."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from mtdrift.eval.cli import main
from mtdrift.eval.meta.evaluation import meta_evaluate
from mtdrift.eval.meta.sets import read_official
from mtdrift.metrics.facts.checker import FactChecker
from tests.support.fakes import FakeEncoder
from tests.support.paths import MQM, need_mqm

OFFICIAL = MQM.parent / "wmt23_zhen_official_metric_seg_scores.dev.tsv.gz"


def _subset(tmp_path: Path, n_segments: int) -> tuple[Path, Path]:
    with gzip.open(need_mqm(), "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    keep = sorted({r["seg_id"] for r in rows})[:n_segments]
    data = tmp_path / "sub.jsonl.gz"
    with gzip.open(data, "wt", encoding="utf-8") as fh:
        for r in rows:
            if r["seg_id"] in keep:
                fh.write(json.dumps(r) + "\n")
    official = read_official(OFFICIAL)
    sub = tmp_path / "sub.tsv"
    official[official["seg_id"].isin(keep)].to_csv(sub, sep="\t", index=False)
    return data, sub


@pytest.mark.model
def test_meta_on_wmt23_rows_scores_mtdrift_beside_the_official_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, official = _subset(tmp_path, 25)
    out = tmp_path / "meta"
    args = ["meta", "--data", str(data), "--official", str(official), "--out", str(out), "--resamples", "50"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "| **fidelity** |" in printed and "| BLEU-refA |" in printed
    doc = json.loads((out / "meta.json").read_text())
    assert doc["n_rows"] == 25 * 15 and doc["n_systems"] == 15
    metrics = doc["metrics"]
    for name in ("bleu", "chrf", "chrfpp", "ter", "semantic", "tokenmatch", "fidelity", "COMET-refA"):
        for key in ("seg_kendall_by_item", "seg_kendall", "seg_pearson", "sys_pearson", "sys_accuracy"):
            assert key in metrics[name] and "sys_kendall" in metrics[name]
    # mtdrift's sentence BLEU and chrF are sacrebleu's defaults, which the official columns are
    for ours, theirs in (("bleu", "BLEU-refA"), ("chrf", "chrF-refA")):
        for key in ("seg_kendall_by_item", "seg_kendall", "seg_pearson", "sys_pearson", "sys_accuracy"):
            assert metrics[ours][key] == pytest.approx(metrics[theirs][key], abs=1e-9), (ours, key)
    # the official figures are those of eval.meta on the same rows
    table = read_official(official)
    direct = meta_evaluate(table, ["BERTscore-refA"], n_resamples=50).to_dict()["metrics"]["BERTscore-refA"]
    assert metrics["BERTscore-refA"]["seg_kendall_by_item"] == pytest.approx(direct["seg_kendall_by_item"])
    assert (out / "meta.md").read_text().startswith("# mtdrift meta-evaluation")
    assert (out / "meta.png").read_bytes().startswith(b"\x89PNG")
    for level in ("all", "major"):
        assert set(doc["spans"][level]) == {"precision", "recall", "f1"}
        assert 0 < doc["spans"][level]["precision"] < 1 and 0 < doc["spans"][level]["recall"] < 1
    assert "## Drifted spans against the annotators' target-side error spans" in printed


def test_meta_needs_human_scores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "c.jsonl"
    p.write_text(json.dumps({"doc_id": "d", "seg_id": 0, "system": "A", "ref": "a b", "hyp": "a b"}) + "\n")
    assert main(["meta", "--data", str(p), "--out", str(tmp_path / "o"), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 1: no numeric 'mqm' field" in err and str(p) in err


def test_span_scores_count_characters(
    tmp_path: Path, fake_encoder: FakeEncoder, checker: FactChecker
) -> None:
    from mtdrift.eval.corpus import read_corpus, read_rows
    from mtdrift.eval.meta.scoring import span_scores
    from mtdrift.eval.meta.sets import gold_spans
    from mtdrift.eval.pipeline import evaluate_corpus

    hyp = "He paid 30 dollars for the old car."
    rows = [
        {"doc_id": "d", "seg_id": 0, "system": "A", "reference": "He paid 300 dollars for the old car.",
         "hypothesis": hyp, "mqm": -5.0,
         "errors": [{"severity": "major", "span_in": "target", "start": 8, "end": 10, "span": "30"},
                    {"severity": "minor", "span_in": "target", "start": 27, "end": 34, "span": "old car"},
                    {"severity": "major", "span_in": "source", "start": 0, "end": 3, "span": "x"}]},
    ]  # fmt: skip
    p = tmp_path / "c.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    gold = gold_spans(read_rows(p))
    assert gold[("d", "0", "A")]["major"] == {8, 9}
    assert gold[("d", "0", "A")]["all"] == {8, 9, *range(27, 34)}
    ev = evaluate_corpus(read_corpus(p), encoder=fake_encoder, checker=checker)
    bead = ev.systems[0].beads[0]
    ours = {
        i
        for a, e in [*bead.hyp_spans, *(f.hyp_span for f in bead.reasons if f.hyp_span)]
        for i in range(a, e)
    }
    assert {8, 9} <= ours  # the changed number is marked
    scores = span_scores(ev, gold)
    assert scores["major"]["recall"] == 1.0
    assert scores["major"]["precision"] == pytest.approx(2 / len(ours))
    tp = len(ours & gold[("d", "0", "A")]["all"])
    assert scores["all"]["recall"] == pytest.approx(tp / 9)
    assert 0 < scores["all"]["f1"] <= 1
