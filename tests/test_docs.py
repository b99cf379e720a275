"""Every code example of README.md and docs/**/*.md runs, and what it claims is checked.

Each page's examples run in order in a fresh directory laid out as the repository is
(``seeds/``, ``.venv/``, ``reports/baseline.json``, with ``../shared`` beside it): ``python``
blocks in one namespace per page, ``sh`` blocks with ``bash -e`` and the venv's ``mtdrift``.
A block after ``<!-- test: NAME -->`` is also checked by ``CHECKS[NAME]`` against facts that
do not come from mtdrift: scores recomputed with sacrebleu, the hand alignment of the seed pair,
counts read from the data, the figures the docs print. A block that cannot run here stands
after a visible ``<!-- no-test: reason -->``; it is still parsed, and the tests list and count
every one. ``make`` lines are checked with ``make -n``. Only the public API and the CLI are
used by the examples (internal modules may move); ``docs/layout.md`` is the one page that
names modules, and its example runs too, so a move shows up here.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sacrebleu
import yaml
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from tests.support.paths import MQM_DIR, ROOT, SHARED, TED

MQM, SEEDS = MQM_DIR, ROOT / "seeds"

RUN = {"python", "sh", "bash", "console"}
PARSED: dict[str, Callable[[str], object]] = {"yaml": yaml.safe_load, "toml": tomllib.loads}
LISTING = {"", "text"}  # directory trees, program output: not code
MARKER = re.compile(r"^<!-- (test|no-test): (.+?) -->$")
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
COMMAND = re.compile(r"^\s*(\$ |(\.venv/bin/)?mtdrift |python )")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str  # path relative to the repository root
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    test: str | None = None  # the check named by <!-- test: NAME -->
    no_test: str | None = None  # the reason given by <!-- no-test: REASON -->

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def make_only(self) -> bool:
        lines = [ln for ln in self.code.splitlines() if ln.strip()]
        return bool(lines) and all(ln.startswith("make ") for ln in lines)


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks_of(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = m.group(1), m.group(2)
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        prev = next((lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        mark = MARKER.match(prev)
        test = mark.group(2) if mark and mark.group(1) == "test" else None
        no_test = mark.group(2) if mark and mark.group(1) == "no-test" else None
        rel = str(path.relative_to(ROOT))
        out.append(Block(rel, start + 1, lang, "\n".join(body) + "\n", test, no_test))
        i += 1
    return out


ALL = [b for p in pages() for b in blocks_of(p)]
RUNNABLE = [b for b in ALL if b.lang in RUN and b.no_test is None]
RUN_PAGES = sorted({b.page for b in RUNNABLE}, key=lambda p: (p != "README.md", p))


# ---------------------------------------------------------------------------------------------
# What every page must hold


def test_every_block_runs_or_says_why_not() -> None:
    problems = []
    for b in ALL:
        if b.lang not in RUN | set(PARSED) | LISTING:
            problems.append(f"{b.where}: unknown block language {b.lang!r}")
        if b.no_test is not None and len(b.no_test.split()) < 5:
            problems.append(f"{b.where}: say why the block cannot run: {b.no_test!r}")
        if b.no_test is not None and b.test is not None:
            problems.append(f"{b.where}: both test and no-test")
        if b.test is not None and b.test not in CHECKS:
            problems.append(f"{b.where}: no check called {b.test!r} in tests/test_docs.py")
        if b.test is not None and b.lang not in RUN:
            problems.append(f"{b.where}: a {b.lang!r} block does not run; drop its test marker")
        if b.lang in LISTING and any(COMMAND.match(ln) for ln in b.code.splitlines()):
            problems.append(f"{b.where}: a command in a {b.lang or 'plain'} block: make it sh")
    used = {b.test for b in ALL if b.test}
    problems += [f"CHECKS[{name!r}] is used by no block" for name in sorted(set(CHECKS) - used)]
    assert not problems, "\n".join(problems)
    # what make test runs, in its log (pytest -rA or -s shows it)
    no_test = [b for b in ALL if b.no_test is not None]
    print(f"\n{len(RUNNABLE)} blocks run ({sum(b.test is not None for b in RUNNABLE)} checked), "
          f"{len(no_test)} marked no-test, "
          f"{sum(b.lang in PARSED and b.no_test is None for b in ALL)} parsed as data, "
          f"{sum(b.lang in LISTING for b in ALL)} listings")  # fmt: skip
    for b in no_test:
        print(f"  no-test {b.where}: {b.no_test}")


@pytest.mark.parametrize("block", [b for b in ALL if b.no_test is not None or b.lang in PARSED],
                         ids=lambda b: b.where)  # fmt: skip
def test_blocks_that_do_not_run_still_parse(block: Block) -> None:
    if block.lang == "python":
        compile(block.code, block.where, "exec")
    elif block.lang in RUN:
        done = subprocess.run(["bash", "-n", "-c", block.code], capture_output=True, text=True)
        assert done.returncode == 0, f"{block.where}: {done.stderr}"
    elif block.lang in PARSED:
        assert PARSED[block.lang](block.code) is not None


def test_readme_is_short_and_its_links_resolve() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if "://" not in t]
    assert "reports/seeds/drift.png" in local and "docs/getting-started.md" in local
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, missing


def _prose(page: Path) -> str:
    """A page's text, less README's Layout section (the lead's, like docs/layout.md)."""
    text = page.read_text(encoding="utf-8")
    return text.split("\n## Layout\n")[0] if page.name == "README.md" else text


def test_internal_modules_are_named_only_on_the_layout_page() -> None:
    internal = re.compile(
        r"(?<![\w/])(?:eval|metrics)/(?:render/)?\w+\.py\b"  # eval/run.py (not tests/eval/...)
        r"|\bmtdrift\.(?:eval|metrics)\.\w"  # mtdrift.eval.run, mtdrift.metrics.base
        r"|(?<![\w.-])(?:eval|metrics)\.\w+\.\w"  # eval.explain.evidence
        r"|\bmetrics/params/"
    )
    found = [
        f"{page.relative_to(ROOT)}: {m.group(0)}"
        for page in pages()
        if page.name != "layout.md"
        for m in internal.finditer(_prose(page))
    ]
    assert not found, "name modules only in docs/layout.md (they are being renamed):\n" + "\n".join(found)


def test_files_the_docs_name_exist() -> None:
    named = re.compile(
        r"\b(?:tests|scripts|seeds|eval|metrics|mtdrift|reports)/[\w./-]*\w\.(?:py|md|tsv|txt|json|png|toml)\b"
    )
    missing = sorted(
        {
            f"{page.relative_to(ROOT)}: {m.group(0)}"
            for page in pages()
            for m in named.finditer(page.read_text(encoding="utf-8"))
            if not (ROOT / m.group(0)).exists() and not m.group(0).startswith(("reports/", "mtdrift/"))
        }
    )
    assert not missing, "\n".join(missing)


def test_make_targets_the_docs_name_exist() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, flags=re.M))
    named = {
        t for page in pages() for t in re.findall(r"`make ([a-z][\w-]*)", page.read_text(encoding="utf-8"))
    }
    assert named >= {"eval", "test", "docs", "bench", "fit"}
    assert named <= targets, sorted(named - targets)


