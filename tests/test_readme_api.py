"""The README's "Python API" examples, run in order as one test, and what they claim checked.

This file sorts after ``test_fidelity.py`` on purpose: that test encodes and checks the TED dev
set with MiniLM into the session's cache, so the meta example here reads it from the cache
instead of encoding it again (run alone, this test takes a few minutes more).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mtdrift
from mtdrift.api import Result
from tests.support.paths import ROOT, SHARED

TED = SHARED / "data" / "mqm" / "wmt21ted_zhen_mqm.dev.jsonl.gz"


def readme_examples() -> list[str]:
    """The Python blocks of the README's "Python API" section, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's layout the examples read from (seeds, the CI baseline, the
    shared data beside it), as the working directory."""
    repo = tmp_path / "repo"
    (repo / "reports").mkdir(parents=True)
    (repo / "seeds").symlink_to(ROOT / "seeds")
    shutil.copy(ROOT / "reports" / "baseline.json", repo / "reports" / "baseline.json")
    (tmp_path / "shared").symlink_to(SHARED)
    monkeypatch.chdir(repo)
    return repo


@pytest.mark.model
@pytest.mark.slow
def test_the_readme_examples_run_and_say_what_they_claim(layout: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    blocks = readme_examples()
    assert len(blocks) == 5, "the README's Python API section changed its number of examples"
    if not TED.is_file():
        pytest.skip(f"{TED} is absent: ../shared/data/mqm is needed for the meta example")
    ns: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), ns)

    # the seed pair: the four dropped casualty sentences are omissions, and major
    result = ns["result"]
    assert isinstance(result, Result)
    segments = ns["segments"]
    assert isinstance(segments, pd.DataFrame)
    omissions = segments[segments["kind"] == "omission"]
    assert len(omissions) == 4
    assert set(omissions["drift"]) == {"major"}
    written_csv = (layout / "reports" / "api-seeds" / "segments.csv").read_text(encoding="utf-8")
    assert written_csv == result.render("segments.csv")
    # the beads and labels of `make eval`'s report (scores to float32 noise of batching)
    expected = pd.read_csv(ROOT / "reports" / "seeds" / "segments.csv", keep_default_na=False, dtype=str)
    for col in ("kind", "ref_ids", "hyp_ids", "drift", "reasons"):
        assert list(segments[col]) == list(expected[col]), col
    np.testing.assert_allclose(segments["fidelity"], expected["fidelity"].astype(float), atol=1e-5)
    assert [p.name for p in ns["written"]][:8] == list(mtdrift.OUTPUTS)  # type: ignore[attr-defined]
    assert ns["html"] == (layout / "reports" / "api-seeds" / "report.html").read_text(encoding="utf-8")
    systems = result.systems
    assert systems.loc["roundtrip", "chrf"] == pytest.approx(result.evaluation.systems[0].corpus["chrf"])
    assert systems.loc["roundtrip", "drift_major"] == result.evaluation.systems[0].counts()["drift"]["major"]
    row = systems.loc["roundtrip"]
    assert row["chrf_lo"] < row["chrf"] < row["chrf_hi"]

    # the corpus frame: B's changed place and number are major, A's rewording is not
    corpus = ns["corpus_result"].segments  # type: ignore[attr-defined]
    b = corpus[corpus["system"] == "B"].set_index("seg_id")
    assert list(b["drift"]) == ["major", "major"]
    assert b.loc["1", "reasons"] == "entity: Ohio -> Texas"
    assert b.loc["2", "reasons"] == "number: 64 -> 46"
    a = corpus[corpus["system"] == "A"].set_index("seg_id")
    assert a.loc["2", "drift"] == "none"
    cmp = ns["corpus_result"].comparison  # type: ignore[attr-defined]
    assert cmp.baseline == "A" and cmp.get("B", "chrf").delta < 0

    # the official COMET-22 column: each system's mean over the two documents' segments
    with_comet = ns["with_comet"]
    two_docs = ns["two_docs"]
    official = pd.read_csv(ns["official"], sep="\t", keep_default_na=False)  # type: ignore[arg-type]
    official = official.astype({"seg_id": str, "doc_id": str})
    keys = set(zip(two_docs["doc_id"].astype(str), two_docs["seg_id"].astype(str), strict=True))  # type: ignore[attr-defined]
    rows = official[[k in keys for k in zip(official["doc_id"], official["seg_id"], strict=True)]]
    expected = rows.groupby("system")["COMET-refA"].mean()
    result_comet = with_comet.systems["COMET-22"]  # type: ignore[attr-defined]
    assert len(result_comet) == 15
    for system, score in result_comet.items():
        assert score == pytest.approx(expected[system], abs=1e-9), system
    assert "COMET-22" in with_comet.render("compare.md")  # type: ignore[attr-defined]

    # the seed pair against the committed CI baseline: the same reference, no regression
    verdict = ns["verdict"]
    assert verdict.regressed is False  # type: ignore[attr-defined]
    assert {c.metric for c in verdict.checks} >= {"chrf", "fidelity"}  # type: ignore[attr-defined]

    # meta on TED: what `mtdrift meta` writes
    written = json.loads((layout / "reports" / "api-meta" / "meta.json").read_text(encoding="utf-8"))
    m = ns["m"]
    assert written == json.loads(json.dumps(m.to_dict()))  # type: ignore[attr-defined]
    assert written["datasets"]["wmt21ted_zhen"]["human_systems"] == ["ref-A"]  # left out by default
    assert "ref-A" not in written["systems"] and written["n_systems"] == len(written["systems"]) == 13
    assert -0.05 < written["metrics"]["chrf"]["seg_kendall_by_item"] < 0.2
    out = capsys.readouterr().out
    assert "roundtrip" in out and "'fidelity':" in out
