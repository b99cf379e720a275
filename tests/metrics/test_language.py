"""Every target language: detection, sacrebleu's scores for that language, sentence rules,
fact checks that know their language, and off-target sentences.

Real text throughout: WMT23 zh-en sources (Chinese), WMT23 en-de references and outputs
(German), the seed pair, and a few Japanese and Korean sentences written by a person for these
tests (no Japanese or Korean data ships with the project).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric as SacreMetric

from mtdrift.eval.segment import split_sentences
from mtdrift.metrics.encoders import MiniLMEncoder
from mtdrift.metrics.facts.checker import FactChecker, checks_for
from mtdrift.metrics.facts.numbers import NumberStyle, extract_numbers, number_findings
from mtdrift.metrics.language import LanguageError, check_code, detect, off_target, profile
from mtdrift.metrics.lexical import LEXICAL_METRICS, get_lexical
from tests.support.fakes import FakeEncoder
from tests.support.mqm import de_pair, dev_rows, zh_pair
from tests.support.paths import DATA, HYP, REF

# Written for these tests: a Japanese and a Korean rendering of seed sentences (references),
# and a second rendering with words changed, dropped or reordered (candidates).
JA_REFS = [
    "イラク政府は日曜日、米軍が国内の連邦領域にある軍事施設から「完全撤退」を完了したと発表した。",
    "イラク国防省によると、米国の最後の顧問団がイラク西部アンバル州のアサド空軍基地を離れた。",
    "同基地は20年以上にわたり米軍を受け入れてきた。",
    "米軍はクルド自治区には引き続き駐留している。",
]
JA_HYPS = [
    "イラク政府は日曜に、米軍が連邦領内の軍事施設からの完全な撤退を終えたと述べた。",
    "国防省は、最後の米国顧問団が西部アンバル州のアサド基地から去ったと発表した。",
    "この基地には二十年以上米軍が駐留していた。",
    "米軍はクルド地域に残っている。",
]
KO_REFS = [
    "이라크 정부는 일요일 미군이 연방 영토 내 군사 시설에서 완전 철수를 마쳤다고 밝혔다.",
    "이라크 국방부는 미국 고문단의 마지막 인원이 서부 안바르주의 알아사드 공군기지를 떠났다고 말했다.",
    "이 기지는 20년 넘게 미군을 수용해 왔다.",
    "미군은 쿠르드 자치 지역에는 계속 주둔하고 있다.",
]
KO_HYPS = [
    "이라크 정부는 일요일에 미군이 연방 지역의 군사 시설에서 철수를 완료했다고 발표했다.",
    "국방부는 마지막 미국 고문단이 안바르주 알아사드 기지를 떠났다고 발표했다.",
    "이 기지에는 20년 이상 미군이 있었다.",
    "미군은 쿠르드 지역에 남아 있다.",
]


def _sacre(name: str, lang: str) -> tuple[SacreMetric, SacreMetric]:
    """sacrebleu's own metric for target ``lang`` (corpus, sentence), as its CLI's ``-l xx-LANG``
    builds it; TER with the Asian support mtdrift turns on for zh/ja/ko."""
    asian = lang in ("zh", "ja", "ko")
    if name == "bleu":
        return BLEU(trg_lang=lang), BLEU(trg_lang=lang, effective_order=True)
    if name in ("chrf", "chrfpp"):
        m = CHRF(word_order=2 if name == "chrfpp" else 0)
        return m, m
    ter = TER(normalized=asian, asian_support=asian)
    return ter, ter


@pytest.mark.parametrize("lang", ["zh", "ja", "ko", "de"])
@pytest.mark.parametrize("name", LEXICAL_METRICS)
def test_lexical_scores_equal_sacrebleus_for_the_target_language(lang: str, name: str) -> None:
    """Corpus and sentence scores, exactly sacrebleu's with the same target language (tok:zh,
    ja-mecab, ko-mecab, 13a; TER normalised with Asian support for zh/ja/ko)."""
    refs, hyps = {"zh": zh_pair(60), "ja": (JA_REFS, JA_HYPS), "ko": (KO_REFS, KO_HYPS), "de": de_pair()}[
        lang
    ]
    metric = get_lexical(name, trg_lang=lang)
    stats = metric.stats(hyps=hyps, refs=refs)
    corpus, sentence = _sacre(name, lang)
    assert metric.corpus_score(stats) == pytest.approx(corpus.corpus_score(hyps, [refs]).score, abs=1e-9)
    expected = [sentence.sentence_score(h, [r]).score for h, r in zip(hyps, refs, strict=True)]
    assert metric.sentence_scores(stats).tolist() == pytest.approx(expected, abs=1e-9)
    tok = {"zh": "tok:zh", "ja": "tok:ja-mecab", "ko": "tok:ko-mecab", "de": "tok:13a"}[lang]
    if name == "bleu":
        assert tok in metric.signature("corpus")
    if name == "ter":
        assert ("asian:yes" in metric.signature("corpus")) == (lang != "de")


def test_chinese_bleu_with_13a_is_what_the_issue_reported() -> None:
    """The pitfall itself: 13a on Chinese gives a fraction of sacrebleu's zh figure."""
    refs, hyps = zh_pair()
    zh = get_lexical("bleu", trg_lang="zh")
    en = get_lexical("bleu", trg_lang="en")
    result_zh = zh.corpus_score(zh.stats(hyps=hyps, refs=refs))
    result_13a = en.corpus_score(en.stats(hyps=hyps, refs=refs))
    assert result_zh == pytest.approx(BLEU(trg_lang="zh").corpus_score(hyps, [refs]).score)
    assert result_13a < result_zh / 2