def test_pictures_the_docs_show_are_copied_from_reports() -> None:
    """docs/img/ is filled by `make docs-img` from reports/ (git-ignored): every picture a page
    shows must be one that target copies, and exist in reports/."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    copied = re.search(r"^DOC_IMAGES := (.*?)(?<!\\)\n", makefile, flags=re.M | re.S)
    assert copied is not None
    sources = copied.group(1).replace("\\\n", " ").split()
    served = {f"{Path(s).parent.name}-{Path(s).name}": s for s in sources}
    shown = {
        m
        for page in (ROOT / "docs").rglob("*.md")
        for m in re.findall(r"\]\(img/([^)]+)\)", page.read_text(encoding="utf-8"))
    }
    assert shown and shown <= set(served), sorted(shown - set(served))
    assert all((ROOT / served[name]).is_file() for name in shown)


# ---------------------------------------------------------------------------------------------
# Running the examples


@dataclass
class Ran:
    """What a block left behind, for its check."""

    repo: Path
    ns: dict[str, Any]
    stdout: str = ""
    stderr: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _layout(tmp: Path) -> Path:
    repo = tmp / "repo"
    (repo / "reports").mkdir(parents=True)
    (repo / "seeds").symlink_to(SEEDS)
    (repo / ".venv").symlink_to(Path(sys.prefix))
    shutil.copy(ROOT / "reports" / "baseline.json", repo / "reports" / "baseline.json")
    if SHARED.is_dir():
        (tmp / "shared").symlink_to(SHARED)
    return repo


def _needs_shared(block: Block) -> bool:
    return "../shared" in block.code or "$D/" in block.code


def _run_shell(block: Block, repo: Path) -> Ran:
    env = dict(os.environ, PATH=f"{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ['PATH']}")
    if block.make_only:
        for line in block.code.splitlines():
            args = line.split("#")[0].split()[1:]
            done = subprocess.run(
                ["make", "-n", "-C", str(ROOT), *args], capture_output=True, text=True, env=env
            )
            assert done.returncode == 0, f"{block.where}: make -n {' '.join(args)}: {done.stderr}"
        return Ran(repo, {})
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block.code], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, f"{block.where} exited {done.returncode}:\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, f"{block.where}:\n{done.stderr[-3000:]}"
    return Ran(repo, {}, done.stdout, done.stderr)


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.parametrize("page", RUN_PAGES)
def test_examples_of_a_page_run_and_say_what_they_claim(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _layout(tmp_path)
    monkeypatch.chdir(repo)
    ns: dict[str, Any] = {"__name__": "__docs__"}
    for block in [b for b in ALL if b.page == page and b.lang in RUN and b.no_test is None]:
        if _needs_shared(block) and not SHARED.is_dir():
            pytest.skip(f"{block.where} reads ../shared/data, which is absent here")
        start = time.perf_counter()
        if block.lang == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(block.code, block.where, "exec"), ns)
            ran = Ran(repo, ns, out.getvalue())
        else:
            ran = _run_shell(block, repo)
        if block.test is not None:
            CHECKS[block.test](ran)
        print(f"{block.where}: {time.perf_counter() - start:.1f} s")


# ---------------------------------------------------------------------------------------------
# Facts, from outside mtdrift


def _gold() -> list[tuple[str, str]]:
    """The hand alignment of the seed pair: (reference ids, candidate ids) as written."""
    lines = (SEEDS / "gold_alignment.tsv").read_text(encoding="utf-8").splitlines()
    return [(a, b) for a, b in (ln.split("\t") for ln in lines if ln and not ln.startswith("#"))]


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, dtype=str)


def _corpus(metric: Any, beads: pd.DataFrame) -> float:
    """sacrebleu's own corpus score over the beads' texts (an omission: an empty hypothesis)."""
    return float(metric.corpus_score(list(beads["hyp"]), [list(beads["ref"])]).score)


def _signature(metric: Any) -> str:
    """sacrebleu's own signature of a metric (it knows the number of references once it scored)."""
    metric.corpus_score(["a"], [["a"]])
    return str(metric.get_signature().format())


