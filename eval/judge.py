"""Why a bead drifted: one fidelity number, a drift label and the reasons, as data.

``fidelity`` is a small fitted model (``scripts/fit_fidelity.py``, parameters in the versioned
file ``metrics/params/fidelity-v1.json``): a weighted sum of standardised evidence that
mtdrift already computes for a bead (:func:`evidence`), squashed to 0-1 by a logistic curve."""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mtdrift.metrics.encoders import Encoder, USEEncoder, is_fitted
from mtdrift.metrics.findings import Finding
from mtdrift.metrics.models import DEFAULT_MODEL, MODELS, USEM3
from mtdrift.metrics.semantic import TokenMatch
from mtdrift.metrics.signature import Signature

Drift = Literal["none", "minor", "major"]
DRIFT_LABELS: tuple[Drift, ...] = ("none", "minor", "major")
PARAMS_DIR = Path(str(importlib.resources.files("mtdrift.metrics").joinpath("params")))
"""The fitted parameters shipped in the package (``mtdrift/metrics/params/``), found through
``importlib.resources`` wherever the package is installed."""
PARAMS_VERSION = "fidelity-v2"


def params_file(model: str = DEFAULT_MODEL) -> Path:
    """The shipped parameter file of the fidelity model fitted for encoder ``model`` (each
    encoder has its own: the evidence it sees is its own)."""
    return PARAMS_DIR / f"{PARAMS_VERSION}-{model}.json"


PARAMS_FILE = params_file()
ENCODER_FREE = "lexical"
"""The parameter file of the judge that reads no encoder (``fidelity-v2-lexical.json``): lexical
scores and fact-check findings only. See :func:`fidelity_params`."""
ENCODER_EVIDENCE: frozenset[str] = frozenset(
    {"sem", "tm_p", "tm_r", "ref_unmatched", "hyp_unmatched", "ref_min"}
)
"""Evidence that comes from an encoder; the encoder-free judge weighs none of it."""

EVIDENCE: dict[str, str] = {
    "sem": "sentence cosine (0-1)",
    "tm_p": "greedy token-match precision: mean over candidate tokens of the best cosine (0-1)",
    "tm_r": "greedy token-match recall: mean over reference tokens of the best cosine (0-1)",
    "ref_unmatched": "share of reference tokens whose best cosine is under the model's unmatched_below (0-1)",
    "hyp_unmatched": "share of candidate tokens whose best cosine is under the model's unmatched_below (0-1)",
    "ref_min": "lowest best cosine of a reference token (0-1)",
    "chrf": "sentence chrF / 100 (0-1)",
    "chrf_p": "chrF's character n-gram precision, averaged over orders (0-1)",
    "chrf_r": "chrF's character n-gram recall, averaged over orders (0-1)",
    "bleu": "sentence BLEU / 100 (0-1)",
    "neg_ter": "minus sentence TER / 100 (0 = no edit)",
    "log_len_ratio": "log of candidate / reference length in 13a tokens (BLEU's lengths)",
    "abs_log_len_ratio": "its absolute value",
    "log_ref_len": "log of the reference length in 13a tokens (at least 1): how much there was to translate",
    "num_major": "changed or lost numbers (fact checker, major)",
    "num_minor": "added numbers (fact checker, minor)",
    "ent_major": "changed names (fact checker, major)",
    "ent_minor": "lost or added names (fact checker, minor)",
    "negation": "negation flips (fact checker)",
}
"""Every piece of evidence :func:`evidence` computes for an aligned bead, and its scale."""

HIGHER_IS_BETTER: frozenset[str] = frozenset(
    {"sem", "tm_p", "tm_r", "ref_min", "chrf", "chrf_p", "chrf_r", "bleu", "neg_ter"}
)
"""Evidence of agreement: a monotone model's weight on it is >= 0."""
LOWER_IS_BETTER: frozenset[str] = frozenset(
    {"ref_unmatched", "hyp_unmatched", "num_major", "num_minor", "ent_major", "ent_minor", "negation"}
)
"""Evidence of mismatch: a monotone model's weight on it is <= 0 (the length ratio is in neither)."""

DIGITS = 6
"""Evidence is rounded to this many decimals before the model sees it, so identical
(candidate, reference) pairs score bit-identically even where a matrix product of the same
vectors differed in its last float32 bit (BLAS kernels depend on memory alignment)."""


