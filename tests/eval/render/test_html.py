"""report.html: self-contained, one row per bead, chart points linked to their beads."""

from __future__ import annotations

import html
import re

from mtdrift.eval.config import Document
from mtdrift.eval.pairwise import compare_systems
from mtdrift.eval.pipeline import evaluate
from mtdrift.eval.render.html import bead_id, report_html
from mtdrift.eval.results import Evaluation
from mtdrift.metrics.facts.checker import FactChecker
from mtdrift.metrics.significance import Resampling
from tests.support.fakes import FakeEncoder
from tests.support.paths import HYP, REF


def _page(fake_encoder: FakeEncoder, checker: FactChecker) -> tuple[Evaluation, str]:
    ref = Document("ref.txt", REF.read_text(encoding="utf-8"))
    hyp = HYP.read_text(encoding="utf-8")
    lines = hyp.split("\n")
    minus2 = "\n".join(lines[:1] + lines[3:])
    ev = evaluate(ref, [("roundtrip", Document("a", hyp)), ("minus2", Document("b", minus2))],
                  encoder=fake_encoder, checker=checker)  # fmt: skip
    comparison = compare_systems(ev, resampling=Resampling(bootstrap=100, trials=100))
    return ev, report_html(ev, comparison)


def test_report_html_is_self_contained(fake_encoder: FakeEncoder, checker: FactChecker) -> None:
    _, page = _page(fake_encoder, checker)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"\b(src|href)\s*=", page)  # nothing to fetch: no scripts, styles, images
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert re.findall(r"https?://[^\s'\"<]+", page) == ["http://www.w3.org/2000/svg"] * page.count("<svg")


def test_one_row_per_bead_and_every_point_links_to_one(
    fake_encoder: FakeEncoder, checker: FactChecker
) -> None:
    ev, page = _page(fake_encoder, checker)
    rows = re.findall(
        r"<tr id='(b\d+-\d+)' class='(\w+)' data-system='([^']*)' data-drift='(\w+)' data-kind='([\w-]+)'",
        page,
    )
    beads = [(k, s, b) for k, s in enumerate(ev.systems) for b in s.beads]
    assert len(rows) == len(beads)
    assert [r[0] for r in rows] == [bead_id(k, b) for k, _, b in beads]
    assert [r[3] for r in rows] == [b.drift for _, _, b in beads]
    assert [r[4] for r in rows] == [b.kind for _, _, b in beads]
    assert sum(r[3] == "major" for r in rows) == sum(b.drift == "major" for _, _, b in beads) > 0
    targets = re.findall(r"data-target='(b\d+-\d+)'", page)
    assert sorted(targets) == sorted(r[0] for r in rows)
    omitted = sum(b.kind == "omission" for _, _, b in beads)
    assert page.count("<td class='text missing'>(omitted)</td>") == omitted > 0
    for sig in ev.signatures.values():
        assert html.escape(sig, quote=True) in page


def test_a_sort_key_does_not_carry_the_last_bits_of_a_score() -> None:
    """The seed's bead 9 BLEU is 46.81995735261491 on one CPU and 46.8199573526149 on another
    (numpy's SIMD exp/log); the page must be the same bytes on both."""
    from mtdrift.eval.render.html import _num_cell

    one, other = _num_cell(46.81995735261491, 1), _num_cell(46.8199573526149, 1)
    assert one == other == "<td class='num' data-v='46.81995735'>46.8</td>"
    assert _num_cell(0.8419, 3) == "<td class='num' data-v='0.8419'>0.842</td>"
    assert _num_cell(None, 3) == "<td class='num'></td>"