def _sha12(name: str) -> str:
    """The first 12 hex digits of a parameter file shipped in the installed package."""
    import mtdrift

    for folder, _, files in os.walk(Path(mtdrift.__file__).parent, followlinks=True):
        if name in files:
            return hashlib.sha256((Path(folder) / name).read_bytes()).hexdigest()[:12]
    raise AssertionError(f"{name} is not in the installed package")


def _check_seed_beads(beads: pd.DataFrame) -> None:
    """The seed pair's beads: the hand alignment, every sentence once, the air base renamed."""
    assert list(zip(beads["ref_ids"], beads["hyp_ids"], strict=True)) == _gold()
    omitted = beads[beads["kind"] == "omission"]
    assert [a for a, b in _gold() if not b] == list(omitted["ref_ids"]) == ["11", "12", "13", "14"]
    assert set(omitted["drift"]) == {"major"} and set(omitted["hyp"]) == {""}
    base = beads[beads["reasons"].str.contains("entity: Harir Air Base -> Khalil Air Base", regex=False)]
    assert len(base) == 1
    assert "Harir Air Base" in base["ref"].iloc[0] and "Khalil Air Base" in base["hyp"].iloc[0]
    assert base["drift"].iloc[0] == "major"


def _check_lexical(beads: pd.DataFrame, corpus: dict[str, float], **lang: Any) -> None:
    """Corpus BLEU, chrF, chrF++ and TER are sacrebleu's over the same beads."""
    expected = {
        "bleu": _corpus(BLEU(**lang), beads),
        "chrf": _corpus(CHRF(), beads),
        "chrfpp": _corpus(CHRF(word_order=2), beads),
        "ter": _corpus(TER(asian_support=bool(lang), normalized=bool(lang)), beads),
    }
    for name, value in expected.items():
        assert corpus[name] == pytest.approx(value, abs=1e-5), name


