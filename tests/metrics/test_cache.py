"""The persistent cache never changes a score, survives damage, and can be shared."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from mtdrift.eval.config import Document
from mtdrift.eval.pipeline import evaluate
from mtdrift.eval.render.tables import segments_csv, summary_json
from mtdrift.metrics.cache import FILE_NAME, Cache, CachedEncoder, cached_rows
from mtdrift.metrics.encoders import Encoder
from mtdrift.metrics.facts.checker import FactChecker
from tests.support.fakes import FakeEncoder
from tests.support.paths import HYP, REF, ROOT


def _evaluate(encoder: Encoder, checker: FactChecker, cache: Cache | None) -> tuple[str, str]:
    ref = Document(str(REF), REF.read_text(encoding="utf-8"))
    hyp = Document(str(HYP), HYP.read_text(encoding="utf-8"))
    ev = evaluate(ref, [("roundtrip", hyp)], encoder=encoder, checker=checker, cache=cache)
    return segments_csv(ev), summary_json(ev)


def test_cache_never_changes_a_score(tmp_path: Path, fake_encoder: FakeEncoder, checker: FactChecker) -> None:

    plain = _evaluate(fake_encoder, checker, None)
    cache = Cache(tmp_path)
    cold_encoder = CachedEncoder(fake_encoder, cache)
    cold = _evaluate(cold_encoder, FactChecker(nlp=checker.nlp, cache=cache), cache)
    warm_encoder = CachedEncoder(fake_encoder, cache)
    warm = _evaluate(warm_encoder, FactChecker(nlp=checker.nlp, cache=cache), cache)
    assert plain == cold == warm
    assert cold_encoder.misses > 50 and cold_encoder.hits == 0
    assert warm_encoder.misses == 0 and warm_encoder.hits == cold_encoder.misses


def test_findings_are_cached_so_a_warm_run_neither_parses_nor_checks(
    tmp_path: Path, checker: FactChecker
) -> None:

    pairs = [
        ("The Harir Air Base is in Erbil.", "The Khalil Air Base is in Erbil."),  # a changed name
        ("Five people were hurt in 2007.", "5 people were hurt."),  # a lost number
        ("She did not sign.", "She signed."),  # a negation flip
        ("Nothing changed here.", "Nothing changed here."),  # no finding
    ]
    cache = Cache(tmp_path)
    cold = FactChecker(nlp=checker.nlp, cache=cache).check_pairs(pairs)

    class Unused:
        meta = cast(Any, checker.nlp).meta  # the same model, so the same signature

        def __call__(self, text: str) -> None:
            raise AssertionError("a cached pair was parsed again")

    warm_checker = FactChecker(nlp=Unused(), cache=cache)
    warm_checker._check_pairs = None  # type: ignore[method-assign,assignment]
    result = warm_checker.check_pairs(pairs)
    assert result == cold == checker.check_pairs(pairs)
    assert [[f.kind for f in found] for found in result] == [["entity"], ["number"], ["negation"], []]


def test_a_garbage_cache_file_is_rebuilt_with_a_warning(
    tmp_path: Path, fake_encoder: FakeEncoder, checker: FactChecker, caplog: pytest.LogCaptureFixture
) -> None:
    plain = _evaluate(fake_encoder, checker, None)
    (tmp_path / FILE_NAME).write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.WARNING, logger="mtdrift.cache"):
        cache = Cache(tmp_path)
        assert _evaluate(CachedEncoder(fake_encoder, cache), checker, cache) == plain
    assert any("moving it aside and rebuilding it" in r.getMessage() for r in caplog.records)
    assert list(tmp_path.glob(FILE_NAME + ".corrupt-*"))
    again = CachedEncoder(fake_encoder, Cache(tmp_path))
    assert _evaluate(again, checker, again.cache) == plain and again.misses == 0


def _filled(path: Path, encoder: FakeEncoder, checker: FactChecker) -> tuple[str, str]:
    """An evaluation without a cache, after filling a cache at ``path`` with the same one."""
    plain = _evaluate(encoder, checker, None)
    cache = Cache(path)
    _evaluate(CachedEncoder(encoder, cache), checker, cache)
    cache.close()
    return plain


def test_a_damaged_entry_is_recomputed_never_read_as_numbers(
    tmp_path: Path, fake_encoder: FakeEncoder, checker: FactChecker, caplog: pytest.LogCaptureFixture
) -> None:
    plain = _filled(tmp_path, fake_encoder, checker)
    db = sqlite3.connect(tmp_path / FILE_NAME)
    n = db.execute("SELECT count(*) FROM entries").fetchone()[0]
    # zero the last bytes of every tenth value, keep the stored checksum: a bit-rotted write
    rows = db.execute("SELECT rowid, value FROM entries WHERE rowid % 10 = 0").fetchall()
    db.executemany(
        "UPDATE entries SET value = ? WHERE rowid = ?", [(bytes(v[:-8]) + bytes(8), r) for r, v in rows]
    )
    db.commit()
    db.close()
    with caplog.at_level(logging.WARNING, logger="mtdrift.cache"):
        cache = Cache(tmp_path)
        encoder = CachedEncoder(fake_encoder, cache)
        assert _evaluate(encoder, checker, cache) == plain
    assert any("failed the checksum; recomputing them" in r.getMessage() for r in caplog.records)
    assert 0 < encoder.misses < n


def test_a_truncated_cache_file_is_rebuilt(
    tmp_path: Path, fake_encoder: FakeEncoder, checker: FactChecker, caplog: pytest.LogCaptureFixture
) -> None:
    plain = _filled(tmp_path, fake_encoder, checker)
    path = tmp_path / FILE_NAME
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with caplog.at_level(logging.WARNING, logger="mtdrift.cache"):
        cache = Cache(tmp_path)
        assert _evaluate(CachedEncoder(fake_encoder, cache), checker, cache) == plain
    assert any("rebuilding" in r.getMessage() or "checksum" in r.getMessage() for r in caplog.records)


_WRITER = """
import sys
import numpy as np
sys.path.insert(0, {root!r})
from mtdrift.metrics.cache import Cache, cached_rows
cache = Cache({directory!r})
keys = [f"pair {{k}}" for k in range(3000)]
for rnd in range(3):
    rows = cached_rows(cache, "test", keys, lambda ks: [[len(k), float(k.split()[1])] for k in ks], 2)
    assert rows[:, 1].tolist() == list(range(3000)), "wrong rows"
