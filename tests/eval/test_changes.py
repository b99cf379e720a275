"""`mtdrift check` names the beads that changed, and writes check.md / check.json / JUnit."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from junitparser import Error, Failure, JUnitXml

from mtdrift.eval.changes import bead_changes
from mtdrift.eval.cli import main
from mtdrift.eval.summary import Summary
from tests.support.files import write_json
from tests.support.paths import BASELINE
from tests.support.seeds import SeedSummary


@pytest.mark.model
def test_two_dropped_sentences_named_as_newly_omitted(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    seed_summary: SeedSummary,
) -> None:
    base, cur = seed_summary("seed"), seed_summary("minus2")
    summary = tmp_path / "step-summary.md"
    summary.write_text("## an earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    junit = tmp_path / "junit.xml"
    rc = main(["check", "--baseline", str(base), "--current", str(cur), "--out", str(tmp_path / "c"),
               "--junit", str(junit)])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 1
    c = tmp_path / "c"
    assert out.splitlines()[0] == f"wrote {c / 'check.md'} {c / 'check.json'} {junit}"
    doc = json.loads(base.read_text(encoding="utf-8"))
    ref = doc["reference"]["sentences"]
    # the two candidate lines dropped translate reference sentences 1 and 2
    assert ref[1].startswith("Iraq’s Defense Ministry said the final contingent")
    assert ref[2].startswith("The US military has been drawing down")
    result = json.loads((tmp_path / "c" / "check.json").read_text(encoding="utf-8"))
    changed = result["changes"]["roundtrip"]["changed"]
    omitted = sorted(i for u in changed for i in u["newly_omitted"])
    assert omitted == [1, 2]
    first = changed[0]
    assert first["direction"] == "worse" and first["newly_omitted"]
    assert first["hyp"]["current"] == ""
    assert first["hyp"]["baseline"].startswith("Iraq’s Ministry of Defense announced")
    assert "  WORSE   ref 1: newly omitted: ref 1" in out
    assert "          current:   (omitted)" in out
    md = (tmp_path / "c" / "check.md").read_text(encoding="utf-8")
    assert md.startswith("## mtdrift check: REGRESSION in ")
    assert "| worse | ref 2 | newly omitted: ref 2; drift none -> major" in md
    assert out.splitlines()[-1].startswith("mtdrift check: REGRESSION in ")

    # JUnit: one suite per system, one case per metric; every metric dropped past its tolerance
    xml = JUnitXml.fromfile(str(junit))
    (suite,) = list(xml)
    assert suite.name == "roundtrip" and suite.tests == 7 and suite.failures == 7 and suite.errors == 0
    cases = {case.name: case for case in suite}
    assert list(cases) == ["BLEU", "chrF", "chrF++", "TER", "semantic", "tokenmatch", "fidelity"]
    (failure,) = cases["BLEU"].result
    assert isinstance(failure, Failure)
    assert failure.message == "dropped 2.068 > tolerance 1.79"
    (system_out,) = ElementTree.parse(junit).getroot().iter("system-out")  # junitparser reads no suite's
    assert "newly omitted: ref 1" in (system_out.text or "")
    # the step summary: appended after what an earlier step wrote
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## an earlier step\n## mtdrift check: REGRESSION in 7 metric(s)")
    assert text.endswith(md + "\n")


def test_junit_passes_and_fails_per_metric(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    doc = json.loads(BASELINE.read_text(encoding="utf-8"))
    worse = copy.deepcopy(doc)
    worse["systems"][0]["corpus"]["chrf"] -= 1.5
    worse["systems"][0].pop("segments")  # tolerances only
    junit = tmp_path / "junit.xml"
    rc = main(["check", "--baseline", str(BASELINE), "--current", write_json(tmp_path, "c.json", worse),
               "--junit", str(junit)])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 1
    # the current summary carries no segments: the beads that changed cannot be listed, and it says so
    assert "re-run mtdrift evaluate to list the beads that changed" in out
    (suite,) = JUnitXml.fromfile(str(junit))
    assert (suite.tests, suite.failures, suite.errors) == (7, 1, 0)
    results = {case.name: case.result for case in suite}
    assert [type(r) for r in results["chrF"]] == [Failure]
    assert results["chrF"][0].message == "dropped 1.5 > tolerance 1.28"
    assert all(results[m] == [] for m in results if m != "chrF")  # passed


def test_incomparable_summaries_are_a_junit_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    summary = tmp_path / "step.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    doc = json.loads(BASELINE.read_text(encoding="utf-8"))
    other = copy.deepcopy(doc)
    other["signatures"]["bleu"] = other["signatures"]["bleu"].replace("tok:13a", "tok:intl")
    junit = tmp_path / "junit.xml"
    rc = main(["check", "--baseline", str(BASELINE), "--current", write_json(tmp_path, "c.json", other),
               "--junit", str(junit)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2
    assert "signatures differ for bleu (tok: 13a vs intl)" in err
    (suite,) = JUnitXml.fromfile(str(junit))
    assert (suite.tests, suite.failures, suite.errors) == (1, 0, 1)
    (case,) = suite
    (error,) = case.result
    assert isinstance(error, Error)
    assert "signatures differ for bleu (tok: 13a vs intl)" in error.message
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## mtdrift check: cannot compare\n\n")
    assert "signatures differ for bleu" in text


@pytest.mark.model
def test_restoring_the_sentences_lists_them_as_improved(seed_summary: SeedSummary) -> None:
    import mtdrift

    result = mtdrift.check(seed_summary("minus2"), seed_summary("seed"))
    changes = result.changes["roundtrip"]
    assert not result.regressed
    assert [u.restored for u in changes.units] == [(1,), (2,)]
    assert [u.direction for u in changes.units] == ["better", "better"]
    assert changes.units[0].baseline_hyp == "" and changes.units[0].current_drift == "none"


def _doc(beads: list[tuple[list[int], list[int], str, float]], hyp: list[str]) -> Summary:
    """A summary of the four reference sentences A-D with the given beads (ref ids, hyp ids,
    drift label, fidelity), read back as ``mtdrift check`` reads one."""
    return Summary.parse({
        "reference": {"name": "r", "sha256": "ab" * 32, "segments": 4, "sentences": ["A.", "B.", "C.", "D."]},
        "signatures": {},
        "systems": [
            {
                "system": "s",
                "corpus": {},
                "segments": {
                    "ref_ids": [r for r, _, _, _ in beads],
                    "hyp_ids": [h for _, h, _, _ in beads],
                    "drift": [d for _, _, d, _ in beads],
                    "hyp_sentences": hyp,
                    "stats": {"fidelity": [[f, 1] for _, _, _, f in beads]},
                },
            }
        ],
    })


def test_beads_aligned_differently_pair_up_through_the_reference() -> None:
    one_to_one = [
        ([0], [0], "none", 0.9),
        ([1], [1], "none", 0.9),
        ([2], [2], "none", 0.8),
        ([3], [3], "none", 0.9),
    ]
    base = _doc(one_to_one, ["A.", "B.", "C.", "D."])
    # B and C merged into one candidate sentence, a sentence added after it, D omitted
    realigned = [
        ([0], [0], "none", 0.9),
        ([1, 2], [1], "minor", 0.7),
        ([], [2], "major", 0.0),
        ([3], [], "major", 0.0),
    ]
    cur = _doc(realigned, ["A.", "B and C.", "Extra."])
    result = bead_changes(base, cur, base.systems[0], cur.systems[0])
    assert result.n_units == 3  # (0), (1, 2), (3): the merge joins B and C in both runs
    assert [u.ref_ids for u in result.units] == [(3,), (1, 2)]  # newly omitted first
    omitted, merged = result.units
    assert omitted.newly_omitted == (3,) and omitted.current_hyp == "" and omitted.baseline_hyp == "D."
    assert (
        merged.ref == "B. C." and merged.baseline_hyp == "B. C." and merged.current_hyp == "B and C. Extra."
    )
    assert (merged.baseline_added, merged.current_added) == (0, 1)
    assert (merged.baseline_drift, merged.current_drift) == ("none", "major")
    assert merged.baseline_fidelity == pytest.approx(0.85) and merged.current_fidelity == pytest.approx(0.35)
    assert merged.what() == [
        "more added candidate sentences (0 -> 1)",
        "drift none -> major",
        "fidelity 0.85 -> 0.35 (-0.50)",
    ]
    back = bead_changes(cur, base, cur.systems[0], base.systems[0])
    assert [(u.ref_ids, u.direction) for u in back.units] == [((3,), "better"), ((1, 2), "better")]