def _summary_system(path: Path, system: str) -> dict[str, Any]:
    summary = json.loads(path.read_text(encoding="utf-8"))
    return next(s for s in summary["systems"] if s["system"] == system)


def check_seed_cli(ran: Ran) -> None:
    out = ran.repo / "reports" / "seeds"
    beads = _csv(out / "segments.csv")
    _check_seed_beads(beads)
    corpus = _summary_system(out / "summary.json", "roundtrip")["corpus"]
    _check_lexical(beads, corpus)
    # what the README says the terminal prints, to its two decimals
    row = next(ln.split() for ln in ran.stdout.splitlines() if ln.startswith("roundtrip "))
    assert row[1] == f"{_corpus(BLEU(), beads):.2f}" == "40.24"
    assert row[2] == f"{_corpus(CHRF(), beads):.2f}" == "65.19"
    assert round(corpus["fidelity"], 2) == 0.72
    assert row[row.index("31") + 1] == "4"  # beads, then omitted


def check_three_systems(ran: Ran) -> None:
    out = ran.repo / "reports" / "three"
    beads = _csv(out / "segments.csv")
    compare = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert compare["baseline"] == "roundtrip"
    fixed = (ran.repo / "fixed.txt").read_text(encoding="utf-8")
    assert "Khalil" not in fixed and fixed.count("Harir Air Base") == 1
    for system in ("roundtrip", "fixed", "half"):
        own = beads[beads["system"] == system]
        assert compare["metrics"]["chrf"]["systems"][system]["score"] == pytest.approx(
            _corpus(CHRF(), own), abs=1e-5
        )
    half_omitted = beads[(beads["system"] == "half") & (beads["kind"] == "omission")]
    assert len(half_omitted) > 4  # the second half of the candidate is gone
    for metric, result in compare["metrics"].items():
        assert result["systems"]["half"]["significant"] is True, metric
        assert result["systems"]["half"]["p_holm"] < 0.05, metric
        assert result["systems"]["fixed"]["significant"] is False, metric
    assert "half" in ran.stdout and "*" in ran.stdout


def check_aligned_cli(ran: Ran) -> None:
    beads = _csv(ran.repo / "reports" / "aligned" / "segments.csv")
    assert list(beads["drift"]) == ["none", "major"]
    assert beads["reasons"].iloc[1] == "number: 64 -> 46"
    for _, b in beads.iterrows():  # sentence BLEU with effective order, as sacrebleu.sentence_bleu
        assert float(b["bleu"]) == pytest.approx(
            sacrebleu.sentence_bleu(b["hyp"], [b["ref"]]).score, abs=1e-5
        )


def check_corpus_cli(ran: Ran) -> None:
    beads = _csv(ran.repo / "reports" / "corpus" / "segments.csv")
    b = beads[beads["system"] == "B"].set_index("seg_id")
    assert list(b["drift"]) == ["major", "major"]
    assert (b.loc["1", "reasons"], b.loc["2", "reasons"]) == ("entity: Ohio -> Texas", "number: 64 -> 46")
    assert set(beads[beads["system"] == "A"]["drift"]) == {"none"}
    corpus = _summary_system(ran.repo / "reports" / "corpus" / "summary.json", "A")["corpus"]
    _check_lexical(beads[beads["system"] == "A"], corpus)


