"""Hostile input never crashes: every input either evaluates with every sentence accounted for
exactly once, or gives one clear line on stderr and exit code 2."""

from __future__ import annotations

import codecs
import csv
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtdrift.eval import pipeline
from mtdrift.eval.cli import main
from mtdrift.eval.config import Document, RunConfig
from mtdrift.eval.errors import InputError
from mtdrift.eval.pipeline import evaluate
from mtdrift.eval.read import decode_text
from mtdrift.eval.results import Evaluation
from mtdrift.metrics.encoders import Encoded, MiniLMEncoder
from mtdrift.metrics.facts.checker import FactChecker
from mtdrift.metrics.signature import Signature
from tests.support.documents import documents
from tests.support.fakes import FakeEncoder
from tests.support.paths import HYP, REF, need_mqm
from tests.support.synth import one_line

WORDS_200K = " ".join(f"word{k % 997}" for k in range(200_000)).encode()

# name: (bytes of the candidate, extra options, expected exit code, what stderr must say)
CASES: dict[str, tuple[bytes, list[str], int, str]] = {
    # the crash: one 200,000-word line without punctuation (spaCy E088 before)
    "200k-word line, aligned": (WORDS_200K, ["--aligned"], 2, "line 1: a segment of 1,577,889 characters"),
    "NUL byte after 8 KB": (
        b"Hello there.\n" * 1000 + b"x\x00y\n",
        [],
        2,
        "NUL byte at offset 13001, line 1001",
    ),
    "whitespace only": (b"  \n\t\n \n", [], 2, "the file holds only whitespace"),
    "BOM alone": (codecs.BOM_UTF8, [], 2, "the file holds no text"),
    "Unicode spaces only": ("\u00a0\u3000\n".encode(), [], 2, "the file holds no text"),
    "punctuation only": (b"... !!! ??? ,,, ---\n;;;\n", [], 0, ""),
    "30,000 empty lines": (b"The cat sat on the mat." + b"\n" * 30_000 + b"It was happy.\n", [], 0, ""),
    "mixed line endings": (b"One line here.\r\nTwo line here.\rThree line here.\nFour.\n", [], 0, ""),
    "emoji and ZWJ": (
        "The family 👨‍👩‍👧 went out 😀. They had fun 🎉🎉! Flags 🇺🇸🇫🇷 waved.\n".encode(),
        [],
        0,
        "",
    ),
    "RTL text": ("مرحبا بكم في المدينة. هذا نص عربي. שלום עולם. The end.\n".encode(), [], 0, ""),
    "one enormous token": (b"a" * 300_000 + b".\n", [], 0, ""),
}