@pytest.mark.model
@pytest.mark.parametrize("given", [None, "zh"])
def test_the_chinese_pair_gives_sacrebleus_figures_detected_or_given(
    tmp_path: Path, given: str | None
) -> None:
    refs, hyps = zh_pair()
    (tmp_path / "ref.txt").write_text("\n".join(refs) + "\n", encoding="utf-8")
    (tmp_path / "hyp.txt").write_text("\n".join(hyps) + "\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "mtdrift", "evaluate", "--aligned", "--ref", str(tmp_path / "ref.txt"),
           "--hyp", str(tmp_path / "hyp.txt"), "--model", "minilm", "--no-plots",
           "--out", str(tmp_path / "out")]  # fmt: skip
    if given:
        cmd += ["--lang", given]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    corpus = summary["systems"][0]["corpus"]
    assert corpus["bleu"] == pytest.approx(BLEU(trg_lang="zh").corpus_score(hyps, [refs]).score, abs=1e-6)
    assert corpus["chrf"] == pytest.approx(CHRF().corpus_score(hyps, [refs]).score, abs=1e-6)
    ter = TER(normalized=True, asian_support=True).corpus_score(hyps, [refs]).score
    assert corpus["ter"] == pytest.approx(ter, abs=1e-6)
    assert summary["language"]["code"] == "zh"
    assert summary["language"]["source"] == ("given" if given else "detected")
    sig = summary["signatures"]
    assert "tok:zh" in sig["bleu_corpus"] and "asian:yes" in sig["ter"]
    assert "lang:zh" in sig["input"] and f"langsrc:{'given' if given else 'detected'}" in sig["input"]
    assert "names:no" in sig["checks"] and "negation:none" in sig["checks"]
    assert "language: zh" in proc.stdout


def test_detection_on_real_documents() -> None:
    refs, _ = zh_pair(20)
    de_refs, _ = de_pair()
    assert detect(REF.read_text(encoding="utf-8")).code == "en"
    assert detect("\n".join(refs)).code == "zh"
    assert detect("\n".join(de_refs[:20])).code == "de"
    assert detect("\n".join(JA_REFS)).code == "ja"
    assert detect("\n".join(KO_REFS)).code == "ko"
    with pytest.raises(LanguageError, match="without letters"):
        detect("12 34 -- 56")


@pytest.mark.parametrize(
    ("code", "expected"), [("de", "de"), ("ZH", "zh"), (" ja ", "ja")]
)  # fmt: skip
def test_check_code_accepts_iso_639_1(code: str, expected: str) -> None:
    assert check_code(code) == expected


@pytest.mark.parametrize("code", ["eng", "german", "xx", ""])
def test_check_code_refuses_anything_else(code: str) -> None:
    with pytest.raises(LanguageError, match="ISO 639-1"):
        check_code(code)


def test_profiles_follow_sacrebleus_choice() -> None:
    assert [profile(c).bleu_tokenize for c in ("zh", "ja", "ko", "de", "sw")] == [
        "zh",
        "ja-mecab",
        "ko-mecab",
        "13a",
        "13a",
    ]
    assert [profile(c).ter_asian for c in ("zh", "ja", "ko", "de")] == [True, True, True, False]


# --- sentences ---------------------------------------------------------------------------

_GERMAN_CASES = re.compile(
    r"z\. ?B\.|\bNr\.|\b\d{1,2}\. (?:Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|"
    r"November|Dezember)"
)
_BAD_GERMAN_END = re.compile(r"(?:\bz\.|\bz\. ?B\.|\bNr\.|\b\d{1,2}\.)$")