def check_bad_input(ran: Ran) -> None:
    lines = ran.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mtdrift: error: one.txt:"), lines
    assert "2 lines in two.txt and 1 in one.txt" in lines[0]
    bad = ran.repo / "reports" / "bad"
    assert not bad.exists() or not any(bad.iterdir())  # nothing written


def check_metrics_cli(ran: Ran) -> None:
    for metric, name in ((BLEU(), "bleu"), (CHRF(), "chrf"), (CHRF(word_order=2), "chrfpp"), (TER(), "ter")):
        assert f"{name}|{_signature(metric)}" in ran.stdout, name
    for name in ("semantic", "tokenmatch", "fidelity"):
        assert re.search(rf"^{name}\s+builtin", ran.stdout, flags=re.M), name


def check_version(ran: Ran) -> None:
    expected = f"mtdrift {importlib.metadata.version('mtdrift')}"
    assert ran.stdout.splitlines() == [expected, expected]


def check_read_segments_python(ran: Ran) -> None:
    reference_ids = [int(i) for a, _ in _gold() if a for i in a.split(";")]
    assert sorted(ran.ns["ref_ids"]) == sorted(reference_ids) == list(range(32))
    assert len(ran.ns["segments"]) == len(_gold()) == 31
    assert ran.stdout.startswith("31 beads; 32 reference sentences, each in one bead")


def check_metrics_list(ran: Ran) -> None:
    listed = {info.name: info for info in ran.ns["mtdrift"].available_metrics()}
    one = (["a b c"], [["a b d"]])
    for name, metric in (("bleu", BLEU()), ("chrf", CHRF()), ("chrfpp", CHRF(word_order=2)), ("ter", TER())):
        assert listed[name].num_stats == len(metric._extract_corpus_statistics(*one)[0]), name
    assert listed["ter"].higher_is_better is False
    assert {"semantic", "tokenmatch", "fidelity"} <= set(listed)


def check_signatures(ran: Ran) -> None:
    signatures = ran.ns["result"].signatures
    assert signatures["bleu_corpus"] == _signature(BLEU())
    assert signatures["chrf_corpus"] == _signature(CHRF())
    assert signatures["ter_corpus"] == _signature(TER())
    assert "model:sentence-transformers/all-mpnet-base-v2|" in signatures["semantic"]  # the default
    assert f"params:fidelity-v2-mpnet.json@{_sha12('fidelity-v2-mpnet.json')}" in signatures["fidelity"]


def check_german(ran: Ran) -> None:
    out = ran.repo / "reports" / "de"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["language"]["code"] == "de" and summary["language"]["source"] == "detected"
    assert "does not cover de" in ran.stderr
    assert summary["signatures"]["semantic"].endswith("|lang:de|covers:no")
    assert (
        f"fidelity-v2-lexical.json@{_sha12('fidelity-v2-lexical.json')}" in summary["signatures"]["fidelity"]
    )
    _check_lexical(_csv(out / "segments.csv"), summary["systems"][0]["corpus"])


def check_chinese(ran: Ran) -> None:
    out = ran.repo / "reports" / "zh"
    beads = _csv(out / "segments.csv")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "BLEU tok:zh" in ran.stdout
    assert summary["signatures"]["bleu_corpus"] == _signature(BLEU(trg_lang="zh"))
    # sacrebleu -l en-zh: BLEU tok:zh; TER normalised with Asian support (mtdrift turns it on)
    _check_lexical(beads, summary["systems"][0]["corpus"], trg_lang="zh")
    assert list(beads["drift"]) == ["none", "none", "major"]
    assert beads["reasons"].iloc[2] == "number: 92 -> 29"


def check_gold_alignment(ran: Ran) -> None:
    assert ran.ns["found"] == ran.ns["gold"] == _gold()
    assert ran.stdout == "31 beads; the hand alignment\n"


def check_fidelity_signature(ran: Ran) -> None:
    lines = ran.stdout.splitlines()
    assert lines == [
        f"{m} fidelity-v2-{m}.json@{_sha12(f'fidelity-v2-{m}.json')}" for m in ("mpnet", "minilm")
    ]


