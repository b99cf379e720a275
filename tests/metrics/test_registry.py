"""Metric plug-ins: the small real plug-in of tests/plugin (character overlap F1) installed into
the venv and used through the library and the command line; broken plug-ins named and skipped."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mtdrift.eval import pipeline
from mtdrift.eval.config import RunConfig
from mtdrift.eval.corpus import build_corpus
from mtdrift.eval.errors import InputError
from mtdrift.eval.pairwise import compare_systems
from mtdrift.eval.pipeline import evaluate_corpus
from mtdrift.eval.regression import check
from mtdrift.eval.render import pairwise as cmp
from mtdrift.eval.render.html import report_html
from mtdrift.eval.render.tables import segments_csv, summary_json
from mtdrift.eval.summary import Summary
from mtdrift.metrics import registry
from mtdrift.metrics.facts.checker import FactChecker
from mtdrift.metrics.registry import MetricError, PluginMetric, describe_metrics, get_metric, load_plugin
from mtdrift.metrics.significance import Resampling
from tests.support.fakes import FakeEncoder
from tests.support.paths import HYP, REF

MTDRIFT = Path(sys.executable).with_name("mtdrift")
SMALL = Resampling(bootstrap=200, trials=1000)


def overlap_f1(hyps: list[str], refs: list[str]) -> float:
    """The plug-in's corpus score by hand: 100 * 2 * matched / (hyp chars + ref chars)."""
    from collections import Counter

    matched = total = 0
    for h, r in zip(hyps, refs, strict=True):
        ch = Counter(c for c in h if not c.isspace())
        cr = Counter(c for c in r if not c.isspace())
        matched += sum((ch & cr).values())
        total += sum(ch.values()) + sum(cr.values())
    return 100.0 * 2 * matched / total


def test_the_plugin_is_discovered_by_its_entry_point(charoverlap_plugin: str) -> None:
    (ep,) = importlib.metadata.entry_points(group="mtdrift.metrics", name=charoverlap_plugin)
    assert ep.value == "mtdrift_charoverlap:CharOverlap"
    metric = get_metric("charoverlap")
    assert isinstance(metric, PluginMetric) and metric.source == "plugin"
    assert (metric.display, metric.higher_is_better, metric.num_stats, metric.max_drop) == (
        "charF1",
        True,
        3,
        1.0,
    )
    assert metric.signature().format() == "charoverlap|unit:char|space:ignored|case:mixed|version:0.1.0"
    # by hand: "abc" against "abd": 2 matched of 3 and 3 -> 100 * 4 / 6
    stats = metric.stats(hyps=["abc", "", "x y"], refs=["abd", "zz", ""])
    np.testing.assert_array_equal(stats, [[2, 3, 3], [0, 0, 2], [0, 2, 0]])
    assert metric.corpus_scores(stats[:1]) == pytest.approx([400 / 6])
    # pickled as its name: a worker process loads the plug-in again
    assert pickle.loads(pickle.dumps(metric)).signature() == metric.signature()