def test_german_abbreviations_and_ordinals_do_not_end_sentences() -> None:
    """Every en-de reference or output with ``z. B.``, ``Nr.`` or a date like ``11. September``:
    with German rules no sentence ends there; English rules (the test can fail) cut some."""
    de_rows = dev_rows("wmt23_ende_mqm.dev.jsonl.gz")
    texts = [t for t in dict.fromkeys(str(r[k]) for r in de_rows for k in ("reference", "hypothesis"))
             if _GERMAN_CASES.search(t)]  # fmt: skip
    assert len(texts) >= 60
    bad_de = [s.text for t in texts for s in split_sentences(t, "de") if _BAD_GERMAN_END.search(s.text)]
    bad_en = [s.text for t in texts for s in split_sentences(t, "en") if _BAD_GERMAN_END.search(s.text)]
    assert bad_de == []
    assert len(bad_en) > 0


def test_german_sentences_from_a_real_paragraph() -> None:
    text = next(
        str(r["reference"]) for r in dev_rows("wmt23_ende_mqm.dev.jsonl.gz")
        if str(r["reference"]).startswith("Die „MusicLM Demo“ ist halbwegs interessant.")
    )  # fmt: skip
    result = [s.text for s in split_sentences(text, "de")]
    assert result[0] == "Die „MusicLM Demo“ ist halbwegs interessant."
    assert result[1].startswith("Du kannst nach einem bestimmten Musikstück fragen, z. B. „Jazz")
    assert result[1].endswith("zwei Lieder für dich.")


def test_chinese_full_width_ends_split_sentences() -> None:
    """zh-en sources with several sentences: every 。！？ not at the end of a text ends a sentence
    (closing quotes stay with it), and the pieces cover the text."""
    src = list(dict.fromkeys(str(r["source"]) for r in dev_rows("wmt23_zhen_mqm.dev.jsonl.gz")))
    multi = [t for t in src if re.search(r"[。！？][^。！？」』”’）)\s]", t.strip())]
    assert len(multi) >= 4  # most zh-en sources are one sentence; these four are not
    for text in multi:
        sents = split_sentences(text, "zh")
        assert len(sents) >= 2
        for s in sents:
            assert not re.search(r"[。！？][」』”’）)]*[^。！？」』”’）)\s]", s.text), s.text
        assert all(text[s.start : s.end] == s.text for s in sents)


def test_a_language_pysbd_lacks_gets_the_generic_rule() -> None:
    from mtdrift.eval.segment import signature

    result = [
        s.text for s in split_sentences("Habari ya asubuhi. Leo ni siku nzuri! Je, utakuja? ndiyo.", "sw")
    ]
    assert result == ["Habari ya asubuhi.", "Leo ni siku nzuri!", "Je, utakuja? ndiyo."]
    assert signature("sw").startswith("generic:sw+") and "abbr" not in signature("sw")
    assert signature("en") == "pysbd==0.3.4+wrap+quotes+bangs+marks+abbr+max1000"


# --- fact checks -------------------------------------------------------------------------

GERMAN = NumberStyle(words=False, decimal_comma=True)
CHINESE = NumberStyle(words=False)


@pytest.mark.parametrize(
    ("ref", "hyp", "style", "expected"),
    [
        # the same amount written with and without thousands separator: no finding
        ("Es kostet 1.000,5 Euro.", "Es kostet 1000,5 Euro.", GERMAN, []),
        # a changed German number, with the decimal comma read as such
        ("Es kostet 1.000,5 Euro.", "Es kostet 1.005 Euro.", GERMAN, [("1.000,5", "1.005")]),
        # full-width digits equal ASCII ones, against Chinese characters
        ("共有１２３人参加。", "共有123人参加。", CHINESE, []),
        ("增长了３．５％。", "增长了3.6%。", CHINESE, [("３．５％", "3.6%")]),
        # English keeps reading number words
        ("It lasted two decades.", "It lasted 20 years.", NumberStyle(), []),
    ],
)  # fmt: skip
def test_numbers_in_any_script_and_format(
    ref: str, hyp: str, style: NumberStyle, expected: list[tuple[str, str]]
) -> None:
    result = [(f.ref, f.hyp) for f in number_findings(ref=ref, hyp=hyp, style=style)]
    assert result == expected


def test_german_numbers_from_real_text() -> None:
    text = "Am Tag der Terroranschläge vom 11. September 2001, bei dem 3.000 Menschen getötet wurden"
    result = [m.value for m in extract_numbers(text, GERMAN)]
    assert result == ["11", "2001", "3000"]