def check_encoder_languages(ran: Ran) -> None:
    free = f"fidelity-v2-lexical.json@{_sha12('fidelity-v2-lexical.json')}"
    own = f"fidelity-v2-usem3.json@{_sha12('fidelity-v2-usem3.json')}"
    assert ran.stdout.splitlines() == [
        f"minilm  covers de: False; judge: {free}",
        f"usem3   covers de: True; judge: {own}",
    ]


def check_compare_python(ran: Ran) -> None:
    result = ran.ns["result"]
    beads = result.segments
    chrf = {s: _corpus(CHRF(), beads[beads["system"] == s]) for s in ("roundtrip", "fixed", "half")}
    systems = result.systems
    for s in ("fixed", "half"):
        assert systems.loc[s, "chrf_delta"] == pytest.approx(chrf[s] - chrf["roundtrip"], abs=1e-5)
    assert systems.loc["half", "chrf_p"] < 0.05 <= systems.loc["fixed", "chrf_p"]
    ranks = result.ranks.query("metric == 'chrf'").set_index("system")
    assert list(ranks.index) == sorted(chrf, key=lambda s: -chrf[s])
    assert ranks.loc["half", "cluster"] > ranks.loc["roundtrip", "cluster"] == ranks.loc["fixed", "cluster"]


def check_analyze_seeds(ran: Ran) -> None:
    out = ran.repo / "reports" / "seeds-analysis"
    names = ("analysis.json", "analysis.md", "analysis.html", "analysis_words.png", "analysis_lengths.png")
    assert all((out / n).is_file() for n in names)


def check_analyze_python(ran: Ran) -> None:
    analysis = ran.ns["analysis"]
    beads = _csv(ran.repo / "reports" / "seeds" / "segments.csv")
    tok = Tokenizer13a()
    ref_words = sum(len(tok(r).split()) for r in beads["ref"])
    hyp_words = sum(len(tok(h).split()) for h in beads["hyp"])
    assert analysis.word_accuracy["ref_words"].sum() == ref_words
    assert analysis.word_accuracy["hyp_words"].sum() == hyp_words
    drift = analysis.drift_buckets.set_index(["by", "bucket"])
    assert drift.loc[("reason", "omission"), "beads"] == sum(1 for _, b in _gold() if not b)
    assert "entity: Harir Air Base -> Khalil Air Base" in drift.loc[("reason", "entity"), "examples"]


@functools.cache
def _ted_chrf_by_item() -> tuple[float, int]:
    """chrF's Kendall tau-b by item on TED, from scratch: sacrebleu's sentence chrF, per segment
    across its MT systems (human rows out), items where a side is constant skipped, averaged;
    and how many items count."""
    from scipy.stats import kendalltau

    rows = pd.read_json(TED, lines=True, dtype=False)
    rows = rows[~rows["is_human"].astype(bool)].copy()
    pairs = zip(rows["hypothesis"], rows["reference"], strict=True)
    rows["score"] = [sacrebleu.sentence_chrf(h, [r]).score for h, r in pairs]
    taus = [
        kendalltau(item["score"], item["mqm"]).statistic
        for _, item in rows.groupby(["doc_id", "seg_id"])
        if item["score"].nunique() > 1 and item["mqm"].nunique() > 1
    ]
    return sum(taus) / len(taus), len(taus)


def _ted_systems() -> tuple[list[str], list[str]]:
    rows = pd.read_json(TED, lines=True, dtype=False)
    human = sorted(set(rows.loc[rows["is_human"].astype(bool), "system"]))
    return sorted(set(rows["system"]) - set(human)), human


def _check_ted_meta(meta: dict[str, Any]) -> None:
    machine, human = _ted_systems()
    ted = meta["datasets"]["wmt21ted_zhen"]
    assert ted["human_systems"] == human == ["ref-A"]
    assert sorted(ted["systems"]) == machine and ted["n_systems"] == len(machine) == 13
    tau, items = _ted_chrf_by_item()
    chrf = ted["metrics"]["chrf"]
    assert chrf["seg_kendall_by_item"] == pytest.approx(tau, abs=1e-9)
    assert chrf["n_items_used"] == items
    assert round(tau, 3) == 0.077  # the TED column of the docs' three-set table


