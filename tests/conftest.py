"""Fixtures only (helpers shared by several test files live in ``tests/support``): the fake
encoder, the real model and the fact checker once per session, the real plug-in, the seed summaries."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is on disk; never try the hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# mtdrift check appends to GitHub Actions' step summary: not from the tests' own checks
os.environ.pop("GITHUB_STEP_SUMMARY", None)
# the CLI's default cache: a fresh one per test session, never the user's
os.environ.setdefault("MTDRIFT_CACHE_DIR", tempfile.mkdtemp(prefix="mtdrift-test-cache-"))

from tests.support.fakes import FakeEncoder
from tests.support.plugin import PLUGIN_NAME, install_plugin, plugin_installed
from tests.support.seeds import SeedSummary

if TYPE_CHECKING:
    from mtdrift.metrics.encoders import MiniLMEncoder
    from mtdrift.metrics.facts.checker import FactChecker


@pytest.fixture(scope="session")
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture(scope="session")
def real_encoder() -> MiniLMEncoder:
    from mtdrift.metrics.encoders import MiniLMEncoder

    return MiniLMEncoder(threads=2)


@pytest.fixture(scope="session")
def checker() -> FactChecker:
    from mtdrift.metrics.facts.checker import FactChecker

    return FactChecker()


@pytest.fixture(scope="session")
def charoverlap_plugin(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The small real plug-in of ``tests/plugin`` installed into this venv (offline, no
    dependencies, built from a copy so that the source tree stays clean); skipped when it is
    already this tree's, so running the suite twice reinstalls nothing. Returns its name."""
    if not plugin_installed():
        install_plugin(tmp_path_factory.mktemp("plugin") / "src")
    assert plugin_installed()
    return PLUGIN_NAME


@pytest.fixture(scope="session")
def seed_summary(tmp_path_factory: pytest.TempPathFactory) -> SeedSummary:
    """``seed_summary(edit, model="minilm")``: the ``summary.json`` of the seed reference
    against a real edit of the seed candidate (``scripts/history_demo.py``'s ``EDITS``: two
    sentences dropped, a name swapped, ...), system ``roundtrip``, evaluated once a session."""
    from scripts.history_demo import evaluator_summaries

    get = evaluator_summaries(tmp_path_factory.mktemp("seed-runs"))

    def summary(edit: str, model: str = "minilm") -> Path:
        return get(edit, model)

    return summary
