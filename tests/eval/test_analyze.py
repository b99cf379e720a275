"""mtdrift analyze (eval.analyze): compare-mt's definitions on hand-made beads, document mode
(an omitted sentence is all its words missed), the CLI and the API, and the seed pair."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import mtdrift
from mtdrift.eval.analyze import (
    AnalysisBead,
    AnalysisConfig,
    analyze,
    bucket_labels,
    matched_ngrams,
    ngram_differences,
    read_counts,
    word_accuracy,
)
from mtdrift.eval.cli import main
from mtdrift.eval.errors import InputError
from mtdrift.metrics.facts.checker import FactChecker
from tests.support.fakes import FakeEncoder
from tests.support.paths import HYP, REF

NONE = AnalysisConfig(tokenize="none")


def _bead(k: int, ref: str, hyp: str, **kw: Any) -> AnalysisBead:
    return AnalysisBead(
        ref_ids=(k,) if ref else (), hyp_ids=(k,) if hyp else (), ref=ref, hyp=hyp,
        kind=kw.pop("kind", "1-1"), drift=kw.pop("drift", "none"), **kw,
    )  # fmt: skip


def test_bucket_names_are_compare_mts() -> None:
    assert bucket_labels((1, 2, 3, 4, 5, 10, 100, 1000)) == [
        "<1", "1", "2", "3", "4", "[5,10)", "[10,100)", "[100,1000)", ">=1000",
    ]  # fmt: skip
    assert bucket_labels((-20, -10, -5, -4))[:4] == ["<-20", "[-20,-10)", "[-10,-5)", "-5"]


def test_word_accuracy_by_hand() -> None:
    # reference "a b a c": a twice (bucket "2"), b and c once (bucket "1"); candidate "a a d":
    # both a match (bucket 2), d is unknown (bucket "<1")
    beads = {"s": [_bead(0, "a b a c", "a a d")]}
    result = {w.bucket: (w.matches, w.ref_words, w.hyp_words, w.fmeasure) for w in
              word_accuracy(beads, freq={"a": 2, "b": 1, "c": 1}, config=NONE)}  # fmt: skip
    assert result["2"] == (2, 2, 2, 1.0)
    assert result["1"] == (0, 2, 0, 0.0)
    assert result["<1"] == (0, 0, 1, 0.0)


def test_an_omitted_sentence_counts_as_all_its_words_missed() -> None:
    kept = [_bead(0, "x y", "x y")]
    with_omission = [
        *kept,
        _bead(1, "x z", "", kind="omission", drift="major", reasons=(("omission", "omission"),)),
    ]
    freq = {"x": 2, "y": 1, "z": 1}
    before = {w.bucket: w for w in word_accuracy({"s": kept}, freq=freq, config=NONE)}
    after = {w.bucket: w for w in word_accuracy({"s": with_omission}, freq=freq, config=NONE)}
    assert (before["2"].recall, after["2"].recall) == (1.0, 0.5)  # x: 1 of 2 now found
    assert (before["1"].recall, after["1"].recall) == (1.0, 0.5)  # y found, z missed
    assert after["1"].precision == 1.0  # nothing was added


def test_ngram_ratio_is_compare_mts_smoothed_ratio() -> None:
    a = [_bead(0, "the cat sat", "the cat sat")]
    b = [_bead(0, "the cat sat", "a cat sat")]
    ma = matched_ngrams(a, config=NONE)
    assert ma[("the", "cat", "sat")] == 1 and len(ma) == 6
    rows = ngram_differences(a, b, names=("A", "B"), config=NONE)
    top = rows[0]
    # "the" is matched by A once, by B never: (1 + 1) / (1 + 0 + 2) = 2/3; ties broken by name
    assert (top.better, top.ngram, top.score, top.matches_a, top.matches_b) == ("A", "the", 2 / 3, 1, 0)


def test_bad_counts_line_is_an_error_naming_the_line() -> None:
    assert read_counts(["the\t12\n", "\n", "cat\t3\n"], source="c.tsv") == {"the": 12, "cat": 3}
    with pytest.raises(InputError, match=r"c\.tsv:2: expected WORD<TAB>COUNT"):
        read_counts(["the\t12\n", "cat three\n"], source="c.tsv")


def test_pair_analyses_and_frames() -> None:
    a = [_bead(0, "one two three", "one two three", scores={"fidelity": 0.9}),
         _bead(1, "four five", "four six", scores={"fidelity": 0.5}, drift="major")]  # fmt: skip
    b = [_bead(0, "one two three", "one two", scores={"fidelity": 0.6}),
         _bead(1, "four five", "four five", scores={"fidelity": 0.95})]  # fmt: skip
    result = mtdrift.AnalysisResult(analyze({"A": a, "B": b}, config=AnalysisConfig(tokenize="none")))
    diffs = result.differences
    assert list(diffs["delta"]) == pytest.approx([0.45, -0.3])  # B ahead on unit 1, A on unit 0
    scatter = result.scatter
    assert list(scatter["drift_A"]) == ["none", "major"] and list(scatter["fidelity_B"]) == [0.6, 0.95]
    assert set(result.word_accuracy["system"]) == {"A", "B"}
    assert "analysis_scatter.png" in result.render("analysis.html")


def test_differences_follow_the_metric_direction_and_unknown_metrics_are_refused() -> None:
    # TER is lower-is-better: B is ahead where its TER is lower (unit 1), listed first
    a = [_bead(0, "x y", "x y", scores={"ter": 0.0}), _bead(1, "u v", "u w", scores={"ter": 50.0})]
    b = [_bead(0, "x y", "x z", scores={"ter": 50.0}), _bead(1, "u v", "u v", scores={"ter": 0.0})]
    result = analyze({"A": a, "B": b}, config=AnalysisConfig(tokenize="none", metrics=("ter",)))
    assert [(d.unit, d.delta) for d in result.differences] == [(1, -50.0), (0, 50.0)]
    with pytest.raises(InputError, match="--metric comet: the run has no such score; it has ter"):
        analyze({"A": a}, config=AnalysisConfig(metrics=("comet",)))


def test_systems_aligned_differently_are_paired_on_common_units() -> None:
    # document mode: A merges reference sentences 0 and 1 into one 2-1 bead, B keeps them apart
    # and omits sentence 2; the units are {0, 1} and {2}
    a = [AnalysisBead((0, 1), (0,), "s0. s1.", "h0 h1.", "2-1", "none", scores={"fidelity": 0.8}),
         AnalysisBead((2,), (1,), "s2.", "h2.", "1-1", "minor", scores={"fidelity": 0.7})]  # fmt: skip
    b = [AnalysisBead((0,), (0,), "s0.", "g0.", "1-1", "none", scores={"fidelity": 0.9}),
         AnalysisBead((1,), (1,), "s1.", "g1.", "1-1", "major", scores={"fidelity": 0.5}),
         AnalysisBead((2,), (), "s2.", "", "omission", "major", scores={"fidelity": 0.0})]  # fmt: skip
    result = analyze({"A": a, "B": b}, config=AnalysisConfig(tokenize="none", metrics=("fidelity",)))
    units = [
        (u.ref_ids, u.hyps, u.scores[0]["fidelity"], u.scores[1]["fidelity"], u.drift) for u in result.units
    ]
    assert units == [
        ((0, 1), ("h0 h1.", "g0. g1."), 0.8, pytest.approx(0.7), ("none", "major")),
        ((2,), ("h2.", ""), 0.7, 0.0, ("minor", "major")),
    ]


def test_cli_on_a_run_with_train_counts_and_two_systems(
    tmp_path: Path, fake_encoder: FakeEncoder, checker: FactChecker
) -> None:
    """The CLI path end to end on a run's directory (fake encoder): two systems named, frequencies
    from --train-counts; the API on the Result gives the same word buckets."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "doc_id": ["d"] * 4, "seg_id": ["1", "2"] * 2, "system": ["A", "A", "B", "B"],
            "ref": ["The cat sat on the mat.", "It rained all day."] * 2,
            "hyp": ["The cat sat on the mat.", "It rained all day.", "A dog sat.", "Sun."],
        }
    )  # fmt: skip
    result = mtdrift.Evaluator.from_parts(fake_encoder, checker=checker, workers=0).evaluate_corpus(frame)
    run = tmp_path / "run"
    result.write(run, plots=False)
    counts = tmp_path / "counts.tsv"
    counts.write_text("the\t5000\ncat\t7\nsat\t7\n", encoding="utf-8")
    out = tmp_path / "out"
    args = [
        "analyze",
        str(run),
        "--out",
        str(out),
        "--system",
        "B",
        "--system",
        "A",
        "--train-counts",
        str(counts),
    ]
    assert main(args) == 0
    doc = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    assert doc["systems"] == ["B", "A"] and "|freq:counts.tsv|" in doc["signature"]
    words = {
        (w["system"], w["bucket"]): (w["matches"], w["ref_words"], w["hyp_words"])
        for w in doc["word_accuracy"]
    }
    # 13a words; "The" is not "the" (case kept, as compare-mt): only "cat" and "sat" are in [5,10)
    assert words[("A", "[5,10)")] == (2, 2, 2) and words[("B", "[5,10)")] == (1, 2, 1)
    assert words[("A", ">=1000")] == (1, 1, 1)  # "the" of "on the mat"
    assert (out / "analysis_scatter.png").is_file()
    api = mtdrift.analyze(result, systems=["B", "A"], train_counts={"the": 5000, "cat": 7, "sat": 7})
    frame_words = api.word_accuracy.set_index(["system", "bucket"])
    assert tuple(frame_words.loc[("B", "[5,10)"), ["matches", "ref_words", "hyp_words"]]) == (1, 2, 1)
    assert main(["analyze", str(run), "--out", str(out), "--system", "C"]) == 2