def check_meta_ted(ran: Ran) -> None:
    meta = json.loads((ran.repo / "reports" / "meta-ted" / "meta.json").read_text(encoding="utf-8"))
    _check_ted_meta(meta)
    assert {"meta.md", "meta.png"} <= {p.name for p in (ran.repo / "reports" / "meta-ted").iterdir()}


def check_seeds_api(ran: Ran) -> None:
    result = ran.ns["result"]
    segments = ran.ns["segments"]
    _check_seed_beads(segments.astype({"ref_ids": str, "hyp_ids": str}))
    row = result.systems.loc["roundtrip"]
    assert row["chrf"] == pytest.approx(_corpus(CHRF(), segments), abs=1e-5)
    assert row["chrf_lo"] < row["chrf"] < row["chrf_hi"]
    written = _csv(ran.repo / "reports" / "api-seeds" / "segments.csv")
    assert list(zip(written["ref_ids"], written["hyp_ids"], strict=True)) == _gold()
    assert {p.name for p in ran.ns["written"]} >= {"segments.csv", "summary.json", "report.html"}
    assert "roundtrip" in ran.ns["html"] and "Khalil Air Base" in ran.ns["html"]
    assert "all-mpnet-base-v2" in ran.stdout  # the semantic signature printed: the default model


def check_corpus_frame(ran: Ran) -> None:
    result = ran.ns["corpus_result"]
    beads = result.segments
    b = beads[beads["system"] == "B"].set_index("seg_id")
    assert list(b["drift"]) == ["major", "major"]
    assert (b.loc["1", "reasons"], b.loc["2", "reasons"]) == ("entity: Ohio -> Texas", "number: 64 -> 46")
    a = beads[beads["system"] == "A"]
    assert set(a["drift"]) == {"none"}
    delta = _corpus(CHRF(), beads[beads["system"] == "B"]) - _corpus(CHRF(), a)
    assert result.comparison.baseline == "A"
    assert result.comparison.get("B", "chrf").delta == pytest.approx(delta, abs=1e-5) and delta < 0


def check_external_comet(ran: Ran) -> None:
    """The official COMET-22 column: each system's mean over the two documents' segments."""
    official = pd.read_csv(
        ran.ns["official"], sep="\t", keep_default_na=False, dtype={"seg_id": str, "doc_id": str}
    )
    two_docs = ran.ns["two_docs"]
    keys = set(zip(two_docs["doc_id"].astype(str), two_docs["seg_id"].astype(str), strict=True))
    rows = official[[k in keys for k in zip(official["doc_id"], official["seg_id"], strict=True)]]
    expected = rows.groupby("system")["COMET-refA"].mean()
    got = ran.ns["with_comet"].systems["COMET-22"]
    assert len(got) == len(expected) == 15
    for system, score in got.items():
        assert score == pytest.approx(expected[system], abs=1e-9), system


def check_check_api(ran: Ran) -> None:
    verdict = ran.ns["verdict"]
    assert verdict.regressed is False
    beads = ran.ns["segments"]
    current = {c.metric: c.current for c in verdict.checks}
    assert current["chrf"] == pytest.approx(_corpus(CHRF(), beads), abs=1e-5)
    assert current["bleu"] == pytest.approx(_corpus(BLEU(), beads), abs=1e-5)
    assert "fidelity" in current


def check_meta_api(ran: Ran) -> None:
    meta = json.loads((ran.repo / "reports" / "api-meta" / "meta.json").read_text(encoding="utf-8"))
    _check_ted_meta(meta)
    tau, _ = _ted_chrf_by_item()
    assert f"'chrf': {round(tau, 3)}" in ran.stdout