def evidence(
    *,
    semantic: float | None,
    match: TokenMatch | None,
    scores: Mapping[str, float],
    stats: Mapping[str, np.ndarray],
    findings: Sequence[Finding],
    unmatched_below: float,
) -> dict[str, float]:
    """The evidence about one aligned bead that the fidelity model may weigh.

    Args:
        semantic: the sentence cosine; ``None``: not to be used (an encoder that does not cover
            the language).
        match: the greedy token match of the candidate against the reference; ``None``: no
            token vectors (``usem3``) or not to be used.
        scores: sentence ``bleu``, ``chrf`` and ``ter``, 0-100, as sacrebleu gives them.
        stats: the bead's row of sufficient statistics for ``bleu`` (shape (10,)) and
            ``chrf`` (shape (18,)), as ``metrics.lexical`` computes them.
        findings: the fact checker's findings for the bead.
        unmatched_below: a token whose best cosine is under this counts as unmatched.

    Returns:
        ``{name: value}`` for every name of :data:`EVIDENCE`, rounded to :data:`DIGITS`; the
        token-match evidence is left out when ``match`` is ``None``, ``sem`` when ``semantic`` is.
    """
    bleu = np.asarray(stats["bleu"], dtype=np.float64)
    chrf = np.asarray(stats["chrf"], dtype=np.float64)
    n_hyp, n_ref, n_match = chrf[0::3], chrf[1::3], chrf[2::3]
    both = (n_hyp > 0) & (n_ref > 0)
    chrf_p = float((n_match[both] / n_hyp[both]).mean()) if both.any() else 0.0
    chrf_r = float((n_match[both] / n_ref[both]).mean()) if both.any() else 0.0
    ref_best = np.asarray(match.ref_best if match else [], dtype=np.float64)
    hyp_best = np.asarray(match.hyp_best if match else [], dtype=np.float64)
    counts = {"num_major": 0, "num_minor": 0, "ent_major": 0, "ent_minor": 0, "negation": 0}
    for f in findings:
        if f.kind == "negation":
            counts["negation"] += 1
        elif f.kind in ("number", "entity"):
            counts[f"{'num' if f.kind == 'number' else 'ent'}_{f.severity}"] += 1
    log_len = math.log(max(float(bleu[0]), 1.0) / max(float(bleu[1]), 1.0))
    raw = {
        "sem": max(semantic or 0.0, 0.0),
        "tm_p": match.precision if match else 0.0,
        "tm_r": match.recall if match else 0.0,
        "ref_unmatched": float((ref_best < unmatched_below).mean()) if len(ref_best) else 1.0,
        "hyp_unmatched": float((hyp_best < unmatched_below).mean()) if len(hyp_best) else 1.0,
        "ref_min": float(ref_best.min()) if len(ref_best) else 0.0,
        "chrf": scores["chrf"] / 100.0,
        "chrf_p": chrf_p,
        "chrf_r": chrf_r,
        "bleu": scores["bleu"] / 100.0,
        "neg_ter": -scores["ter"] / 100.0,
        "log_len_ratio": log_len,
        "abs_log_len_ratio": abs(log_len),
        "log_ref_len": math.log(max(float(bleu[1]), 1.0)),
        **{k: float(v) for k, v in counts.items()},
    }
    dropped: set[str] = set() if match is not None else set(ENCODER_EVIDENCE - {"sem"})
    if semantic is None:
        dropped.add("sem")
    return {k: round(float(raw[k]), DIGITS) for k in EVIDENCE if k not in dropped}


