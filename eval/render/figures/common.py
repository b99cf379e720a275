"""What every figure shares: size and dpi, colours, the style, and a PNG without a time stamp or
software version, so that each figure is byte-for-byte the same on every run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib as mpl
import matplotlib.style
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import Locator, MaxNLocator, MultipleLocator

from mtdrift.eval.results import SystemResult

DPI = 120
"""Resolution of every figure (pixels per inch)."""
LABEL_CHARS = 34
"""Reason labels longer than this are cut and end with an ellipsis."""

# PNG text chunks matplotlib would otherwise write ("Software: Matplotlib version...").
_PNG_METADATA: dict[str, str | None] = {"Software": None}

_SYSTEM_COLOURS = (
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
    "#e377c2",
)
_RED = "#d62728"
_AMBER = "#f0a020"
_PURPLE = "#8e44ad"
_PATH = "#ff7f0e"
_LABEL_SIZE = 7.5


# --- shared -----------------------------------------------------------------------------


@contextmanager
def _style() -> Iterator[None]:
    """matplotlib's default style whatever the user's matplotlibrc says (backend untouched)."""
    with mpl.style.context("default"), mpl.rc_context({"font.family": "DejaVu Sans"}):
        yield


def _index_locator(n: int, every_up_to: int = 40) -> Locator:
    """A tick at every index for short documents, at round intervals for long ones."""
    return MultipleLocator(1) if n <= every_up_to else MaxNLocator(integer=True, nbins=25)


def _figure(size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size, dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, format="png", dpi=DPI, metadata=_PNG_METADATA, facecolor="white")


def _scores(system: SystemResult) -> str:
    c = system.corpus
    parts = []
    if "fidelity" in c:
        parts.append(f"fidelity {c['fidelity']:.2f}")
    if "bleu" in c:
        parts.append(f"BLEU {c['bleu']:.1f}")
    if "chrf" in c:
        parts.append(f"chrF {c['chrf']:.1f}")
    return " · ".join(parts)


def _shorten(text: str, limit: int = LABEL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _esc(text: str) -> str:
    """Text shown literally where matplotlib would parse ``$...$`` as mathtext."""
    return text.replace("$", r"\$")


def _file_stem(name: str, used: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "system"
    base, k = stem, 2
    while stem in used:
        stem, k = f"{base}-{k}", k + 1
    used.add(stem)
    return stem