def test_cli_lists_builtin_and_installed_metrics(charoverlap_plugin: str) -> None:
    done = subprocess.run([str(MTDRIFT), "metrics"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("bleu ") and "builtin" in lines[0]
    assert "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0" in lines[1]
    k = next(i for i, line in enumerate(lines) if line.startswith("charoverlap "))
    assert (
        "plugin" in lines[k] and "higher is better, 3 stats/segment (mtdrift-charoverlap 0.1.0)" in lines[k]
    )
    assert lines[k + 1].strip() == "charoverlap|unit:char|space:ignored|case:mixed|version:0.1.0"
    assert lines[-1].startswith("7 built-in metric(s), ") and "installed plug-in(s)" in lines[-1]


def corpus_rows() -> list[tuple[int, dict[str, str]]]:
    refs = ["The cat sat on the mat.", "Prices rose sharply in March.", "The museum opens at nine."]
    hyps = {
        "A": ["A cat sat on the mat.", "Prices went up in March.", "The museum opens at 9."],
        "B": ["The dog ran.", "In March prices fell.", "Nine museums opened."],
    }
    rows: list[tuple[int, dict[str, str]]] = []
    for system, outs in hyps.items():
        for k, (ref, hyp) in enumerate(zip(refs, outs, strict=True)):
            rows.append(
                (len(rows) + 1, {"doc_id": "d", "seg_id": str(k), "system": system, "ref": ref, "hyp": hyp})
            )
    return rows


@pytest.mark.parametrize("workers", [0, 1], ids=["one process", "worker process"])
def test_library_computes_the_plugin_through_every_report(
    charoverlap_plugin: str,
    fake_encoder: FakeEncoder,
    checker: FactChecker,
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
) -> None:
    if workers:  # the lexical stage's worker process loads the plug-in by name
        monkeypatch.setattr(pipeline, "PARALLEL_MIN_PAIRS", 1)
    corpus = build_corpus(iter(corpus_rows()), name="c.jsonl")
    config = RunConfig(metrics=(charoverlap_plugin,), workers=workers)
    ev = evaluate_corpus(corpus, encoder=fake_encoder, checker=checker, config=config)
    assert [m.name for m in ev.metrics][-1] == "charoverlap"
    for system in ("A", "B"):
        s = ev.system(system)
        assert s.corpus["charoverlap"] == pytest.approx(
            overlap_f1(list(corpus.hyps[system]), list(corpus.refs))
        )
        assert s.stats["charoverlap"].shape == (3, 3)
        assert [b.extra["charoverlap"] for b in s.beads] == pytest.approx(
            [overlap_f1([h], [r]) for h, r in zip(corpus.hyps[system], corpus.refs, strict=True)]
        )
    assert ev.signatures["charoverlap"].startswith("charoverlap|unit:char")
    comparison = compare_systems(ev, resampling=SMALL)
    assert "\n## charF1\n" in cmp.to_md(comparison, "charoverlap", ev.signatures)
    doc = json.loads(cmp.to_json(comparison, "chrf", ev.signatures))
    assert doc["metrics"]["charoverlap"]["source"] == "plugin"
    assert doc["metrics"]["charoverlap"]["systems"]["B"]["p_ar"] is not None
    summ = json.loads(summary_json(ev))
    assert summ["metrics"]["charoverlap"]["source"] == "plugin" and "charoverlap" in summ["signatures"]
    page = report_html(ev, comparison)
    assert "<th>charF1</th>" in page and "<th data-type='num'>charF1</th>" in page
    assert segments_csv(ev).splitlines()[0].endswith(",charoverlap")
    # `mtdrift check` reloads it by name; its default tolerance is the plug-in's max_drop
    base = Summary.of(ev)
    result = check(base, base)
    (tol,) = {c.tolerance for c in result.checks if c.metric == "charoverlap"}
    assert tol == 1.0 and not result.regressed


def test_the_api_lists_and_computes_the_plugin(
    charoverlap_plugin: str, fake_encoder: FakeEncoder, checker: FactChecker
) -> None:
    import pandas as pd

    import mtdrift

    listed = {m.name: m for m in mtdrift.available_metrics()}
    assert listed["charoverlap"].source == "plugin" and listed["chrf"].source == "builtin"
    frame = pd.DataFrame([row for _, row in corpus_rows()])
    ev = mtdrift.Evaluator.from_parts(fake_encoder, checker=checker, workers=0)
    result = ev.evaluate_corpus(frame, metrics=[charoverlap_plugin], primary="charoverlap", resampling=SMALL)
    corpus = build_corpus(iter(corpus_rows()), name="c.jsonl")
    for system in ("A", "B"):
        assert result.systems.loc[system, "charoverlap"] == pytest.approx(
            overlap_f1(list(corpus.hyps[system]), list(corpus.refs))
        )
    assert list(result.segments.columns)[-1] == "charoverlap"
    assert "charF1" in result.render("compare.md")


def test_unknown_or_builtin_metric_is_an_input_error(charoverlap_plugin: str) -> None:
    with pytest.raises(
        InputError,
        match=r"--metric nope: no metric 'nope': not built in .* \(installed plug-ins: [^)]*charoverlap",
    ):
        pipeline.plugin_metrics(RunConfig(metrics=("nope",)))
    with pytest.raises(InputError, match=r"--metric bleu: bleu is built in and always computed"):
        pipeline.plugin_metrics(RunConfig(metrics=("bleu",)))
    with pytest.raises(InputError, match=r"--metric charoverlap is given twice"):
        pipeline.plugin_metrics(RunConfig(metrics=("charoverlap", "charoverlap")))


# ---------------------------------------------------------------------------- broken plug-ins


class NoStats:
    name = "nostats"
    higher_is_better = True
    num_stats = 2

    def signature(self) -> str:
        return "nostats|v:1"

    def corpus_scores(self, summed: np.ndarray) -> np.ndarray:
        return summed[:, 0]


class WrongShape(NoStats):
    name = "wrongshape"

    def stats(self, *, hyps: list[str], refs: list[str]) -> np.ndarray:
        return np.zeros((len(hyps) + 1, 2))


def _fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    here = __name__  # this module: its classes below are the broken plug-ins
    eps = [
        importlib.metadata.EntryPoint("gone", "no_such_module_anywhere:Metric", "mtdrift.metrics"),
        importlib.metadata.EntryPoint("nostats", f"{here}:NoStats", "mtdrift.metrics"),
        importlib.metadata.EntryPoint("wrongshape", f"{here}:WrongShape", "mtdrift.metrics"),
        importlib.metadata.EntryPoint("chrf", f"{here}:WrongShape", "mtdrift.metrics"),
    ]
    monkeypatch.setattr(registry, "_entry_points", lambda: eps)


def test_broken_plugins_are_named_and_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _fake_entry_points(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="mtdrift"):
        infos = describe_metrics()
    # the listing goes on: the built-in metrics and the one plug-in that loads
    assert [m.name for m in infos] == [*registry.METRICS, "wrongshape"]
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("mtdrift")]
    assert any("metric plug-in 'gone' failed to load: ModuleNotFoundError" in w for w in warnings)
    assert any("metric plug-in 'nostats' breaks the contract: no stats; skipped" in w for w in warnings)
    assert any("metric plug-in 'chrf' has a built-in metric's name" in w for w in warnings)
    # asked for by name: an error naming it, never a crash
    with pytest.raises(MetricError, match=r"metric plug-in 'gone' failed to load"):
        load_plugin("gone")
    with pytest.raises(
        MetricError, match=r"'wrongshape': stats\(\) returned shape \(3, 2\), expected \(2, 2\)"
    ):
        load_plugin("wrongshape").stats(hyps=["a", "b"], refs=["a", "b"])


def test_cli_metrics_warns_about_a_broken_plugin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mtdrift.eval.cli import main

    _fake_entry_points(monkeypatch)
    # a handler an earlier test's CLI call added writes to that test's stderr: start afresh
    monkeypatch.setattr(logging.getLogger("mtdrift"), "handlers", [])
    assert main(["metrics"]) == 0
    captured = capsys.readouterr()
    assert "mtdrift: warning: metric plug-in 'gone' failed to load" in captured.err
    assert "wrongshape" in captured.out


# ------------------------------------------------------------------- the command line, end to end


@pytest.mark.model
def test_cli_evaluate_with_the_plugin_then_check(charoverlap_plugin: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = [str(MTDRIFT), "evaluate", "--aligned", "--ref", str(REF), "--hyp", str(HYP), "--hyp", str(REF),
            "--name", "roundtrip", "--name", "itself", "--model", "minilm", "--metric", "charoverlap",
            "--bootstrap", "200", "--trials", "1000", "--no-plots", "--out", str(out)]  # fmt: skip
    # the seed pair is not line-parallel; the reference against itself and a trimmed copy are
    lines = REF.read_text(encoding="utf-8").split("\n")
    trimmed = tmp_path / "hyp.txt"
    trimmed.write_text("\n".join(line[: max(1, len(line) * 3 // 4)] for line in lines), encoding="utf-8")
    argv[argv.index(str(HYP))] = str(trimmed)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "charF1" in done.stdout.splitlines()[0]
    summ = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    by = {s["system"]: s for s in summ["systems"]}
    assert by["itself"]["corpus"]["charoverlap"] == 100.0
    assert 0 < by["roundtrip"]["corpus"]["charoverlap"] < 100
    for name in ("compare.md", "compare.json", "report.html", "segments.csv"):
        assert "char" in (out / name).read_text(encoding="utf-8"), name
    # the trimmed copy against the reference as baseline: check compares each system with itself
    done = subprocess.run(
        [str(MTDRIFT), "check", "--baseline", str(out / "summary.json"), "--current",
         str(out / "summary.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok        itself charF1: 100.0000 -> 100.0000 (drop +0.0000, tolerance 1" in done.stdout


def test_chunks_concatenate_with_the_plugin(
    charoverlap_plugin: str, fake_encoder: FakeEncoder, checker: FactChecker
) -> None:
    # a corpus evaluated in pieces and concatenated (as a distributed run does) carries the
    # plug-in exactly as one pass does
    corpus = build_corpus(iter(corpus_rows()), name="c.jsonl")
    config = RunConfig(metrics=(charoverlap_plugin,))
    whole = evaluate_corpus(corpus, encoder=fake_encoder, checker=checker, config=config)
    pieces = evaluate_corpus(corpus, encoder=fake_encoder, checker=checker, config=config, chunk=1)
    assert summary_json(pieces) == summary_json(whole) and segments_csv(pieces) == segments_csv(whole)