def test_checks_say_what_they_check_per_language() -> None:
    checker = FactChecker(nlp=lambda text: type("Doc", (), {"ents": ()})())
    de = checker.signature(lang="de").as_dict()
    en = checker.signature(lang="en").as_dict()
    assert (de["names"], de["negation"], de["numbers"]) == ("no", "none", "digits:1.000,5")
    assert (en["names"], en["negation"], en["numbers"]) == ("yes", "en", "digits+words-en")
    assert checks_for("zh").numbers == CHINESE


def test_no_english_rule_runs_on_german_text() -> None:
    """A German pair with a dropped 'nicht' and a changed name: no negation or name finding
    (those checks are English), the number still checked."""
    checker = FactChecker(nlp=lambda text: (_ for _ in ()).throw(AssertionError("NER must not run")))
    [result] = checker.check_pairs(
        [("Berlin ist nicht teuer, sagt Müller, 5 Prozent.", "Hamburg ist teuer, sagt Meier, 6 Prozent.")],
        lang="de",
    )
    assert [(f.kind, f.ref, f.hyp) for f in result] == [("number", "5", "6")]


# --- off-target --------------------------------------------------------------------------


def _offtarget_candidate() -> tuple[str, dict[int, str]]:
    spec = json.loads((DATA / "offtarget.json").read_text(encoding="utf-8"))["lines"]
    lines = HYP.read_text(encoding="utf-8").split("\n")
    for k, v in spec.items():
        lines[int(k)] = v["text"]
    return "\n".join(lines), {int(k): v["lang"] for k, v in spec.items()}


def test_off_target_sentences_are_named() -> None:
    text, langs = _offtarget_candidate()
    lines = text.split("\n")
    result = off_target([lines[k] for k in sorted(langs)], "en")
    assert result == [langs[k] for k in sorted(langs)]


def test_quoted_foreign_words_are_not_off_target() -> None:
    texts = [
        "He said “Guten Morgen, meine Damen und Herren” to everyone in the room.",
        "The motto was “Liberté, égalité, fraternité” for the French republic since 1848.",
        "Militia groups such as Kataib Hezbollah and Harakat al-Nujaba have refused to disarm.",
    ]
    assert off_target(texts, "en") == [None, None, None]


@pytest.mark.parametrize(
    ("name", "trg"), [("wmt23_ende_mqm.dev.jsonl.gz", "de"), ("wmt23_heen_mqm.dev.jsonl.gz", "en")]
)  # fmt: skip
def test_no_false_alarm_on_dev_outputs(name: str, trg: str) -> None:
    """Every sentence of every system's output in two dev sets (about 10,000 and 5,000): none
    is called off-target (scripts/bench_langid.py measures all four sets)."""
    texts = list(dict.fromkeys(
        s.text for r in dev_rows(name) for s in split_sentences(str(r["hypothesis"]).lstrip("\ufeff"), trg)
    ))  # fmt: skip
    assert len(texts) > 4000
    assert [t for t, o in zip(texts, off_target(texts, trg), strict=True) if o] == []


@pytest.mark.model
def test_three_translated_sentences_are_exactly_three_off_target_beads(
    real_encoder: MiniLMEncoder, checker: FactChecker
) -> None:
    from mtdrift.eval.config import Document
    from mtdrift.eval.pipeline import evaluate

    text, _ = _offtarget_candidate()
    ev = evaluate(Document(str(REF), REF.read_text(encoding="utf-8")), [("mixed", Document("mixed", text))],
                  encoder=real_encoder, checker=checker)  # fmt: skip
    [system] = ev.systems
    off = [
        (b.ref_ids, b.hyp_ids, b.drift, b.reason_text())
        for b in system.beads
        if "off-target" in b.reason_text()
    ]
    expected = [((2,), (2,), "major", "off-target: fr"), ((15,), (11,), "major", "off-target: es"),
                ((19,), (14,), "major", "off-target: de")]  # fmt: skip
    assert off == expected
    assert system.counts()["reasons"]["off-target"] == 3
    # the seed's four real omissions stay; no other bead invented for the three sentences
    assert system.counts()["beads"].get("omission") == 4
    assert system.counts()["beads"].get("addition", 0) == 0


