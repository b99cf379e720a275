"""`mtdrift meta` over several data sets: pairing the options, naming the sets, leaving human
translations out, the macro mean, the reports, and the figures of ../shared/data/mqm/README.md
reproduced for the official columns of the WMT23 zh-en and he-en dev halves."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from mtdrift.eval.cli import main
from mtdrift.eval.errors import InputError
from mtdrift.eval.meta.evaluation import MACRO_FIGURES, MultiMeta, display_names, meta_sets
from mtdrift.eval.meta.scoring import Provenance, SetTable
from mtdrift.eval.meta.sets import DataSpec, join_scores, load_set, pair_sets, set_name
from mtdrift.eval.render.meta import meta_md, sets_md
from tests.support.files import write_jsonl
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
from tests.support.paths import HEEN, HEEN_OFFICIAL, TED, ZHEN, ZHEN_OFFICIAL, need_dev_sets

# ------------------------------------------------------------------------ pairing and naming


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("../shared/data/mqm/wmt23_zhen_mqm.dev.jsonl.gz", "wmt23_zhen"),
        ("wmt23_heen_mqm.dev.jsonl.gz", "wmt23_heen"),
        ("wmt21ted_zhen_mqm.dev.jsonl.gz", "wmt21ted_zhen"),
        ("corpus.tsv", "corpus"),  # no _mqm: the stem as it is
        ("_mqm.jsonl", "_mqm"),  # nothing left after _mqm: keep it
        (".hidden.jsonl", ".hidden.jsonl"),  # nothing before the first dot: the whole name
    ],
)
def test_set_name(path: str, expected: str) -> None:
    assert set_name(path) == expected


def test_pair_sets_each_official_and_name_goes_with_the_data_before_it() -> None:
    options = [
        ("--data", "a/x_mqm.dev.jsonl.gz"),
        ("--official", "a/x.tsv.gz"),
        ("--data", "b/ted.jsonl"),  # no official scores
        ("--data", "c/y.jsonl"),
        ("--name", "why"),
        ("--official", "c/y.tsv"),
    ]
    result = pair_sets(options)
    expected = (
        DataSpec("x", "a/x_mqm.dev.jsonl.gz", "a/x.tsv.gz"),
        DataSpec("ted", "b/ted.jsonl", None),
        DataSpec("why", "c/y.jsonl", "c/y.tsv"),
    )
    assert result == expected


def test_pair_sets_single_data_takes_its_options_in_any_order() -> None:
    # as before several sets were allowed: `--official X --data Y` still works
    result = pair_sets([("--official", "o.tsv"), ("--name", "n"), ("--data", "d.jsonl")])
    assert result == (DataSpec("n", "d.jsonl", "o.tsv"),)


PAIRING_ERRORS = [
    # an --official before the first of several --data belongs to none
    (
        ["--official", "o.tsv", "--data", "a.jsonl", "--data", "b.jsonl"],
        r"--official o\.tsv comes before any --data",
    ),
    (["--name", "n", "--data", "a.jsonl", "--data", "b.jsonl"], r"--name n comes before any --data"),
    # two --official after one --data (the second was meant for a missing --data)
    (
        ["--data", "a.jsonl", "--official", "x.tsv", "--official", "y.tsv", "--data", "b.jsonl"],
        r"--data a\.jsonl has two --official \(x\.tsv and y\.tsv\)",
    ),
    (["--data", "a.jsonl", "--official", "x.tsv", "--official", "y.tsv"], r"has two --official"),
    (["--data", "a.jsonl", "--name", "p", "--name", "q", "--data", "b.jsonl"], r"has two --name \(p and q\)"),
    # two sets whose file names give the same name, or the same file twice
    (
        ["--data", "1/s_mqm.dev.jsonl", "--data", "2/s_mqm.dev.jsonl"],
        r"two data sets are named 's' \(1/s_mqm\.dev\.jsonl and 2/s_mqm\.dev\.jsonl\); "
        r"give each --data its own --name",
    ),
    (["--data", "a.jsonl", "--data", "b.jsonl", "--name", "a"], r"two data sets are named 'a'"),
    (["--data", "a.jsonl", "--name", " ", "--data", "b.jsonl"], r"--data a\.jsonl: the --name is empty"),
]


@pytest.mark.parametrize(("argv", "match"), PAIRING_ERRORS)
def test_cli_pairing_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], match: str
) -> None:
    out = tmp_path / "out"
    assert main(["meta", *argv, "--out", str(out), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mtdrift: error: ")
    assert re.search(match, err), err
    assert not out.exists()  # nothing written, no model loaded: the pairing is checked first


def test_pair_sets_without_data() -> None:
    with pytest.raises(InputError, match="give at least one --data FILE"):
        pair_sets([("--official", "o.tsv")])


# ------------------------------------------------------------------------------ display names


def test_display_names_drop_the_reference_suffix_only() -> None:
    columns = ["bleu", "BLEU-refA", "COMET-refB", "CometKiwi-src", "XCOMET-XL-refA", "embed_llama-refA"]
    result = display_names(columns, ours=["bleu"])
    expected = {
        "bleu": "bleu",
        "BLEU-refA": "BLEU",
        "COMET-refB": "COMET",
        "CometKiwi-src": "CometKiwi-src",  # reference-free: no suffix to drop
        "XCOMET-XL-refA": "XCOMET-XL",
        "embed_llama-refA": "embed_llama",
    }
    assert result == expected


def test_display_names_keep_both_names_when_shortening_would_merge_two_columns() -> None:
    # two references of one metric in one set stay apart
    assert display_names(["COMET-refA", "COMET-refB", "BLEU-refA"]) == {
        "COMET-refA": "COMET-refA",
        "COMET-refB": "COMET-refB",
        "BLEU-refA": "BLEU",
    }
    assert display_names(["COMET", "COMET-refA"]) == {"COMET": "COMET", "COMET-refA": "COMET-refA"}


# ------------------------------------------------------------------------ loading one data set


def test_load_set_leaves_human_translations_out(tmp_path: Path) -> None:
    data = ted_like(tmp_path)
    loaded = load_set(DataSpec("ted", str(data)))
    assert loaded.human_systems == ("ref-A",) and not loaded.human_kept
    assert loaded.corpus.systems == ("A", "B")
    assert sorted(loaded.table["system"].unique()) == ["A", "B"] and len(loaded.table) == 4
    kept = load_set(DataSpec("ted", str(data)), keep_human=True)
    assert kept.corpus.systems == ("A", "B", "ref-A") and kept.human_kept and len(kept.table) == 6


def test_load_set_drops_human_rows_from_the_official_scores_too(tmp_path: Path) -> None:
    data = ted_like(tmp_path)
    official = tmp_path / "o.tsv"
    lines = ["seg_id\tdoc_id\tsystem\tmqm\tX-refB"]
    lines += [f"{seg}\ttalk.2\t{s}\t-1\t{seg}" for seg in (1, 2) for s in ("A", "B", "ref-A")]
    official.write_text("\n".join(lines) + "\n")
    loaded = load_set(DataSpec("ted", str(data), str(official)))
    assert loaded.official_columns == ("X-refB",)
    assert sorted(loaded.table["system"].unique()) == ["A", "B"]


def test_load_set_rejects_official_scores_of_other_rows(tmp_path: Path) -> None:
    data = ted_like(tmp_path)
    official = tmp_path / "o.tsv"
    official.write_text("seg_id\tdoc_id\tsystem\tmqm\tX\n1\ttalk.2\tA\t-1\t0.5\n")
    with pytest.raises(
        InputError, match=r"o\.tsv: does not hold the rows of .*: 3 data rows not in it"
    ) as err:
        load_set(DataSpec("ted", str(data), str(official)))
    assert "\n" not in str(err.value)


def test_load_set_only_human_translations(tmp_path: Path) -> None:
    rows = [{"doc_id": "d", "seg_id": 0, "system": "ref-A", "is_human": True, "reference": "a",
             "hypothesis": "b", "mqm": 0.0}]  # fmt: skip
    data = write_jsonl(tmp_path / "h.jsonl.gz", rows)
    with pytest.raises(InputError, match=r"every system is a human translation .* give --keep-human"):
        load_set(DataSpec("h", str(data)))


# -------------------------------------------------------------------------------- macro mean


def small_set(name: str, shift: float, columns: dict[str, str]) -> SetTable:
    """3 items x 3 systems; the metric columns are the human score bent by ``shift``."""
    rows = []
    for item in range(3):
        for k, system in enumerate("ABC"):
            human = float(k - item % 2)
            rows.append({"doc_id": "d", "seg_id": item, "system": system, "mqm": human})
    table = pd.DataFrame(rows)
    for column, how in columns.items():
        table[column] = {"up": table["mqm"] + shift * table["seg_id"], "flat": 1.0}[how]
    return SetTable(name=name, table=table, columns=tuple(columns), ours=("ours",))


def test_macro_mean_is_the_mean_of_the_sets() -> None:
    sets = [
        small_set("one", 0.5, {"ours": "up", "COMET-refA": "up"}),
        small_set("two", -3.0, {"ours": "up", "COMET-refB": "up", "Only-refB": "up"}),
    ]
    meta = meta_sets(sets, n_resamples=10)
    macro = meta.macro
    assert list(macro.metrics) == ["ours", "COMET"]
    assert macro.metrics["COMET"].columns == {"one": "COMET-refA", "two": "COMET-refB"}
    for name, metric in macro.metrics.items():
        for figure in MACRO_FIGURES:
            per_set = [getattr(s.result.metrics[metric.columns[s.name]], figure) for s in meta.sets]
            assert getattr(metric, figure) == pytest.approx(sum(per_set) / 2, abs=1e-15), (name, figure)
    # a metric of one set has no mean: named, with its set
    assert macro.subsets == () and macro.one_set_only == {"Only": "two"}
    doc = meta.to_dict()
    assert set(doc) == {"datasets", "macro"}  # no top-level per-set keys with several sets
    assert doc["macro"]["one_set_only"] == {"Only": "two"}
    assert doc["datasets"]["two"]["display_names"] == {"COMET-refB": "COMET", "Only-refB": "Only"}
    assert doc["datasets"]["two"]["metrics"]["COMET-refB"]  # the original column name is kept


def test_macro_mean_over_the_sets_that_share_a_metric() -> None:
    # two sets with official scores and one without, as zh-en, he-en and TED
    sets = [
        small_set("one", 0.5, {"ours": "up", "X-refA": "up"}),
        small_set("two", -3.0, {"ours": "up", "X-refB": "up"}),
        small_set("three", 2.0, {"ours": "up"}),
    ]
    meta = meta_sets(sets, n_resamples=10)
    macro = meta.macro
    assert list(macro.metrics) == ["ours"] and macro.metrics["ours"].columns.keys() == {"one", "two", "three"}
    (group,) = macro.subsets
    # over the two sets with X, every metric they share, ours included: rows that compare
    assert group.datasets == ("one", "two") and list(group.metrics) == ["ours", "X"]
    one, two = (s.result.metrics for s in meta.sets[:2])
    assert group.metrics["ours"].seg_pearson == pytest.approx(
        (one["ours"].seg_pearson + two["ours"].seg_pearson) / 2
    )
    assert group.metrics["X"].sys_kendall == pytest.approx(
        (one["X-refA"].sys_kendall + two["X-refB"].sys_kendall) / 2
    )
    text = sets_md(meta)
    assert "### Over `one` and `two` only" in text and "In one set only" not in text
    doc = meta.to_dict()
    assert doc["macro"]["subsets"][0]["datasets"] == ["one", "two"]
    assert doc["macro"]["subsets"][0]["metrics"]["X"]["columns"] == {"one": "X-refA", "two": "X-refB"}


def test_macro_figure_undefined_in_one_set_is_undefined() -> None:
    sets = [small_set("one", 0.5, {"ours": "up"}), small_set("two", 0.5, {"ours": "flat"})]
    meta = meta_sets(sets, n_resamples=10)
    assert math.isnan(meta.macro.metrics["ours"].seg_pearson)
    assert meta.to_dict()["macro"]["metrics"]["ours"]["seg_pearson"] is None
    json.dumps(meta.to_dict(), allow_nan=False)


def test_meta_sets_rejects_two_sets_with_one_name() -> None:
    s = small_set("one", 0.5, {"ours": "up"})
    with pytest.raises(ValueError, match="data set names must be distinct, got 'one' twice"):
        meta_sets([s, s])


def test_one_set_reports_as_before(tmp_path: Path) -> None:
    s = small_set("one", 0.5, {"ours": "up", "COMET-refA": "up"})
    meta = meta_sets([s], n_resamples=10)
    single = meta.sets[0]
    # meta.md: the one table of before; meta.json: the keys of before first, then datasets, macro
    assert sets_md(meta) == meta_md(single.result, single.ours, single.about.spans)
    doc = meta.to_dict()
    assert list(doc) == [*single.result.to_dict(), "datasets", "macro"]
    assert doc["metrics"] == doc["datasets"]["one"]["metrics"]


def test_report_md_says_which_human_translations_were_left_out(tmp_path: Path) -> None:
    data = ted_like(tmp_path)
    loaded = load_set(DataSpec("ted", str(data)))
    table = loaded.table.assign(ours=loaded.table["mqm"])
    about = Provenance(data=str(data), human_systems=loaded.human_systems)
    s = SetTable("ted", table, ("ours",), ours=("ours",), about=about)
    text = sets_md(meta_sets([s], n_resamples=10))
    assert "Left out: `ref-A`, a human translation scored as a system (`is_human: true`)" in text
    assert "--keep-human keeps it" in text


def test_plot_meta_sets_writes_a_png(tmp_path: Path) -> None:
    from mtdrift.eval.render.figures.meta import plot_meta_sets

    sets = [
        small_set("one", 0.5, {"ours": "up", "COMET-refA": "up"}),
        small_set("two", -3.0, {"ours": "up", "COMET-refB": "up", "Only-refB": "flat"}),
    ]
    path = tmp_path / "meta.png"
    plot_meta_sets(meta_sets(sets, n_resamples=10), ["ours"], path)
    assert path.read_bytes().startswith(b"\x89PNG")


# ---------------------------------------------------- the three dev sets and the README figures


@pytest.fixture(scope="module")
def dev_meta() -> MultiMeta:
    """The three dev sets as `mtdrift meta` reads them (official scores joined, TED's human
    translation left out), scored with mtdrift's sentence BLEU only, the one mtdrift metric that
    needs no model (seconds instead of minutes)."""
    need_dev_sets()
    from mtdrift.metrics.lexical import get_lexical

    bleu = get_lexical("bleu")
    specs = pair_sets(
        [("--data", str(ZHEN)), ("--official", str(ZHEN_OFFICIAL)), ("--data", str(HEEN)),
         ("--official", str(HEEN_OFFICIAL)), ("--data", str(TED))]
    )  # fmt: skip
    tables = []
    for spec in specs:
        loaded = load_set(spec)
        c = loaded.corpus
        scores = pd.DataFrame(
            [
                {"doc_id": doc_id, "seg_id": int(seg_id), "system": system, "bleu": float(score)}
                for system, hyps in c.hyps.items()
                for (doc_id, seg_id), score in zip(
                    c.keys, bleu.sentence_scores(bleu.stats(hyps=list(hyps), refs=list(c.refs))), strict=True
                )
            ]
        )
        tables.append(
            SetTable(
                name=spec.name,
                table=join_scores(loaded.table, scores),
                columns=("bleu", *loaded.official_columns),
                ours=("bleu",),
                about=Provenance(data=spec.data, official=spec.official, human_systems=loaded.human_systems),
            )
        )
    return meta_sets(tables, n_resamples=20)


def test_dev_sets_names_and_sizes(dev_meta: MultiMeta) -> None:
    sizes = {s.name: (s.result.n_rows, s.result.n_items, s.result.n_systems) for s in dev_meta.sets}
    assert sizes == {
        "wmt23_zhen": (8970, 598, 15),
        "wmt23_heen": (4884, 407, 12),
        "wmt21ted_zhen": (3374 - 241, 241, 13),  # ref-A, the human translation, left out
    }
    ted = dev_meta.sets[2]
    assert ted.about.human_systems == ("ref-A",) and "ref-A" not in ted.result.systems
    assert list(ted.result.metrics) == ["bleu"]  # no official scores for TED


@pytest.mark.parametrize("metric", list(ZHEN_README))
def test_dev_sets_reproduce_the_zhen_readme(dev_meta: MultiMeta, metric: str) -> None:
    r = dev_meta.sets[0].result.metrics[metric]
    result = tuple(round_twice(getattr(r, f)) for f in ZHEN_FIGURES)
    assert result == ZHEN_README[metric]


@pytest.mark.parametrize("metric", list(HEEN_README))
def test_dev_sets_reproduce_the_heen_readme(dev_meta: MultiMeta, metric: str) -> None:
    r = dev_meta.sets[1].result.metrics[metric]
    result = tuple(round_once(getattr(r, f)) for f in HEEN_FIGURES)
    assert result == HEEN_README[metric]
    assert r.n_items_used == (382 if metric == "BLEU-refB" else 381 if metric == "XCOMET-XL-refB" else 383)


@pytest.mark.parametrize(("name", "official"), [("wmt23_zhen", "BLEU-refA"), ("wmt23_heen", "BLEU-refB")])
def test_dev_sets_mtdrift_bleu_is_the_official_bleu(dev_meta: MultiMeta, name: str, official: str) -> None:
    s = next(s for s in dev_meta.sets if s.name == name)
    ours, theirs = s.result.metrics["bleu"], s.result.metrics[official]
    for figure in MACRO_FIGURES:
        assert getattr(ours, figure) == pytest.approx(getattr(theirs, figure), abs=1e-9), figure


def test_dev_sets_macro_is_the_mean_over_the_sets(dev_meta: MultiMeta) -> None:
    macro = dev_meta.macro
    assert macro.datasets == ("wmt23_zhen", "wmt23_heen", "wmt21ted_zhen")
    # only mtdrift's bleu is in all three sets: TED has no official scores
    assert list(macro.metrics) == ["bleu"]
    for figure in MACRO_FIGURES:
        per_set = [getattr(s.result.metrics["bleu"], figure) for s in dev_meta.sets]
        assert getattr(macro.metrics["bleu"], figure) == pytest.approx(sum(per_set) / 3, abs=1e-15)
    # over zh-en and he-en, the official metrics line up (refA, refB) beside mtdrift's bleu
    (group,) = macro.subsets
    assert group.datasets == ("wmt23_zhen", "wmt23_heen")
    assert list(group.metrics)[:3] == ["bleu", "BLEU", "chrF"]
    comet = group.metrics["COMET"]
    assert comet.columns == {"wmt23_zhen": "COMET-refA", "wmt23_heen": "COMET-refB"}
    zh, he = (dev_meta.sets[k].result.metrics[c] for k, c in ((0, "COMET-refA"), (1, "COMET-refB")))
    for figure in MACRO_FIGURES:
        expected = (getattr(zh, figure) + getattr(he, figure)) / 2
        assert getattr(comet, figure) == pytest.approx(expected, abs=1e-15), figure
    assert round_once(comet.seg_kendall_by_item) == 0.268  # (0.23348 + 0.30298) / 2
    assert group.metrics["bleu"].sys_pearson == pytest.approx(group.metrics["BLEU"].sys_pearson, abs=1e-12)
    assert macro.one_set_only == {"mre-score-labse-regular": "wmt23_zhen", "embed_llama": "wmt23_zhen"}


def test_dev_sets_reports(dev_meta: MultiMeta, tmp_path: Path) -> None:
    text = sets_md(dev_meta)
    assert text.startswith("# mtdrift meta-evaluation: 3 data sets\n")
    for heading in ("## wmt23_zhen", "## wmt23_heen", "## wmt21ted_zhen", "## Macro mean over 3 data sets"):
        assert f"\n{heading}\n" in text
    assert text.index("## wmt21ted_zhen") < text.index("Left out: `ref-A`") < text.index("## Macro mean")
    assert "| COMET-refA | 0.233 |" in text and "| COMET-refB | 0.303 |" in text
    assert "### Over `wmt23_zhen` and `wmt23_heen` only" in text and "| COMET | 0.268 |" in text
    assert "In one set only, so in no mean (see that set's table): `mre-score-labse-regular`" in text
    doc = dev_meta.to_dict()
    json.dumps(doc, allow_nan=False)
    assert list(doc["datasets"]) == ["wmt23_zhen", "wmt23_heen", "wmt21ted_zhen"]
    ted = doc["datasets"]["wmt21ted_zhen"]
    assert ted["human_systems"] == ["ref-A"] and ted["human_systems_kept"] is False
    assert ted["official"] is None and ted["n_systems"] == 13
    assert doc["macro"]["metrics"]["bleu"]["n_datasets"] == 3
    from mtdrift.eval.render.figures.meta import plot_meta_sets

    plot_meta_sets(dev_meta, ["bleu"], tmp_path / "meta.png")
    assert (tmp_path / "meta.png").stat().st_size > 10_000


# ------------------------------------------------------------------- the command, end to end


@pytest.mark.model
def test_cli_meta_over_three_sets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    need_dev_sets()
    zh, zh_off = head_of_set(tmp_path, ZHEN, ZHEN_OFFICIAL, 4)
    he, he_off = head_of_set(tmp_path, HEEN, HEEN_OFFICIAL, 4)
    ted, _ = head_of_set(tmp_path, TED, None, 4)
    assert zh_off is not None and he_off is not None
    out = tmp_path / "meta"
    argv = ["meta", "--data", str(zh), "--official", str(zh_off), "--data", str(he),
            "--official", str(he_off), "--data", str(ted), "--name", "ted", "--out", str(out),
            "--resamples", "20"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert (out / "meta.md").read_text() + f"wrote {out}/: meta.json meta.md meta.png\n" == printed
    assert "## Macro mean over 3 data sets" in printed and "| **fidelity** |" in printed
    doc = json.loads((out / "meta.json").read_text())
    assert list(doc["datasets"]) == ["wmt23_zhen", "wmt23_heen", "ted"]
    assert doc["datasets"]["ted"]["n_systems"] == 13 and doc["datasets"]["ted"]["human_systems"] == ["ref-A"]
    ours = ["bleu", "chrf", "chrfpp", "ter", "semantic", "tokenmatch", "fidelity"]
    assert list(doc["macro"]["metrics"]) == ours
    over_two = doc["macro"]["subsets"][0]
    assert over_two["datasets"] == ["wmt23_zhen", "wmt23_heen"]
    assert list(over_two["metrics"])[:8] == [*ours, "BLEU"]  # mtdrift's beside the official ones
    assert over_two["metrics"]["COMET"]["columns"] == {"wmt23_zhen": "COMET-refA", "wmt23_heen": "COMET-refB"}
    for name in doc["datasets"]:
        assert doc["datasets"][name]["signatures"]["fidelity"].startswith("drift|")
    assert set(doc["datasets"]["wmt23_zhen"]["spans"]) == {"all", "major"}
    assert "spans" not in doc["datasets"]["wmt23_heen"]  # he-en carries no error spans
    assert (out / "meta.png").read_bytes().startswith(b"\x89PNG")
