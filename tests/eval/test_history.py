"""`mtdrift history add` / `history show`: the file, its steps and breaks, and what is drawn."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import mtdrift
from mtdrift.eval.cli import main
from mtdrift.eval.history import FORMAT, read, record
from mtdrift.eval.summary import Summary
from scripts.history_demo import RUNS, build_history
from tests.support.paths import BASELINE, ROOT
from tests.support.seeds import SeedSummary


@pytest.fixture(scope="module")
def demo(seed_summary: SeedSummary, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The history of ``scripts/history_demo.py``: seven runs from real edits of the seed
    candidate, the last one scored with another encoder."""
    history = tmp_path_factory.mktemp("history") / "history.jsonl"
    build_history(history, seed_summary)
    return history


@pytest.mark.model
def test_significant_steps_and_the_break(
    capsys: pytest.CaptureFixture[str], demo: Path, tmp_path: Path
) -> None:
    rc = main(["history", "show", "--history", str(demo), "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert rc == 0 and err == ""
    trend = mtdrift.history_show(demo)
    labels = [r.label for r in trend.runs]
    assert labels == [label for label, _, _ in RUNS]
    steps = {(labels[s.before], labels[s.after]): s for s in trend.steps}
    significant = [k for k, s in steps.items() if s.significant]
    # two sentences of 32 dropped, restored, one name swapped: too few sentences for the
    # paired test (each touches 1-2 units, AR p >= 0.25); the second half dropped is
    # significant on every metric, and so is restoring it
    assert significant == [("v4-name", "v5-truncate"), ("v5-truncate", "v6-restore")]
    for key in significant:
        assert {t.metric for t in steps[key].significant} == set(trend.metrics)
        assert all(t.p_holm is not None and t.p_holm < 0.01 for t in steps[key].tests)
    assert all(not t.better for t in steps[("v4-name", "v5-truncate")].tests)
    assert all(t.better for t in steps[("v5-truncate", "v6-restore")].tests)
    drop2 = {t.metric: t for t in steps[("v1", "v2-drop2")].tests}
    assert drop2["chrf"].delta == pytest.approx(62.2545 - 65.1868, abs=1e-3)
    assert drop2["chrf"].p_holm is not None and drop2["chrf"].p_holm > 0.2
    identical = steps[("v2-drop2", "v3-restore")]
    assert identical.comparable and not identical.significant
    # the encoder change is the one break, named by its fields, and nothing is tested across it
    (brk,) = trend.breaks
    assert (labels[brk.before], labels[brk.after]) == ("v6-restore", "v7-mpnet")
    assert "semantic.model" in brk.fields and "tokenmatch.model" in brk.fields
    assert (
        "semantic.model: sentence-transformers/all-MiniLM-L6-v2 -> sentence-transformers/all-mpnet-base-v2"
        in brk.breaks
    )
    assert brk.tests == ()
    # what is written: the picture, the self-contained page, the table
    png = (tmp_path / "history.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    page = (tmp_path / "history.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "http" not in page.replace("data:image", "")
    assert "<script" not in page
    md = (tmp_path / "history.md").read_text(encoding="utf-8")
    assert "| 5 | v5-truncate | 2026-12-05T12:00:00+00:00 | 11.09 | 31.20 |" in md
    assert "| v6-restore | v7-mpnet | break (not comparable): " in md
    assert "| v1 | v2-drop2 | no significant change |" in md
    assert out.startswith("# mtdrift history")


@pytest.mark.model
def test_since_and_metric_choose_what_is_shown(demo: Path) -> None:
    trend = mtdrift.history_show(demo, since="v4-name", metrics=["chrF", "fidelity"])
    assert [r.label for r in trend.runs] == ["v4-name", "v5-truncate", "v6-restore", "v7-mpnet"]
    assert trend.metrics == ("chrf", "fidelity")
    # the Holm family stays every stored metric, whatever is shown
    assert len(trend.steps[0].tests) == 7
    with pytest.raises(mtdrift.InputError, match="--since 'v9': no run has that label"):
        mtdrift.history_show(demo, since="v9")
    with pytest.raises(mtdrift.InputError, match="--metric COMET: not in the history"):
        mtdrift.history_show(demo, metrics=["COMET"])


def _baseline_record(label: str) -> dict[str, Any]:
    return record(
        Summary.parse(json.loads(BASELINE.read_text(encoding="utf-8"))),
        label=label,
        time="2026-12-03T00:00:00+00:00",
    )


def test_a_record_holds_scores_intervals_and_statistics() -> None:
    rec = _baseline_record("abc123")
    assert rec["format"] == FORMAT and rec["label"] == "abc123"
    assert rec["reference"]["segments"] == 32 and rec["ci"].startswith("significance|seed:12345|bs:1000")
    (system,) = rec["systems"]
    assert system["corpus"]["bleu"] == pytest.approx(40.235389, abs=1e-6)
    low, high = system["ci"]["bleu"]
    assert low < 40.235389 < high
    assert len(system["segments"]["ref_ids"]) == 31 and len(system["segments"]["stats"]["bleu"][0]) == 10


APPENDER = """
import json, sys
from mtdrift.eval.history import append
rec = json.loads(open(sys.argv[1], encoding="utf-8").read())
for k in range(int(sys.argv[3])):
    rec["label"] = f"{sys.argv[2]}-{k}"
    append(sys.argv[4], rec)
"""


def test_concurrent_appends_lose_nothing(tmp_path: Path) -> None:
    rec = _baseline_record("x")
    rec["padding"] = "x" * 200_000  # lines far beyond a pipe buffer, so that a torn write would show
    src = tmp_path / "rec.json"
    src.write_text(json.dumps(rec), encoding="utf-8")
    history = tmp_path / "history.jsonl"
    procs = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(src), f"p{p}", "25", str(history)], cwd=ROOT)
        for p in range(4)
    ]
    assert [proc.wait(timeout=120) for proc in procs] == [0, 0, 0, 0]
    runs, warnings = read(history)
    assert warnings == []
    result = sorted(r.label for r in runs)
    expected = sorted(f"p{p}-{k}" for p in range(4) for k in range(25))
    assert result == expected
    assert history.read_bytes().count(b"\n") == 100


