"""The figures: written, valid PNGs, byte-for-byte reproducible (synthetic data, no model)."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from mtdrift.eval.config import RunConfig
from mtdrift.eval.render.figures import common as figures_common
from mtdrift.eval.render.figures import write_plots
from mtdrift.eval.render.figures.alignment import plot_alignment
from mtdrift.eval.render.figures.drift import _bead_positions, plot_drift
from mtdrift.eval.results import BeadResult, Evaluation, SystemResult
from mtdrift.eval.segment import Sentence
from mtdrift.metrics.findings import Finding

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _sentences(n: int, word: str) -> tuple[Sentence, ...]:
    out, pos = [], 0
    for i in range(n):
        text = f"{word} sentence {i}."
        out.append(Sentence(index=i, text=text, start=pos, end=pos + len(text), line=0))
        pos += len(text) + 1
    return tuple(out)


def _bead(
    k: int,
    r: tuple[int, ...],
    h: tuple[int, ...],
    fid: float,
    drift: str,
    reasons: tuple[Finding, ...] = (),
) -> BeadResult:
    aligned = bool(r and h)
    return BeadResult(
        index=k,
        ref_ids=r,
        hyp_ids=h,
        ref="r",
        hyp="h",
        semantic=min(fid + 0.1, 1.0) if aligned else 0.0,
        tokenmatch=fid if aligned else 0.0,
        bleu=fid * 60,
        chrf=(fid - 0.1) * 100 if aligned else 0.0,
        chrfpp=fid * 90,
        ter=50.0,
        fidelity=fid if aligned else 0.0,
        drift=drift,
        reasons=reasons,
        ref_spans=(),
        hyp_spans=(),
    )


def _system(name: str, *, with_matrix: bool = True) -> SystemResult:
    """8 reference and 7 candidate sentences: an omission, an addition, a 2-1 bead."""
    entity = Finding(
        kind="entity",
        severity="major",
        ref="Harir Air Base $5",
        hyp="Khalil Air Base, somewhere far away",
    )
    beads = (
        _bead(0, (0,), (0,), 0.9, "none"),
        _bead(1, (1,), (1,), 0.6, "major", (entity,)),
        _bead(2, (2,), (), 0.0, "major", (Finding(kind="omission", severity="major"),)),
        _bead(3, (3,), (), 0.0, "major", (Finding(kind="omission", severity="major"),)),
        _bead(
            4,
            (4, 5),
            (2,),
            0.65,
            "minor",
            (Finding(kind="semantic", severity="minor", ref="0.65"),),
        ),
        _bead(5, (), (3,), 0.0, "major", (Finding(kind="addition", severity="major"),)),
        _bead(6, (6,), (4, 5), 0.8, "none"),
        _bead(7, (7,), (6,), 0.85, "none"),
    )
    rng = np.random.default_rng(0)
    sim = rng.uniform(0.0, 0.4, size=(8, 7)) if with_matrix else None
    return SystemResult(
        system=name,
        hyp_name=f"{name}.txt",
        hyp_sentences=_sentences(7, name),
        beads=beads,
        stats={},
        corpus={"fidelity": 0.5, "bleu": 31.4, "chrf": 55.5, "ter": 60.0},
        similarity=sim,
        gap_cost=0.3 if with_matrix else None,
    )


def _evaluation(*names: str, with_matrix: bool = True) -> Evaluation:
    return Evaluation(
        ref_name="ref.txt",
        ref_sentences=_sentences(8, "ref"),
        systems=tuple(_system(n, with_matrix=with_matrix) for n in names),
        signatures={},
        config=RunConfig(),
    )


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == PNG_MAGIC


def test_write_plots_one_system(tmp_path: Path) -> None:
    paths = write_plots(_evaluation("mt"), tmp_path / "out")
    assert [p.name for p in paths] == ["drift.png", "alignment.png"]
    assert all(p.is_file() and _is_png(p) for p in paths)


def test_write_plots_several_systems(tmp_path: Path) -> None:
    paths = write_plots(_evaluation("a", "b/c", "b c"), tmp_path)
    assert [p.name for p in paths] == [
        "drift.png",
        "alignment.png",
        "alignment-a.png",
        "alignment-b_c.png",
        "alignment-b_c-2.png",
    ]
    assert all(_is_png(p) for p in paths)


def test_plots_are_deterministic(tmp_path: Path) -> None:
    ev = _evaluation("a", "b")
    first = write_plots(ev, tmp_path / "1")
    second = write_plots(ev, tmp_path / "2")
    for p, q in zip(first, second, strict=True):
        assert p.read_bytes() == q.read_bytes(), p.name


def _text_chunks(path: Path) -> dict[str, bytes]:
    """Every text chunk of a PNG (tEXt, zTXt, iTXt): keyword -> the rest of the chunk's data."""
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    chunks, pos = {}, len(PNG_MAGIC)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            keyword, _, rest = body.partition(b"\0")
            chunks[keyword.decode("latin-1")] = rest
        pos += 12 + length  # length, type, data, CRC
    return chunks


def test_png_has_no_version_or_time(tmp_path: Path) -> None:
    """No text chunk at all: no "Software" (matplotlib's version), no time, nothing that could
    change the bytes between two machines."""
    plot_drift(_evaluation("mt"), tmp_path / "d.png")
    assert _text_chunks(tmp_path / "d.png") == {}


def test_without_the_fix_the_png_names_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test above can fail: with matplotlib's default metadata (the fix removed), the same
    figure carries a "Software" chunk that names matplotlib's version."""
    monkeypatch.setattr(figures_common, "_PNG_METADATA", {})
    plot_drift(_evaluation("mt"), tmp_path / "d.png")
    result = _text_chunks(tmp_path / "d.png")
    assert list(result) == ["Software"]
    assert (
        result["Software"] == f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/".encode()
    )


def test_line_aligned_alignment_figure(tmp_path: Path) -> None:
    ev = _evaluation("mt", with_matrix=False)
    plot_alignment(ev.systems[0], ev.ref_sentences, tmp_path / "a.png")
    assert _is_png(tmp_path / "a.png")


def test_empty_evaluation(tmp_path: Path) -> None:
    ev = dataclasses.replace(_evaluation(), ref_sentences=())
    assert [p.name for p in write_plots(ev, tmp_path)] == ["drift.png"]


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        ([(0,), (1,), (), (2,)], [0.0, 1.0, 1.5, 2.0]),
        ([(0,), (), (), (1,)], [0.0, 1 / 3, 2 / 3, 1.0]),
        ([(), (0, 1)], [0.0, 0.5]),
        ([(0,), ()], [0.0, 0.5]),
        ([(), ()], [0.0, 1.0]),
    ],
)
def test_bead_positions(refs: list[tuple[int, ...]], expected: list[float]) -> None:
    beads = [_bead(k, r, (k,), 0.5, "none") for k, r in enumerate(refs)]
    assert _bead_positions(beads) == pytest.approx(expected)