@dataclass(frozen=True)
class FidelityModel:
    """A linear score over standardised evidence, squashed to 0-1.

    ``score = sum_k weight_k * (x_k - mean_k) / scale_k`` ranks candidates of one segment
    (fitted as a pairwise, RankNet-style logistic model on MQM scores); ``fidelity =
    1 / (1 + exp(-(intercept + slope * score + length * log_ref_len)))`` maps it to 0-1, fitted
    so that fidelity is the chance, on the tuning data, that annotators marked no major
    accuracy error. The length term (``log_ref_len`` of :data:`EVIDENCE`) says that a longer
    reference leaves more to get wrong; it is the same for every candidate of one reference
    segment, so it never changes how they rank against each other.

    Attributes:
        features: evidence names (keys of :data:`EVIDENCE`), in order.
        mean: per feature, the training mean.
        scale: per feature, the training standard deviation (1 where constant).
        weights: per feature, the weight on the standardised value.
        intercept: of the squashing.
        slope: of the squashing, > 0 (fidelity increases with the score).
        length: of the squashing, the weight of ``log_ref_len`` (0: no length term).
        unmatched_below: the token threshold of ``ref_unmatched``/``hyp_unmatched``.
        source: the parameter file and the first 12 hex digits of its SHA-256.
    """

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float
    slope: float
    unmatched_below: float = 0.45
    source: str = "inline"
    length: float = 0.0

    def __post_init__(self) -> None:
        n = len(self.features)
        if not (len(self.mean) == len(self.scale) == len(self.weights) == n):
            raise ValueError(
                f"fidelity model: {n} features need as many means, scales and weights; got "
                f"{len(self.mean)}, {len(self.scale)} and {len(self.weights)}"
            )
        unknown = [f for f in self.features if f not in EVIDENCE]
        if unknown:
            raise ValueError(f"fidelity model: unknown evidence {unknown}; known: {', '.join(EVIDENCE)}")
        if not self.slope > 0 or any(s <= 0 for s in self.scale):
            raise ValueError("fidelity model: slope and every scale must be positive")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "inline") -> FidelityModel:
        model = data["model"]
        return cls(
            features=tuple(str(f) for f in model["features"]),
            mean=tuple(float(v) for v in model["mean"]),
            scale=tuple(float(v) for v in model["scale"]),
            weights=tuple(float(v) for v in model["weights"]),
            intercept=float(model["squash"]["intercept"]),
            slope=float(model["squash"]["slope"]),
            unmatched_below=float(model["unmatched_below"]),
            source=source,
            length=float(model["squash"].get("length", 0.0)),
        )

    @property
    def recorded_as(self) -> str:
        """What the signature records: the parameter file and its hash, or for a model built
        in code, ``inline@`` and the hash of its parameters (so no setting goes unrecorded)."""
        if self.source != "inline":
            return self.source
        params = [self.features, self.mean, self.scale, self.weights]
        text = json.dumps([*params, self.intercept, self.slope, self.unmatched_below, self.length])
        return f"inline@{hashlib.sha256(text.encode()).hexdigest()[:12]}"

    def score(self, values: Mapping[str, float]) -> float:
        """The unsquashed ranking score (higher = closer to the reference); pure Python, in a
        fixed order, so equal evidence gives a bit-identical score."""
        total = 0.0
        for f, m, s, w in zip(self.features, self.mean, self.scale, self.weights, strict=True):
            total += w * ((values[f] - m) / s)
        return total

    def squash(self, score: float, log_ref_len: float = 0.0) -> float:
        """A ranking score as fidelity, 0-1 (logistic, increasing in the score)."""
        z = self.intercept + self.slope * score + self.length * log_ref_len
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def fidelity(self, values: Mapping[str, float]) -> float:
        """Fidelity, 0-1, of a bead's evidence (``values`` has at least :attr:`features`)."""
        return self.squash(self.score(values), values["log_ref_len"] if self.length else 0.0)


