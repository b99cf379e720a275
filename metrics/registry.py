"""Every corpus metric behind one interface: per-segment statistics in, corpus scores out.

A metric's segment statistics are the rows of an ``(N, k)`` matrix; its corpus score is a
pure function of their column sum. That is all the significance tests need, so they are
written once (``metrics.significance``) for every metric here: sacrebleu's BLEU, chrF,
chrF++ and TER, the mean-based scores whose statistics are ``[score, 1]`` rows, and metrics
that installed packages add as plug-ins.

**Plug-ins.** A package adds a metric by declaring an entry point in the group
``mtdrift.metrics`` (:data:`PLUGIN_GROUP`) whose name is the metric's name and whose object is
a class or a zero-argument factory; mtdrift calls it once and expects an object with

- ``name`` (str, the entry point's name), ``higher_is_better`` (bool), ``num_stats`` (int, k);
- ``signature()``: a :class:`~mtdrift.metrics.signature.Signature` (or its one-line string) naming
  everything that changes the numbers (model, version, settings);
- ``stats(*, hyps, refs)``: per-segment statistics, an ``(N, k)`` array; a segment's row must
  depend on that segment alone (an empty ``hyps[i]`` is an omitted sentence, an empty
  ``refs[i]`` an added one);
- ``corpus_scores(summed)``: ``(B, k)`` summed statistics -> ``(B,)`` scores;
- optionally ``display`` (table name), ``digits`` (decimals shown, default 3), ``scale`` (what
  the numbers mean, for ``summary.json``) and ``max_drop`` (the default tolerance of
  ``mtdrift check``; without it the user must give one).

Construction and ``signature()`` must be cheap (load models in ``stats``): listing the
metrics builds every installed plug-in. A plug-in that cannot be loaded or breaks this
contract is reported by name (a warning through the ``mtdrift`` logger) and skipped when
listing; asking for it by name raises :class:`MetricError`.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np

from mtdrift.metrics.lexical import LEXICAL_METRICS, get_lexical
from mtdrift.metrics.signature import Signature

PLUGIN_GROUP: Final = "mtdrift.metrics"
"""The entry-point group in which packages declare metric plug-ins."""

NAME_PATTERN: Final = re.compile(r"[A-Za-z][A-Za-z0-9_.+-]{0,63}")
"""What a metric name added by a plug-in or by external scores may look like (it becomes a
JSON key, a CSV column and a signature name)."""

_log = logging.getLogger(__name__)


class MetricError(ValueError):
    """A metric that does not exist, or a plug-in that cannot be loaded; one line naming it."""


class CorpusMetric(Protocol):
    """What the significance tests, the regression check and the reports need from a metric.

    ``display`` is the name tables show, ``digits`` the decimals of a corpus score there,
    ``source`` one of ``"builtin"``, ``"plugin"`` or ``"scores"`` (external per-segment
    scores, ``eval.external``), ``scale`` what the numbers mean (``summary.json``'s
    ``scales``) and ``max_drop`` the default tolerance of ``mtdrift check`` (``None``: the user
    must give one, on the metric's own scale).
    """

    @property
    def name(self) -> str: ...

    @property
    def higher_is_better(self) -> bool: ...

    @property
    def num_stats(self) -> int: ...

    @property
    def display(self) -> str: ...

    @property
    def digits(self) -> int: ...

    @property
    def source(self) -> str: ...

    @property
    def scale(self) -> str: ...

    @property
    def max_drop(self) -> float | None: ...

    def corpus_scores(self, summed: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class MeanMetric:
    """A score that is the mean of per-segment values: statistics ``[value, 1]``.

    Attributes:
        name: one of ``MEAN_METRICS``, or the name of external scores.
        higher_is_better: the direction of the values.
        num_stats: always 2.
        title: the name tables show (default: ``name``).
        source: ``"builtin"`` or ``"scores"`` (external per-segment scores).
        scale: what the values mean; external scores get a standard text.
        max_drop: the default tolerance of ``mtdrift check``; ``None`` for external scores,
            whose scale mtdrift does not know.
    """

    name: str
    higher_is_better: bool = True
    num_stats: int = 2
    title: str = ""
    source: str = "builtin"
    scale: str = ""
    max_drop: float | None = None

    def __post_init__(self) -> None:
        if not self.scale and self.source == "scores":
            better = "higher" if self.higher_is_better else "lower"
            object.__setattr__(
                self,
                "scale",
                f"external per-segment scores (the file, its SHA-256 and column in signatures), on "
                f"that tool's scale, {better} is better; corpus: their mean over segments",
            )

    @property
    def display(self) -> str:
        return self.title or self.name

    @property
    def digits(self) -> int:
        return 3

    def corpus_scores(self, summed: np.ndarray) -> np.ndarray:
        """Means of many corpora at once, from their summed ``[value, 1]`` statistics.

        Args:
            summed: shape ``(B, 2)``; a row with no segments scores 0.

        Returns:
            Shape ``(B,)``, float64, on the values' scale (0-1 for the built-in ones).
        """
        s = np.asarray(summed, dtype=np.float64)
        if s.ndim != 2 or s.shape[1] != 2:
            raise ValueError(f"{self.name}: expected summed statistics of shape (B, 2), got {s.shape}")
        out = np.zeros(s.shape[0], dtype=np.float64)
        np.divide(s[:, 0], s[:, 1], out=out, where=s[:, 1] > 0)
        return out


_MEANS: tuple[MeanMetric, ...] = (
    MeanMetric(
        "semantic", scale="0-1 mean sentence cosine over beads (omission/addition count 0)", max_drop=0.01
    ),
    MeanMetric(
        "tokenmatch",
        scale="0-1 mean greedy token-match F1 over beads (omission/addition count 0)",
        max_drop=0.01,
    ),
    MeanMetric(
        "fidelity",
        scale="0-1 mean bead fidelity (the fitted model named in signatures.fidelity, "
        "metrics/params/fidelity-v2-<encoder>.json; omission/addition count 0)",
        max_drop=0.01,
    ),
)

MEAN_METRICS: tuple[str, ...] = tuple(m.name for m in _MEANS)
"""The built-in scores that are means over beads (from the encoder and the judge)."""

METRICS: tuple[str, ...] = (*LEXICAL_METRICS, *MEAN_METRICS)
"""The built-in metrics, in the order reports list them."""


class PluginMetric:
    """An installed plug-in metric, checked against the contract (see the module docstring).

    Wraps the plug-in's object: checks the shapes of what it returns, fills in the optional
    attributes, and pickles as its name (a worker process loads the plug-in again), so an
    object holding a model never travels between processes.
    """

    source = "plugin"

    def __init__(self, name: str, obj: Any, *, dist: str | None = None) -> None:
        self.name = name
        self.dist = dist
        self._obj = obj
        problems = _contract_problems(name, obj)
        if problems:
            raise MetricError(f"metric plug-in {name!r}{_from(dist)} breaks the contract: {problems}")
        self.higher_is_better: bool = bool(obj.higher_is_better)
        self.num_stats: int = int(obj.num_stats)
        self.display: str = str(getattr(obj, "display", "") or name)
        self.digits: int = int(getattr(obj, "digits", 3))
        drop = getattr(obj, "max_drop", None)
        self.max_drop: float | None = None if drop is None else float(drop)
        better = "higher" if self.higher_is_better else "lower"
        self.scale: str = str(
            getattr(obj, "scale", "")
            or f"plug-in metric (signatures names it), {better} is better; corpus: from summed statistics"
        )
        self._signature = _as_signature(name, obj.signature())

    def signature(self) -> Signature:
        """The plug-in's signature (its name first)."""
        return self._signature

    def stats(self, *, hyps: Sequence[str], refs: Sequence[str]) -> np.ndarray:
        """The plug-in's per-segment statistics, float64, shape ``(N, num_stats)``.

        Raises:
            MetricError: the plug-in returned another shape or a non-finite number.
        """
        if len(hyps) != len(refs):
            raise ValueError(f"{self.name}: got {len(hyps)} hypotheses and {len(refs)} references")
        out = np.asarray(self._obj.stats(hyps=list(hyps), refs=list(refs)), dtype=np.float64)
        if out.size == 0 and not hyps:
            return out.reshape(0, self.num_stats)
        if out.shape != (len(hyps), self.num_stats):
            raise MetricError(
                f"metric plug-in {self.name!r}: stats() returned shape {out.shape}, expected "
                f"({len(hyps)}, {self.num_stats})"
            )
        if not np.isfinite(out).all():
            raise MetricError(f"metric plug-in {self.name!r}: stats() returned NaN or infinity")
        return out

    def corpus_scores(self, summed: np.ndarray) -> np.ndarray:
        """The plug-in's scores of ``(B, num_stats)`` summed statistics, shape ``(B,)``."""
        s = np.asarray(summed, dtype=np.float64)
        if s.ndim != 2 or s.shape[1] != self.num_stats:
            raise ValueError(
                f"{self.name}: expected summed statistics of shape (B, {self.num_stats}), got {s.shape}"
            )
        out = np.asarray(self._obj.corpus_scores(s), dtype=np.float64).reshape(-1)
        if out.shape != (s.shape[0],):
            raise MetricError(
                f"metric plug-in {self.name!r}: corpus_scores() returned shape {out.shape}, "
                f"expected ({s.shape[0]},)"
            )
        return out

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (load_plugin, (self.name,))

    def __repr__(self) -> str:
        return f"PluginMetric({self.name!r}{_from(self.dist)})"


def _from(dist: str | None) -> str:
    return f" (from {dist})" if dist else ""


_REQUIRED: Final = ("higher_is_better", "num_stats", "signature", "stats", "corpus_scores")


def _contract_problems(name: str, obj: Any) -> str:
    missing = [a for a in ("name", *_REQUIRED) if not hasattr(obj, a)]
    if missing:
        return f"no {', '.join(missing)}"
    if obj.name != name:
        return f"its name {obj.name!r} is not its entry point's name {name!r}"
    if not isinstance(obj.higher_is_better, bool):
        return f"higher_is_better is {type(obj.higher_is_better).__name__}, not bool"
    if isinstance(obj.num_stats, bool) or not isinstance(obj.num_stats, int) or obj.num_stats < 1:
        return f"num_stats must be a positive int, got {obj.num_stats!r}"
    if not all(callable(getattr(obj, a)) for a in ("signature", "stats", "corpus_scores")):
        return "signature, stats and corpus_scores must be methods"
    return ""


def _as_signature(name: str, sig: object) -> Signature:
    """The plug-in's signature with its name first (another name becomes a ``metric`` field)."""
    if isinstance(sig, str):
        try:
            sig = Signature.parse(sig)
        except ValueError as err:
            raise MetricError(f"metric plug-in {name!r}: signature() is not name|key:value: {err}") from None
    if not isinstance(sig, Signature):
        what = type(sig).__name__
        raise MetricError(f"metric plug-in {name!r}: signature() returned {what}, not a Signature")
    return sig if sig.name == name else Signature(name, (("metric", sig.name), *sig.fields))


def plugin_names() -> tuple[str, ...]:
    """Names of the metric plug-ins installed (declared entry points; none is loaded)."""
    return tuple(dict.fromkeys(ep.name for ep in _entry_points()))


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    return sorted(importlib.metadata.entry_points(group=PLUGIN_GROUP), key=lambda ep: ep.name)


def load_plugin(name: str) -> PluginMetric:
    """Load the installed plug-in metric called ``name``.

    Raises:
        MetricError: no plug-in of that name, two of them, a name that a built-in metric has
            or that is not a valid metric name, or a plug-in that fails to load or breaks the
            contract (the message names it and says why).
    """
    found = [ep for ep in _entry_points() if ep.name == name]
    if not found:
        installed = ", ".join(plugin_names()) or "none"
        raise MetricError(
            f"no metric {name!r}: not built in ({', '.join(METRICS)}) and no installed plug-in "
            f"declares it (installed plug-ins: {installed})"
        )
    dists = [_dist(ep) for ep in found]
    if len(found) > 1:
        raise MetricError(
            f"two installed packages declare the metric plug-in {name!r}: {', '.join(map(str, dists))}"
        )
    if name in METRICS:
        raise MetricError(f"metric plug-in {name!r}{_from(dists[0])} has a built-in metric's name; rename it")
    if not NAME_PATTERN.fullmatch(name):
        raise MetricError(
            f"metric plug-in {name!r}{_from(dists[0])}: a name must start with a letter and hold "
            "letters, digits and _.+- only"
        )
    try:
        target = found[0].load()
        obj = target() if callable(target) else target
        return PluginMetric(name, obj, dist=dists[0])
    except MetricError:
        raise
    except Exception as err:  # a plug-in is third-party code: any failure is reported by name
        raise MetricError(
            f"metric plug-in {name!r}{_from(dists[0])} failed to load: {type(err).__name__}: {err}"
        ) from None


def _dist(ep: importlib.metadata.EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return None if dist is None else f"{dist.metadata['Name']} {dist.version}"


def installed_plugins() -> tuple[PluginMetric, ...]:
    """Every installed plug-in that loads and keeps the contract, by name; each broken one
    is reported through the ``mtdrift`` logger (a warning naming it and why) and skipped."""
    out = []
    for name in plugin_names():
        try:
            out.append(load_plugin(name))
        except MetricError as err:
            _log.warning("%s; skipped", err)
    return tuple(out)


def get_metric(name: str) -> CorpusMetric:
    """The corpus metric called ``name``: a built-in one, else an installed plug-in.

    Raises:
        MetricError: unknown name (the message lists the known ones), or a broken plug-in.
    """
    if name in LEXICAL_METRICS:
        return get_lexical(name)
    if name in MEAN_METRICS:
        return _MEANS[MEAN_METRICS.index(name)]
    return load_plugin(name)


def corpus_score(metric: CorpusMetric, stats: np.ndarray) -> float:
    """The corpus score of one system from its ``(N, k)`` segment statistics."""
    m = np.asarray(stats, dtype=np.float64).reshape(-1, metric.num_stats)
    return float(metric.corpus_scores(m.sum(axis=0, keepdims=True))[0])


@dataclass(frozen=True)
class MetricInfo:
    """One metric as ``mtdrift metrics`` lists it.

    Attributes:
        name: what ``--metric``, ``--max-drop`` and the reports' keys call it.
        display: the name tables show.
        source: ``"builtin"`` or ``"plugin"``.
        higher_is_better: its direction.
        num_stats: statistics per segment.
        signature: its signature, or ``None`` where it depends on the run (the encoder's).
        origin: the package that provides it (``"mtdrift"`` for the built-in ones).
    """

    name: str
    display: str
    source: str
    higher_is_better: bool
    num_stats: int
    signature: str | None
    origin: str


def describe_metrics() -> tuple[MetricInfo, ...]:
    """The built-in metrics, then every installed plug-in that loads (a broken one is reported
    through the ``mtdrift`` logger and left out, see :func:`installed_plugins`)."""
    out = []
    for name in METRICS:
        m = get_metric(name)
        sig = get_lexical(name).signature_fields("corpus").format() if name in LEXICAL_METRICS else None
        out.append(MetricInfo(name, m.display, "builtin", m.higher_is_better, m.num_stats, sig, "mtdrift"))
    for p in installed_plugins():
        out.append(
            MetricInfo(
                p.name,
                p.display,
                "plugin",
                p.higher_is_better,
                p.num_stats,
                p.signature().format(),
                p.dist or "?",
            )
        )
    return tuple(out)
