"""The MQM dev sets as the tests use them: the figures of ``../shared/data/mqm/README.md``
with the rounding each of its tables used, and small JSONL sets written for a test."""

from __future__ import annotations

import gzip
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from mtdrift.eval.meta.sets import read_official
from tests.support.files import write_jsonl
from tests.support.paths import MQM_DIR


def round_twice(x: float) -> float:
    """How the README's zh-en table was rounded: to 4 decimals, then to 3, halves up (0.16947 ->
    0.1695 -> 0.170; rounding once gives 0.169; see the ``eval.meta.agreement`` docstring)."""
    four = Decimal(repr(x)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return float(four.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def round_once(x: float) -> float:
    """How the README's he-en and en-de tables were rounded: to 3 decimals, halves up. Rounding
    twice would give 0.895 for BLEU's sys Pearson 0.89446 (README 0.894) and 0.849 for chrF's
    pairwise accuracy 56/66 = 0.84848 (README 0.848)."""
    return float(Decimal(repr(x)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


# zh-en README table: seg Pearson, seg tau, seg tau by item, sys Pearson, sys pairwise accuracy
ZHEN_README = {
    "BLEU-refA": (0.106, 0.091, 0.145, 0.707, 0.771),
    "chrF-refA": (0.040, 0.039, 0.170, 0.798, 0.743),
    "BERTscore-refA": (0.241, 0.186, 0.203, 0.788, 0.800),
    "COMET-refA": (0.407, 0.355, 0.234, 0.878, 0.829),
    "BLEURT-20-refA": (0.401, 0.330, 0.253, 0.863, 0.800),
    "MetricX-23-refA": (0.650, 0.484, 0.283, 0.865, 0.857),
    "XCOMET-XL-refA": (0.647, 0.486, 0.286, 0.858, 0.848),
}
ZHEN_FIGURES = ("seg_pearson", "seg_kendall", "seg_kendall_by_item", "sys_pearson", "sys_accuracy")
# he-en README table: seg tau by item, seg tau, sys Pearson, sys pairwise accuracy (BLEU and chrF
# are the rows "mtdrift `bleu` = BLEU-refB" and "mtdrift `chrf` = chrF-refB")
HEEN_README = {
    "BLEU-refB": (0.197, 0.177, 0.894, 0.894),
    "chrF-refB": (0.214, 0.191, 0.892, 0.848),
    "BERTscore-refB": (0.295, 0.286, 0.957, 0.939),
    "COMET-refB": (0.303, 0.348, 0.955, 0.924),
    "BLEURT-20-refB": (0.280, 0.339, 0.952, 0.909),
    "YiSi-1-refB": (0.321, 0.316, 0.970, 0.909),
    "prismRef-refB": (0.308, 0.303, 0.967, 0.909),
    "MetricX-23-refB": (0.301, 0.393, 0.903, 0.924),
    "XCOMET-XL-refB": (0.293, 0.384, 0.940, 0.909),
}
HEEN_FIGURES = ("seg_kendall_by_item", "seg_kendall", "sys_pearson", "sys_accuracy")


def ted_like(tmp_path: Path) -> Path:
    """2 segments x 3 systems; `ref-A` is a human translation, as in TED."""
    rows = []
    for seg in (1, 2):
        for system, mqm in (("A", -1.0 * seg), ("B", -2.0), ("ref-A", -9.0)):
            rows.append(
                {"doc_id": "talk.2", "seg_id": seg, "system": system, "is_human": system == "ref-A",
                 "reference": f"the reference {seg}", "hypothesis": f"{system} says {seg}", "mqm": mqm}
            )  # fmt: skip
    return write_jsonl(tmp_path / "ted_mqm.dev.jsonl.gz", rows)


def head_of_set(
    tmp_path: Path, data: Path, official: Path | None, n_segments: int
) -> tuple[Path, Path | None]:
    """The first ``n_segments`` segments of a data set (and of its official scores)."""
    with gzip.open(data, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    keep = sorted({r["seg_id"] for r in rows})[:n_segments]
    sub = write_jsonl(tmp_path / data.name, [r for r in rows if r["seg_id"] in keep])
    if official is None:
        return sub, None
    table = read_official(official)
    sub_official = tmp_path / official.name.removesuffix(".gz")
    table[table["seg_id"].isin(keep)].to_csv(sub_official, sep="\t", index=False)
    return sub, sub_official


def dev_rows(name: str) -> list[dict[str, object]]:
    path = MQM_DIR / name
    if not path.is_file():
        pytest.skip(f"{path} is absent: ../shared/data/mqm is needed for this test")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def zh_pair(n: int = 200) -> tuple[list[str], list[str]]:
    """The issue's Chinese pair: the first ``n`` distinct WMT23 zh-en sources, and a copy with
    one character in eight deleted."""
    src = list(
        dict.fromkeys(str(r["source"]).replace("\n", " ") for r in dev_rows("wmt23_zhen_mqm.dev.jsonl.gz"))
    )
    refs = src[:n]
    hyps = ["".join(c for i, c in enumerate(s) if i % 8 != 7) for s in refs]
    return refs, hyps


def de_pair() -> tuple[list[str], list[str]]:
    """WMT23 en-de dev: the references and ONLINE-A's outputs (paragraphs), byte-order marks dropped."""
    rows = [r for r in dev_rows("wmt23_ende_mqm.dev.jsonl.gz") if r["system"] == "ONLINE-A"]
    return [str(r["reference"]) for r in rows], [str(r["hypothesis"]).lstrip("\ufeff") for r in rows]