def test_damaged_lines_are_skipped_with_their_line_number(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    history = tmp_path / "history.jsonl"
    mtdrift.history_add(history, BASELINE, label="good-1", time="2026-12-01T00:00:00Z")
    good = history.read_text(encoding="utf-8").rstrip("\n")
    as_string = json.loads(good)
    as_string["systems"][0]["corpus"]["bleu"] = "40.2"  # a number written as a string
    history.write_text(
        "\n".join([good, good[: len(good) // 2], json.dumps(as_string), '{"format": "other"}', ""]),
        encoding="utf-8",
    )
    with history.open("a", encoding="utf-8") as f:
        f.write(good[:100])  # a writer killed mid-line: no newline at the end
    mtdrift.history_add(history, BASELINE, label="good-2", time="2026-12-02T00:00:00Z")
    runs, warnings = read(history)
    assert [r.label for r in runs] == ["good-1", "good-2"]
    assert [r.line for r in runs] == [1, 6]
    assert len(warnings) == 4
    assert warnings[0].startswith(f"{history} line 2: not JSON (") and warnings[0].endswith("; skipped")
    assert warnings[1] == f"{history} line 3: roundtrip corpus bleu is not a number ('40.2'); skipped"
    assert warnings[2] == f"{history} line 4: format is 'other', expected '{FORMAT}'; skipped"
    assert warnings[3].startswith(f"{history} line 5: not JSON (")  # the line cut short, ended
    rc = main(["history", "show", "--history", str(history), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 0
    assert (
        f"mtdrift: warning: {history} line 3: roundtrip corpus bleu is not a number ('40.2'); skipped" in err
    )
    assert "## Skipped lines" in (tmp_path / "out" / "history.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "--summary", str(BASELINE), "--label", "x", "--time", "yesterday"],
         "--time 'yesterday' is not an ISO-8601 time"),
        (["add", "--summary", "nowhere.json", "--label", "x"], "nowhere.json: no such file"),
        (["add", "--summary", str(BASELINE), "--label", " "], "--label must be a non-empty single line"),
        (["show", "--out", "OUT"], "no such history; create it with mtdrift history add"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    args = [a.replace("OUT", str(tmp_path / "out")) for a in args]
    rc = main(["history", args[0], "--history", str(tmp_path / "h.jsonl"), *args[1:]])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("mtdrift: error: ") and message in err


def test_identical_runs_are_no_step_and_a_new_sacrebleu_is_a_break(tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    doc = json.loads(BASELINE.read_text(encoding="utf-8"))
    mtdrift.history_add(history, doc, label="a", time="2026-12-01T00:00:00")
    mtdrift.history_add(history, doc, label="b", time="2026-12-02T00:00:00")
    for name in ("bleu", "bleu_corpus"):
        doc["signatures"][name] = doc["signatures"][name].replace("version:2.6.0", "version:2.7.0")
    mtdrift.history_add(history, doc, label="c", time="2026-12-03T00:00:00")
    trend = mtdrift.history_show(history)
    assert [r.time for r in trend.runs] == [f"2026-12-0{k}T00:00:00+00:00" for k in (1, 2, 3)]  # UTC
    same, new = trend.steps
    assert same.comparable and not same.significant
    assert {t.p_holm for t in same.tests} == {1.0} and {t.delta for t in same.tests} == {0.0}
    assert new.fields == ("bleu.version", "bleu_corpus.version")
    assert new.breaks == ("bleu.version: 2.6.0 -> 2.7.0", "bleu_corpus.version: 2.6.0 -> 2.7.0")
    assert new.tests == ()


def test_step_p_values_are_those_of_compare() -> None:
    """The steps call the resampler directly (no bootstrap, draws shared across steps); their
    Holm p-values must be ``metrics.significance.compare``'s to the digit."""
    import numpy as np

    from mtdrift.eval.history import _ar_holm
    from mtdrift.metrics.registry import get_metric
    from mtdrift.metrics.significance import Resampler, compare_stats

    seg = json.loads(BASELINE.read_text(encoding="utf-8"))["systems"][0]["segments"]
    names = ["bleu", "chrf", "ter", "fidelity"]
    before = {m: np.asarray(seg["stats"][m], dtype=np.float64) for m in names}
    after = {m: np.concatenate([s[10:20], s[10:]]) for m, s in before.items()}  # beads 0-9 replaced
    expected = compare_stats({"b": before, "a": after}, baseline="b", metrics=names)
    result = _ar_holm(before, after, [get_metric(m) for m in names], Resampler(31))
    assert result == {m: expected.get("a", m).p_holm for m in names}
    assert 0.05 < min(p for p in result.values() if p is not None) < 0.5  # not the trivial p = 1
