"""External per-segment scores (`--scores NAME=FILE[:COLUMN]`): the three file layouts, their
errors, the official COMET-22 and MetricX-23 columns of the WMT23 zh-en dev set carried through
compare.md, compare.json, report.html and summary.json, `mtdrift check` catching a drop in
them, and `mtdrift meta` reproducing the figures of ../shared/data/mqm/README.md with them."""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mtdrift.eval.cli import main
from mtdrift.eval.config import Document, RunConfig
from mtdrift.eval.corpus import Corpus, build_corpus, read_rows
from mtdrift.eval.errors import InputError
from mtdrift.eval.external import (
    ScoresSpec,
    attach_scores,
    load_scores,
    parse_scores_option,
    parse_scores_options,
    read_scores,
)
from mtdrift.eval.meta.evaluation import meta_sets
from mtdrift.eval.meta.scoring import SetTable
from mtdrift.eval.meta.sets import DataSpec, load_set, pair_sets, read_official
from mtdrift.eval.pairwise import compare_systems
from mtdrift.eval.pipeline import evaluate, evaluate_corpus
from mtdrift.eval.regression import Incomparable, check
from mtdrift.eval.render import pairwise as cmp
from mtdrift.eval.render.html import report_html
from mtdrift.eval.render.tables import segments_csv, summary, summary_json, terminal_table
from mtdrift.eval.results import Evaluation
from mtdrift.eval.summary import Summary
from mtdrift.metrics.facts.checker import FactChecker
from mtdrift.metrics.significance import Resampling
from tests.support.fakes import FakeEncoder
from tests.support.mqm import (
    HEEN_FIGURES,
    HEEN_README,
    ZHEN_FIGURES,
    ZHEN_README,
    head_of_set,
    round_once,
    round_twice,
    ted_like,
)
from tests.support.paths import HEEN, HEEN_OFFICIAL, HYP, REF, ZHEN, ZHEN_OFFICIAL, need

COMET = "COMET-refA"  # COMET-22 in the official file (see the data README)
METRICX = "MetricX-23-refA"  # already negated there: higher is better
SUBSET_DOCS = ("gb-0", "gb-2")  # 11 segments x 15 systems
SMALL = Resampling(bootstrap=200, trials=1000)


# ------------------------------------------------------------------------------ a tiny corpus


def tiny_corpus() -> Corpus:
    """2 documents, 3 segments, systems A and B."""
    rows: list[tuple[int, dict[str, str]]] = []
    for doc, seg, ref in (
        ("d1", "1", "The cat sat."),
        ("d1", "2", "It rained."),
        ("d2", "1", "Prices rose."),
    ):
        for system, hyp in (("A", ref), ("B", ref.replace(".", "!"))):
            rows.append(
                (len(rows) + 1, {"doc_id": doc, "seg_id": seg, "system": system, "ref": ref, "hyp": hyp})
            )
    return build_corpus(iter(rows), name="tiny.jsonl")


TINY_SCORES = {("d1", "1", "A"): 0.9, ("d1", "2", "A"): 0.5, ("d2", "1", "A"): 0.7,
               ("d1", "1", "B"): 0.6, ("d1", "2", "B"): 0.4, ("d2", "1", "B"): 0.2}  # fmt: skip


@pytest.fixture(scope="module")
def tiny(fake_encoder: FakeEncoder, checker: FactChecker) -> Evaluation:
    return evaluate_corpus(tiny_corpus(), encoder=fake_encoder, checker=checker)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def rows_tsv(tmp_path: Path, scores: dict[tuple[str, str, str], float], name: str = "s.tsv") -> Path:
    lines = ["system\tdoc_id\tseg_id\tscore"] + [f"{s}\t{d}\t{g}\t{v!r}" for (d, g, s), v in scores.items()]
    return write(tmp_path / name, "\n".join(lines) + "\n")


