"""The README's Layout section matches the tree: every module of the package is listed once, with
a line on what it holds, and nothing listed is missing from the tree."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ("mtdrift", "eval", "metrics")
ENTRY = re.compile(r"^\s*(?:[-*]|\|)\s*`((?:mtdrift|eval|metrics)/[\w/]+\.py)`\s*[:|]\s*(.+?)\s*\|?\s*$")


def _layout(text: str) -> list[tuple[str, str]]:
    """``(module, description)`` of each module line of the ``## Layout`` section."""
    start = text.index("\n## Layout")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else len(text)]
    return [(m.group(1), m.group(2)) for line in section.splitlines() if (m := ENTRY.match(line))]


def _modules() -> set[str]:
    """The package's modules as git tracks them (``mtdrift/eval`` and ``mtdrift/metrics`` are links
    to ``eval/`` and ``metrics/``, listed under those names)."""
    out = subprocess.run(
        ["git", "ls-files", "--", *(f"{d}/*.py" for d in PACKAGE_DIRS)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return set(out)


def test_the_readme_layout_lists_every_module_once_with_what_it_holds() -> None:
    entries = _layout((ROOT / "README.md").read_text(encoding="utf-8"))
    listed = [m for m, _ in entries]
    twice = sorted({m for m in listed if listed.count(m) > 1})
    assert not twice, f"listed twice: {twice}"
    tree = _modules()
    assert tree, "git ls-files found no module (not a git checkout?)"
    assert not tree - set(listed), f"in the tree, not in the README's Layout: {sorted(tree - set(listed))}"
    assert not set(listed) - tree, f"in the README's Layout, not in the tree: {sorted(set(listed) - tree)}"
    short = [m for m, what in entries if len(what.split()) < 3]
    assert not short, f"say in a few words what these hold: {short}"


def test_the_layout_check_catches_a_missing_and_a_stale_line() -> None:
    text = (
        "# x\n\n## Layout\n\n- `eval/cli.py`: the command line, parse and exit\n"
        "- `eval/gone.py`: a module that was removed\n\n## Next\n"
    )
    entries = _layout(text)
    assert [m for m, _ in entries] == ["eval/cli.py", "eval/gone.py"]
    tree = _modules()
    assert "eval/gone.py" not in tree and "eval/pipeline.py" in tree