@pytest.mark.model
@pytest.mark.parametrize("case", list(CASES))
def test_hostile_candidate(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, options, expected_code, expected_err = CASES[case]
    hyp = tmp_path / "hyp.txt"
    hyp.write_bytes(data)
    ref = tmp_path / "ref.txt"
    ref.write_text("The cat sat on the mat. It was a sunny day. Everyone was happy.\n", encoding="utf-8")
    out = tmp_path / "out"
    code = main(
        [
            "evaluate",
            "--ref",
            str(ref),
            "--hyp",
            str(hyp),
            "--out",
            str(out),
            "--quiet",
            "--no-plots",
            *options,
        ]
    )
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code == expected_code
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("mtdrift: error: ") and expected_err in err
        return
    with (out / "segments.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    ref_ids = Counter(int(i) for r in rows for i in r["ref_ids"].split(";") if i)
    hyp_ids = Counter(int(i) for r in rows for i in r["hyp_ids"].split(";") if i)
    assert ref_ids == Counter(range(3))
    assert hyp_ids == Counter(range(max(hyp_ids, default=-1) + 1))  # each candidate sentence once


def _covered_once(evaluation: Evaluation) -> None:
    for system in evaluation.systems:
        refs = Counter(i for b in system.beads for i in b.ref_ids)
        hyps = Counter(j for b in system.beads for j in b.hyp_ids)
        assert refs == Counter(range(len(evaluation.ref_sentences)))
        assert hyps == Counter(range(len(system.hyp_sentences)))


EXAMPLES = 30
# At least this many of the EXAMPLES pairs must evaluate (the others are refused with one
# InputError line: an empty file, a NUL byte, ...). Eight runs of 30 evaluated 16 to 27; a run
# in which (nearly) every pair is refused checks nothing, and fails here.
MIN_EVALUATED = 10


def test_pipeline_accounts_for_every_sentence(fake_encoder: FakeEncoder, checker: FactChecker) -> None:
    """Any two documents through reading and the whole pipeline (fake encoder, real checks):
    every sentence in exactly one bead, or one InputError line naming the file; and most pairs
    are evaluated, not refused."""
    outcomes: Counter[str] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None)
    @given(ref=documents(), hyp=documents(), aligned=st.booleans())
    def one_pair(ref: str, hyp: str, aligned: bool) -> None:
        try:
            pairs = ((ref, "ref.txt"), (hyp, "hyp.txt"))
            texts = [decode_text(t.encode("utf-8"), source=name) for t, name in pairs]
            if aligned:  # line-parallel: give the candidate the reference's line count
                n = len(texts[0].rstrip("\n").split("\n"))
                lines = (texts[1].rstrip("\n").split("\n") + [""] * n)[:n]
                texts[1] = "\n".join(lines) + "\n"
            result = evaluate(
                Document("ref.txt", texts[0]),
                [("hyp", Document("hyp.txt", texts[1]))],
                encoder=fake_encoder,
                checker=checker,
                config=RunConfig(aligned=aligned, workers=0),
            )
        except InputError as err:
            assert "\n" not in str(err) and str(err).split(":")[0] in ("ref.txt", "hyp.txt")
            outcomes["refused"] += 1
            return
        _covered_once(result)
        outcomes["evaluated"] += 1

    one_pair()
    assert outcomes["evaluated"] >= MIN_EVALUATED, outcomes


@pytest.mark.model
def test_seed_pair_through_the_band_equals_the_full_search(
    real_encoder: MiniLMEncoder, checker: FactChecker
) -> None:
    """The seed pair through the whole pipeline with the band forced: the same beads."""
    from mtdrift.eval.align import AlignConfig

    docs = [Document(str(p), p.read_text(encoding="utf-8")) for p in (REF, HYP)]
    full = evaluate(docs[0], [("h", docs[1])], encoder=real_encoder, checker=checker)
    band = evaluate(
        docs[0],
        [("h", docs[1])],
        encoder=real_encoder,
        checker=checker,
        config=RunConfig(align=AlignConfig(full_cells=0)),
    )
    result = [(b.ref_ids, b.hyp_ids) for b in band.systems[0].beads]
    expected = [(b.ref_ids, b.hyp_ids) for b in full.systems[0].beads]
    assert result == expected


class _Recording:
    """The fake encoder, keeping every text it is asked to embed."""

    def __init__(self, inner: FakeEncoder) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str], *, tokens: bool = False) -> Encoded:
        self.texts.extend(texts)
        return self.inner.encode(texts, tokens=tokens)

    def signature(self) -> Signature:
        return self.inner.signature()


def test_a_long_line_embeds_only_what_is_scored(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fake_encoder: FakeEncoder,
    checker: FactChecker,
) -> None:
    """Issue 24's input at 5,000 words: the seed candidate and WMT23 zh-en output on one line,
    against the seed reference, the aligner reading another encoder's token vectors (as MiniLM
    aligns while mpnet scores by default). The scoring encoder embeds the sentences of the
    beads with both sides and their joined texts, each once, and not the 156 additions; every
    sentence is in one bead; every bead is the one of a run whose encoder embeds everything
    (and aligns); the two stretches cut by the segmenter's ``max`` rule are named."""
    ref = Document(str(REF), REF.read_text(encoding="utf-8"))
    hyp = Document("hyp.txt", one_line(HYP, need_mqm(), 5000))
    scoring = _Recording(fake_encoder)
    monkeypatch.setattr(pipeline, "_align_encoder", lambda encoder, config, cache: FakeEncoder())
    result = evaluate(ref, [("h", hyp)], encoder=scoring, checker=checker, config=RunConfig(workers=0))
    monkeypatch.undo()
    expected = evaluate(ref, [("h", hyp)], encoder=fake_encoder, checker=checker, config=RunConfig(workers=0))
    _covered_once(result)
    system = result.systems[0]
    assert system.beads == expected.systems[0].beads
    scored = [b for b in system.beads if b.ref_ids and b.hyp_ids]
    sentences = {result.ref_sentences[i].text for b in scored for i in b.ref_ids}
    sentences |= {system.hyp_sentences[j].text for b in scored for j in b.hyp_ids}
    assert sorted(scoring.texts) == sorted(sentences | {t for b in scored for t in (b.ref, b.hyp)})
    added = sum(not b.ref_ids for b in system.beads)
    assert (len(system.hyp_sentences), len(scored), added) == (183, 27, 156)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(
        m.startswith("hyp.txt: 2 stretches of text without a sentence end (the longest 3,")
        and "cut at spaces into 6 sentences" in m
        for m in warnings
    ), warnings
