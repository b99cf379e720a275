"""The public API (``import mtdrift``): the CLI writes what it renders; its plumbing, with the fake
encoder. The README's and the docs' examples run in ``tests/test_docs.py``."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mtdrift
from mtdrift.api import Evaluator
from mtdrift.eval.cli import main
from mtdrift.eval.render.tables import SEGMENT_COLUMNS
from mtdrift.metrics.facts.checker import FactChecker
from tests.support.fakes import FakeEncoder
from tests.support.paths import HYP, REF


@pytest.mark.model
def test_the_cli_writes_what_the_api_renders(tmp_path: Path) -> None:
    """One code path: the files of ``mtdrift evaluate`` are the API result's renderings."""
    out = tmp_path / "cli"
    assert main(["evaluate", "--ref", str(REF), "--hyp", str(HYP), "--name", "rt", "--model", "minilm",
                 "--out", str(out), "--no-plots", "--quiet"]) == 0  # fmt: skip
    result = Evaluator("minilm").evaluate(REF, {"rt": HYP})
    for name in mtdrift.OUTPUTS:
        assert (out / name).read_text(encoding="utf-8") == result.render(name), name


# --- plumbing, with the fake encoder -----------------------------------------------------------


@pytest.fixture
def fake(fake_encoder: FakeEncoder, checker: FactChecker) -> Evaluator:
    return Evaluator.from_parts(fake_encoder, checker=checker, workers=0)


FRAME = pd.DataFrame(
    {
        "doc_id": ["d", "d", "d", "d"],
        "seg_id": ["1", "2", "1", "2"],
        "system": ["A", "A", "B", "B"],
        "ref": ["The cat sat on the mat.", "It rained all day."] * 2,
        "hyp": ["The cat sat on the mat.", "It rained all day.", "A dog sat.", "Sun."],
    }
)


def test_a_frame_and_its_file_give_the_same_result(fake: Evaluator, tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in FRAME.to_dict("records")), encoding="utf-8")
    from_frame = fake.evaluate_corpus(FRAME)
    from_file = fake.evaluate_corpus(path)
    result = from_frame.segments.drop(columns=[])
    expected = from_file.segments
    pd.testing.assert_frame_equal(result, expected)
    assert from_frame.render("compare.json") == from_file.render("compare.json")


def test_segments_frame_holds_the_rows_of_segments_csv(fake: Evaluator) -> None:
    result = fake.evaluate_corpus(FRAME)
    frame = result.segments
    assert list(frame.columns) == list(SEGMENT_COLUMNS)
    parsed = pd.read_csv(io.StringIO(result.render("segments.csv")), keep_default_na=False, dtype=str)
    assert len(frame) == len(parsed) == 4
    for col in ("system", "kind", "ref", "hyp", "drift", "reasons", "doc_id", "seg_id"):
        assert list(frame[col]) == list(parsed[col]), col
    for col in ("semantic", "bleu", "chrf", "ter", "fidelity"):
        np.testing.assert_allclose(frame[col].to_numpy(float), parsed[col].astype(float), atol=5e-7)
    # a copy is exact: A's first segment is the reference itself
    assert frame.loc[0, "chrf"] == 100.0 and frame.loc[0, "ter"] == 0.0


def test_systems_frame_is_the_comparison(fake: Evaluator) -> None:
    result = fake.evaluate_corpus(FRAME, baseline="A")
    systems = result.systems
    assert list(systems.index) == ["A", "B"]
    for m in result.comparison.metrics:
        r = result.comparison.get("B", m)
        assert systems.loc["B", m] == r.score
        assert systems.loc["B", f"{m}_p"] == r.p_holm
        assert systems.loc["B", f"{m}_delta"] == pytest.approx(r.score - systems.loc["A", m])
    assert np.isnan(systems.loc["A", "chrf_p"])
    assert systems.loc["A", "chrf"] == 100.0


def test_ranks_frame_is_the_ranking_of_compare_json(fake: Evaluator) -> None:
    result = fake.evaluate_corpus(FRAME, baseline="A")
    ranks = result.ranks
    doc = json.loads(result.render("compare.json"))
    assert len(ranks) == 2 * len(result.comparison.metrics)
    chrf = ranks[ranks.metric == "chrf"].set_index("system")
    assert list(chrf.index) == ["A", "B"]  # A copies the reference: best by chrF
    for s in ("A", "B"):
        expected = doc["metrics"]["chrf"]["systems"][s]
        assert chrf.loc[s, "rank"] == expected["rank"] and chrf.loc[s, "cluster"] == expected["cluster"]
        assert [chrf.loc[s, "rank_lo"], chrf.loc[s, "rank_hi"]] == expected["rank_range"]


