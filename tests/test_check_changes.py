"""`mtdrift check` names the beads that changed, and writes check.md / check.json / JUnit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtdrift.eval.cli import main


@pytest.mark.model
def test_two_dropped_sentences_are_named_as_newly_omitted(capsys, tmp_path: Path, seed_summary) -> None:  # type: ignore[no-untyped-def]
    base, cur = seed_summary("seed"), seed_summary("minus2")
    rc = main(["check", "--baseline", str(base), "--current", str(cur), "--out", str(tmp_path / "c")])
    out = capsys.readouterr().out
    assert rc == 1
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
