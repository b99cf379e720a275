"""Peer test: mtdrift analyze against compare-mt 0.2.10 on two real WMT23 zh-en dev systems.

The same whitespace-tokenized files go to both: compare-mt's command line is run on them (its
printed word F-measures, length-difference counts and n-gram lists are parsed), and its
bucketers are called in-process for the exact counts it does not print. Every segment is one
bead, so the analyses must agree.

Where mtdrift differs on purpose (README, "Checked against compare-mt"): ties among n-grams of
equal score are ordered by more matches, then by name (compare-mt's order depends on Python's
hash seed), so only the last tie group of a 50-long list may hold other n-grams of the same score.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from mtdrift.eval.analyze import Analysis, AnalysisBead, AnalysisConfig, analyze
from mtdrift.eval.corpus import read_corpus
from tests.support.paths import ROOT, need_mqm

compare_mt = pytest.importorskip("compare_mt", reason="compare-mt==0.2.10 is a dev dependency")

SYSTEMS = ("ONLINE-B", "NLLB_Greedy")  # the top chrF cluster against the bottom one: clear differences


# the whitespace-tokenized texts (ref and each system), compare-mt's printout, mtdrift's analysis
Peer = tuple[dict[str, list[str]], str, Analysis]


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Peer:
    corpus = read_corpus(need_mqm())
    texts = {"ref": list(corpus.refs), **{s: list(corpus.hyps[s]) for s in SYSTEMS}}
    # whitespace-tokenized, one segment per line: what compare-mt reads (no segment is empty here:
    # compare-mt reads an empty line as one empty token, mtdrift as none)
    tokens = {k: [" ".join(t.split()) for t in v] for k, v in texts.items()}
    assert all(line for v in tokens.values() for line in v)
    d = tmp_path_factory.mktemp("peer")
    for k, lines in tokens.items():
        (d / f"{k}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "compare_mt.compare_mt_main", str(d / "ref.txt"),
         *(str(d / f"{s}.txt") for s in SYSTEMS), "--compare_scores",
         "--compare_sentence_buckets", "bucket_type=lengthdiff", "--compare_sentence_examples",
         "--decimals", "6"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    beads = {
        s: [
            AnalysisBead((k,), (k,), r, h, "1-1", "none")
            for k, (r, h) in enumerate(zip(tokens["ref"], tokens[s], strict=True))
        ]
        for s in SYSTEMS
    }
    ours = analyze(beads, config=AnalysisConfig(tokenize="none", metrics=()))
    return tokens, run.stdout, ours


def _section(text: str, head: str) -> list[str]:
    lines = text.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith(head))
    out = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        out.append(line)
    return out


def _groups(pattern: re.Pattern[str], text: str) -> tuple[str, ...]:
    """The groups of ``pattern`` matched at the start of ``text`` (which must match)."""
    match = pattern.match(text)
    assert match is not None, text
    return match.groups()


@pytest.mark.slow
def test_word_fmeasure_by_frequency_bucket_equals_compare_mt(peer: Peer) -> None:
    from compare_mt import bucketers

    tokens, printed, ours = peer
    table = _section(printed, "frequency\tsys1\tsys2")
    theirs_printed = {row.split("\t")[0]: [float(x) for x in row.split("\t")[1:]] for row in table}
    ref = [line.split(" ") for line in tokens["ref"]]
    outs = [[line.split(" ") for line in tokens[s]] for s in SYSTEMS]
    stats, *_ = bucketers.FreqWordBucketer(freq_data=ref).calc_statistics(ref, outs)
    labels = list(theirs_printed)
    assert labels == ["<1", "1", "2", "3", "4", "[5,10)", "[10,100)", "[100,1000)", ">=1000"]
    for k, system in enumerate(SYSTEMS):
        result = [w for w in ours.words if w.system == system]
        assert [w.bucket for w in result] == labels
        for b, w in enumerate(result):
            mcnt, rcnt, ocnt, rec, prec, fmeas = stats[k][b]
            assert (w.matches, w.ref_words, w.hyp_words) == (mcnt, rcnt, ocnt), (system, w.bucket)
            assert (w.recall, w.precision, w.fmeasure) == pytest.approx((rec, prec, fmeas), abs=1e-15)
            assert w.fmeasure == pytest.approx(theirs_printed[w.bucket][k], abs=5e-7)  # the printed table


@pytest.mark.slow
def test_sentence_length_buckets_equal_compare_mt(peer: Peer) -> None:
    from compare_mt import bucketers

    tokens, printed, ours = peer
    table = _section(printed, "lengthdiff\tsys1\tsys2")
    ref = [line.split(" ") for line in tokens["ref"]]
    for k, system in enumerate(SYSTEMS):
        diff = [(s.bucket, s.beads) for s in ours.sentences if s.system == system and s.by == "length_diff"]
        assert diff == [(row.split("\t")[0], int(row.split("\t")[1 + k])) for row in table], system
        out = [line.split(" ") for line in tokens[system]]
        corpus = bucketers.LengthSentenceBucketer().create_bucketed_corpus(out, ref=ref)
        lengths = [s.beads for s in ours.sentences if s.system == system and s.by == "ref_length"]
        assert lengths == [len(bucket[0]) for bucket in corpus], system
    assert sum(int(row.split("\t")[1]) for row in table) == len(ref) == 598


@pytest.mark.slow
def test_ngram_lists_equal_compare_mt(peer: Peer) -> None:
    from compare_mt import ngram_utils, stat_utils

    tokens, printed, ours = peer
    ref = [line.split(" ") for line in tokens["ref"]]
    matches = [ngram_utils.compare_ngrams(ref, [ln.split(" ") for ln in tokens[s]])[1] for s in SYSTEMS]
    scores = stat_utils.extract_salient_features(matches[0], matches[1], alpha=1.0)
    line = re.compile(r"^(.*)\t([0-9.]+) \(sys1=(\d+), sys2=(\d+)\)$")
    for direction, head in enumerate(("--- 50 n-grams where sys1>sys2", "--- 50 n-grams where sys2>sys1")):
        theirs = [_groups(line, x) for x in _section(printed, head)]
        result = [g for g in ours.ngrams if g.better == SYSTEMS[direction]]
        assert len(result) == len(theirs) == 50
        # the same scores, position by position (equal scores may come in another order)
        assert [round(g.score, 6) for g in result] == [float(s) for _, s, _, _ in theirs]
        # the same n-grams with the same match counts, except inside the last tie group, which a
        # cut at 50 may split differently
        last = round(result[-1].score, 6)
        assert {(g.ngram, g.matches_a, g.matches_b) for g in result if round(g.score, 6) != last} == {
            (n, int(a), int(b)) for n, s, a, b in theirs if float(s) != last
        }
        # and every listed n-gram has compare-mt's exact score
        for g in result:
            assert g.score == scores[tuple(g.ngram.split(" "))]


def test_compare_mt_is_the_pinned_version() -> None:
    from importlib.metadata import version

    assert version("compare-mt") == "0.2.10"
    text = ROOT.joinpath("pyproject.toml").read_text(encoding="utf-8")
    assert '"compare-mt==0.2.10"' in text
