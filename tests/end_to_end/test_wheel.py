"""The package as a user installs it: ``python -m build`` makes a wheel that installs into a
fresh venv, claims only the import name ``mtdrift``, and evaluates the seed pair."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.support.paths import HYP, REF, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.model]

SKIP = shutil.ignore_patterns(
    ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "reports", "dist"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``python -m build`` makes from a copy of the source tree (so the build writes
    nothing into the checkout); without build isolation, so that it runs offline."""
    src = tmp_path_factory.mktemp("src") / "mtdrift"
    shutil.copytree(ROOT, src, symlinks=True, ignore=SKIP)
    dist = src / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(src)],
        check=True,
        capture_output=True,
    )
    (path,) = dist.glob("mtdrift-*.whl")
    return path


def test_the_wheel_holds_one_import_name_and_the_fitted_parameters(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"mtdrift", f"{wheel.name.split('-py3')[0]}.dist-info"}
    assert "mtdrift/metrics/params/fidelity-v2-mpnet.json" in names
    assert "mtdrift/metrics/params/fidelity-v2-minilm.json" in names
    assert "mtdrift/eval/render/html.py" in names and "mtdrift/api.py" in names
    top = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-py3')[0]}.dist-info/top_level.txt")
    assert top.decode().split() == ["mtdrift"]


@pytest.fixture(scope="module")
def fresh(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with only the wheel installed in it. Its dependencies (torch, the models:
    3 GB) are the test venv's, seen through a path file, which adds their folder to
    ``sys.path`` but runs none of its own path files: so the test venv's editable mtdrift
    stays invisible, and what is imported as ``mtdrift`` is the wheel's."""
    venv = tmp_path_factory.mktemp("venv") / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    from mtdrift.metrics.models import model_home

    env = {
        **os.environ,
        "MTDRIFT_MODEL_DIR": str(model_home()),  # mpnet, unpacked once by the test venv
        "MTDRIFT_CACHE_DIR": str(cwd / "cache"),
        "PYTHONPATH": "",
    }
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)


def test_the_installed_wheel_evaluates_the_seed_pair(fresh: Path, tmp_path: Path) -> None:
    bin_ = fresh / "bin"
    version = _run(fresh, str(bin_ / "mtdrift"), "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout == "mtdrift 0.1.0\n"

    where = _run(fresh, str(bin_ / "python"), "-c", "import mtdrift; print(mtdrift.__file__)", cwd=tmp_path)
    (installed,) = (fresh / "lib").glob("python3*/site-packages/mtdrift/__init__.py")
    assert where.stdout.strip() == str(installed)

    for name in ("eval", "metrics"):
        found = _run(fresh, str(bin_ / "python"), "-c", f"import {name}", cwd=tmp_path)
        assert found.returncode == 1
        assert f"No module named '{name}'" in found.stderr

    out = tmp_path / "seeds"
    run = _run(
        fresh, str(bin_ / "mtdrift"), "evaluate", "--ref", str(REF), "--hyp", str(HYP),
        "--name", "roundtrip", "--out", str(out), "--no-plots", "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    # the fitted parameters came with the wheel: the same signatures and scores as the CI
    # baseline, so `mtdrift check` passes
    check = _run(
        fresh, str(bin_ / "mtdrift"), "check", "--baseline", str(ROOT / "reports" / "baseline.json"),
        "--current", str(out / "summary.json"), cwd=tmp_path,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.endswith("mtdrift check: ok, no metric of 1 system(s) regressed\n")
    assert "REGRESSED" not in check.stdout