def layouts(tmp_path: Path) -> dict[str, str]:
    """The same scores in every layout, as `--scores` values."""
    jsonl = tmp_path / "s.jsonl.gz"
    with gzip.open(jsonl, "wt", encoding="utf-8") as fh:
        for (d, g, s), v in TINY_SCORES.items():  # seg_id as a JSON number, as in the MQM files
            fh.write(json.dumps({"doc_id": d, "seg_id": int(g), "system": s, "score": v}) + "\n")
    wide = ["seg_id\tdoc_id\tsystem\tmqm\tCOMET\tother"] + [
        f"{g}\t{d}\t{s}\t-1\t{v!r}\t0" for (d, g, s), v in TINY_SCORES.items()
    ]
    mme = [
        f"{s}\t{TINY_SCORES[(d, g, s)]!r}" for s in "AB" for d, g in (("d1", "1"), ("d1", "2"), ("d2", "1"))
    ]
    return {
        "rows TSV": f"X={rows_tsv(tmp_path, TINY_SCORES)}",
        "rows JSONL, gzip": f"X={jsonl}",
        "column of a wider TSV": f"X={write(tmp_path / 'wide.tsv', chr(10).join(wide) + chr(10))}:COMET",
        "mt-metrics-eval": f"X={write(tmp_path / 'X.seg.score', chr(10).join(mme) + chr(10))}",
    }


@pytest.mark.parametrize(
    "layout", ["rows TSV", "rows JSONL, gzip", "column of a wider TSV", "mt-metrics-eval"]
)
def test_every_layout_gives_the_same_metric(tmp_path: Path, tiny: Evaluation, layout: str) -> None:
    spec = parse_scores_option(layouts(tmp_path)[layout])
    scores = read_scores(spec)
    result = attach_scores(tiny, [scores])
    a, b = result.system("A"), result.system("B")
    assert a.corpus["X"] == pytest.approx((0.9 + 0.5 + 0.7) / 3, abs=1e-15)
    assert b.corpus["X"] == pytest.approx((0.6 + 0.4 + 0.2) / 3, abs=1e-15)
    np.testing.assert_array_equal(a.stats["X"], [[0.9, 1], [0.5, 1], [0.7, 1]])
    assert [bead.extra["X"] for bead in b.beads] == [0.6, 0.4, 0.2]
    assert [m.name for m in result.extra] == ["X"] and result.extra[0].source == "scores"
    sig = result.signatures["X"]
    digest = hashlib.sha256(Path(spec.path).read_bytes()).hexdigest()
    assert sig.startswith("scores|name:X|file:") and f"|sha256:{digest}|" in sig
    assert ("|column:COMET|" in sig) == (layout == "column of a wider TSV")
    assert "X" not in tiny.system("A").corpus and tiny.extra == ()  # pure: the input is unchanged


def test_lower_is_better_is_recorded_and_ranks(tmp_path: Path, tiny: Evaluation) -> None:
    (spec,) = parse_scores_options([f"err={rows_tsv(tmp_path, TINY_SCORES)}"], lower_is_better=["err"])
    assert spec == ScoresSpec("err", str(tmp_path / "s.tsv"), None, higher_is_better=False)
    result = attach_scores(tiny, [read_scores(spec)])
    assert "|higher:no|" in result.signatures["err"]
    comparison = compare_systems(result, resampling=SMALL)
    assert comparison.ranked("err") == ["B", "A"]  # B's errors are lower
    assert "err↓" in cmp.to_md(comparison, "err", result.signatures)


def test_extra_systems_and_segments_in_the_file_are_ignored(tmp_path: Path, tiny: Evaluation) -> None:
    more = {**TINY_SCORES, ("d9", "1", "A"): 5.0, ("d1", "1", "C"): 5.0}
    result = attach_scores(tiny, [read_scores(parse_scores_option(f"X={rows_tsv(tmp_path, more)}"))])
    assert result.system("A").corpus["X"] == pytest.approx(0.7)


