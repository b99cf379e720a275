"""`mtdrift check`: exit codes 0, 1 and 2 with their messages."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mtdrift.eval.cli import main
from mtdrift.eval.regression import check, parse_tolerances
from mtdrift.eval.summary import Summary
from mtdrift.metrics.registry import get_metric
from tests.support.cli import run_cli
from tests.support.files import write_json
from tests.support.paths import BASELINE, HYP, REF


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return run_cli(capsys, "check", *args)


@pytest.fixture(scope="module")
def baseline() -> dict[str, Any]:
    return json.loads(BASELINE.read_text())


def test_committed_baseline_is_the_seed_evaluation(baseline: dict[str, Any]) -> None:
    assert baseline["reference"]["segments"] == 32
    (system,) = baseline["systems"]
    assert system["corpus"]["bleu"] == pytest.approx(40.235389, abs=1e-6)
    assert len(system["segments"]["ref_ids"]) == 31


def test_exit_0_when_nothing_regressed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, baseline: dict[str, Any]
) -> None:
    better = copy.deepcopy(baseline)
    better["systems"][0]["corpus"]["bleu"] += 5.0  # improvements never fail
    current = write_json(tmp_path, "c.json", better)
    rc, out, err = _run(capsys, "--baseline", str(BASELINE), "--current", current)
    assert rc == 0 and err == ""
    assert "paired AR test over 31 units" in out
    assert out.splitlines()[-1] == "mtdrift check: ok, no metric of 1 system(s) regressed"
    assert "ok        roundtrip BLEU: 40.2354 -> 45.2354 (drop -5.0000, tolerance 1.79, p=1)" in out


def test_exit_1_names_the_metric_the_drop_and_the_tolerance(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, baseline: dict[str, Any]
) -> None:
    worse = copy.deepcopy(baseline)
    worse["systems"][0]["corpus"]["chrf"] -= 1.5
    worse["systems"][0].pop("segments")  # tolerances only
    path = write_json(tmp_path, "c.json", worse)
    rc, out, _ = _run(capsys, "--baseline", str(BASELINE), "--current", path)
    assert rc == 1
    assert "system roundtrip: no segment statistics on both sides: tolerances only" in out
    assert (
        "REGRESSED roundtrip chrF: 65.1868 -> 63.6868 (drop +1.5000, tolerance 1.28): "
        "dropped 1.5 > tolerance 1.28" in out
    )
    assert out.splitlines()[-1] == "mtdrift check: REGRESSION in 1 metric(s): roundtrip chrF"
    rc, out, _ = _run(capsys, "--baseline", str(BASELINE), "--current", path, "--max-drop", "chrF=2")
    assert rc == 0


def _synthetic(values: np.ndarray) -> dict[str, Any]:
    n = len(values)
    return {
        "reference": {"name": "r", "sha256": "ab" * 32, "segments": n},
        "signatures": {"semantic": "semantic|model:x"},
        "systems": [
            {
                "system": "s",
                "corpus": {"semantic": float(values.mean())},
                "segments": {
                    "ref_ids": [[i] for i in range(n)],
                    "stats": {"semantic": [[v, 1] for v in values.tolist()]},
                },
            }
        ],
    }


def test_exit_1_for_a_small_but_significant_drop(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    values = np.random.default_rng(0).uniform(0.6, 0.9, 400)
    base, cur = _synthetic(values), _synthetic(values - 0.004)  # under the 0.01 tolerance, every segment
    rc, out, _ = _run(
        capsys,
        "--baseline",
        write_json(tmp_path, "b.json", base),
        "--current",
        write_json(tmp_path, "c.json", cur),
    )
    assert rc == 1
    assert "(within tolerance 0.01) but significantly, p<0.0001" in out
    # the same drop on only a few segments is neither beyond tolerance nor significant
    few = values.copy()
    few[:3] -= 0.5
    rc, out, _ = _run(
        capsys,
        "--baseline",
        write_json(tmp_path, "b.json", base),
        "--current",
        write_json(tmp_path, "d.json", _synthetic(few)),
    )
    assert rc == 0, out


def test_exit_2_different_signature_names_the_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, baseline: dict[str, Any]
) -> None:
    other = copy.deepcopy(baseline)
    other["signatures"]["semantic"] = other["signatures"]["semantic"].replace(
        "all-MiniLM-L6-v2", "all-mpnet-base-v2"
    )
    other["signatures"]["bleu"] = other["signatures"]["bleu"].replace("tok:13a", "tok:intl")
    current = write_json(tmp_path, "c.json", other)
    rc, out, err = _run(capsys, "--baseline", str(BASELINE), "--current", current)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1
    assert "signatures differ for bleu (tok: 13a vs intl)" in err


def test_exit_2_different_reference_or_version_or_system(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, baseline: dict[str, Any]
) -> None:
    other = copy.deepcopy(baseline)
    other["reference"]["sha256"] = "0" * 64
    rc, _, err = _run(capsys, "--baseline", str(BASELINE), "--current", write_json(tmp_path, "c.json", other))
    assert rc == 2 and "different references: baseline scored" in err
    other = copy.deepcopy(baseline)
    other["signatures"]["chrf"] = other["signatures"]["chrf"].replace("version:2.6.0", "version:2.5.1")
    rc, _, err = _run(capsys, "--baseline", str(BASELINE), "--current", write_json(tmp_path, "c.json", other))
    assert rc == 2 and "signatures differ for chrf (version: 2.6.0 vs 2.5.1)" in err
    two = copy.deepcopy(baseline)
    two["systems"].append({**two["systems"][0], "system": "x"})
    rc, _, err = _run(
        capsys,
        "--baseline",
        write_json(tmp_path, "b.json", two),
        "--current",
        write_json(tmp_path, "c.json", {**two, "systems": two["systems"][1:]}),
    )
    assert rc == 2 and "baseline system(s) 'roundtrip' not in the current summary" in err


def test_exit_2_bad_files_and_arguments(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, _, err = _run(capsys, "--baseline", str(tmp_path / "nope.json"), "--current", str(BASELINE))
    assert (
        rc == 2
        and err
        == f"mtdrift: error: {tmp_path / 'nope.json'}: no such file; "
        "give the baseline summary.json written by mtdrift evaluate\n"
    )
    (tmp_path / "bad.json").write_text("{")
    rc, _, err = _run(capsys, "--baseline", str(BASELINE), "--current", str(tmp_path / "bad.json"))
    assert rc == 2 and "not a readable summary.json" in err and err.count("\n") == 1
    rc, _, err = _run(
        capsys, "--baseline", str(BASELINE), "--current", str(BASELINE), "--max-drop", "meteor=1"
    )
    assert rc == 2 and "unknown metric 'meteor'" in err


def test_tolerances() -> None:
    # each built-in metric carries its default tolerance: Kocmi et al. 2024's 75 % point
    # (BLEU's curve for BLEU and TER, chrF's for chrF and chrF++), 0.01 on the 0-1 scores
    drops = {m: get_metric(m).max_drop for m in ("bleu", "chrf", "chrfpp", "ter", "semantic", "fidelity")}
    want = {"bleu": 1.79, "chrf": 1.28, "chrfpp": 1.28, "ter": 1.79, "semantic": 0.01, "fidelity": 0.01}
    assert drops == want
    assert parse_tolerances(["BLEU=0.5", "chrF++=2", "ter=1"]) == {"bleu": 0.5, "chrfpp": 2.0, "ter": 1.0}
    for bad in ("bleu", "bleu=x", "bleu=-1"):
        with pytest.raises(ValueError):
            parse_tolerances([bad])


@pytest.mark.model
def test_two_deleted_sentences_fail_against_the_committed_baseline(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lines = HYP.read_text(encoding="utf-8").split("\n")
    (tmp_path / "minus2.txt").write_text("\n".join(lines[:1] + lines[3:]), encoding="utf-8")
    out_dir = tmp_path / "out"
    rc = main(["evaluate", "--ref", str(REF), "--hyp", str(tmp_path / "minus2.txt"), "--name", "roundtrip",
               "--out", str(out_dir), "--quiet", "--no-plots"])  # fmt: skip
    assert rc == 0
    capsys.readouterr()
    rc, out, _ = _run(capsys, "--baseline", str(BASELINE), "--current", str(out_dir / "summary.json"))
    assert rc == 1
    assert "REGRESSED roundtrip BLEU: 40.2354 -> 38.1679 (drop +2.0675, tolerance 1.79" in out
    assert "REGRESSED roundtrip chrF: 65.1868 -> 62.2545" in out
    assert out.splitlines()[-1].startswith(
        "mtdrift check: REGRESSION in 7 metric(s): roundtrip BLEU, roundtrip chrF"
    )
    assert check(
        Summary.parse(json.loads(BASELINE.read_text())),
        Summary.parse(json.loads((out_dir / "summary.json").read_text())),
    ).regressed
