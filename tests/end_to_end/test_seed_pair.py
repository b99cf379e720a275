"""End to end on the seed pair with the real model and real sacrebleu (no fakes)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import sacrebleu

from mtdrift.eval.cli import main
from mtdrift.eval.config import Document
from mtdrift.eval.pipeline import evaluate
from mtdrift.eval.read import read_text
from mtdrift.eval.results import Evaluation
from mtdrift.metrics.encoders import MiniLMEncoder
from mtdrift.metrics.facts.checker import FactChecker
from tests.support.paths import HYP, REF

pytestmark = pytest.mark.model


@pytest.fixture(scope="module", params=["minilm", "mpnet"])
def seed_eval(
    request: pytest.FixtureRequest, real_encoder: MiniLMEncoder, checker: FactChecker
) -> Evaluation:
    """The seed pair with each packaged encoder (and its own fitted fidelity)."""
    from mtdrift.metrics.encoders import SentenceEncoder

    encoder = real_encoder if request.param == "minilm" else SentenceEncoder("mpnet", threads=2)
    return evaluate(
        Document(str(REF), read_text(REF)),
        [("roundtrip", Document(str(HYP), read_text(HYP)))],
        encoder=encoder,
        checker=checker,
    )


def test_every_seed_sentence_in_exactly_one_bead(seed_eval: Evaluation) -> None:
    s = seed_eval.systems[0]
    refs = sorted(i for b in s.beads for i in b.ref_ids)
    hyps = sorted(j for b in s.beads for j in b.hyp_ids)
    assert refs == list(range(32))
    assert hyps == list(range(27))


def test_seed_drift_matches_a_careful_reader(seed_eval: Evaluation) -> None:
    """The candidate drops reference sentences 11-14 (the casualty paragraphs), merges 16+17,
    and renames the air base; the harmless rewordings stay unflagged."""
    s = seed_eval.systems[0]
    omitted = [b.ref_ids[0] for b in s.beads if b.kind == "omission"]
    assert omitted == [11, 12, 13, 14]
    assert [b.kind for b in s.beads].count("addition") == 0
    base = next(b for b in s.beads if b.ref_ids == (4,))
    assert base.drift == "major"
    assert any(
        f.kind == "entity" and f.ref == "Harir Air Base" and f.hyp == "Khalil Air Base" for f in base.reasons
    )
    merged = next(b for b in s.beads if b.ref_ids == (16, 17))
    assert merged.kind == "2-1" and merged.drift == "major"  # the quote changed meaning
    by_ref = {b.ref_ids: b for b in s.beads}
    # harmless rewordings: "two decades" -> "20 years"; "US" -> "U.S."/"United States";
    # "al-Asad" -> "al-Assad"; "scores of times" -> "dozens of times"
    for ids in [(1,), (3,), (6,), (19,), (20,), (25,)]:
        assert by_ref[ids].drift == "none", (ids, by_ref[ids].fidelity, by_ref[ids].reason_text())
    quiet = [b for b in s.beads if b.kind == "1-1" and b.drift == "none"]
    assert len(quiet) >= 18  # most beads are faithful rewordings and must not be flagged


def test_semantic_score_is_the_real_models(seed_eval: Evaluation) -> None:
    """Recompute one bead's cosine with sentence-transformers directly from the packaged model."""
    from sentence_transformers import SentenceTransformer

    from mtdrift.metrics.models import MODELS, model_dir

    key = next(k for k, spec in MODELS.items() if f"model:{spec.name}|" in seed_eval.signatures["semantic"])
    model = SentenceTransformer(str(model_dir(key)), device="cpu", local_files_only=True)
    bead = seed_eval.systems[0].beads[1]
    v = model.encode([bead.ref, bead.hyp], normalize_embeddings=True)
    expected = float(np.dot(v[0], v[1]))
    # scores are kept to SCORE_DIGITS (4) decimals where computed (metrics/numeric.py)
    assert bead.semantic == pytest.approx(expected, abs=5e-5 + 1e-6)
    assert 0.8 < bead.semantic < 1.0


def test_lexical_scores_equal_sacrebleu(seed_eval: Evaluation) -> None:
    s = seed_eval.systems[0]
    refs = [b.ref for b in s.beads]
    hyps = [b.hyp for b in s.beads]
    for b in s.beads:
        assert b.bleu == pytest.approx(sacrebleu.sentence_bleu(b.hyp, [b.ref]).score, abs=1e-9)
        assert b.chrf == pytest.approx(sacrebleu.sentence_chrf(b.hyp, [b.ref]).score, abs=1e-9)
        assert b.ter == pytest.approx(sacrebleu.sentence_ter(b.hyp, [b.ref]).score, abs=1e-9)
    assert s.corpus["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score, abs=1e-9)
    assert s.corpus["chrfpp"] == pytest.approx(
        sacrebleu.corpus_chrf(hyps, [refs], word_order=2).score, abs=1e-9
    )
    assert s.corpus["ter"] == pytest.approx(sacrebleu.corpus_ter(hyps, [refs]).score, abs=1e-9)
    assert any(b.hyp == "" for b in s.beads)  # omissions are counted against the candidate


def test_cli_writes_everything_and_is_reproducible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outs = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        code = main(
            [
                "evaluate",
                "--ref",
                str(REF),
                "--hyp",
                str(HYP),
                "--name",
                "roundtrip",
                "--out",
                str(out),
            ]
        )
        assert code == 0
        outs.append(out)
    printed = capsys.readouterr().out
    assert "roundtrip" in printed and "BLEU" in printed
    for name in ("segments.csv", "summary.json", "report.md", "drift.png", "alignment.png"):
        assert (outs[0] / name).stat().st_size > 0, name
    for name in ("segments.csv", "summary.json"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    with open(outs[0] / "segments.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    required = (
        "system, bead, kind, ref_ids, hyp_ids, ref, hyp, semantic, tokenmatch, "
        "bleu, chrf, chrfpp, ter, fidelity, drift, reasons"
    )
    assert set(required.split(", ")) <= set(rows[0])
    assert sorted(int(i) for r in rows for i in r["ref_ids"].split(";") if i) == list(range(32))
    summary = json.loads((outs[0] / "summary.json").read_text(encoding="utf-8"))
    sig = summary["signatures"]
    assert sig["bleu_corpus"] == "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
    assert "model:sentence-transformers/all-mpnet-base-v2" in sig["semantic"]  # the default encoder
    assert "tokens:sentence-transformers/all-MiniLM-L6-v2@" in sig["align"]  # what the aligner reads
    assert sig["align"].endswith("|long:windows")  # and how it reads a sentence past 256 tokens
    assert "|maxlen:384|long:windows|" in sig["semantic"]
    assert "fidelity-v2-mpnet.json@" in sig["fidelity"]
    assert "beads:1-1,2-1,1-2,2-2,3-1,1-3,1-0,0-1" in sig["align"]
    assert "norm:NFC" in sig["input"]
    assert summary["systems"][0]["counts"]["beads"]["omission"] == 4


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.metadata

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"mtdrift {importlib.metadata.version('mtdrift')}\n"
