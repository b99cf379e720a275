"""The tests' own layout (tests/README.md): a module's tests are found by its name, every test
file is listed in the README, and no test file imports another."""

from __future__ import annotations

import re

import pytest

from tests.support.paths import ROOT, TESTS

TEST_FILES = sorted(p.relative_to(TESTS).as_posix() for p in TESTS.rglob("test_*.py"))
# the folders that mirror a package of the library: tests/<folder>/test_<module>[_<aspect>].py
MIRRORS = {"eval": ROOT / "eval", "metrics": ROOT / "metrics"}


def test_no_test_file_imports_another() -> None:
    """Shared helpers live in tests/support; conftest is pytest's, never imported."""
    importing = re.compile(r"^\s*(?:from|import)\s+(?:tests\.(?:\w+\.)*)?(?:test_\w+|conftest)\b", re.M)
    result = {
        p.relative_to(TESTS).as_posix(): importing.findall(p.read_text(encoding="utf-8"))
        for p in TESTS.rglob("*.py")
    }
    assert {name: found for name, found in result.items() if found} == {}


def test_the_readme_lists_every_test_file() -> None:
    readme = (TESTS / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([\w/]*test_\w+\.py)` \|", readme, re.M))
    missing, stale = set(TEST_FILES) - listed, listed - set(TEST_FILES)
    assert not missing, f"add a line to tests/README.md for {sorted(missing)}"
    assert not stale, f"tests/README.md lists files that are gone: {sorted(stale)}"


@pytest.mark.parametrize("name", [f for f in TEST_FILES if f.split("/")[0] in MIRRORS])
def test_each_file_is_named_for_a_module(name: str) -> None:
    """``tests/eval/meta/test_sets_ende.py`` tests ``eval/meta/sets.py`` (or a package
    ``eval/meta/sets/``): the module is the name, or its start up to an underscore."""
    folder, _, file = name.rpartition("/")
    top, _, below = folder.partition("/")
    package = MIRRORS[top] / below
    stem = file.removeprefix("test_").removesuffix(".py")
    candidates = ["_".join(stem.split("_")[:k]) for k in range(len(stem.split("_")), 0, -1)]
    found = [c for c in candidates if (package / f"{c}.py").is_file() or (package / c).is_dir()]
    assert found, f"{name}: no module {package.relative_to(ROOT)}/<{' | '.join(candidates)}>.py"
