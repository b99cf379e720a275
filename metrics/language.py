"""The language of a text: what it is, how it was decided, and what follows from it.

One table, :data:`PROFILES`, says for each language what mtdrift does with it (BLEU's
tokenizer, TER's Asian support, sentence rules, which fact checks run); the CLI, the API and
the signatures all read it. Languages not in the table get the language-neutral defaults
(:func:`profile`), and the signatures say so.

Language identification is py3langid 0.4.0 (a naive Bayes over byte n-grams, 97 languages,
numpy only). Chosen over lingua-language-detector 2.1.1 by measurement on short sentences of
the dev sets (600 per language, ``scripts/bench_langid.py``): py3langid 3,000 sentences/s
with accuracy 0.93 (zh), 0.96 (en), 0.99 (he), 0.98 (de); lingua 140/s after a 42 s load of
all its models (0.99, 0.97, 0.99, 0.98). Neither was ever wrong with a probability of 0.9 or
more, which is what the off-target rule needs; py3langid costs nothing beside the encoder.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mtdrift.metrics.numeric import one_blas_thread


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


# ISO 639-1: the two-letter codes --lang accepts.
ISO_639_1: frozenset[str] = _codes(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy
    hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li
    ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa
    pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th
    ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu"""
)

# Languages whose text the identifier tells apart poorly, or that are varieties of one
# another: a sentence identified as one of a group is never "off-target" for another.
_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"zh", "wuu", "yue"}),
    frozenset({"no", "nb", "nn", "da"}),
    frozenset({"sr", "hr", "bs"}),
    frozenset({"ms", "id"}),
    frozenset({"ar", "ary", "arz"}),
    frozenset({"fa", "tg"}),
    frozenset({"he", "hbo"}),
    frozenset({"gl", "pt"}),
    frozenset({"ca", "oc"}),
)

OFF_TARGET_MAX_PROB = 0.001
"""A sentence is off-target when the identifier gives the reference's language (with its
group) at most this probability (see :func:`off_target`)."""
OFF_TARGET_MIN_LETTERS = 20
"""Letters a sentence needs before its language is judged at all: shorter ones (a name, a
quoted title, a number with a unit) are too short to tell, and are never off-target."""

DETECT_CHARS = 20_000
"""Characters of a document that language detection reads (its start)."""
DETECT_MIN_PROB = 0.9
"""Probability a detected language needs; below it English is used, and said (``fallback``)."""


@dataclass(frozen=True)
class Profile:
    """What mtdrift does with text in one language.

    Attributes:
        code: ISO 639-1 code.
        bleu_tokenize: sacrebleu's BLEU tokenizer for this target (sacrebleu's own choice:
            ``zh``, ``ja-mecab``, ``ko-mecab``, else ``13a``).
        ter_asian: TER with ``normalized`` and ``asian_support`` (Chinese, Japanese, Korean):
            without them tercom splits only on spaces, so a Chinese sentence is one word.
        pysbd: pysbd has rules for this language.
        cjk_stops: full-width sentence ends (``。！？``) end sentences without a space.
        names: spaCy NER model for the name check, or ``None`` (names not checked).
        negation: negation cues are checked (English only, so far).
        number_words: number words are read (``twenty-five``, ``two decades``): English only.
        decimal_comma: numbers are written ``1.000,5`` (else ``1,000.5``).
    """

    code: str
    bleu_tokenize: str = "13a"
    ter_asian: bool = False
    pysbd: bool = False
    cjk_stops: bool = False
    names: str | None = None
    negation: bool = False
    number_words: bool = False
    decimal_comma: bool = False


# pysbd 0.3.4's languages
PYSBD = _codes("am ar bg da de el en es fa fr hi hy it ja kk mr my nl pl ru sk ur zh")
_DECIMAL_COMMA = _codes(
    "de fr es it pt nl ru pl cs sk sl hr sr bs uk bg ro tr sv da no nb nn fi et lv lt hu el id "
    "vi ca gl eu is az kk ka mk sq be"
)


def profile(code: str) -> Profile:
    """The profile of ``code`` (a valid ISO 639-1 code; see :func:`check_code`)."""
    return Profile(
        code=code,
        bleu_tokenize={"zh": "zh", "ja": "ja-mecab", "ko": "ko-mecab"}.get(code, "13a"),
        ter_asian=code in ("zh", "ja", "ko"),
        pysbd=code in PYSBD,
        cjk_stops=code in ("zh", "ja"),
        names="en_core_web_sm" if code == "en" else None,
        negation=code == "en",
        number_words=code == "en",
        decimal_comma=code in _DECIMAL_COMMA,
    )


