"""Figures: of an evaluation (``drift``, ``alignment``), of a comparison (``systems``) and of a
meta-evaluation (``meta``), each in its module; ``common`` holds what they share.

Everything is drawn with matplotlib's object API (:class:`~matplotlib.figure.Figure` on an
Agg canvas): no pyplot, no global backend, so it works headless and side by side with
whatever backend the caller uses. Output is byte-for-byte reproducible: fixed size, dpi,
style and fonts, and no time stamp or software version in the PNG metadata."""

from __future__ import annotations

from pathlib import Path

from mtdrift.eval.render.figures.alignment import plot_alignment
from mtdrift.eval.render.figures.common import _file_stem
from mtdrift.eval.render.figures.drift import plot_drift
from mtdrift.eval.results import Evaluation


def write_plots(evaluation: Evaluation, out_dir: Path) -> list[Path]:
    """Write ``drift.png`` and ``alignment.png`` into ``out_dir`` (created if missing).

    ``alignment.png`` shows the first system; with several systems every system also gets
    ``alignment-<system>.png`` (the name reduced to letters, digits, ``.``, ``_`` and ``-``).

    Args:
        evaluation: what to draw.
        out_dir: the folder to write into.

    Returns:
        The paths written, ``drift.png`` first.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "drift.png"]
    plot_drift(evaluation, written[0])
    systems = evaluation.systems
    if not systems:
        return written
    first = out_dir / "alignment.png"
    plot_alignment(systems[0], evaluation.ref_sentences, first)
    written.append(first)
    if len(systems) > 1 and not evaluation.config.aligned:
        used: set[str] = set()
        for system in systems:
            stem = _file_stem(system.system, used)
            p = out_dir / f"alignment-{stem}.png"
            plot_alignment(system, evaluation.ref_sentences, p)
            written.append(p)
    return written