def _without(key: tuple[str, str, str]) -> dict[tuple[str, str, str], float]:
    return {k: v for k, v in TINY_SCORES.items() if k != key}


HEAD = "system\tdoc_id\tseg_id\tscore\n"
BAD_SCORES = [
    # a segment without a score: the file and the (system, segment) it lacks
    ("missing.tsv", lambda p: rows_tsv(p, _without(("d1", "2", "B")), "missing.tsv"),
     r"missing\.tsv: no score for system 'B' segment d1/2 \(segment 2 of 3\)"),
    # a system without a score
    ("nosys.tsv", lambda p: rows_tsv(p, {k: v for k, v in TINY_SCORES.items() if k[2] == "A"}, "nosys.tsv"),
     r"nosys\.tsv: no score for system 'B'; the file has 1 system\(s\) \('A'\)"),
    # the same key twice: both lines named
    ("dup.tsv", lambda p: write(p / "dup.tsv", f"{HEAD}A\td1\t1\t0.5\nA\td1\t1\t0.6\n"),
     r"dup\.tsv: line 3: system 'A' segment d1/1 has a second score \(first on line 2\)"),
    # not a number, NaN, infinity
    ("nan.tsv", lambda p: write(p / "nan.tsv", f"{HEAD}A\td1\t1\tabc\n"),
     r"nan\.tsv: line 2: score 'abc' is not a number"),
    ("nan2.tsv", lambda p: write(p / "nan2.tsv", f"{HEAD}A\td1\t1\t0.1\nB\td1\t1\tnan\n"),
     r"nan2\.tsv: line 3: score is 'nan'; every score must be a finite number"),
    ("null.jsonl", lambda p: write(p / "null.jsonl",
                                 '{"doc_id":"d1","seg_id":1,"system":"A","score":null}\n'),
     r"null\.jsonl: line 1: score None is not a number"),
    # a header without the column asked for
    ("nocol.tsv", lambda p: write(p / "nocol.tsv", "system\tdoc_id\tseg_id\tCOMET\nA\td1\t1\t0.5\n"),
     r"nocol\.tsv: line 1: no score column \(name another column as NAME=FILE:COLUMN\)"),
    # mt-metrics-eval: one line too many for a system, one too few
    ("long.seg.score", lambda p: write(p / "long.seg.score", "A\t1\nA\t2\nA\t3\nA\t4\nB\t1\nB\t2\nB\t3\n"),
     r"long\.seg\.score: system 'A' has 4 scores for 3 segments \(line 4 is its 4th\)"),
    ("short.seg.score", lambda p: write(p / "short.seg.score", "A\t1\nA\t2\nA\t3\nB\t1\nB\t2\n"),
     r"short\.seg\.score: system 'B' has 2 scores for 3 segments \(the last is line 5\)"),
    ("bad.seg.score", lambda p: write(p / "bad.seg.score", "A\t1\nA\tNone\n"),
     r"bad\.seg\.score: line 2: score 'None' is not a number"),
    ("three.seg.score", lambda p: write(p / "three.seg.score", "A\t1\t2\n"),
     r"three\.seg\.score: line 1: expected SYSTEM<TAB>score \(mt-metrics-eval\)"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "make", "match"), BAD_SCORES, ids=[b[0] for b in BAD_SCORES])