class LanguageError(ValueError):
    """An unknown language code (the message says what is accepted)."""


def check_code(code: str) -> str:
    """``code`` lower-cased if it is an ISO 639-1 code.

    Raises:
        LanguageError: anything else, e.g. ``"eng"`` or ``"german"``.
    """
    low = code.strip().lower()
    if low not in ISO_639_1:
        hint = " (use the two-letter code, e.g. de, zh, ja)" if len(low) != 2 else ""
        raise LanguageError(f"unknown language {code!r}: --lang takes an ISO 639-1 code{hint}")
    return low


@dataclass(frozen=True)
class Language:
    """The language of the reference (and so of the candidates), and how it was decided.

    Attributes:
        code: ISO 639-1.
        source: ``"given"`` (``--lang``), ``"detected"`` (from the reference text), or
            ``"fallback"`` (detection was unsure: English rules, said in every output).
        prob: the identifier's probability when detected, else ``None``.
    """

    code: str
    source: str
    prob: float | None = None

    @property
    def profile(self) -> Profile:
        return profile(self.code)

    def describe(self) -> str:
        """``de (detected, p=1.00)`` or ``de (given)``: for the terminal summary."""
        if self.source == "detected" and self.prob is not None:
            return f"{self.code} (detected, p={self.prob:.2f})"
        if self.source == "fallback":
            return f"{self.code} (fallback: the language could not be detected; pass --lang)"
        return f"{self.code} ({self.source})"


def identifier_version() -> str:
    from importlib import metadata

    try:
        return f"py3langid=={metadata.version('py3langid')}"
    except metadata.PackageNotFoundError:
        return "py3langid==unknown"


@functools.cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_DIR / MODEL_FILE, norm_probs=True)


def identify(text: str) -> tuple[str, float]:
    """The most probable language of ``text`` and its probability (0-1)."""
    with one_blas_thread():
        code, prob = _identifier().classify(text)
    return str(code), float(prob)


def rank(text: str) -> list[tuple[str, float]]:
    """Every language the identifier knows with its probability for ``text``, most probable first."""
    with one_blas_thread():
        ranked = _identifier().rank(text)
    return [(str(c), float(p)) for c, p in ranked]


def detect(text: str) -> Language:
    """The language of a document, from its first :data:`DETECT_CHARS` characters.

    Raises:
        LanguageError: the text has no letters to tell its language by, or the identifier's
            answer is not an ISO 639-1 language (then ``--lang`` must say it).
    """
    sample = text[:DETECT_CHARS]
    if _letters(sample) == 0:
        raise LanguageError("cannot detect the language of a text without letters: pass --lang")
    code, prob = identify(sample)
    if code not in ISO_639_1:
        raise LanguageError(f"detected language {code!r} is not an ISO 639-1 language: pass --lang")
    return Language(code, "detected", round(prob, 4))


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def same_language(a: str, b: str) -> bool:
    """``a`` and ``b`` are one language for the off-target rule (see ``_GROUPS``)."""
    return a == b or any(a in g and b in g for g in _GROUPS)


def target_prob(ranked: Sequence[tuple[str, float]], lang: str) -> float:
    """The probability the identifier gives ``lang`` and the languages of its group."""
    return sum(p for c, p in ranked if same_language(c, lang))


def off_target(texts: Sequence[str], lang: str) -> list[str | None]:
    """For each text, the language it is in when it is confidently not ``lang``, else ``None``.

    A text is off-target when it has at least :data:`OFF_TARGET_MIN_LETTERS` letters and the
    identifier gives ``lang`` (with its group, see :func:`same_language`) a probability of at
    most :data:`OFF_TARGET_MAX_PROB`; the language named is the identifier's most probable one.
    Asking "how sure is it that this is not the reference's language" rather than "how sure is
    it of the other language" keeps a Spanish sentence that Galician also claims off-target.
    False alarms measured on every candidate sentence of the four dev sets and the seed
    (about 30,000 sentences): none (``scripts/bench_langid.py``).
    """
    out: list[str | None] = []
    for text in texts:
        if _letters(text) < OFF_TARGET_MIN_LETTERS:
            out.append(None)
            continue
        ranked = rank(text)
        out.append(ranked[0][0] if target_prob(ranked, lang) <= OFF_TARGET_MAX_PROB else None)
    return out


def signature_fields() -> tuple[tuple[str, str], ...]:
    """The off-target rule, for the drift signature."""
    return (
        ("langid", identifier_version()),
        ("offtarget", f"p_ref<={OFF_TARGET_MAX_PROB}+letters>={OFF_TARGET_MIN_LETTERS}"),
    )