# --- bad input ---------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mtdrift", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--lang", "german"], "unknown language 'german': --lang takes an ISO 639-1 code"),
        (["--tokenize", "nope"], "unknown BLEU tokenizer 'nope'"),
        (["--tokenize", "flores200"], "flores200 tokenizer cannot load here: it needs sentencepiece"),
    ],
)  # fmt: skip
def test_bad_language_options_are_one_line(tmp_path: Path, option: list[str], message: str) -> None:
    proc = _cli(
        "evaluate",
        "--ref",
        str(REF),
        "--hyp",
        str(HYP),
        "--model",
        "minilm",
        "--out",
        str(tmp_path / "o"),
        *option,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[-1], proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.model
def test_an_english_only_encoder_on_german_says_so_and_decides_nothing(
    real_encoder: MiniLMEncoder, checker: FactChecker, caplog: pytest.LogCaptureFixture
) -> None:
    """MiniLM on 30 WMT23 en-de paragraphs: a warning, ``covers:no`` in the semantic signature,
    and fidelity from the judge that reads no encoder (the same with any other encoder)."""
    from mtdrift.eval.corpus import Corpus
    from mtdrift.eval.pipeline import evaluate_corpus

    refs, hyps = de_pair()
    refs, hyps = refs[:30], hyps[:30]
    corpus = Corpus(
        name="ende", keys=tuple(("d", str(k)) for k in range(30)), refs=tuple(refs), hyps={"A": tuple(hyps)}
    )
    with caplog.at_level("WARNING", logger="mtdrift"):
        ev = evaluate_corpus(corpus, encoder=real_encoder, checker=checker)
    assert "does not cover de: semantic and tokenmatch are reported" in caplog.text
    assert "|lang:de|covers:no" in ev.signatures["semantic"]
    assert "fidelity-v2-lexical.json" in ev.signatures["fidelity"]
    assert ev.config.lang == "de" and "lang:de|langsrc:detected" in ev.signatures["input"]
    # the same fidelity whatever the encoder said: it reads no encoder
    from tests.support.fakes import FakeEncoder

    fake = evaluate_corpus(corpus, encoder=FakeEncoder(), checker=checker, config=ev.config)
    assert [b.fidelity for b in fake.systems[0].beads] == [b.fidelity for b in ev.systems[0].beads]


Link = tuple[tuple[int, ...], tuple[int, ...]]  # a bead's ref ids and hyp ids


@pytest.mark.parametrize(
    ("beads", "off", "expected"),
    [
        # the aligner's omission + addition of one translated sentence: one bead
        ([((0,), (0,)), ((), (1,)), ((1,), ()), ((2,), (2,))], [False, True, False],
         ((((0,), (0,)), ((1,), (1,)), ((2,), (2,))))),
        # the omission before the addition is taken when none follows
        ([((0,), ()), ((), (0,))], [True], (((0,), (0,)),)),
        # an addition in the right language stays an addition, the omission an omission
        ([((), (0,)), ((0,), ())], [False], (((), (0,)), ((0,), ()))),
        # an off-target addition with no omission beside it stays an addition
        ([((0,), (0,)), ((), (1,))], [False, True], (((0,), (0,)), ((), (1,)))),
    ],
)  # fmt: skip
def test_pair_off_target(beads: list[Link], off: list[bool], expected: tuple[Link, ...]) -> None:
    from mtdrift.eval.pipeline import pair_off_target

    assert pair_off_target(beads, off) == expected


def test_an_unsure_language_flags_no_sentence_off_target(
    fake_encoder: FakeEncoder, checker: FactChecker
) -> None:
    """Three short Chinese lines (WMT23 zh-en sources) are too little to detect Chinese with
    confidence: English is assumed and said so, and then no Chinese sentence may be called
    off-target against it (it was 2 of 3 before); given ``lang="zh"``, none is either."""
    import mtdrift

    ref = "\n".join(
        [
            "然而，欧盟与各成员国就围栏费用支付等问题争吵不休。",
            "冯德莱恩一再表示，欧盟资金不会支付相关费用。",
            "据欧盟委员会估计，欧盟的申根国家去年收到超92万份庇护申请，比前一年增加近半。",
        ]
    )
    hyp = ref.replace("92万", "29万").replace("相关", "")
    ev = mtdrift.Evaluator.from_parts(fake_encoder, checker=checker, workers=0)
    unsure = ev.evaluate(ref, {"mt": hyp}, aligned=True).evaluation
    assert unsure.config.language is not None and unsure.config.language.source == "fallback"
    assert "langsrc:fallback|offtarget:off" in unsure.signatures["input"]
    assert unsure.systems[0].counts()["reasons"]["off-target"] == 0
    given = ev.evaluate(ref, {"mt": hyp}, aligned=True, lang="zh").evaluation
    assert "offtarget:p_ref<=" in given.signatures["input"]
    assert given.systems[0].counts()["reasons"]["off-target"] == 0
