"""The options of an evaluation, as one value shared by :func:`mtdrift.evaluate`,
:func:`mtdrift.evaluate_corpus` and :class:`mtdrift.Evaluator`'s methods (and built by the
command line from its flags), so that the three can never offer different options.

Each of them takes an :class:`Options` value, keyword arguments that override its fields, or
both: ``mtdrift.evaluate(ref, hyps, lang="de")`` is
``mtdrift.evaluate(ref, hyps, options=Options(lang="de"))``. An unknown keyword is a
``TypeError``, as for any Python function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from mtdrift.metrics.significance import ALPHA, DEFAULT_PRIMARY, Resampling


@dataclass(frozen=True)
class Options:
    """How to evaluate and compare, beyond which model (:class:`mtdrift.Evaluator`'s).

    Attributes:
        aligned: the texts are line-parallel, one segment per line (no alignment); a corpus
            always is.
        scores: external per-segment scores as ``NAME=FILE[:COLUMN]`` (``--scores``; with
            ``aligned`` or a corpus only: the segments must be known), each one more metric.
        lower_is_better: the ``scores`` names that are better when lower.
        metrics: installed plug-in metrics to compute too (``--metric``).
        baseline: the system the others are compared with (default: the first).
        primary: the metric the comparison tables are sorted by.
        alpha: significance level of the marks.
        resampling: seed and sizes of the bootstrap and randomization (default: seed 12345,
            1,000 resamples, 10,000 trials).
        dask: run on a Dask cluster (``"local"``, ``"local:N"`` or ``"tcp://HOST:PORT"``); the
            same result, byte for byte. A document pair is one partition; a corpus is
            partitioned by document (a file or glob streams from disk).
        partition_rows: rows per partition of a corpus with ``dask`` (whole documents; default
            1,000).
        lang: ISO 639-1 code of the reference's and the candidates' language (``--lang``);
            ``None``: detected from the reference (``metrics.language``).
        tokenize: BLEU's tokenizer, any of sacrebleu's (``--tokenize``); ``None``: the one
            sacrebleu picks for the language (``zh``, ``ja-mecab``, ``ko-mecab``, else ``13a``).
    """

    aligned: bool = False
    scores: Sequence[str] = ()
    lower_is_better: Sequence[str] = ()
    metrics: Sequence[str] = ()
    baseline: str | None = None
    primary: str = DEFAULT_PRIMARY
    alpha: float = ALPHA
    resampling: Resampling | None = None
    dask: str | None = None
    partition_rows: int | None = None
    lang: str | None = None
    tokenize: str | None = None

    def but(self, overrides: Mapping[str, Any]) -> Options:
        """These options with ``overrides`` (keyword arguments of the API) in place.

        Raises:
            TypeError: a keyword that is no option.
        """
        unknown = sorted(set(overrides) - {f.name for f in fields(self)})
        if unknown:
            raise TypeError(
                f"unexpected keyword argument(s) {', '.join(map(repr, unknown))}; see mtdrift.Options"
            )
        options = replace(self, **overrides) if overrides else self
        if isinstance(options.scores, str):  # one NAME=FILE given bare
            options = replace(options, scores=(options.scores,))
        return options


def options_of(options: Options | None, overrides: Mapping[str, Any]) -> Options:
    """``options`` (default: :class:`Options`'s defaults) with ``overrides`` in place."""
    return (options or Options()).but(overrides)