def test_cli_errors_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "segments.csv: no such file" in err


# --- the seed pair, end to end with the real model ----------------------------------------------


@pytest.mark.model
def test_seed_pair_analysis_names_the_omitted_sentences_and_the_swapped_name(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert main(["evaluate", "--ref", str(REF), "--hyp", str(HYP), "--name", "roundtrip", "--model", "minilm",
                 "--out", str(run), "--no-plots", "--quiet"]) == 0  # fmt: skip
    out = tmp_path / "analysis"
    assert main(["analyze", str(run), "--out", str(out)]) == 0
    doc = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    reasons = {d["bucket"]: d for d in doc["drift_buckets"] if d["by"] == "reason"}
    omitted = reasons["omission"]
    assert omitted["beads"] == 4
    assert [s[:40] for s in omitted["examples"]] == [
        "For nearly a decade, US forces fought a ",
        "According to the US Defense Department, ",
        "An additional 31,994 were wounded during",
        "The deadliest year for US forces was 200",
    ]
    assert "entity: Harir Air Base -> Khalil Air Base" in reasons["entity"]["examples"]
    md = (out / "analysis.md").read_text(encoding="utf-8")
    assert "Harir Air Base -> Khalil Air Base" in md and "31,994" in md
    assert {p.name for p in out.iterdir()} >= {
        "analysis.json",
        "analysis.md",
        "analysis.html",
        "analysis_words.png",
    }
    # an omitted sentence's words are all missed: recall below precision in the rare-word buckets
    words = {w["bucket"]: w for w in doc["word_accuracy"]}
    assert words["1"]["recall"] < words["1"]["precision"]
