"""Shared fixtures: paths, the real model (once per session) and a fake encoder."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is on disk; never try the hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# mtdrift check appends to GitHub Actions' step summary: not from the tests' own checks
os.environ.pop("GITHUB_STEP_SUMMARY", None)
# the CLI's default cache: a fresh one per test session, never the user's
os.environ.setdefault("MTDRIFT_CACHE_DIR", tempfile.mkdtemp(prefix="mtdrift-test-cache-"))

from mtdrift.metrics.encoders import Encoded, TokenVectors
from mtdrift.metrics.signature import Signature


def _own_tests_package() -> None:
    """``import tests`` is this folder. compare-mt 0.2.10 (a dev dependency, for the peer test)
    installs a top-level package ``tests`` into site-packages, which as a regular package would
    win over this folder (a namespace package) and break ``from tests.conftest import ...``."""
    import importlib.machinery
    import importlib.util
    import sys

    here = str(Path(__file__).resolve().parent)
    current = sys.modules.get("tests")
    if current is not None and here in list(getattr(current, "__path__", [])):
        return
    spec = importlib.machinery.ModuleSpec("tests", None, is_package=True)
    module = importlib.util.module_from_spec(spec)
    module.__path__ = [here]
    sys.modules["tests"] = module


_own_tests_package()

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
REF = SEEDS / "reference_cnn_003_ef437a482faa74df.txt"
HYP = SEEDS / "candidate_roundtrip_000_7002d340e3ea555d.txt"
SHARED = ROOT.parent / "shared"
MQM = SHARED / "data" / "mqm" / "wmt23_zhen_mqm.dev.jsonl.gz"


def need_mqm() -> Path:
    if not MQM.is_file():
        pytest.skip(f"{MQM} is absent: ../shared/data/mqm is needed for this test")
    return MQM


class FakeEncoder:
    """Exact, hand-derivable vectors: a word's vector is a fixed pseudo-random unit vector
    (from the SHA-256 of its case-folded form); a text's vector is the normalised sum of its
    words'; its tokens are its words."""

    dim = 64

    def word(self, w: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(w.casefold().encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode(self, texts: Sequence[str], *, tokens: bool = False) -> Encoded:
        sent, toks = [], []
        for t in texts:
            spans = [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", t)]
            vecs = (
                np.stack([self.word(t[s:e]) for s, e in spans])
                if spans
                else np.zeros((0, self.dim), np.float32)
            )
            total = vecs.sum(axis=0) if spans else np.ones(self.dim, np.float32)
            sent.append(total / max(float(np.linalg.norm(total)), 1e-12))
            toks.append(TokenVectors(vecs, np.asarray(spans, dtype=np.int64).reshape(-1, 2)))
        return Encoded(np.asarray(sent, np.float32).reshape(-1, self.dim), toks if tokens else None)

    def signature(self) -> Signature:
        return Signature.of("semantic", [("model", "fake-hash-words")])


@pytest.fixture(scope="session")
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture(scope="session")
def real_encoder():  # type: ignore[no-untyped-def]
    from mtdrift.metrics.encoders import MiniLMEncoder

    return MiniLMEncoder(threads=2)


@pytest.fixture(scope="session")
def checker():  # type: ignore[no-untyped-def]
    from mtdrift.metrics.facts.checker import FactChecker

    return FactChecker()


PLUGIN_SRC = Path(__file__).resolve().parent / "plugin"
PLUGIN_NAME = "charoverlap"


def _plugin_installed() -> bool:
    """Whether the installed mtdrift-charoverlap is this tree's (its module byte-identical)."""
    import importlib.metadata

    try:
        dist = importlib.metadata.distribution("mtdrift-charoverlap")
    except importlib.metadata.PackageNotFoundError:
        return False
    module = next((f for f in dist.files or () if str(f).endswith("mtdrift_charoverlap/__init__.py")), None)
    source = PLUGIN_SRC / "mtdrift_charoverlap" / "__init__.py"
    return module is not None and Path(str(dist.locate_file(module))).read_bytes() == source.read_bytes()


@pytest.fixture(scope="session")
def charoverlap_plugin(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The small real plug-in of ``tests/plugin`` installed into this venv (offline, no
    dependencies, built from a copy so that the source tree stays clean); skipped when it is
    already this tree's, so running the suite twice reinstalls nothing. Returns its name."""
    import importlib
    import shutil
    import subprocess
    import sys

    if not _plugin_installed():
        build = tmp_path_factory.mktemp("plugin") / "src"
        shutil.copytree(PLUGIN_SRC, build)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
             "--no-index", "--disable-pip-version-check", str(build)],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        importlib.invalidate_caches()
    assert _plugin_installed()
    return PLUGIN_NAME



@pytest.fixture(scope="session")
def seed_summary(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``seed_summary(edit, model="minilm")``: the ``summary.json`` of the seed reference
    against a real edit of the seed candidate (``scripts/history_demo.py``'s ``EDITS``: two
    sentences dropped, a name swapped, ...), system ``roundtrip``, evaluated once a session."""
    from scripts.history_demo import evaluator_summaries

    get = evaluator_summaries(tmp_path_factory.mktemp("seed-runs"))

    def summary(edit: str, model: str = "minilm") -> Path:
        return get(edit, model)

    return summary
