"""What differs between systems: compare-mt's analyses (Neubig et al. 2019), on beads.

The statistics follow compare-mt 0.2.10's definitions (``compare_mt/bucketers.py``,
``ngram_utils.py``, ``stat_utils.py``), written anew over typed beads; presentation lives in
``eval.render.analysis``. Every analysis runs on beads, so it works in document mode too: an
omitted reference sentence is a bead with no candidate words (all its words missed), an added
candidate sentence one with no reference words (all its words unmatched).

- **Word accuracy by frequency bucket**: each reference word is bucketed by its frequency (in
  the reference, or in ``train_counts``); a candidate word that matches a reference word (the
  first unmatched occurrence in the bead) takes that word's bucket, an unmatched one its own.
  Per bucket: matches, reference and candidate totals, precision, recall, F-measure (0-1;
  0 when nothing matched, as compare-mt).
- **Sentence buckets**: beads by reference length, by length difference (candidate - reference
  words, compare-mt's ``lengthdiff``) and by length ratio: the count and the mean sentence score
  of each metric per bucket.
- **Characteristic n-grams** (two systems): n-grams (1-4) matched against the reference by
  either system, scored with compare-mt's smoothed ratio ``(m_a + alpha) / (m_a + m_b + 2 alpha)``;
  the highest are what ``a`` gets right and ``b`` misses, the lowest the reverse.
- **Largest differences** (two systems): per metric, the paired units where the two differ
  most, with their texts.
- **Beyond compare-mt**: bead counts per drift label and per reason kind (which kinds of drift
  one system has and the other has not), with the beads' own reasons and omitted sentences
  as examples; per-unit fidelity of the two systems for an X-against-Y scatter.

Deliberate differences from compare-mt, all recorded in the README: ties among n-grams of equal
score are broken by more matches, then alphabetically (compare-mt's order of ties depends on
Python's hash seed); a malformed line of ``train_counts`` is an error, not skipped; words are
tokenized with sacrebleu's tokenizer ``13a`` by default (``none``: whitespace, compare-mt's).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mtdrift.eval.errors import InputError
from mtdrift.eval.judge import DRIFT_LABELS
from mtdrift.eval.pairwise import common_units
from mtdrift.metrics.signature import Signature

FREQ_CUTOFFS: tuple[int, ...] = (1, 2, 3, 4, 5, 10, 100, 1000)  # compare-mt's FreqWordBucketer
LENGTH_CUTOFFS: tuple[int, ...] = (10, 20, 30, 40, 50, 60)  # compare-mt's LengthSentenceBucketer
LENGTH_DIFF_CUTOFFS: tuple[int, ...] = (-20, -10, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 11, 21)
RATIO_CUTOFFS: tuple[float, ...] = (0.5, 0.8, 0.9, 1.0, 1.1, 1.2, 1.5, 2.0)  # ours
REASON_KINDS: tuple[str, ...] = ("omission", "addition", "entity", "number", "negation", "semantic")
TOKENIZERS: tuple[str, ...] = ("13a", "none", "intl", "zh", "char")
DEFAULT_METRICS: tuple[str, ...] = ("chrf", "bleu", "fidelity")


@dataclass(frozen=True)
class AnalysisBead:
    """One bead as the analyses need it.

    Attributes:
        ref_ids, hyp_ids: sentence ids of each side (empty for an addition, an omission).
        ref, hyp: the texts (``""`` for a missing side).
        kind: ``1-1``, ``2-1``..., ``omission`` or ``addition``.
        drift: ``none``, ``minor`` or ``major``.
        reasons: ``(kind, label)`` per finding: kind one of :data:`REASON_KINDS`, label as
            reports show it (``entity: Harir Air Base -> Khalil Air Base``).
        scores: sentence score of each metric (0-100 lexical, 0-1 the others).
    """

    ref_ids: tuple[int, ...]
    hyp_ids: tuple[int, ...]
    ref: str
    hyp: str
    kind: str
    drift: str
    reasons: tuple[tuple[str, str], ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)
    doc_id: str = ""
    seg_id: str = ""


@dataclass(frozen=True)
class AnalysisConfig:
    """Settings of the analyses (compare-mt's defaults where it has one).

    Attributes:
        tokenize: sacrebleu tokenizer for words (``13a``; ``none``: split on whitespace).
        freq_cutoffs, length_cutoffs, length_diff_cutoffs: compare-mt's bucket edges.
        ratio_cutoffs: edges of the length-ratio buckets (candidate / reference words).
        min_ngram, max_ngram: n-gram orders.
        alpha: compare-mt's smoothing of the n-gram ratio.
        report_length: n-grams listed in each direction (compare-mt: 50).
        examples: units listed per metric and direction among the largest differences.
        metrics: the sentence scores bucketed and compared.
    """

    tokenize: str = "13a"
    freq_cutoffs: tuple[int, ...] = FREQ_CUTOFFS
    length_cutoffs: tuple[int, ...] = LENGTH_CUTOFFS
    length_diff_cutoffs: tuple[int, ...] = LENGTH_DIFF_CUTOFFS
    ratio_cutoffs: tuple[float, ...] = RATIO_CUTOFFS
    min_ngram: int = 1
    max_ngram: int = 4
    alpha: float = 1.0
    report_length: int = 50
    examples: int = 10
    metrics: tuple[str, ...] = DEFAULT_METRICS

    def signature(self, *, freq: str) -> Signature:
        return Signature.of(
            "analysis",
            [
                ("tok", self.tokenize),
                ("freq", freq),
                ("freq_cuts", self.freq_cutoffs),
                ("len_cuts", self.length_cutoffs),
                ("diff_cuts", self.length_diff_cutoffs),
                ("ratio_cuts", self.ratio_cutoffs),
                ("ngram", f"{self.min_ngram}-{self.max_ngram}"),
                ("alpha", self.alpha),
                ("case", "mixed"),
                ("units", "beads"),
            ],
        )


# --- compare-mt's bucketing ----------------------------------------------------------------


def bucket_labels(cutoffs: Sequence[float], *, integers: bool = True) -> list[str]:
    """compare-mt's bucket names (``Bucketer.set_bucket_cutoffs``): ``<1``, ``1``, ...,
    ``[5,10)``, ``>=1000``."""
    out = []
    for i, x in enumerate(cutoffs):
        if i == 0:
            out.append(f"<{x}")
        elif integers and x - 1 == cutoffs[i - 1]:
            out.append(f"{x - 1}")
        else:
            out.append(f"[{cutoffs[i - 1]},{x})")
    out.append(f">={cutoffs[-1]}")
    return out


def bucket_of(value: float, cutoffs: Sequence[float]) -> int:
    """Index of the first edge above ``value`` (the last bucket when none is)."""
    for i, edge in enumerate(cutoffs):
        if value < edge:
            return i
    return len(cutoffs)


def tokenizer(name: str) -> Any:
    """A callable ``str -> list[str]``: sacrebleu's tokenizer ``name``, or whitespace for ``none``.

    Raises:
        InputError: an unknown name.
    """
    if name not in TOKENIZERS:
        raise InputError(f"--tokenize {name}: unknown; choose one of {', '.join(TOKENIZERS)}")
    if name == "none":
        return str.split
    from sacrebleu.metrics.bleu import BLEU

    tok = BLEU(tokenize=name).tokenizer
    return lambda text: tok(text).split()


def read_counts(lines: Iterable[str], *, source: str) -> dict[str, int]:
    """``word<TAB>count`` lines (compare-mt's ``--freq_count_file``) as a mapping.

    Raises:
        InputError: a line that is not a word, a tab and a non-negative integer (compare-mt skips
            it with a message; here it is an error naming the line).
    """
    out: dict[str, int] = {}
    for n, line in enumerate(lines, start=1):
        text = line.rstrip("\n").rstrip("\r")
        if not text.strip():
            continue
        cols = text.strip().split("\t")
        if len(cols) != 2 or not cols[1].isdigit():
            raise InputError(
                f"{source}:{n}: expected WORD<TAB>COUNT, got {text[:60]!r}; fix or remove the line"
            )
        out[cols[0]] = int(cols[1])
    return out


# --- the analyses ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WordBucket:
    """Word accuracy of one system in one frequency bucket (compare-mt's ``(mcnt, rcnt, ocnt,
    rec, prec, fmeas)``)."""

    system: str
    bucket: str
    matches: int
    ref_words: int
    hyp_words: int
    recall: float
    precision: float
    fmeasure: float


def word_accuracy(
    systems: Mapping[str, Sequence[AnalysisBead]],
    *,
    freq: Mapping[str, int],
    config: AnalysisConfig,
) -> list[WordBucket]:
    """compare-mt's word F-measure by frequency bucket, per system, over its beads."""
    tok = tokenizer(config.tokenize)
    labels = bucket_labels(config.freq_cutoffs)
    out = []
    for system, beads in systems.items():
        ref_total = [0] * len(labels)
        hyp_total = [0] * len(labels)
        matched = [0] * len(labels)
        for b in beads:
            ref_words, hyp_words = tok(b.ref), tok(b.hyp)
            ref_buckets = [bucket_of(freq.get(w, 0), config.freq_cutoffs) for w in ref_words]
            for k in ref_buckets:
                ref_total[k] += 1
            positions: dict[str, list[int]] = {}
            for i, w in enumerate(ref_words):
                positions.setdefault(w, []).append(i)
            used: Counter[str] = Counter()
            for w in hyp_words:
                where = positions.get(w)
                if where and used[w] < len(where):
                    k = ref_buckets[where[used[w]]]
                    matched[k] += 1
                else:
                    k = bucket_of(freq.get(w, 0), config.freq_cutoffs)
                used[w] += 1
                hyp_total[k] += 1
        for k, label in enumerate(labels):
            m, r, h = matched[k], ref_total[k], hyp_total[k]
            rec, prec = (m / r, m / h) if m else (0.0, 0.0)
            fmeas = 2 * prec * rec / (prec + rec) if m else 0.0
            out.append(WordBucket(system, label, m, r, h, rec, prec, fmeas))
    return out


@dataclass(frozen=True)
class SentenceBucket:
    """Beads of one system in one sentence bucket: how many, and their mean scores."""

    system: str
    by: str  # ref_length, length_diff, length_ratio
    bucket: str
    beads: int
    means: Mapping[str, float | None]


def sentence_buckets(
    systems: Mapping[str, Sequence[AnalysisBead]], *, config: AnalysisConfig
) -> list[SentenceBucket]:
    """Beads by reference length, length difference and length ratio (words), per system."""
    tok = tokenizer(config.tokenize)
    kinds: list[tuple[str, Sequence[float], bool]] = [
        ("ref_length", config.length_cutoffs, True),
        ("length_diff", config.length_diff_cutoffs, True),
        ("length_ratio", config.ratio_cutoffs, False),
    ]
    out = []
    for system, beads in systems.items():
        lengths = [(len(tok(b.ref)), len(tok(b.hyp))) for b in beads]
        for by, cutoffs, integers in kinds:
            groups: dict[int, list[AnalysisBead]] = {}
            for b, (r, h) in zip(beads, lengths, strict=True):
                value = (
                    r if by == "ref_length" else h - r if by == "length_diff" else (h / r if r else math.inf)
                )
                groups.setdefault(bucket_of(value, cutoffs), []).append(b)
            for k, label in enumerate(bucket_labels(cutoffs, integers=integers)):
                members = groups.get(k, [])
                means = {
                    m: (sum(b.scores[m] for b in members) / len(members) if members else None)
                    for m in config.metrics
                    if all(m in b.scores for b in beads)
                }
                out.append(SentenceBucket(system, by, label, len(members), means))
    return out


def matched_ngrams(beads: Sequence[AnalysisBead], *, config: AnalysisConfig) -> Counter[tuple[str, ...]]:
    """compare-mt's ``compare_ngrams`` ``match``: per bead, each candidate n-gram (orders
    ``min_ngram``-``max_ngram``) that a not yet used reference n-gram equals."""
    tok = tokenizer(config.tokenize)
    match: Counter[tuple[str, ...]] = Counter()
    for b in beads:
        ref, hyp = tok(b.ref), tok(b.hyp)
        available: Counter[tuple[str, ...]] = Counter()
        for n in range(config.min_ngram, config.max_ngram + 1):
            available.update(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
        for n in range(config.min_ngram, config.max_ngram + 1):
            for i in range(len(hyp) - n + 1):
                g = tuple(hyp[i : i + n])
                if available[g] > 0:
                    match[g] += 1
                    available[g] -= 1
    return match


@dataclass(frozen=True)
class NgramDifference:
    """An n-gram one system matches more often than the other."""

    better: str  # the system that matches it more
    ngram: str
    score: float  # compare-mt's smoothed ratio for (a, b): > 0.5 favours a
    matches_a: int
    matches_b: int


def ngram_differences(
    a: Sequence[AnalysisBead], b: Sequence[AnalysisBead], *, names: tuple[str, str], config: AnalysisConfig
) -> list[NgramDifference]:
    """compare-mt's characteristic n-grams (``compare_type=match``): the ``report_length``
    highest smoothed ratios (``a`` > ``b``), then the lowest (``b`` > ``a``)."""
    ma, mb = matched_ngrams(a, config=config), matched_ngrams(b, config=config)
    alpha = config.alpha
    scores = {g: (ma[g] + alpha) / (ma[g] + mb[g] + 2 * alpha) for g in set(ma) | set(mb)}
    high = sorted(scores, key=lambda g: (-scores[g], -(ma[g] + mb[g]), g))
    low = sorted(scores, key=lambda g: (scores[g], -(ma[g] + mb[g]), g))
    n = config.report_length
    return [
        *(NgramDifference(names[0], " ".join(g), scores[g], ma[g], mb[g]) for g in high[:n]),
        *(NgramDifference(names[1], " ".join(g), scores[g], ma[g], mb[g]) for g in low[:n]),
    ]


@dataclass(frozen=True)
class Unit:
    """A run of reference sentences both systems can be compared on (``eval.pairwise``), with
    each system's candidate text, mean score of its beads there and worst drift label."""

    index: int
    ref_ids: tuple[int, ...]
    ref: str
    hyps: tuple[str, str]
    scores: tuple[Mapping[str, float], Mapping[str, float]]
    drift: tuple[str, str]


def paired_units(
    a: Sequence[AnalysisBead], b: Sequence[AnalysisBead], *, metrics: Sequence[str]
) -> list[Unit]:
    """The two systems' beads grouped into common units (in aligned mode, the segments)."""
    n_ref = 1 + max((i for bs in (a, b) for x in bs for i in x.ref_ids), default=0)
    units = common_units(n_ref, [[x.ref_ids for x in a], [x.ref_ids for x in b]])
    unit_of = {i: u for u, ids in enumerate(units) for i in ids}

    def grouped(beads: Sequence[AnalysisBead]) -> dict[int, list[AnalysisBead]]:
        out: dict[int, list[AnalysisBead]] = {}
        last = 0
        for x in beads:
            if x.ref_ids:
                last = unit_of[x.ref_ids[0]]
            out.setdefault(last, []).append(x)
        return out

    ga, gb = grouped(a), grouped(b)
    refs = {i: x.ref for x in a for i in x.ref_ids[:1]}
    out = []
    for u, ids in enumerate(units):
        xs, ys = ga.get(u, []), gb.get(u, [])
        out.append(
            Unit(
                index=u,
                ref_ids=ids,
                ref=" ".join(refs[i] for i in ids if i in refs),
                hyps=(" ".join(x.hyp for x in xs if x.hyp), " ".join(y.hyp for y in ys if y.hyp)),
                scores=(_mean_scores(xs, metrics), _mean_scores(ys, metrics)),
                drift=(_worst(xs), _worst(ys)),
            )
        )
    return out


def _mean_scores(beads: Sequence[AnalysisBead], metrics: Sequence[str]) -> dict[str, float]:
    return {
        m: sum(b.scores[m] for b in beads) / len(beads)
        for m in metrics
        if beads and all(m in b.scores for b in beads)
    }


def _worst(beads: Sequence[AnalysisBead]) -> str:
    return max((b.drift for b in beads), key=DRIFT_LABELS.index, default="none")


@dataclass(frozen=True)
class Difference:
    """A unit where the two systems differ on ``metric``: ``delta = score_b - score_a``."""

    metric: str
    unit: int
    ref: str
    hyp_a: str
    hyp_b: str
    score_a: float
    score_b: float
    delta: float


def largest_differences(units: Sequence[Unit], *, config: AnalysisConfig) -> list[Difference]:
    """Per metric, the ``examples`` units where ``b`` is most ahead, then where ``a`` is (as
    compare-mt's sentence examples, on any metric, in the metric's direction; identical unit
    texts listed once)."""
    out = []
    for m in config.metrics:
        rows = []
        seen = set()
        for u in units:
            if m not in u.scores[0] or m not in u.scores[1] or (u.ref, *u.hyps) in seen:
                continue
            seen.add((u.ref, *u.hyps))
            sa, sb = u.scores[0][m], u.scores[1][m]
            rows.append(Difference(m, u.index, u.ref, u.hyps[0], u.hyps[1], sa, sb, sb - sa))
        sign = 1.0 if _higher_is_better(m) else -1.0  # TER: b ahead when its score is lower
        rows.sort(key=lambda d: (sign * d.delta, d.unit))
        k = config.examples
        out += [*reversed(rows[-k:]), *rows[:k]] if len(rows) > 2 * k else rows[::-1]
    return out


def _higher_is_better(metric: str) -> bool:
    """The direction of a built-in metric (TER is lower-is-better); other names (external scores,
    whose direction ``segments.csv`` does not record) are taken as higher-is-better."""
    from mtdrift.metrics.lexical import LEXICAL_METRICS, get_lexical

    return get_lexical(metric).higher_is_better if metric in LEXICAL_METRICS else True


@dataclass(frozen=True)
class DriftBucket:
    """Beads of one system with one drift label or one reason kind (``by``: ``drift`` or
    ``reason``), with up to ``examples`` of them: the reason labels, or for an omission the
    omitted reference sentence."""

    system: str
    by: str
    bucket: str
    beads: int
    share: float  # of the system's beads, 0-1
    examples: tuple[str, ...]


def drift_buckets(systems: Mapping[str, Sequence[AnalysisBead]], *, examples: int = 10) -> list[DriftBucket]:
    """Bead counts by drift label and by reason kind, per system."""
    out = []
    for system, beads in systems.items():
        total = max(1, len(beads))
        for label in DRIFT_LABELS:
            members = [b for b in beads if b.drift == label]
            shown = tuple("; ".join(r for _, r in b.reasons) or b.kind for b in members if label != "none")
            out.append(
                DriftBucket(system, "drift", label, len(members), len(members) / total, shown[:examples])
            )
        for kind in REASON_KINDS:
            labels: list[str] = []
            count = 0
            for b in beads:
                found = [label for k, label in b.reasons if k == kind]
                if not found:
                    continue
                count += 1
                if kind == "omission":
                    labels.append(b.ref)
                elif kind == "addition":
                    labels.append(b.hyp)
                else:
                    labels += found
            out.append(DriftBucket(system, "reason", kind, count, count / total, tuple(labels[:examples])))
    return out


# --- everything ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Analysis:
    """Every analysis of one run, for one system or a pair (``systems[0]`` against ``systems[1]``).

    The pandas views (``word_accuracy`` ... ``scatter`` as DataFrames) are in :meth:`frames`.
    """

    systems: tuple[str, ...]
    config: AnalysisConfig
    freq_source: str
    words: tuple[WordBucket, ...]
    sentences: tuple[SentenceBucket, ...]
    drift: tuple[DriftBucket, ...]
    ngrams: tuple[NgramDifference, ...] = ()
    units: tuple[Unit, ...] = ()
    differences: tuple[Difference, ...] = ()

    @property
    def pair(self) -> bool:
        return len(self.systems) == 2

    def signature(self) -> str:
        return self.config.signature(freq=self.freq_source).format()


def analyze(
    systems: Mapping[str, Sequence[AnalysisBead]],
    *,
    config: AnalysisConfig | None = None,
    train_counts: Mapping[str, int] | None = None,
    freq_source: str = "ref",
) -> Analysis:
    """Run every analysis on one system or two (in the mapping's order).

    Args:
        systems: each system's beads, in reference order.
        config: settings (compare-mt's defaults).
        train_counts: word frequencies to bucket by (compare-mt's ``--freq_count_file``);
            ``None``: counted in the reference.
        freq_source: what the signature calls the frequencies (``ref`` or a file name).

    Raises:
        ValueError: no system, or more than two.
    """
    cfg = config or AnalysisConfig()
    names = tuple(systems)
    if not 1 <= len(names) <= 2:
        raise ValueError(f"analyze one system or two, got {len(names)}")
    first = systems[names[0]]
    carried = sorted({m for bs in systems.values() for b in bs for m in b.scores})
    if cfg.metrics == DEFAULT_METRICS:  # the defaults the run carries (a test may carry none)
        cfg = replace(cfg, metrics=tuple(m for m in DEFAULT_METRICS if m in carried))
    for m in cfg.metrics:
        if m not in carried:
            raise InputError(
                f"--metric {m}: the run has no such score; it has {', '.join(carried) or 'none'}"
            )
    if train_counts is None:
        tok = tokenizer(cfg.tokenize)
        freq: Mapping[str, int] = Counter(w for b in first for w in tok(b.ref))
    else:
        freq = train_counts
    words = word_accuracy(systems, freq=freq, config=cfg)
    sentences = sentence_buckets(systems, config=cfg)
    drift = drift_buckets(systems, examples=cfg.examples)
    if len(names) == 1:
        return Analysis(names, cfg, freq_source, tuple(words), tuple(sentences), tuple(drift))
    a, b = systems[names[0]], systems[names[1]]
    units = paired_units(a, b, metrics=cfg.metrics)
    return Analysis(
        names,
        cfg,
        freq_source,
        tuple(words),
        tuple(sentences),
        tuple(drift),
        ngrams=tuple(ngram_differences(a, b, names=(names[0], names[1]), config=cfg)),
        units=tuple(units),
        differences=tuple(largest_differences(units, config=cfg)),
    )


# --- where beads come from: an evaluation, or the segments.csv it wrote ------------------------


def reason_kind(label: str) -> str:
    """The kind of a finding from its label as ``segments.csv`` shows it
    (``metrics.findings.Finding.label``): ``omission``, ``addition``, ``low fidelity (0.55)`` ->
    ``semantic``, ``entity: A -> B`` -> ``entity``."""
    if label.startswith("low fidelity"):
        return "semantic"
    head = label.split(":", 1)[0].strip()
    return head if head in REASON_KINDS else "semantic"


def beads_of(evaluation: Any, system: str) -> list[AnalysisBead]:
    """A system of an ``eval.results.Evaluation`` as analysis beads (every metric it carries)."""
    out = []
    names = [m.name for m in evaluation.metrics]
    for b in evaluation.system(system).beads:
        scores = {m: float(getattr(b, m)) if hasattr(b, m) else float(b.extra[m]) for m in names}
        doc_id, seg_id = ("", "")
        if evaluation.keys is not None and b.ref_ids:
            doc_id, seg_id = evaluation.keys[b.ref_ids[0]]
        out.append(
            AnalysisBead(
                ref_ids=tuple(b.ref_ids), hyp_ids=tuple(b.hyp_ids), ref=b.ref, hyp=b.hyp, kind=b.kind,
                drift=b.drift, reasons=tuple((f.kind, f.label()) for f in b.reasons), scores=scores,
                doc_id=str(doc_id), seg_id=str(seg_id),
            )
        )  # fmt: skip
    return out


SEGMENTS_NEEDED = ("system", "kind", "ref_ids", "hyp_ids", "ref", "hyp", "drift", "reasons")
NOT_SCORES = frozenset({*SEGMENTS_NEEDED, "bead", "ref_spans", "hyp_spans", "doc_id", "seg_id"})


def read_segments(path: Any) -> dict[str, list[AnalysisBead]]:
    """Every system's beads from an evaluation's ``segments.csv``, in file order.

    Raises:
        InputError: a missing or unreadable file, a missing column, a malformed id or score.
    """
    import csv
    from pathlib import Path

    p = Path(path)
    try:
        handle = p.open(encoding="utf-8", newline="")
    except FileNotFoundError:
        raise InputError(f"{p}: no such file; give the output directory of mtdrift evaluate") from None
    except OSError as err:
        raise InputError(f"{p}: cannot read it ({err.strerror})") from None
    out: dict[str, list[AnalysisBead]] = {}
    with handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        missing = [c for c in SEGMENTS_NEEDED if c not in columns]
        if missing:
            raise InputError(
                f"{p}: not an mtdrift segments.csv (no column {missing[0]}); give the output directory "
                "of mtdrift evaluate"
            )
        scores = [c for c in columns if c not in NOT_SCORES]
        for line, row in enumerate(reader, start=2):
            try:
                bead = AnalysisBead(
                    ref_ids=_ids(row["ref_ids"]), hyp_ids=_ids(row["hyp_ids"]),
                    ref=row["ref"], hyp=row["hyp"], kind=row["kind"], drift=row["drift"],
                    reasons=tuple((reason_kind(x), x) for x in row["reasons"].split("; ") if x),
                    scores={c: float(row[c]) for c in scores if row[c] != ""},
                    doc_id=row.get("doc_id") or "", seg_id=row.get("seg_id") or "",
                )  # fmt: skip
            except (ValueError, TypeError) as err:
                raise InputError(
                    f"{p}:{line}: malformed row ({err}); regenerate it with mtdrift evaluate"
                ) from None
            out.setdefault(row["system"], []).append(bead)
    if not out:
        raise InputError(f"{p}: no beads; give the output directory of a finished mtdrift evaluate")
    return out


def _ids(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(";") if x != "")


def pick_systems(available: Sequence[str], chosen: Sequence[str] | None) -> list[str]:
    """The systems to analyze: ``chosen`` (one or two names), else the first two of the run
    (the first alone when it has one).

    Raises:
        InputError: an unknown name, or more than two.
    """
    if not chosen:
        return list(available[:2])
    if len(chosen) > 2:
        raise InputError(f"--system: give one system or two, got {len(chosen)}")
    for s in chosen:
        if s not in available:
            raise InputError(f"--system {s}: not a system of this run; it has {', '.join(available)}")
    if len(chosen) == 2 and chosen[0] == chosen[1]:
        raise InputError(f"--system {chosen[0]} given twice; give two different systems")
    return list(chosen)
