"""Where the tests find their inputs: the repository, the seed pair, the dev corpora of
``../shared/data`` (skipped with a message when absent) and the small files of ``tests/data``."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
DATA = TESTS / "data"  # small files written for the tests
PLUGIN_SRC = TESTS / "plugin"  # the real plug-in the registry tests install
BASELINE = ROOT / "reports" / "baseline.json"  # the committed seed summary `make check` reads

SEEDS = ROOT / "seeds"
REF = SEEDS / "reference_cnn_003_ef437a482faa74df.txt"
HYP = SEEDS / "candidate_roundtrip_000_7002d340e3ea555d.txt"

SHARED = ROOT.parent / "shared"
MQM_DIR = SHARED / "data" / "mqm"
ZHEN = MQM_DIR / "wmt23_zhen_mqm.dev.jsonl.gz"
ZHEN_OFFICIAL = MQM_DIR / "wmt23_zhen_official_metric_seg_scores.dev.tsv.gz"
HEEN = MQM_DIR / "wmt23_heen_mqm.dev.jsonl.gz"
HEEN_OFFICIAL = MQM_DIR / "wmt23_heen_official_metric_seg_scores.dev.tsv.gz"
ENDE = MQM_DIR / "wmt23_ende_mqm.dev.jsonl.gz"
ENDE_OFFICIAL = MQM_DIR / "wmt23_ende_official_metric_seg_scores.dev.tsv.gz"
TED = MQM_DIR / "wmt21ted_zhen_mqm.dev.jsonl.gz"
MQM = ZHEN  # the dev set most tests read
DEV_SETS = (ZHEN, ZHEN_OFFICIAL, HEEN, HEEN_OFFICIAL, TED)  # what `mtdrift meta`'s README figures need


def need(*paths: Path) -> None:
    """Skip the calling test, naming what is missing, unless every path is a file."""
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"{MQM_DIR} lacks {', '.join(missing)}: ../shared/data/mqm is needed for this test")


def need_mqm() -> Path:
    """The WMT23 zh-en dev set, or a skip when ``../shared/data/mqm`` is absent."""
    if not MQM.is_file():
        pytest.skip(f"{MQM} is absent: ../shared/data/mqm is needed for this test")
    return MQM


def need_dev_sets() -> None:
    """Skip unless the three dev sets of the meta-evaluation README are there."""
    need(*DEV_SETS)