@dataclass(frozen=True)
class DriftConfig:
    """The fidelity model and the thresholds that turn evidence into a drift label.

    Attributes:
        minor_below: fidelity (0-1) under which an aligned bead drifts at least ``minor``.
        major_below: fidelity (0-1) under which it drifts ``major``.
        span_below: a token whose best cosine with the other side is under this is unmatched
            and marked as a drifted span.
        model: the fidelity model; ``None``: :meth:`load`'s default parameter file.
        source: where the numbers come from (a parameter file and its hash).
    """

    minor_below: float
    major_below: float
    span_below: float
    model: FidelityModel | None = None
    source: str = "defaults"

    @classmethod
    def load(cls, path: Path = PARAMS_FILE) -> DriftConfig:
        """The shipped, versioned model and thresholds (fitted by ``scripts/fit_fidelity.py``)."""
        raw = path.read_bytes()
        data = json.loads(raw)
        source = f"{path.name}@{hashlib.sha256(raw).hexdigest()[:12]}"
        drift = data["drift"]
        return cls(
            minor_below=float(drift["minor_below"]),
            major_below=float(drift["major_below"]),
            span_below=float(drift["span_below"]),
            model=FidelityModel.from_dict(data, source),
            source=source,
        )

    @classmethod
    def for_model(cls, model: str = DEFAULT_MODEL) -> DriftConfig:
        """The shipped model and thresholds fitted for encoder ``model`` (see :func:`params_file`)."""
        return cls.load(params_file(model))

    @classmethod
    def for_encoder(cls, encoder: Encoder | None) -> DriftConfig:
        """The shipped settings for ``encoder``: see :func:`fidelity_params`."""
        return fidelity_params(encoder)

    @classmethod
    def encoder_free(cls) -> DriftConfig:
        """The judge that reads no encoder (lexical scores and findings): see :func:`fidelity_params`."""
        return cls.for_model(ENCODER_FREE)

    @property
    def fidelity_model(self) -> FidelityModel:
        """The model in use (the shipped one when none was given)."""
        return self.model if self.model is not None else _shipped_model()

    def signature(self) -> Signature:
        m = self.fidelity_model
        return Signature.of(
            "drift",
            [
                ("fidelity", f"ranknet-logistic({','.join(m.features)})"),
                ("model", m.recorded_as),
                ("minor", f"<{self.minor_below:.3f}"),
                ("major", f"<{self.major_below:.3f} or major finding"),
                ("span", f"<{self.span_below:.3f}"),
                ("params", self.source),
            ],
        )


def fidelity_params(encoder: Encoder | None = None) -> DriftConfig:
    """The shipped fidelity model and drift thresholds to use with ``encoder``.

    * ``None``: the encoder-free judge (``fidelity-v2-lexical.json``: sentence chrF, BLEU,
      TER and length evidence plus the fact checker's findings; no encoder input). The pipeline
      should ask for it where the encoder's numbers must not be used, e.g. an English-only
      encoder on another target language.
    * An encoder that says it has no fitted parameters (``fitted`` is False: a user's model, a
      packaged one at another ``--token-layer``): the encoder-free judge.
    * A packaged model or ``usem3`` (its signature names it): its own fitted parameters.
    * Any other encoder (one of one's own without a ``fitted`` attribute, as in the tests):
      the default model's parameters, as before.
    """
    if encoder is None or is_fitted(encoder) is False:
        return DriftConfig.encoder_free()
    name = encoder.signature().as_dict().get("model")
    keys = {spec.name: k for k, spec in MODELS.items()} | {USEEncoder.name: USEM3}
    return DriftConfig.for_model(keys.get(str(name), DEFAULT_MODEL))


@functools.cache
def _shipped_model() -> FidelityModel:
    """The shipped parameter file's model, read once per process."""
    model = DriftConfig.load().model
    assert model is not None  # load always sets it: internal invariant
    return model


def label(
    *,
    kind: str,
    fidelity_: float,
    findings: list[Finding],
    config: DriftConfig,
    off_target: str | None = None,
) -> tuple[Drift, list[Finding]]:
    """The drift label of a bead and its reasons, most severe first.

    ``major`` with the one reason ``off-target: CODE``: the candidate side is in language
    ``CODE``, not the reference's (``metrics.language.off_target``); nothing else is said of
    such a bead, since names, numbers and fidelity compare texts in two languages.
    ``major``: an omission or addition, a major finding (a changed name or number, a lost
    number, a negation flip), or fidelity under ``major_below``. ``minor``: a minor finding
    (a lost or added name, an added number) or fidelity under ``minor_below``. Else ``none``.
    """
    reasons = list(findings)
    if kind in ("omission", "addition"):
        return "major", [Finding(kind=kind, severity="major")]  # type: ignore[arg-type]
    if off_target is not None:
        return "major", [Finding(kind="off-target", severity="major", hyp=off_target)]
    if fidelity_ < config.major_below:
        reasons.append(Finding(kind="semantic", severity="major", ref=f"{fidelity_:.2f}"))
    elif fidelity_ < config.minor_below:
        reasons.append(Finding(kind="semantic", severity="minor", ref=f"{fidelity_:.2f}"))
    reasons.sort(key=lambda f: 0 if f.severity == "major" else 1)
    if any(f.severity == "major" for f in reasons):
        return "major", reasons
    if reasons:
        return "minor", reasons
    return "none", reasons