def check_check_example(ran: Ran) -> None:
    minus2 = _csv(ran.repo / "reports" / "minus2" / "segments.csv")
    seeds = _csv(ran.repo / "reports" / "seeds" / "segments.csv")
    for metric, name in ((BLEU(), "BLEU"), (CHRF(), "chrF")):
        old, new = _corpus(metric, seeds), _corpus(metric, minus2)
        assert f"REGRESSED roundtrip {name}: {old:.4f} -> {new:.4f}" in ran.stdout
    # BLEU 40.24 -> 38.17, chrF 65.19 -> 62.25: the figures regression-ci.md gives
    assert (round(_corpus(BLEU(), minus2), 2), round(_corpus(CHRF(), minus2), 2)) == (38.17, 62.25)
    changes = json.loads((ran.repo / "reports" / "check" / "check.json").read_text(encoding="utf-8"))
    changed = changes["changes"]["roundtrip"]["changed"]
    assert sorted(i for unit in changed for i in unit["newly_omitted"]) == [1, 2]
    from junitparser import JUnitXml

    suites = list(JUnitXml.fromfile(str(ran.repo / "reports" / "check" / "junit.xml")))
    cases = [case for suite in suites for case in suite]
    assert len(cases) == 7 and all(case.result for case in cases)  # every metric regressed
    # the transcript that regression-ci.md prints after this block
    page = (ROOT / "docs" / "regression-ci.md").read_text(encoding="utf-8")
    transcript = page.split("```text\n", 1)[1].split("```", 1)[0]
    for line in transcript.splitlines():
        assert line in ran.stdout, line


def check_history_example(ran: Ran) -> None:
    runs = [
        json.loads(ln)
        for ln in (ran.repo / "reports" / "history.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [r["label"] for r in runs] == ["v1", "v2-drop2"]
    history = (ran.repo / "reports" / "history" / "history.md").read_text(encoding="utf-8")
    assert "| v1 | v2-drop2 | no significant change |" in history
    assert (ran.repo / "reports" / "history" / "history.png").is_file()


def check_scores_aligned(ran: Ran) -> None:
    compare = json.loads((ran.repo / "reports" / "metricx" / "compare.json").read_text(encoding="utf-8"))
    metricx = compare["metrics"]["metricx"]
    assert metricx["higher_is_better"] is False
    # the mean of each system's lines of metricx.seg.score
    assert metricx["systems"]["a"]["score"] == pytest.approx((1.2 + 0.4) / 2)
    assert metricx["systems"]["b"]["score"] == pytest.approx((6.5 + 4.8) / 2)
    summary = json.loads((ran.repo / "reports" / "metricx" / "summary.json").read_text(encoding="utf-8"))
    assert "|higher:no|" in summary["signatures"]["metricx"]


def check_readme_api(ran: Ran) -> None:
    result = ran.ns["result"]
    segments = ran.ns["segments"]
    _check_seed_beads(segments.astype({"ref_ids": str, "hyp_ids": str}))
    _check_lexical(segments, result.summary()["systems"][0]["corpus"])
    assert "all-MiniLM-L6-v2" in result.signatures["semantic"]
    # MiniLM's labels on the seed pair, as metrics-and-signatures.md gives them
    assert result.systems.loc["roundtrip", "drift_major"] == 6
    assert (ran.repo / "reports" / "api-seeds" / "report.html").is_file()


def check_encoder_internals(ran: Ran) -> None:
    enc = ran.ns["enc"]
    assert ran.ns["covers"](enc, "de") is False and ran.ns["covers"](enc, "en") is True


CHECKS: dict[str, Callable[[Ran], None]] = {
    "seed-cli": check_seed_cli,
    "seed-three-systems": check_three_systems,
    "aligned-cli": check_aligned_cli,
    "corpus-cli": check_corpus_cli,
    "bad-input": check_bad_input,
    "metrics-cli": check_metrics_cli,
    "version": check_version,
    "read-segments-python": check_read_segments_python,
    "metrics-list": check_metrics_list,
    "signatures": check_signatures,
    "german": check_german,
    "chinese": check_chinese,
    "gold-alignment": check_gold_alignment,
    "fidelity-signature": check_fidelity_signature,
    "encoder-languages": check_encoder_languages,
    "compare-python": check_compare_python,
    "analyze-seeds": check_analyze_seeds,
    "analyze-python": check_analyze_python,
    "meta-ted": check_meta_ted,
    "seeds-api": check_seeds_api,
    "corpus-frame": check_corpus_frame,
    "external-comet": check_external_comet,
    "check-api": check_check_api,
    "meta-api": check_meta_api,
    "check-example": check_check_example,
    "history-example": check_history_example,
    "scores-aligned": check_scores_aligned,
    "readme-api": check_readme_api,
    "encoder-internals": check_encoder_internals,
}
