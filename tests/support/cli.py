"""Running the command line in-process, as a user's shell would see it."""

from __future__ import annotations

import pytest

from mtdrift.eval.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``mtdrift ARGV...``: its exit code, stdout and stderr."""
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err