print("ok")
"""


def test_two_runs_can_share_a_cache(tmp_path: Path) -> None:
    script = _WRITER.format(root=str(ROOT), directory=str(tmp_path))
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
        assert out.decode().strip() == "ok"
    rows = cached_rows(Cache(tmp_path), "test", ["pair 7"], lambda ks: pytest.fail("should be cached"), 2)
    assert np.array_equal(rows, [[6.0, 7.0]])


def test_namespaces_keep_models_apart(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    a = cached_rows(cache, "model-a", ["x"], lambda ks: [[1.0]], 1)
    b = cached_rows(cache, "model-b", ["x"], lambda ks: [[2.0]], 1)
    assert a.tolist() == [[1.0]] and b.tolist() == [[2.0]]


@pytest.mark.model
def test_cli_outputs_identical_with_and_without_cache(tmp_path: Path) -> None:
    from mtdrift.eval.cli import main

    base = ["evaluate", "--ref", str(REF), "--hyp", str(HYP), "--name", "roundtrip", "--quiet", "--no-plots"]
    assert main([*base, "--out", str(tmp_path / "plain"), "--no-cache"]) == 0
    assert main([*base, "--out", str(tmp_path / "cold"), "--cache", str(tmp_path / "c")]) == 0
    assert main([*base, "--out", str(tmp_path / "warm"), "--cache", str(tmp_path / "c")]) == 0
    for name in ("segments.csv", "summary.json", "compare.json"):
        plain = (tmp_path / "plain" / name).read_bytes()
        assert (tmp_path / "cold" / name).read_bytes() == plain
        assert (tmp_path / "warm" / name).read_bytes() == plain
