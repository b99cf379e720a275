"""Progress on long work: shown on a terminal, never in a pipe or with ``--quiet``."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mtdrift.metrics.facts.checker import FactChecker
from tests.support.fakes import FakeEncoder, token_vectors
from tests.support.paths import HYP, REF, ROOT


class Recorder:
    """A progress display that remembers what it was shown."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, str, int]] = []

    def __call__(self, items: Iterable[Any], *, total: int, desc: str, unit: str) -> Iterable[Any]:
        seen = list(items)
        self.calls.append((desc, total, unit, len(seen)))
        return seen


def test_significance_reports_each_metric() -> None:
    from mtdrift.metrics.significance import Resampling, compare_stats

    rng = np.random.default_rng(0)
    stats = {s: {"semantic": np.column_stack([rng.random(20), np.ones(20)])} for s in ("a", "b")}
    seen = Recorder()
    small = Resampling(bootstrap=10, trials=10)
    compare_stats(stats, baseline="a", metrics=["semantic"], resampling=small, progress=seen)
    assert seen.calls == [("significance", 1, "metric", 1)]


def test_the_checker_reports_each_distinct_text(checker: FactChecker) -> None:

    seen = Recorder()
    FactChecker(nlp=checker.nlp, progress=seen).entities(["Paris is big.", "Rome too.", "Paris is big."])
    assert seen.calls == [("checking names", 2, "text", 2)]


def test_alignment_reports_chunks_only_for_long_documents(fake_encoder: FakeEncoder) -> None:
    from mtdrift.eval import align as aligner

    def run(n: int) -> Recorder:
        ref = [f"Sentence number {k} is about topic {k % 7}." for k in range(n)]
        toks = list(token_vectors(fake_encoder, ref).values())
        seen = Recorder()
        aligner.align(ref=ref, hyp=ref, ref_tokens=toks, hyp_tokens=toks, progress=seen)
        return seen

    assert run(50).calls == []
    n = aligner.PROGRESS_MIN_ROWS + 1
    assert run(n).calls == [("aligning", n // aligner.CHUNK_ROWS + 1, "chunk", n // aligner.CHUNK_ROWS + 1)]


def _evaluate_on(tmp_path: Path, *, terminal: bool, quiet: bool) -> str:
    """``mtdrift evaluate`` of the seed pair with stderr on a pseudo-terminal or a pipe; what
    it wrote to stderr."""
    args = [sys.executable, "-m", "mtdrift", "evaluate", "--ref", str(REF), "--hyp", str(HYP),
            "--model", "minilm", "--no-cache", "--no-plots", "--out", str(tmp_path / "out")]  # fmt: skip
    if quiet:
        args.append("--quiet")
    if not terminal:
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True)
        return done.stderr
    leader, follower = pty.openpty()
    # a terminal of 24 x 100 (a new pseudo-terminal has 0 columns, where tqdm draws nothing)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait() == 0
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.model
def test_bars_on_a_terminal_and_never_in_a_pipe_or_with_quiet(tmp_path: Path) -> None:
    shown = _evaluate_on(tmp_path, terminal=True, quiet=False)
    assert "Batches" in shown or "encoding" in shown  # the encoder's bar (sentence-transformers' or ours)
    assert "checking names" in shown and "significance" in shown
    assert _evaluate_on(tmp_path, terminal=True, quiet=True) == ""
    assert _evaluate_on(tmp_path, terminal=False, quiet=False) == ""