def test_a_str_is_a_text_and_a_path_is_a_file(fake: Evaluator, tmp_path: Path) -> None:
    (tmp_path / "ref.txt").write_text("One sentence here. Another one there.\n", encoding="utf-8")
    (tmp_path / "mt.txt").write_text("One sentence here. Another one there.\n", encoding="utf-8")
    text = "One sentence here. Another one there."
    by_text = fake.evaluate(text, [text])
    by_path = fake.evaluate(tmp_path / "ref.txt", [tmp_path / "mt.txt"])
    assert by_text.evaluation.systems[0].system == "hyp1"
    assert by_path.evaluation.systems[0].system == "mt"
    assert by_path.evaluation.systems[0].hyp_name == str(tmp_path / "mt.txt")
    assert by_text.evaluation.systems[0].corpus == by_path.evaluation.systems[0].corpus


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # a cell left empty in a frame is missing, never the text "nan"
        (lambda ev: ev.evaluate_corpus(FRAME.assign(hyp=[None, "x", "y", "z"])), "^DataFrame: line 1: .*hyp"),
        (lambda ev: ev.evaluate_corpus(FRAME.iloc[:3]), r"^DataFrame: system 'B' lacks 1 of 2 segments"),
        (lambda ev: ev.evaluate_corpus(FRAME, baseline="C"), r"--baseline 'C' is not a system"),
        (lambda ev: ev.evaluate_corpus(FRAME, primary="comet"), r"--primary comet: not a metric of this run"),
        (lambda ev: ev.evaluate("a.\nb.", {"x": "a."}, aligned=True), "--aligned needs line-parallel"),
        (lambda ev: ev.evaluate("a.", []), r"no candidate"),
        (lambda ev: ev.evaluate(Path("/nonexistent/ref.txt"), ["a."]), r"^/nonexistent/ref.txt: "),
        (lambda ev: ev.evaluate_corpus(42), r"expected a corpus file, a pandas DataFrame or a Corpus"),
    ],
)
def test_bad_input_is_one_input_error(
    fake: Evaluator, call: Callable[[Evaluator], object], message: str
) -> None:
    with pytest.raises(mtdrift.InputError, match=message) as err:
        call(fake)
    assert "\n" not in str(err.value)


def test_check_takes_results_summaries_and_paths(fake: Evaluator, tmp_path: Path) -> None:
    good = fake.evaluate_corpus(FRAME.assign(hyp=list(FRAME["ref"])))
    bad = fake.evaluate_corpus(FRAME)
    (tmp_path / "good.json").write_text(good.render("summary.json"), encoding="utf-8")
    same = mtdrift.check(tmp_path / "good.json", good)
    assert not same.regressed
    dropped = mtdrift.check(good.summary(), bad)
    assert dropped.regressed
    assert {c.metric for c in dropped.checks if c.regressed and c.system == "B"} >= {"chrf", "bleu"}
    with pytest.raises(mtdrift.InputError, match=r"^.*nope.json: no such file"):
        mtdrift.check(tmp_path / "nope.json", good)
    with pytest.raises(mtdrift.InputError, match="unknown metric"):
        mtdrift.check(good, good, max_drop={"comet": 1.0})


def test_render_names_the_known_outputs(fake: Evaluator) -> None:
    with pytest.raises(ValueError, match=r"unknown output 'x\.pdf'; known: segments\.csv"):
        fake.evaluate_corpus(FRAME).render("x.pdf")


def test_importing_mtdrift_loads_no_model() -> None:
    import subprocess
    import sys

    code = "import sys, mtdrift; print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_one_options_value_for_every_entry_point(fake: Evaluator) -> None:
    """``mtdrift.Options`` is the one list of options: a value, keywords, or both (keywords win)
    give the same result; the module-level functions take every option the methods take (the
    drift this replaced: ``mtdrift.evaluate()`` had no ``dask``); an unknown keyword is a
    ``TypeError`` naming it."""
    import dataclasses
    import inspect

    ref, hyp = REF.read_text(encoding="utf-8"), HYP.read_text(encoding="utf-8")
    by_keywords = fake.evaluate(ref, {"mt": hyp}, lang="en", primary="bleu", alpha=0.01)
    by_value = fake.evaluate(ref, {"mt": hyp}, mtdrift.Options(lang="en", primary="bleu", alpha=0.01))
    both = fake.evaluate(ref, {"mt": hyp}, mtdrift.Options(lang="de", primary="bleu"), lang="en", alpha=0.01)
    for r in (by_value, both):
        assert r.render("summary.json") == by_keywords.render("summary.json")
        assert r.render("compare.md") == by_keywords.render("compare.md")
    assert by_keywords.primary == "bleu" and by_keywords.alpha == 0.01
    with pytest.raises(TypeError, match="'alhpa'"):
        fake.evaluate(ref, {"mt": hyp}, alhpa=0.01)
    for function in (
        mtdrift.evaluate,
        mtdrift.evaluate_corpus,
        Evaluator.evaluate,
        Evaluator.evaluate_corpus,
    ):
        params = inspect.signature(function).parameters
        assert "options" in params and "overrides" in params, function
    assert {f.name for f in dataclasses.fields(mtdrift.Options)} >= {"dask", "lang", "tokenize"}
