"""Meta-evaluation (``eval.meta.agreement``): hand-computed cases, the bootstrap, reading, and the
README figures of ``../shared/data/mqm`` reproduced from the official TSV."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mtdrift.eval.errors import InputError
from mtdrift.eval.meta.agreement import (
    Interval,
    _Bootstrap,
    _draws,
    bootstrap_ci,
    kendall_by_item,
    pairwise_accuracy,
    seg_kendall,
    seg_pearson,
    sys_accuracy,
    sys_kendall,
    sys_pearson,
    system_means,
)
from mtdrift.eval.meta.evaluation import MetaResult, meta_evaluate
from mtdrift.eval.meta.sets import join_scores, metric_columns, read_official
from tests.support.mqm import round_twice
from tests.support.paths import ZHEN_OFFICIAL

OFFICIAL = ZHEN_OFFICIAL

# README table: seg Pearson, seg tau, seg tau by item, sys Pearson, sys pairwise accuracy
README = {
    "BLEU-refA": (0.106, 0.091, 0.145, 0.707, 0.771),
    "chrF-refA": (0.040, 0.039, 0.170, 0.798, 0.743),
    "BERTscore-refA": (0.241, 0.186, 0.203, 0.788, 0.800),
    "COMET-refA": (0.407, 0.355, 0.234, 0.878, 0.829),
}


def small_table() -> pd.DataFrame:
    """4 items x 3 systems, hand-made: item 1 agrees, item 2 is reversed, item 3 has constant
    human scores, item 4 constant metric scores."""
    rows = [
        ("d", 1, "A", 1.0, 1.0),
        ("d", 1, "B", 2.0, 2.0),
        ("d", 1, "C", 3.0, 3.0),
        ("d", 2, "A", 1.0, 3.0),
        ("d", 2, "B", 2.0, 2.0),
        ("d", 2, "C", 3.0, 1.0),
        ("d", 3, "A", 0.0, 1.0),
        ("d", 3, "B", 0.0, 2.0),
        ("d", 3, "C", 0.0, 3.0),
        ("e", 3, "A", -1.0, 5.0),
        ("e", 3, "B", -2.0, 5.0),
        ("e", 3, "C", -3.0, 5.0),
    ]
    return pd.DataFrame(rows, columns=["doc_id", "seg_id", "system", "mqm", "metric"])


# --------------------------------------------------------------------------------- by item


def test_by_item_skips_constant_items() -> None:
    t = small_table()
    mean, used, skipped = kendall_by_item(t.mqm, t.metric, t.doc_id + "/" + t.seg_id.astype(str))
    # item 1: tau 1, item 2: tau -1, items 3 (human constant) and 4 (metric constant) skipped
    assert (mean, used, skipped) == (0.0, 2, 2)


def test_by_item_single_row_item_is_skipped() -> None:
    mean, used, skipped = kendall_by_item([1, 2, 5], [1, 2, 0], ["a", "a", "b"])
    assert (mean, used, skipped) == (1.0, 1, 1)


def test_by_item_no_usable_item_is_nan() -> None:
    mean, used, skipped = kendall_by_item([1, 1], [1, 2], ["a", "a"])
    assert math.isnan(mean) and (used, skipped) == (0, 1)


def test_by_item_ties_are_tau_b() -> None:
    # pairs: (0,1) tied in human only; (0,2) and (1,2) concordant:
    # tau-b = (C - D) / sqrt(n_h * n_m) = 2 / sqrt(2 * 3)
    mean, used, _ = kendall_by_item([1, 1, 2], [1, 2, 3], [7, 7, 7])
    assert used == 1
    assert mean == pytest.approx(2 / math.sqrt(6))
    assert mean == pytest.approx(stats.kendalltau([1, 1, 2], [1, 2, 3]).statistic)


def test_by_item_matches_scipy_with_uneven_items_and_ties() -> None:
    rng = np.random.default_rng(3)
    items = rng.integers(0, 40, 400)
    h = rng.integers(-5, 1, 400).astype(float)  # many ties, like MQM
    m = np.round(h + rng.normal(0, 2, 400), 0)
    expected = []
    for it in np.unique(items):
        x, y = h[items == it], m[items == it]
        if len(set(x)) > 1 and len(set(y)) > 1:
            expected.append(stats.kendalltau(x, y).statistic)
    mean, used, skipped = kendall_by_item(h, m, items)
    assert used == len(expected) and used + skipped == 40
    assert mean == pytest.approx(np.mean(expected), abs=1e-12)


def test_bad_arrays_name_what_was_expected() -> None:
    with pytest.raises(ValueError, match=r"equal length, got human \(3,\) and metric \(2,\)"):
        seg_pearson([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match=r"metric scores hold 1 NaN"):
        seg_kendall([1, 2, 3], [1, math.nan, 2])
    with pytest.raises(ValueError, match=r"items as a 1-D array of 3 labels"):
        kendall_by_item([1, 2, 3], [1, 2, 3], ["a", "b"])


# --------------------------------------------------------------------- pooled and systems


def test_perfect_and_reversed_agreement() -> None:
    h = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    items = [1, 1, 1, 2, 2, 2]
    systems = ["A", "B", "C", "A", "B", "C"]
    up, down = 2 * h + 1, -h
    assert kendall_by_item(h, up, items).mean_tau == 1.0
    assert kendall_by_item(h, down, items).mean_tau == -1.0
    assert seg_kendall(h, up) == pytest.approx(1.0) and seg_kendall(h, down) == pytest.approx(-1.0)
    assert seg_pearson(h, up) == pytest.approx(1.0) and seg_pearson(h, down) == pytest.approx(-1.0)
    assert sys_pearson(h, up, systems) == pytest.approx(1.0)
    assert sys_pearson(h, down, systems) == pytest.approx(-1.0)
    assert sys_kendall(h, up, systems) == pytest.approx(1.0)
    assert sys_kendall(h, down, systems) == pytest.approx(-1.0)
    assert sys_accuracy(h, up, systems) == 1.0
    assert sys_accuracy(h, down, systems) == 0.0


def test_constant_side_gives_nan() -> None:
    assert math.isnan(seg_pearson([1, 1, 1], [1, 2, 3]))
    assert math.isnan(seg_kendall([1, 2, 3], [4, 4, 4]))
    assert math.isnan(sys_pearson([1, 2], [3, 3], ["A", "B"]))


def test_system_means_in_order_of_appearance() -> None:
    names, hm, mm = system_means([1, 2, 3, 5], [0, 0, 4, 4], ["B", "A", "B", "A"])
    assert names == ["B", "A"]
    assert hm.tolist() == [2.0, 3.5] and mm.tolist() == [2.0, 2.0]


def test_pairwise_accuracy_ties() -> None:
    # a pair tied on both sides agrees
    assert pairwise_accuracy([1, 1, 2], [5, 5, 9]) == 1.0
    # tied in human only, or in metric only: disagreement; the pair stays in the denominator
    assert pairwise_accuracy([1, 1, 2], [5, 6, 9]) == pytest.approx(2 / 3)
    assert pairwise_accuracy([1, 2, 3], [5, 5, 9]) == pytest.approx(2 / 3)
    # one discordant pair out of three
    assert pairwise_accuracy([1, 2, 3], [1, 3, 2]) == pytest.approx(2 / 3)
    assert math.isnan(pairwise_accuracy([1], [1]))


# ----------------------------------------------------------------------------- bootstrap


def noisy(n_items: int = 60, n_sys: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    items = np.repeat(np.arange(n_items), n_sys)
    h = -rng.poisson(2.0, n_items * n_sys).astype(float)
    m = h + rng.normal(0, 2.0, len(h))
    return h, m, items


def test_bootstrap_vectorised_equals_naive_resamples() -> None:
    h, m, items = noisy()
    draws = _draws(60, 25, 7)
    boot = _Bootstrap(items.astype(np.intp), 60, draws)
    _, by_item = boot.by_item(h, m)
    pearson = boot.pearson(h, m)
    kendall = boot.kendall(h, m)
    for b, drawn in enumerate(draws):
        rows = np.concatenate([np.flatnonzero(items == i) for i in drawn])
        assert pearson[b] == pytest.approx(stats.pearsonr(h[rows], m[rows])[0], abs=1e-10)
        assert kendall[b] == pytest.approx(stats.kendalltau(h[rows], m[rows]).statistic, abs=1e-12)
        # by item: the mean over the drawn items (with repeats) of their taus, unusable ones left out
        taus = [
            stats.kendalltau(h[items == i], m[items == i]).statistic
            for i in drawn
            if len(set(h[items == i])) > 1 and len(set(m[items == i])) > 1
        ]
        assert by_item[b] == pytest.approx(np.mean(taus), abs=1e-12)


@pytest.mark.parametrize("figure", ["seg_kendall_by_item", "seg_kendall", "seg_pearson"])
def test_ci_contains_estimate_and_is_seeded(figure: str) -> None:
    h, m, items = noisy()
    point = {
        "seg_kendall_by_item": kendall_by_item(h, m, items).mean_tau,
        "seg_kendall": seg_kendall(h, m),
        "seg_pearson": seg_pearson(h, m),
    }[figure]
    ci = bootstrap_ci(h, m, items, figure, n_resamples=300)
    assert isinstance(ci, Interval)
    assert ci.low < point < ci.high
    assert bootstrap_ci(h, m, items, figure, n_resamples=300) == ci  # same seed, same interval
    assert bootstrap_ci(h, m, items, figure, n_resamples=300, seed=1) != ci


def test_bootstrap_rejects_bad_arguments() -> None:
    h, m, items = noisy(5, 3)
    with pytest.raises(ValueError, match="figure must be one of"):
        bootstrap_ci(h, m, items, "sys_pearson")
    with pytest.raises(ValueError, match="n_resamples must be positive, got 0"):
        bootstrap_ci(h, m, items, "seg_pearson", n_resamples=0)
    with pytest.raises(ValueError, match="level must be strictly between 0 and 1"):
        bootstrap_ci(h, m, items, "seg_pearson", level=95)


# ------------------------------------------------------------------------- meta_evaluate


def test_meta_evaluate_small_table_and_json_layout() -> None:
    t = small_table()
    result = meta_evaluate(t, ["metric"], n_resamples=50)
    assert isinstance(result, MetaResult)
    assert (result.n_rows, result.n_items, result.n_systems) == (12, 4, 3)
    mm = result.metrics["metric"]
    assert (mm.seg_kendall_by_item, mm.n_items_used, mm.n_items_skipped) == (0.0, 2, 2)
    d = result.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["bootstrap"] == {"n_resamples": 50, "seed": 12345, "level": 0.95}
    assert set(d["metrics"]["metric"]) == {
        "seg_kendall_by_item",
        "seg_kendall_by_item_ci",
        "seg_kendall",
        "seg_kendall_ci",
        "seg_pearson",
        "seg_pearson_ci",
        "sys_pearson",
        "sys_kendall",
        "sys_accuracy",
        "n_items_used",
        "n_items_skipped",
    }
    assert d["metrics"]["metric"]["seg_kendall_by_item"] == 0.0
    assert len(d["metrics"]["metric"]["seg_pearson_ci"]) == 2


def test_meta_evaluate_undefined_figures_are_null_in_json() -> None:
    t = small_table().assign(flat=1.0)
    d = meta_evaluate(t, ["flat"], n_resamples=20).to_dict()["metrics"]["flat"]
    assert d["seg_pearson"] is None and d["seg_kendall_by_item"] is None
    assert d["seg_pearson_ci"] == [None, None]
    assert d["n_items_skipped"] == 4


def test_meta_evaluate_names_missing_and_bad_columns() -> None:
    t = small_table()
    with pytest.raises(ValueError, match=r"table lacks column\(s\) nope"):
        meta_evaluate(t, ["nope"])
    with pytest.raises(ValueError, match="column 'metric' has 1 missing"):
        meta_evaluate(t.assign(metric=[math.nan, *t.metric[1:]]), ["metric"])
    with pytest.raises(ValueError, match="sequence of column names, got the string"):
        meta_evaluate(t, "metric")


# ------------------------------------------------------------------------ reading/joining


def write_tsv(path: Path, text: str) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(text)
    return path


HEADER = "seg_id\tdoc_id\tsystem\tmqm\tBLEU-refA\n"


def test_read_official_types(tmp_path: Path) -> None:
    p = write_tsv(tmp_path / "s.tsv.gz", HEADER + "0\td1\tA\t-1.0\t10.5\n0\td1\tB\t-0.0\t3\n")
    t = read_official(p)
    assert t["seg_id"].dtype == np.int64 and t["mqm"].dtype == np.float64
    assert t["BLEU-refA"].tolist() == [10.5, 3.0]
    assert metric_columns(t) == ["BLEU-refA"]


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("seg_id\tdoc_id\tmqm\n0\td\t1\n", r"missing column\(s\) system"),
        (HEADER, r"has a header but no rows"),
        (HEADER + "x\td\tA\t-1\t2\n", r"seg_id must be an integer, got 'x' on data row 1"),
        (HEADER + "0\td\tA\t-1\tabc\n", r"column 'BLEU-refA' must hold numbers, got 'abc'"),
        (HEADER + "0\td\tA\t\t2\n", r"mqm is missing on 1 row"),
        (HEADER + "0\td\tA\t-1\t2\n0\td\tA\t-2\t3\n", r"1 duplicated row key"),
    ],
)
def test_read_official_bad_content(tmp_path: Path, body: str, match: str) -> None:
    p = write_tsv(tmp_path / "s.tsv.gz", body)
    with pytest.raises(InputError, match=rf"^{tmp_path}/s\.tsv\.gz: {match}") as err:
        read_official(p)
    assert "\n" not in str(err.value)


def test_read_official_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_official(tmp_path / "absent.tsv.gz")
    (tmp_path / "plain.tsv.gz").write_text(HEADER)
    with pytest.raises(InputError, match=r"plain\.tsv\.gz: cannot be read as gzip"):
        read_official(tmp_path / "plain.tsv.gz")
    (tmp_path / "empty.tsv").write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.tsv: the file is empty"):
        read_official(tmp_path / "empty.tsv")


def test_join_scores(tmp_path: Path) -> None:
    official = read_official(write_tsv(tmp_path / "s.tsv.gz", HEADER + "0\td\tA\t-1\t2\n0\td\tB\t-2\t3\n"))
    scores = pd.DataFrame(
        {"doc_id": ["d", "d"], "seg_id": ["0", "0"], "system": ["B", "A"], "ours": [0.2, 0.9]}
    )
    joined = join_scores(official, scores, source="ours.jsonl")
    assert joined["system"].tolist() == ["A", "B"] and joined["ours"].tolist() == [0.9, 0.2]
    with pytest.raises(
        InputError, match=r"^ours\.jsonl: rows do not match .* 1 official rows without a score"
    ):
        join_scores(official, scores.iloc[:1], source="ours.jsonl")
    with pytest.raises(InputError, match=r"^ours\.jsonl: score column\(s\) BLEU-refA already"):
        join_scores(official, scores.rename(columns={"ours": "BLEU-refA"}), source="ours.jsonl")
    with pytest.raises(InputError, match=r"^ours\.jsonl: missing key column\(s\) system"):
        join_scores(official, scores.drop(columns="system"), source="ours.jsonl")


# ------------------------------------------------------------------- the README's figures


@pytest.fixture(scope="module")
def official() -> pd.DataFrame:
    if not OFFICIAL.is_file():
        pytest.skip(f"{OFFICIAL} is absent: ../shared/data/mqm is needed to check the README's figures")
    return read_official(OFFICIAL)


def test_official_table_shape(official: pd.DataFrame) -> None:
    assert len(official) == 8970
    assert official.groupby(["doc_id", "seg_id"]).ngroups == 598
    assert official["system"].nunique() == 15


@pytest.mark.parametrize("metric", list(README))
def test_readme_figures_reproduce(official: pd.DataFrame, metric: str) -> None:
    h, m = official["mqm"], official[metric]
    items, systems = official["seg_id"], official["system"]
    got = (
        seg_pearson(h, m),
        seg_kendall(h, m),
        kendall_by_item(h, m, items).mean_tau,
        sys_pearson(h, m, systems),
        sys_accuracy(h, m, systems),
    )
    assert tuple(round_twice(x) for x in got) == README[metric]
    # rounding twice moves a value by at most 0.00055 (0.16947 is 0.00053 below 0.170)
    assert all(abs(g - r) <= 0.00055 + 1e-12 for g, r in zip(got, README[metric], strict=True))


def test_readme_skipped_items_and_meta_evaluate(official: pd.DataFrame) -> None:
    result = meta_evaluate(official, list(README), n_resamples=100)
    for metric, (pearson, tau, by_item, sys_r, acc) in README.items():
        r = result.metrics[metric]
        assert tuple(
            round_twice(x)
            for x in (r.seg_pearson, r.seg_kendall, r.seg_kendall_by_item, r.sys_pearson, r.sys_accuracy)
        ) == (pearson, tau, by_item, sys_r, acc)
        assert r.seg_kendall_by_item_ci.low < r.seg_kendall_by_item < r.seg_kendall_by_item_ci.high
        assert r.seg_pearson_ci.low < r.seg_pearson < r.seg_pearson_ci.high
    # 4 segments have the same MQM for every system; sentence BLEU is also constant (0) on 5 more
    assert result.metrics["BLEU-refA"].n_items_skipped == 9
    assert result.metrics["COMET-refA"].n_items_skipped == 4


def test_by_item_large_items_take_the_scipy_path() -> None:
    rng = np.random.default_rng(5)
    items = np.repeat([0, 1, 2], [300, 4, 1])
    h = rng.integers(0, 5, len(items)).astype(float)
    m = h + rng.normal(0, 1, len(items))
    expected = np.mean(
        [stats.kendalltau(h[:300], m[:300]).statistic, stats.kendalltau(h[300:304], m[300:304]).statistic]
    )
    assert kendall_by_item(h, m, items) == pytest.approx((expected, 2, 1))
