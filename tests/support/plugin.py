"""The small real metric plug-in of ``tests/plugin`` (character overlap F1), installed into the
venv by the ``charoverlap_plugin`` fixture."""

from __future__ import annotations

import importlib
import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import PLUGIN_SRC

PLUGIN_NAME = "charoverlap"


def plugin_installed() -> bool:
    """Whether the installed mtdrift-charoverlap is this tree's (its module byte-identical)."""
    try:
        dist = importlib.metadata.distribution("mtdrift-charoverlap")
    except importlib.metadata.PackageNotFoundError:
        return False
    module = next((f for f in dist.files or () if str(f).endswith("mtdrift_charoverlap/__init__.py")), None)
    source = PLUGIN_SRC / "mtdrift_charoverlap" / "__init__.py"
    return module is not None and Path(str(dist.locate_file(module))).read_bytes() == source.read_bytes()


def install_plugin(build: Path) -> None:
    """Install the plug-in from a copy of its source in ``build`` (offline, no dependencies, so
    that the source tree stays clean)."""
    shutil.copytree(PLUGIN_SRC, build)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--disable-pip-version-check", str(build)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    importlib.invalidate_caches()