def test_bad_scores_name_the_file_and_the_line(
    tmp_path: Path, tiny: Evaluation, name: str, make: Callable[[Path], Path], match: str
) -> None:
    path = make(tmp_path)
    corpus = tiny_corpus()
    with pytest.raises(InputError, match=match) as err:
        load_scores(
            [parse_scores_option(f"X={path}")], aligned=True, keys=corpus.keys, systems=corpus.systems
        )
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("X", r"--scores expects NAME=FILE or NAME=FILE:COLUMN, got 'X'"),
        ("=f.tsv", r"--scores expects NAME=FILE"),
        ("bleu=f.tsv", r"--scores bleu: bleu is a built-in metric's name"),
        ("a b=f.tsv", r"--scores 'a b': a metric name starts with a letter"),
    ],
)
def test_bad_scores_options(value: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        parse_scores_option(value)


def test_scores_options_together() -> None:
    with pytest.raises(InputError, match=r"--scores X is given twice"):
        parse_scores_options(["X=a.tsv", "X=b.tsv"])
    with pytest.raises(InputError, match=r"--lower-is-better Y: no --scores Y=FILE; name one of X"):
        parse_scores_options(["X=a.tsv"], lower_is_better=["Y"])
    # FILE:COLUMN splits at the last colon; Windows-like or existing paths keep theirs
    assert parse_scores_option("C=dir/o.tsv.gz:COMET-refA") == ScoresSpec("C", "dir/o.tsv.gz", "COMET-refA")
    assert parse_scores_option("C=dir/o.tsv").column is None


def test_document_mode_is_refused(
    tiny: Evaluation, fake_encoder: FakeEncoder, checker: FactChecker, tmp_path: Path
) -> None:
    spec = parse_scores_option(f"X={rows_tsv(tmp_path, TINY_SCORES)}")
    with pytest.raises(InputError, match=r"^--scores needs segments known in advance: give --data"):
        load_scores([spec], aligned=False)
    doc = evaluate(Document("r", "One. Two."), [("A", Document("h", "One. Two."))], encoder=fake_encoder,
                   checker=checker)  # fmt: skip
    with pytest.raises(InputError, match=r"--scores needs segments known in advance"):
        attach_scores(doc, [read_scores(spec)])


def test_aligned_files_key_segments_by_line(
    tmp_path: Path, fake_encoder: FakeEncoder, checker: FactChecker
) -> None:
    ev = evaluate(
        Document("ref.txt", "One.\nTwo.\n\nFour."),
        [("A", Document("a.txt", "One.\nTwo!\n\nFour."))],
        encoder=fake_encoder,
        checker=checker,
        config=RunConfig(aligned=True),
    )
    scores = {("", str(line), "A"): float(line) for line in (1, 2, 3, 4)}  # seg_id: the 1-based line
    result = attach_scores(ev, [read_scores(parse_scores_option(f"X={rows_tsv(tmp_path, scores)}"))])
    assert [b.extra["X"] for b in result.system("A").beads] == [1.0, 2.0, 3.0, 4.0]


def test_cli_refuses_scores_in_document_mode_before_loading_a_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    scores = rows_tsv(tmp_path, TINY_SCORES)
    rc = main(["evaluate", "--ref", str(REF), "--hyp", str(HYP), "--scores", f"X={scores}", "--out", str(out),
               "--no-cache"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert err.startswith("mtdrift: error: --scores needs segments known in advance: give --data")
    assert not out.exists()


def test_cli_refuses_an_unknown_primary_before_loading_a_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    scores = rows_tsv(tmp_path, TINY_SCORES)
    rc = main(["evaluate", "--data", str(tmp_path / "c.jsonl"), "--scores", f"X={scores}",
               "--primary", "COMET", "--out", str(out), "--no-cache"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and err == (
        "mtdrift: error: --primary COMET: not a metric of this run; give one of bleu, chrf, chrfpp, ter, "
        "semantic, tokenmatch, fidelity, X\n"
    )
    assert not out.exists()


# ---------------------------------------------------- the official COMET-22 column, WMT23 zh-en


def subset(tmp_path: Path) -> Path:
    """The WMT23 zh-en dev rows of a few documents, every system."""
    need(ZHEN, ZHEN_OFFICIAL)
    with gzip.open(ZHEN, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    path = tmp_path / "zhen_subset.jsonl"
    path.write_text(
        "".join(json.dumps(r) + "\n" for r in rows if r["doc_id"] in SUBSET_DOCS), encoding="utf-8"
    )
    return path


def official_means(corpus: Corpus, column: str) -> dict[str, float]:
    """Each system's mean of an official column over the corpus's rows (the expected score)."""
    table = read_official(ZHEN_OFFICIAL)
    keys = {(d, int(s)) for d, s in corpus.keys}
    mine = table[[(d, s) in keys for d, s in zip(table["doc_id"], table["seg_id"], strict=True)]]
    return {s: float(g[column].mean()) for s, g in mine.groupby("system")}


@pytest.fixture(scope="module")
def zhen_plain(
    tmp_path_factory: pytest.TempPathFactory, fake_encoder: FakeEncoder, checker: FactChecker
) -> tuple[Corpus, Evaluation]:
    """The subset evaluated with the fake encoder, no external scores yet."""
    path = subset(tmp_path_factory.mktemp("zhen"))
    corpus = build_corpus(read_rows(path), name=str(path))
    return corpus, evaluate_corpus(corpus, encoder=fake_encoder, checker=checker)


@pytest.fixture(scope="module")
def zhen(zhen_plain: tuple[Corpus, Evaluation]) -> tuple[Corpus, Evaluation]:
    """... with the official COMET-22 and MetricX-23 columns attached."""
    corpus, plain = zhen_plain
    specs = parse_scores_options(
        [f"COMET-22={ZHEN_OFFICIAL}:{COMET}", f"MetricX-23={ZHEN_OFFICIAL}:{METRICX}"]
    )
    external = load_scores(specs, aligned=True, keys=corpus.keys, systems=corpus.systems)
    return corpus, attach_scores(plain, external)


def test_official_comet_is_carried_everywhere(zhen: tuple[Corpus, Evaluation], tmp_path: Path) -> None:
    corpus, ev = zhen
    assert len(corpus.keys) == 11 and len(corpus.systems) == 15
    expected = official_means(corpus, COMET)
    for s in ev.systems:
        assert s.corpus["COMET-22"] == pytest.approx(expected[s.system], abs=1e-12)
    comparison = compare_systems(ev, baseline="ANVITA", resampling=SMALL)
    assert comparison.metrics[-2:] == ("COMET-22", "MetricX-23")
    # compare.md: a column of the wide table and a section of its own
    md = cmp.to_md(comparison, "COMET-22", ev.signatures)
    assert "Systems sorted by COMET-22" in md and "\n## COMET-22\n" in md and "\n## MetricX-23\n" in md
    head = next(line for line in md.splitlines() if line.startswith("| system |"))
    assert head.endswith("| COMET-22 | MetricX-23 |")
    best = max(expected, key=lambda s: expected[s])
    assert comparison.ranked("COMET-22")[0] == best
    assert f"| {best} | {expected[best]:.3f}" in md
    # compare.json: score, CI, paired tests, and the signature naming the file and column
    doc = json.loads(cmp.to_json(comparison, "COMET-22", ev.signatures))
    comet = doc["metrics"]["COMET-22"]
    assert comet["higher_is_better"] is True and comet["source"] == "scores"
    gpt = comet["systems"]["GPT4-5shot"]
    assert gpt["score"] == pytest.approx(expected["GPT4-5shot"], abs=5e-7)  # compare.json keeps 6 decimals
    assert gpt["p_ar"] is not None and gpt["p_bootstrap"] is not None and gpt["delta_ci"] is not None
    sig = doc["signatures"]["COMET-22"]
    digest = hashlib.sha256(ZHEN_OFFICIAL.read_bytes()).hexdigest()
    assert sig == (
        f"scores|name:COMET-22|file:{ZHEN_OFFICIAL.name}|sha256:{digest}|column:{COMET}"
        "|format:column|higher:yes|corpus:mean"
    )
    # summary.json: corpus scores, the per-segment statistics, the metric described, the signature
    summ = json.loads(summary_json(ev))
    anvita = next(s for s in summ["systems"] if s["system"] == "ANVITA")
    assert anvita["corpus"]["COMET-22"] == round(expected["ANVITA"], 6)
    assert len(anvita["segments"]["stats"]["COMET-22"]) == 11
    assert summ["metrics"]["COMET-22"] == {
        "display": "COMET-22", "higher_is_better": True, "num_stats": 2, "source": "scores"
    }  # fmt: skip
    assert summ["signatures"]["COMET-22"] == sig and "external" in summ["scales"]["COMET-22"]
    # report.html: the summary table's column with its CI, and the comparison table
    page = report_html(ev, comparison, primary="COMET-22")
    assert "<th>COMET-22</th>" in page and "<th>MetricX-23</th>" in page
    assert "Comparison (sorted by COMET-22;" in page and f"{expected['ANVITA']:.3f}" in page
    assert "<th data-type='num'>COMET-22</th>" in page  # a column of the bead table too
    # the terminal table, segments.csv, compare.tex/csv
    assert "COMET-22" in terminal_table(ev).splitlines()[0]
    assert segments_csv(ev).splitlines()[0].endswith(",COMET-22,MetricX-23")
    assert "COMET-22" in cmp.to_tex(comparison, "chrf", ev.signatures)
    assert "\nGPT4-5shot,COMET-22,0," in cmp.to_csv(comparison, "chrf")
    from mtdrift.eval.render.figures.systems import plot_systems

    plot_systems(comparison, "COMET-22", tmp_path / "systems.png")
    assert (tmp_path / "systems.png").read_bytes().startswith(b"\x89PNG")


def test_mt_metrics_eval_layout_equals_the_column(zhen: tuple[Corpus, Evaluation], tmp_path: Path) -> None:
    corpus, ev = zhen
    table = read_official(ZHEN_OFFICIAL).set_index(["doc_id", "seg_id", "system"])
    lines = [
        f"{s}\t{float(table.loc[(d, int(g), s), COMET])!r}" for s in corpus.systems for d, g in corpus.keys
    ]
    path = write(tmp_path / "COMET-22-refA.seg.score", "\n".join(lines) + "\n")
    # ev already carries COMET-22 from the column: attach the same scores under another name
    result = attach_scores(ev, [read_scores(parse_scores_option(f"mme={path}"))])
    for s in result.systems:
        np.testing.assert_array_equal(s.stats["mme"], s.stats["COMET-22"])


def lowered(tmp_path: Path, corpus: Corpus, column: str, by: float) -> Path:
    """The official column of the corpus's rows, every score lowered by ``by``, as a rows TSV."""
    table = read_official(ZHEN_OFFICIAL).set_index(["doc_id", "seg_id", "system"])
    lines = ["doc_id\tseg_id\tsystem\tscore"]
    for s in corpus.systems:
        for d, g in corpus.keys:
            lines.append(f"{d}\t{g}\t{s}\t{float(table.loc[(d, int(g), s), column]) - by!r}")
    return write(tmp_path / "lowered.tsv", "\n".join(lines) + "\n")


def test_check_catches_a_drop_in_comet(
    zhen_plain: tuple[Corpus, Evaluation], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, plain = zhen_plain
    base = attach_scores(plain, [read_scores(parse_scores_option(f"COMET-22={ZHEN_OFFICIAL}:{COMET}"))])
    base_doc = Summary.of(base)
    (tmp_path / "base.json").write_text(summary_json(base))
    # every score lowered by 0.01 (of COMET's 0-1): a file with another SHA-256 is comparable
    path = lowered(tmp_path, corpus, COMET, 0.01)
    worse = attach_scores(plain, [read_scores(parse_scores_option(f"COMET-22={path}"))])
    (tmp_path / "worse.json").write_text(summary_json(worse))
    result = check(base_doc, Summary.parse(json.loads(summary_json(worse))), tolerances={"COMET-22": 0.05})
    bad = [c for c in result.checks if c.regressed]
    assert {c.metric for c in bad} == {"COMET-22"} and len(bad) == 15  # within tolerance, but significant
    assert all(c.drop == pytest.approx(0.01, abs=1e-9) for c in bad)
    # through the command line: exit 1, the metric named; without a tolerance: exit 2
    rc = main(["check", "--baseline", str(tmp_path / "base.json"), "--current", str(tmp_path / "worse.json"),
               "--max-drop", "comet-22=0.005"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 1
    assert re.search(
        r"REGRESSED ANVITA COMET-22: 0\.\d{4} -> 0\.\d{4} \(drop \+0\.0100, tolerance 0\.005", out
    )
    assert "dropped 0.01 > tolerance 0.005" in out
    rc = main(["check", "--baseline", str(tmp_path / "base.json"), "--current", str(tmp_path / "worse.json")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert (
        "metric 'COMET-22' (external scores) has no default tolerance; give --max-drop COMET-22=DELTA" in err
    )
    # the same scores again: nothing regressed
    same = check(base_doc, base_doc, tolerances={"COMET-22": 0.01})
    assert not same.regressed


def test_check_refuses_a_changed_direction(zhen: tuple[Corpus, Evaluation]) -> None:
    _, ev = zhen
    base = summary(ev)
    flipped = copy.deepcopy(base)
    flipped["signatures"]["COMET-22"] = flipped["signatures"]["COMET-22"].replace("higher:yes", "higher:no")
    with pytest.raises(Incomparable, match=r"signatures differ for COMET-22 \(higher: yes vs no\)"):
        check(Summary.parse(base), Summary.parse(flipped), tolerances={"COMET-22": 0.01, "MetricX-23": 0.1})


@pytest.mark.model
def test_cli_evaluate_with_official_comet_then_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end with the real (small) model: `--scores` on the command line reaches every
    output, and `mtdrift check` fails on the lowered file."""
    data = subset(tmp_path)
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows if r["doc_id"] == "gb-0"), encoding="utf-8")
    out = tmp_path / "out"
    comet = f"COMET-22={ZHEN_OFFICIAL}:{COMET}"
    argv = ["evaluate", "--data", str(data), "--model", "minilm", "--scores", comet, "--primary", "COMET-22",
            "--bootstrap", "200", "--trials", "1000", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "COMET-22" in printed.splitlines()[0]
    assert "Systems sorted by COMET-22;" in (out / "compare.md").read_text(encoding="utf-8")
    for name in ("compare.md", "compare.json", "report.html", "summary.json", "compare.csv", "compare.tex"):
        assert "COMET-22" in (out / name).read_text(encoding="utf-8"), name
    corpus = build_corpus(read_rows(data), name=str(data))
    path = lowered(tmp_path, corpus, COMET, 0.02)
    out2 = tmp_path / "out2"
    argv2 = [*argv[:6], f"COMET-22={path}", *argv[7:-1], str(out2)]
    assert argv2[5:8] == ["--scores", f"COMET-22={path}", "--primary"]
    assert main(argv2) == 0
    capsys.readouterr()
    rc = main(["check", "--baseline", str(out / "summary.json"), "--current", str(out2 / "summary.json"),
               "--max-drop", "COMET-22=0.01"])  # fmt: skip
    printed = capsys.readouterr().out
    assert rc == 1 and "mtdrift check: REGRESSION in 15 metric(s)" in printed
    assert all("COMET-22" in line for line in printed.splitlines() if line.startswith("REGRESSED"))


# ------------------------------------------------------------------------------ mtdrift meta


def test_meta_pairs_scores_with_their_data() -> None:
    specs = pair_sets(
        [("--data", "a.jsonl"), ("--scores", "C=a.tsv:COMET"), ("--scores", "M=m.tsv"), ("--data", "b.jsonl"),
         ("--scores", "C=b.tsv:COMET")],
        lower_is_better=["M"],
    )  # fmt: skip
    assert specs[0].scores == (ScoresSpec("C", "a.tsv", "COMET"), ScoresSpec("M", "m.tsv", None, False))
    assert specs[1].scores == (ScoresSpec("C", "b.tsv", "COMET"),)
    with pytest.raises(InputError, match=r"--data a\.jsonl has two --scores C"):
        pair_sets([("--data", "a.jsonl"), ("--scores", "C=x"), ("--scores", "C=y")])
    with pytest.raises(InputError, match=r"--lower-is-better Z: no --scores Z=FILE"):
        pair_sets([("--data", "a.jsonl")], lower_is_better=["Z"])


@pytest.mark.parametrize(
    ("data", "official", "columns", "readme", "figures", "rounding"),
    [
        (ZHEN, ZHEN_OFFICIAL, {"COMET-22": "COMET-refA", "MetricX-23": "MetricX-23-refA"}, ZHEN_README,
         ZHEN_FIGURES, round_twice),
        (HEEN, HEEN_OFFICIAL, {"COMET-22": "COMET-refB", "MetricX-23": "MetricX-23-refB"}, HEEN_README,
         HEEN_FIGURES, round_once),
    ],
    ids=["wmt23_zhen", "wmt23_heen"],
)  # fmt: skip
def test_meta_with_external_scores_reproduces_the_readme(
    data: Path,
    official: Path,
    columns: dict[str, str],
    readme: dict[str, tuple[float, ...]],
    figures: tuple[str, ...],
    rounding: Callable[[float], float],
) -> None:
    """`mtdrift meta --data X --scores COMET-22=OFFICIAL:COMET-refA ...`, without the model: the
    external columns give the figures of ../shared/data/mqm/README.md for COMET-22 and MetricX-23."""
    need(data, official)
    spec = DataSpec(
        "set", str(data), scores=tuple(ScoresSpec(n, str(official), c) for n, c in columns.items())
    )
    loaded = load_set(spec)
    assert tuple(loaded.external) == tuple(columns)
    assert "|column:" in loaded.external["COMET-22"]
    table = SetTable("set", loaded.table, tuple(columns))
    meta = meta_sets([table], n_resamples=20)
    for name, column in columns.items():
        r = meta.sets[0].result.metrics[name]
        result = tuple(rounding(getattr(r, f)) for f in figures)
        assert result == readme[column], name


def test_meta_negates_lower_is_better_scores(tmp_path: Path) -> None:
    data = ted_like(tmp_path)
    rows = [r for _, r in read_rows(data) if r["system"] != "ref-A"]
    lines = ["doc_id\tseg_id\tsystem\tscore"] + [
        f"{r['doc_id']}\t{r['seg_id']}\t{r['system']}\t{-r['mqm']}" for r in rows
    ]
    scores = write(tmp_path / "err.tsv", "\n".join(lines) + "\n")
    specs = pair_sets([("--data", str(data)), ("--scores", f"err={scores}")], lower_is_better=["err"])
    loaded = load_set(specs[0])
    pd.testing.assert_series_equal(loaded.table["err"], loaded.table["mqm"], check_names=False)


@pytest.mark.model
def test_cli_meta_with_external_scores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`mtdrift meta --data X --scores COMET-22=OFFICIAL:COMET-refA`: the external metric sits
    beside mtdrift's, with the figures of the same official column."""
    need(ZHEN, ZHEN_OFFICIAL)
    data, official = head_of_set(tmp_path, ZHEN, ZHEN_OFFICIAL, 4)
    assert official is not None
    out = tmp_path / "meta"
    comet = f"COMET-22={official}:{COMET}"
    argv = ["meta", "--data", str(data), "--official", str(official), "--scores", comet,
            "--model", "minilm", "--resamples", "20", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| COMET-22 |" in printed and "| **fidelity** |" in printed
    doc = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    ours, theirs = doc["metrics"]["COMET-22"], doc["metrics"][COMET]
    assert ours == theirs  # the same column, joined by mtdrift instead of read as official
    assert doc["signatures"]["COMET-22"].startswith(f"scores|name:COMET-22|file:{official.name}|sha256:")
