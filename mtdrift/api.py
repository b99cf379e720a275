"""The public Python API: everything the command line does, as functions over typed values.

``mtdrift.evaluate`` and ``mtdrift.evaluate_corpus`` return a :class:`Result` (the typed
evaluation, the comparison of the systems, and their signatures) that renders every file the
CLI writes; ``mtdrift.check`` and ``mtdrift.meta`` do what ``mtdrift check`` and ``mtdrift
meta`` do. The CLI (``mtdrift.eval.cli``) only parses options, calls these and prints.

Nothing here prints or exits. Bad input raises :class:`InputError`, whose message is one line
naming the file (and line) and what to do."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from mtdrift.eval.config import Document, RunConfig
from mtdrift.eval.corpus import Corpus
from mtdrift.eval.errors import InputError
from mtdrift.eval.read import read_text
from mtdrift.eval.regression import CheckResult, Incomparable, parse_tolerances
from mtdrift.eval.results import Evaluation
from mtdrift.metrics.models import DEFAULT_MODEL, MODELS
from mtdrift.metrics.progress import Progress, quiet
from mtdrift.metrics.progress import of as progress_of
from mtdrift.metrics.significance import ALPHA, DEFAULT_PRIMARY, DEFAULT_SEED, Comparison, Resampling
from mtdrift.options import Options, options_of

if TYPE_CHECKING:
    import pandas as pd

    from mtdrift.eval.history import Trend
    from mtdrift.eval.meta.evaluation import MultiMeta
    from mtdrift.eval.meta.sets import DataSpec
    from mtdrift.metrics.cache import Cache
    from mtdrift.metrics.encoders import Encoder
    from mtdrift.metrics.facts.checker import FactChecker
    from mtdrift.metrics.registry import MetricInfo
from mtdrift.eval.summary import Summary
from mtdrift.inputs import Source as Source  # a text: str, path or Document (public)
from mtdrift.inputs import (
    check_baseline,
    check_options,
    corpus_of,
    document,
    label_of,
    model_errors,
    named_hyps,
    output_dir,
    scores_of,
    summary_of,
    value_errors,
)

OUTPUTS: tuple[str, ...] = (
    "segments.csv",
    "summary.json",
    "report.md",
    "compare.md",
    "compare.json",
    "compare.tex",
    "compare.csv",
    "report.html",
)
"""The text files :meth:`Result.render` makes and :meth:`Result.write` writes (plots aside)."""


def _write_segments_csv(evaluation: Evaluation, out: TextIO) -> None:
    from mtdrift.eval.render.tables import write_segments_csv

    write_segments_csv(evaluation, out)


def _write_summary_json(evaluation: Evaluation, out: TextIO) -> None:
    from mtdrift.eval.render.tables import write_summary_json

    write_summary_json(evaluation, out)


_STREAMED: dict[str, Callable[[Evaluation, TextIO], None]] = {
    "segments.csv": _write_segments_csv,
    "summary.json": _write_summary_json,
}
"""The outputs :meth:`Result.write` writes a piece at a time (what :meth:`Result.render` gives,
never held whole)."""


@dataclass(frozen=True)
class Result:
    """One evaluation and the comparison of its systems: everything the reports are made of.

    Attributes:
        evaluation: the typed evaluation (``mtdrift.eval.results.Evaluation``): every bead of every
            system, its scores, drift label and reasons, and each metric's per-bead statistics.
        comparison: CIs of every system and paired tests against the baseline
            (``mtdrift.metrics.significance.Comparison``).
        primary: the metric the systems are sorted by in the comparison tables.
        alpha: the significance level of the marks in the tables.
    """

    evaluation: Evaluation
    comparison: Comparison
    primary: str = DEFAULT_PRIMARY
    alpha: float = ALPHA

    @property
    def signatures(self) -> dict[str, str]:
        """Every metric's signature (and the input's, the aligner's, mtdrift's version)."""
        return dict(self.evaluation.signatures)

    @property
    def segments(self) -> pd.DataFrame:
        """One row per bead of every system: the rows of ``segments.csv`` with scores as floats
        (``bleu``, ``chrf``, ``chrfpp``, ``ter`` 0-100; ``semantic``, ``tokenmatch``,
        ``fidelity`` 0-1) and ``""`` (never NaN) for a missing side; ``tokenmatch`` is ``None``
        on every row when the encoder gives no token vectors (``usem3``)."""
        import pandas as pd

        from mtdrift.eval.render.tables import segment_columns, segment_rows

        return pd.DataFrame(list(segment_rows(self.evaluation)), columns=segment_columns(self.evaluation))

    @property
    def systems(self) -> pd.DataFrame:
        """One row per system (index ``system``, input order): each metric's corpus score, its
        bootstrap 95 % interval (``<metric>_lo``, ``<metric>_hi``), the delta to the baseline and
        the Holm-corrected approximate-randomization p (``<metric>_delta``, ``<metric>_p``;
        NaN for the baseline), then bead and drift counts."""
        import pandas as pd

        rows = []
        for s in self.evaluation.systems:
            row: dict[str, Any] = {"system": s.system}
            for m in self.comparison.metrics:
                r = self.comparison.get(s.system, m)
                row[m] = r.score
                row[f"{m}_lo"], row[f"{m}_hi"] = r.ci.low, r.ci.high
                row[f"{m}_delta"] = r.delta
                row[f"{m}_p"] = r.p_holm
            counts = s.counts()
            row["beads"] = len(s.beads)
            row["omitted"] = counts["beads"].get("omission", 0)
            row["added"] = counts["beads"].get("addition", 0)
            row["off_target"] = counts["reasons"]["off-target"]
            row.update({f"drift_{k}": v for k, v in counts["drift"].items()})
            rows.append(row)
        return pd.DataFrame(rows).set_index("system").astype({m: float for m in self._p_columns()})

    @property
    def ranks(self) -> pd.DataFrame:
        """One row per (metric, system), each metric's systems best first: ``rank``, the 95 %
        bootstrap rank range ``rank_lo``-``rank_hi`` and ``cluster`` (WMT17-19 rule at
        ``alpha``, ``mtdrift.metrics.ranking``), with the ``score``; empty for one system."""
        import pandas as pd

        rows = [
            {"metric": m, "system": s, "rank": rk.rank(s), "rank_lo": rk.rank_ranges[s][0],
             "rank_hi": rk.rank_ranges[s][1], "cluster": rk.clusters(self.alpha)[s], "score": rk.scores[s]}
            for m, rk in self.comparison.rankings.items()
            for s in rk.order
        ]  # fmt: skip
        columns = ["metric", "system", "rank", "rank_lo", "rank_hi", "cluster", "score"]
        return pd.DataFrame(rows, columns=columns)

    def _p_columns(self) -> list[str]:
        return [f"{m}_{k}" for m in self.comparison.metrics for k in ("delta", "p")]

    def summary(self) -> dict[str, Any]:
        """``summary.json`` as data (what :func:`check` compares)."""
        from mtdrift.eval.render.tables import summary

        return summary(self.evaluation)

    def render(self, name: str) -> str:
        """The text of one output file, as ``mtdrift evaluate`` writes it.

        Args:
            name: one of :data:`OUTPUTS`.

        Raises:
            ValueError: an unknown name.
        """
        from mtdrift.eval.render import pairwise as cmp
        from mtdrift.eval.render import tables
        from mtdrift.eval.render.html import report_html

        ev, c, sigs = self.evaluation, self.comparison, self.signatures
        primary, alpha = self.primary, self.alpha
        makers = {
            "segments.csv": lambda: tables.segments_csv(ev),
            "summary.json": lambda: tables.summary_json(ev),
            "report.md": lambda: tables.report_md(ev),
            "compare.md": lambda: cmp.to_md(c, primary, sigs, alpha),
            "compare.json": lambda: cmp.to_json(c, primary, sigs, alpha),
            "compare.tex": lambda: cmp.to_tex(c, primary, sigs, alpha),
            "compare.csv": lambda: cmp.to_csv(c, primary, alpha),
            "report.html": lambda: report_html(ev, c, primary=primary, alpha=alpha),
        }
        if name not in makers:
            raise ValueError(f"unknown output {name!r}; known: {', '.join(OUTPUTS)}")
        return makers[name]()

    def _parquet(self, asked: bool | None) -> bool:
        from mtdrift.eval.render.parquet import PARQUET_MIN_BEADS

        if asked is not None:
            return asked
        return sum(len(s.beads) for s in self.evaluation.systems) >= PARQUET_MIN_BEADS

    def terminal(self) -> str:
        """The plain-text tables ``mtdrift evaluate`` prints: corpus scores and counts, then
        (with several systems) the comparison."""
        from mtdrift.eval.render import pairwise as cmp
        from mtdrift.eval.render.tables import terminal_table

        text = terminal_table(self.evaluation)
        if len(self.evaluation.systems) > 1:
            text += "\n" + cmp.terminal(self.comparison, self.primary, self.alpha)
        return text

    def write(
        self, out: str | os.PathLike[str], *, plots: bool = True, parquet: bool | None = None
    ) -> list[Path]:
        """Write every output file into ``out`` (created if missing): :data:`OUTPUTS`, with
        ``plots`` ``drift.png``, ``alignment*.png`` and ``systems.png``, and with ``parquet``
        the folder ``segments.parquet/`` (``None``: from ``PARQUET_MIN_BEADS`` beads on).

        Returns:
            The paths written, in order.

        Raises:
            InputError: ``out`` cannot be created.
        """
        directory = output_dir(out)
        written = []
        for name in OUTPUTS:
            path = directory / name
            if name in _STREAMED:  # a Dask run's beads are read back from disk as written
                with path.open("w", encoding="utf-8") as fh:
                    _STREAMED[name](self.evaluation, fh)
            else:
                path.write_text(self.render(name), encoding="utf-8")
            written.append(path)
            if name == "segments.csv" and self._parquet(parquet):
                from mtdrift.eval.render.parquet import write_segments_parquet

                write_segments_parquet(self.evaluation, directory / "segments.parquet")
                written.append(directory / "segments.parquet")
        if plots:
            from mtdrift.eval.render.figures import write_plots
            from mtdrift.eval.render.figures.systems import plot_systems

            written += write_plots(self.evaluation, directory)
            plot_systems(self.comparison, self.primary, directory / "systems.png", self.alpha)
            written.append(directory / "systems.png")
        return written


class Evaluator:
    """The embedding model, fact checker and cache, loaded once and reused by every call.

    Args:
        model: a packaged encoder, ``"mpnet"`` or ``"minilm"``, each with its own fitted
            fidelity; ``"usem3"`` (multilingual, sentence vectors only, its own fitted fidelity);
            or the directory or hub name (in the Hugging Face cache) of any sentence-transformers
            model (``mtdrift.metrics.models.resolve_model``), which uses the encoder-free judge
            for fidelity (``mtdrift.eval.judge.fidelity_params``). ``None`` (default): ``mpnet``,
            or per run ``usem3`` where the target language is one ``mpnet`` does not cover and
            ``usem3`` does (``mtdrift.metrics.models.default_model``; not with ``dask``, whose
            workers load ``mpnet``); the semantic signature (``chosen:``) and the terminal say so.
        token_layer: the hidden layer of the token vectors (``None``: the model's default).
        device: torch device of the model (``"cpu"``, ``"cuda"``).
        threads: the model's threads (``None``: its runtime's default, one per core).
        backend: what runs a packaged model: ``"auto"`` (ONNX Runtime in fp32 on the CPU, about
            twice torch's speed there; torch on another device or for a user's model),
            ``"onnxruntime"`` or ``"torch"`` (``mtdrift.metrics.encoders.BACKENDS``). The semantic
            signature names it; the vectors agree to about 2e-7.
        cache: where embeddings, lexical statistics and findings are kept between runs: a
            directory, ``True`` for the default one (``$MTDRIFT_CACHE_DIR``, else
            ``$XDG_CACHE_HOME/mtdrift`` or ``~/.cache/mtdrift``) or ``False`` for none.
        progress: progress bars on stderr (``None``: when stderr is a terminal).
        workers: processes computing lexical statistics beside the checks on large inputs.

    Raises:
        InputError: an unknown model (one line, at once: no hub is tried offline), a bad
            ``token_layer``, or a cache directory that cannot be used.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        token_layer: int | None = None,
        device: str = "cpu",
        threads: int | None = None,
        cache: bool | str | os.PathLike[str] = True,
        progress: bool | None = None,
        workers: int = 1,
        backend: str = "auto",
    ) -> None:
        from mtdrift.metrics.encoders import BACKENDS
        from mtdrift.metrics.models import USEM3, hub_offline, resolve_model

        hub_offline()

        self.auto = model is None and token_layer is None  # the encoder follows the language
        model = DEFAULT_MODEL if model is None else model
        if model == USEM3:
            if token_layer is not None:
                raise InputError("--token-layer: usem3 gives sentence vectors only, no token layers")
        else:
            model_errors(lambda: resolve_model(model, token_layer=token_layer))
        if backend not in BACKENDS:
            raise InputError(f"--backend {backend}: choose one of {', '.join(BACKENDS)}")
        self.model = model
        self.token_layer = token_layer
        self.device = device
        self.backend = backend
        self.threads = threads
        self.workers = max(0, workers)
        self.progress = _stderr_is_terminal() if progress is None else progress
        self._cache_option = cache
        self._parts: tuple[Encoder, FactChecker, Cache | None] | None = None
        self._others: dict[str, Encoder] = {}  # encoders chosen by language (``auto``)

    @classmethod
    def from_parts(
        cls,
        encoder: Encoder,
        *,
        checker: FactChecker | None = None,
        cache: Cache | None = None,
        workers: int = 1,
    ) -> Evaluator:
        """An evaluator over an encoder of one's own (any object with ``encode`` and
        ``signature``, see ``mtdrift.metrics.encoders.Encoder``); its fidelity and drift labels use
        the shipped parameters of the default encoder unless it names a packaged model."""
        from mtdrift.metrics.facts.checker import FactChecker

        self = cls(workers=workers, cache=False, progress=False)
        self.model = encoder.signature().as_dict().get("model", "custom")
        self.auto = False
        self._parts = (encoder, checker if checker is not None else FactChecker(cache=cache), cache)
        return self

    def _load(self) -> tuple[Encoder, FactChecker, Cache | None]:
        """The encoder (behind the cache), the checker and the cache, built on first use."""
        if self._parts is None:
            from mtdrift.metrics.cache import Cache, CachedEncoder, default_cache_dir
            from mtdrift.metrics.encoders import load_encoder
            from mtdrift.metrics.facts.checker import FactChecker

            encoder: Encoder = model_errors(
                lambda: load_encoder(
                    self.model,
                    token_layer=self.token_layer,
                    device=self.device,
                    threads=self.threads,
                    progress=self.progress,
                    backend=self.backend,
                )
            )
            cache = None
            if self._cache_option is not False:
                where = default_cache_dir() if self._cache_option is True else Path(self._cache_option)
                try:
                    cache = Cache(where)
                except OSError as err:
                    raise InputError(
                        f"{where}: cannot use it as the cache directory ({err.strerror}); "
                        "give another with --cache DIR or run with --no-cache"
                    ) from None
                encoder = CachedEncoder(encoder, cache)
            self._parts = (encoder, FactChecker(cache=cache, progress=self._bars), cache)
        return self._parts

    def _pick(
        self, config: RunConfig, texts: Sequence[str]
    ) -> tuple[tuple[Encoder, FactChecker, Cache | None], RunConfig]:
        """The parts for a run of ``config`` on reference ``texts``: this evaluator's encoder, or
        with ``auto`` the one ``metrics.models.default_model`` picks for the language (detected
        here as the run would, and kept by the run when sure), the choice noted in the config."""
        from mtdrift.eval.pipeline import sure_language
        from mtdrift.metrics.cache import CachedEncoder
        from mtdrift.metrics.encoders import load_encoder
        from mtdrift.metrics.language import Language
        from mtdrift.metrics.models import default_model

        parts = self._load()
        if not self.auto:
            return parts, config
        if config.language is None:
            # decided once, here, when detection is sure (the run keeps it); when unsure the run
            # decides, after its checks of the input, and warns (English assumed)
            found = sure_language(texts)
            if isinstance(found, Language):
                config = replace(config, language=found)
        model, why = default_model(config.lang)
        if why is None or model == self.model:
            return parts, config
        if model not in self._others:
            encoder: Encoder = model_errors(lambda: load_encoder(model, threads=self.threads))
            self._others[model] = encoder if parts[2] is None else CachedEncoder(encoder, parts[2])
        return (self._others[model], parts[1], parts[2]), replace(config, encoder_note=why)

    def evaluate(
        self,
        ref: Source,
        hyps: Sequence[Source] | Mapping[str, Source],
        options: Options | None = None,
        **overrides: Any,
    ) -> Result:
        """Align, score and explain candidates against a reference, and compare them.

        Args:
            ref: the reference (text, path or :class:`Document`).
            hyps: the candidates: a mapping from system name to source, or a sequence (named by
                file stem for paths, ``hyp1``, ``hyp2``... for texts, the document's name
                otherwise).
            options: how to evaluate (:class:`~mtdrift.options.Options`); keyword arguments
                override its fields (``aligned=True``, ``lang="de"``, ...).

        Raises:
            InputError: unreadable files, no candidate, two systems with one name, an unknown
                baseline, mismatched line counts with ``aligned``; a cluster that cannot be
                reached.
            TypeError: a keyword that is no option.
        """
        from mtdrift.eval.external import attach_scores, load_scores
        from mtdrift.eval.pipeline import evaluate

        o = options_of(options, overrides)
        specs = scores_of(o)
        ref_doc = document(ref, "ref")
        named = named_hyps(hyps)
        check_baseline(o.baseline, [n for n, _ in named])
        external = load_scores(specs, aligned=o.aligned)
        config = self._config(o, aligned=o.aligned)
        if o.dask is not None:
            from mtdrift.eval.distributed import evaluate_dask

            evaluation = evaluate_dask(ref_doc, named, address=o.dask, config=config, **self._cluster())
        else:
            (encoder, checker, cache), config = self._pick(config, [ref_doc.text])
            evaluation = model_errors(
                lambda: evaluate(
                    ref_doc,
                    named,
                    encoder=encoder,
                    checker=checker,
                    config=config,
                    cache=cache,
                    progress=self._bars,
                )
            )
        return _result(attach_scores(evaluation, external), o, self._bars)

    def evaluate_corpus(
        self,
        data: str | os.PathLike[str] | pd.DataFrame | Corpus,
        options: Options | None = None,
        **overrides: Any,
    ) -> Result:
        """Score every system of a segment-level corpus, each row one bead, and compare them.

        Args:
            data: a corpus file (JSONL, TSV, optionally .gz, or Parquet), a glob of such
                shards (``"shards/*.jsonl.gz"``), a pandas DataFrame, or a :class:`Corpus`. Files
                and frames have the columns ``doc_id``, ``seg_id``, ``system``, ``ref`` (or
                ``reference``), ``hyp`` (or ``hypothesis``); one row per (segment, system).
            options: as for :meth:`evaluate` (a segment of ``scores`` is ``(doc_id, seg_id)``,
                and every file is checked before any scoring; the language is detected from the
                references when ``lang`` is ``None``; rows are aligned segments whatever
                ``aligned`` says).

        Raises:
            InputError: an unreadable file, missing columns, a duplicate or missing segment,
                two references for one segment, an unknown baseline; a scores file that lacks
                a segment or system, repeats one, or holds a non-number.
            TypeError: a keyword that is no option.
        """
        from mtdrift.eval.external import attach_scores, load_scores
        from mtdrift.eval.pipeline import evaluate_corpus

        o = options_of(options, overrides)
        specs = scores_of(o)
        config = self._config(o, aligned=True)
        if o.dask is not None:
            from mtdrift.eval.distributed import PARTITION_ROWS, evaluate_corpus_dask

            # a file or a glob streams to the workers; its systems are known after the run
            source = os.fspath(data) if isinstance(data, str | os.PathLike) else corpus_of(data)
            external = load_scores(specs, aligned=True)
            evaluation = evaluate_corpus_dask(
                source,
                address=o.dask,
                config=config,
                partition_rows=o.partition_rows or PARTITION_ROWS,
                **self._cluster(),
            )
            check_baseline(o.baseline, [s.system for s in evaluation.systems])
        else:
            corpus = corpus_of(data)
            check_baseline(o.baseline, list(corpus.systems))
            external = load_scores(specs, aligned=True, keys=corpus.keys, systems=corpus.systems)
            (encoder, checker, cache), config = self._pick(config, corpus.refs)
            evaluation = model_errors(
                lambda: evaluate_corpus(corpus, encoder=encoder, checker=checker, config=config, cache=cache)
            )
        return _result(attach_scores(evaluation, external), o, self._bars)

    def meta(
        self,
        data: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        official: str | os.PathLike[str] | Sequence[str | os.PathLike[str] | None] | None = None,
        names: Sequence[str] | None = None,
        scores: Sequence[str] | Sequence[Sequence[str]] = (),
        lower_is_better: Sequence[str] = (),
        human: str = "mqm",
        keep_human: bool = False,
        resamples: int = Resampling.bootstrap,
        seed: int = DEFAULT_SEED,
    ) -> MultiMeta:
        """Meta-evaluate mtdrift's metrics (and official ones) against human scores.

        Args:
            data: one corpus with human scores, or several (one data set each).
            official: the official per-segment metric scores of each set (TSV), or ``None``;
                one per set when ``data`` is a sequence.
            names: a name per set (default: the file name up to the first dot, less ``_mqm``).
            scores: external per-segment scores (``NAME=FILE[:COLUMN]``) meta-evaluated beside
                mtdrift's metrics: a list for one set, or one list per set.
            lower_is_better: the ``scores`` names that are better when lower (negated, as TER).
            human: the human score column.
            keep_human: keep systems whose rows are marked ``is_human``.
            resamples: bootstrap resamples of the confidence intervals.
            seed: seed of the bootstrap.

        Returns:
            Per-set tables and their macro mean (``.to_dict()`` is ``meta.json``).

        Raises:
            InputError: a missing or malformed file, mismatched lengths of the arguments.
        """
        from mtdrift.eval.external import parse_scores_options
        from mtdrift.eval.meta.sets import DataSpec, set_name

        paths = [data] if isinstance(data, str | os.PathLike) else list(data)
        if official is None or isinstance(official, str | os.PathLike):
            offs: list[Any] = [official] + [None] * (len(paths) - 1)
        else:
            offs = list(official)
        labels = list(names) if names is not None else [set_name(os.fspath(p)) for p in paths]
        if not paths or len(offs) != len(paths) or len(labels) != len(paths):
            raise InputError(
                f"meta: got {len(paths)} data sets, {len(offs)} official files and {len(labels)} "
                "names; give one official file (or None) and one name per data set"
            )
        per_set: list[Sequence[str]]
        if not scores:
            per_set = [()] * len(paths)
        elif all(isinstance(x, str) for x in scores):
            per_set = [cast("Sequence[str]", scores)] + [()] * (len(paths) - 1)
        else:
            per_set = [list(cast("Sequence[str]", x)) for x in scores]
        if len(per_set) != len(paths):
            raise InputError(f"meta: got {len(paths)} data sets and {len(per_set)} lists of scores")
        specs = [
            DataSpec(
                name=n,
                data=os.fspath(p),
                official=None if o is None else os.fspath(o),
                scores=parse_scores_options(list(sc), lower_is_better=lower_is_better),
            )
            for n, p, o, sc in zip(labels, paths, offs, per_set, strict=True)
        ]
        return self.meta_sets(specs, human=human, keep_human=keep_human, resamples=resamples, seed=seed)

    def meta_sets(
        self,
        specs: Sequence[DataSpec],
        *,
        human: str = "mqm",
        keep_human: bool = False,
        resamples: int = Resampling.bootstrap,
        seed: int = DEFAULT_SEED,
    ) -> MultiMeta:
        """:meth:`meta` over data sets given as ``mtdrift.eval.meta.sets.DataSpec`` values (what
        ``mtdrift meta`` builds from its options).

        Raises:
            InputError: as :meth:`meta`.
        """
        from mtdrift.eval.meta.evaluation import run_meta

        if resamples < 1:
            raise InputError(f"--resamples must be positive, got {resamples}")
        encoder, checker, cache = self._load()
        return model_errors(
            lambda: run_meta(
                specs,
                encoder=encoder,
                checker=checker,
                cache=cache,
                human=human,
                keep_human=keep_human,
                n_resamples=resamples,
                seed=seed,
            )
        )

    def _cluster(self) -> dict[str, Any]:
        """What the Dask workers need to build this evaluator's parts on their side."""
        from mtdrift.metrics.cache import default_cache_dir

        if self.model not in MODELS or self.token_layer is not None:
            raise InputError(
                f"--dask: the workers load a packaged model by name; {self.model!r} is not one "
                f"(choose one of {', '.join(sorted(MODELS))})"
            )
        option = self._cache_option
        cache_dir = None if option is False else default_cache_dir() if option is True else Path(option)
        return {
            "model": self.model,
            "cache_dir": cache_dir,
            "device": self.device,
            "backend": self.backend,
            "threads": self.threads,
        }

    @property
    def _bars(self) -> Progress:
        return progress_of(self.progress)

    def _config(self, o: Options, *, aligned: bool) -> RunConfig:
        from mtdrift.metrics.language import Language, check_code

        language = None if o.lang is None else Language(value_errors(lambda: check_code(o.lang)), "given")
        return RunConfig(
            aligned=aligned,
            workers=self.workers,
            metrics=tuple(o.metrics),
            language=language,
            tokenize=o.tokenize,
        )


def evaluate(
    ref: Source,
    hyps: Sequence[Source] | Mapping[str, Source],
    *,
    model: str | None = None,
    options: Options | None = None,
    **overrides: Any,
) -> Result:
    """:meth:`Evaluator.evaluate` with a shared :class:`Evaluator` of ``model`` (loaded once per
    process, default cache, progress bars when stderr is a terminal); the same options.

    Example::

        import mtdrift
        result = mtdrift.evaluate(Path("ref.txt"), {"mt": Path("mt.txt")}, lang="en")
        result.segments          # one row per bead: scores, drift label, reasons
        result.systems           # one row per system: corpus scores, CIs, deltas, p-values
        result.write("reports/mt")
    """
    return _shared(model).evaluate(ref, hyps, options, **overrides)


def evaluate_corpus(
    data: str | os.PathLike[str] | pd.DataFrame | Corpus,
    *,
    model: str | None = None,
    options: Options | None = None,
    **overrides: Any,
) -> Result:
    """:meth:`Evaluator.evaluate_corpus` with the shared :class:`Evaluator` of ``model``; the same
    options."""
    return _shared(model).evaluate_corpus(data, options, **overrides)


def meta(
    data: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    model: str | None = None,
    **options: Any,
) -> MultiMeta:
    """:meth:`Evaluator.meta` with the shared :class:`Evaluator` of ``model``."""
    return _shared(model).meta(data, **options)


def check(
    baseline: str | os.PathLike[str] | Mapping[str, Any] | Result,
    current: str | os.PathLike[str] | Mapping[str, Any] | Result,
    *,
    max_drop: Mapping[str, float] | Sequence[str] | None = None,
    alpha: float = ALPHA,
) -> CheckResult:
    """Whether ``current`` regressed against ``baseline`` (what ``mtdrift check`` decides).

    Args:
        baseline: a ``summary.json`` path, its parsed document, or a :class:`Result`.
        current: the same for the run to check.
        max_drop: allowed drop per metric, as ``{"chrf": 1.0}`` or ``["chrF=1.0"]`` (defaults: each
            metric's ``max_drop``, e.g. ``get_metric("bleu").max_drop``).
        alpha: significance level of the paired test.

    Returns:
        Every (system, metric) check; ``.regressed`` says whether any failed.

    Raises:
        InputError: an unreadable or malformed summary, an unknown metric in ``max_drop``, or
            two summaries that cannot be compared (different reference or signatures).
    """
    from mtdrift.eval.regression import check as check_summaries

    if max_drop is None:
        tolerances: dict[str, float] = {}
    elif isinstance(max_drop, Mapping):
        tolerances = value_errors(lambda: parse_tolerances([f"{k}={v}" for k, v in max_drop.items()]))
    else:
        tolerances = value_errors(lambda: parse_tolerances(list(max_drop)))
    base = summary_of(_as_summary(baseline), "baseline")
    cur = summary_of(_as_summary(current), "current")
    try:
        return check_summaries(base, cur, tolerances=tolerances, alpha=alpha)
    except Incomparable as err:
        pair = f"{label_of(current, 'current')} with {label_of(baseline, 'baseline')}"
        raise InputError(f"cannot compare {pair}: {err}") from None
    except ValueError as err:
        raise InputError(f"malformed summary ({err}); regenerate it with mtdrift evaluate") from None


def write_check(
    result: CheckResult | str,
    out: str | os.PathLike[str] | None = None,
    *,
    junit: str | os.PathLike[str] | None = None,
    step_summary: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Write what ``mtdrift check`` writes besides its terminal text.

    Args:
        result: the check, or the message of a check that could not run (incomparable or
            unreadable summaries): then JUnit gets one test case in error.
        out: a directory for ``check.md`` (the verdict, the metrics and every bead that
            changed, ready to paste as a pull-request comment) and ``check.json`` (the same
            as data); not written for a message.
        junit: a file for JUnit XML: one test suite per system, one test case per metric, a
            regression is a failure with its reason.
        step_summary: a file the Markdown is appended to (GitHub Actions'
            ``GITHUB_STEP_SUMMARY``).

    Returns:
        The paths written, in order.

    Raises:
        InputError: a path that cannot be created or written.
    """
    from mtdrift.eval.render.regression import check_json, check_junit, check_md, error_junit, error_md

    files: list[tuple[Path, str, str]] = []  # path, text, mode
    if isinstance(result, str):
        md, xml = error_md(result), error_junit(result)
    else:
        md, xml = check_md(result), check_junit(result)
        if out is not None:
            folder = output_dir(out)
            files += [(folder / "check.md", md, "w"), (folder / "check.json", check_json(result), "w")]
    if junit is not None:
        files.append((Path(junit), xml, "w"))
    if step_summary is not None:
        files.append((Path(step_summary), md + "\n", "a"))
    for path, text, mode in files:
        try:
            with path.open(mode, encoding="utf-8") as f:
                f.write(text)
        except OSError as err:
            raise InputError(f"cannot write {path}: {err.strerror or err}") from None
    return [path for path, _, _ in files]


def history_add(
    history: str | os.PathLike[str],
    summary: str | os.PathLike[str] | Mapping[str, Any] | Result,
    *,
    label: str,
    time: str | None = None,
) -> dict[str, Any]:
    """Append one run to a history file (JSON lines, created if missing; what ``mtdrift
    history add`` does): its label, time, mtdrift version, signatures, per-system corpus
    scores with bootstrap 95 % intervals, and the per-bead statistics paired tests need.
    Concurrent appends lose nothing (one ``O_APPEND`` write under an ``fcntl`` lock).

    Args:
        history: the history file (``eval.history``).
        summary: a ``summary.json`` path, its parsed document, or a :class:`Result`.
        label: what the run is (a commit, a model version).
        time: ISO-8601; a time without a zone is UTC; ``None``: now.

    Returns:
        The record appended.

    Raises:
        InputError: an unreadable summary, a bad label or time, an unwritable history.
    """
    from mtdrift.eval.history import HistoryError, append, parse_time, record

    doc = summary_of(_as_summary(summary), "run")
    try:
        rec = record(doc, label=label, time=parse_time(time))
        append(history, rec)
    except HistoryError as err:
        raise InputError(f"{label_of(summary, 'run')}: {err}") from None
    except OSError as err:
        why = err.strerror or err
        raise InputError(f"{os.fspath(history)}: cannot append to the history ({why})") from None
    return rec


def history_show(
    history: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    since: str | None = None,
    metrics: Sequence[str] | None = None,
    alpha: float = ALPHA,
) -> Trend:
    """The trend of a history (what ``mtdrift history show`` draws): the runs from the last
    one labelled ``since`` on, every step between consecutive comparable runs tested with the
    paired AR test on the stored statistics (Holm over each system's metrics), and a break
    where a signature or the reference changed. Damaged lines are skipped, each with a
    warning on the ``mtdrift`` logger (and in ``Trend.warnings``).

    Args:
        out: where to write ``history.png``, ``history.html`` and ``history.md``; ``None``
            writes nothing.
        metrics: the metrics to show (names or table names; default all). The tests of a
            step always cover every stored metric, so that what is shown does not change
            what is significant.

    Raises:
        InputError: a missing history, no valid run, an unknown label or metric, or an
            ``out`` that cannot be created.
    """
    import logging

    from mtdrift.eval.history import HistoryError, read, trend
    from mtdrift.eval.render.history import write_history

    try:
        runs, warnings = read(history)
        for w in warnings:
            logging.getLogger("mtdrift").warning(w)
        result = trend(runs, source=os.fspath(history), since=since, metrics=metrics, alpha=alpha,
                       warnings=warnings)  # fmt: skip
    except HistoryError as err:
        raise InputError(str(err)) from None
    if out is not None:
        write_history(result, output_dir(out))
    return result


def available_metrics() -> tuple[MetricInfo, ...]:
    """The built-in metrics, then every installed plug-in metric that loads (what ``mtdrift
    metrics`` lists): name, display name, source, direction, statistics and signature. A broken
    plug-in is named in a warning on the ``mtdrift`` logger and left out."""
    from mtdrift.metrics.registry import describe_metrics

    return describe_metrics()


def write_meta(meta: MultiMeta, out: str | os.PathLike[str]) -> list[Path]:
    """Write ``meta.json``, ``meta.md`` and ``meta.png`` (what ``mtdrift meta`` writes) into ``out``.

    Raises:
        InputError: ``out`` cannot be created.
    """
    from mtdrift.eval.render.figures.meta import plot_meta, plot_meta_sets
    from mtdrift.eval.render.meta import sets_md

    directory = output_dir(out)
    doc = meta.to_dict()
    paths = [directory / "meta.json", directory / "meta.md", directory / "meta.png"]
    paths[0].write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    paths[1].write_text(sets_md(meta), encoding="utf-8")
    if len(meta.sets) == 1:
        plot_meta(meta.sets[0].result, meta.sets[0].ours, paths[2])
    else:
        plot_meta_sets(meta, meta.sets[0].ours, paths[2])
    return paths


# --- mtdrift analyze: compare-mt's analyses on beads (eval.analyze, eval.render.analysis) --------

ANALYSIS_OUTPUTS: tuple[str, ...] = ("analysis.json", "analysis.md", "analysis.html")


@dataclass(frozen=True)
class AnalysisResult:
    """What ``mtdrift analyze`` computes (``analysis``: ``mtdrift.eval.analyze.Analysis``); each
    table as a pandas DataFrame: ``word_accuracy``, ``sentence_buckets``, ``drift_buckets``, and
    for two systems ``ngrams``, ``differences``, ``scatter`` (empty for one)."""

    analysis: Any

    def frame(self, name: str) -> pd.DataFrame:
        from mtdrift.eval.render.analysis import frame

        return frame(self.analysis, name)

    word_accuracy = property(lambda self: self.frame("word_accuracy"))
    sentence_buckets = property(lambda self: self.frame("sentence_buckets"))
    drift_buckets = property(lambda self: self.frame("drift_buckets"))
    ngrams = property(lambda self: self.frame("ngrams"))
    differences = property(lambda self: self.frame("differences"))
    scatter = property(lambda self: self.frame("scatter"))

    def render(self, name: str) -> str:
        """The text of ``analysis.json``, ``analysis.md`` or ``analysis.html``."""
        from mtdrift.eval.render import analysis as r

        makers = {"analysis.json": r.to_json, "analysis.md": r.to_md}
        if name == "analysis.html":
            return r.to_html(self.analysis, self._plot_names())
        if name not in makers:
            raise ValueError(f"unknown output {name!r}; known: {', '.join(ANALYSIS_OUTPUTS)}")
        return makers[name](self.analysis)

    def _plot_names(self) -> list[str]:
        names = ["analysis_words.png", "analysis_lengths.png"]
        return [*names, "analysis_scatter.png"] if self.analysis.pair else names

    def write(self, out: str | os.PathLike[str], *, plots: bool = True) -> list[Path]:
        """Write :data:`ANALYSIS_OUTPUTS` (and the plots) into ``out``; the paths written."""
        from mtdrift.eval.render.analysis import plot

        directory = output_dir(out)
        written = []
        for name in ANALYSIS_OUTPUTS:
            (directory / name).write_text(self.render(name), encoding="utf-8")
            written.append(directory / name)
        return written + (plot(self.analysis, directory) if plots else [])


def analyze(
    run: str | os.PathLike[str] | Result,
    *,
    systems: Sequence[str] | None = None,
    train_counts: str | os.PathLike[str] | Mapping[str, int] | None = None,
    tokenize: str = "13a",
    metrics: Sequence[str] | None = None,
) -> AnalysisResult:
    """compare-mt's analyses, on beads, of one system against the reference or of two systems.

    Args:
        run: an evaluation's output directory (its ``segments.csv``) or a :class:`Result`.
        systems: one or two system names (default: the run's first two).
        train_counts: word frequencies (``WORD<TAB>COUNT`` file or mapping) for the frequency
            buckets; default: counted in the reference.
        tokenize: sacrebleu tokenizer for words (``none``: whitespace, as compare-mt).
        metrics: the sentence scores bucketed and compared (default chrF, BLEU, fidelity); any
            score the run carries, TER and external ones included.

    Raises:
        InputError: no or a malformed ``segments.csv``, an unknown system, a bad counts file, a
            metric the run does not carry.
    """
    from mtdrift.eval import analyze as an

    if isinstance(run, Result):
        available = [s.system for s in run.evaluation.systems]
        names = an.pick_systems(available, systems)
        beads = {s: an.beads_of(run.evaluation, s) for s in names}
    else:
        everything = an.read_segments(Path(run) / "segments.csv")
        names = an.pick_systems(list(everything), systems)
        beads = {s: everything[s] for s in names}
    counts, source = None, "ref"
    if isinstance(train_counts, Mapping):
        counts, source = dict(train_counts), "counts"
    elif train_counts is not None:
        path = Path(train_counts)
        text = read_text(path)
        counts, source = an.read_counts(text.splitlines(), source=str(path)), path.name
    an.tokenizer(tokenize)  # an unknown name is an InputError before any work
    config = an.AnalysisConfig(tokenize=tokenize)
    if metrics:
        config = replace(config, metrics=tuple(metrics))
    return AnalysisResult(an.analyze(beads, config=config, train_counts=counts, freq_source=source))


# ---------------------------------------------------------------------------------------------


def _as_summary(source: Any) -> Any:
    """A :class:`Result` as its summary; anything else as it is (``inputs.summary_of`` reads it)."""
    return Summary.of(source.evaluation) if isinstance(source, Result) else source


@functools.cache
def _shared(model: str | None) -> Evaluator:
    """One evaluator per model per process, so that the module-level functions load it once
    (``None``: the default, which follows the language; see :class:`Evaluator`)."""
    return Evaluator(model)


def _stderr_is_terminal() -> bool:
    import sys

    return sys.stderr is not None and sys.stderr.isatty()


def _result(evaluation: Evaluation, o: Options, progress: Progress = quiet) -> Result:
    from mtdrift.eval.pairwise import compare_systems

    comparison = compare_systems(evaluation, baseline=o.baseline, resampling=o.resampling, progress=progress)
    if o.primary not in comparison.metrics:
        known = ", ".join(comparison.metrics)
        raise InputError(f"--primary {o.primary!r} is not a metric; choose one of {known}")
    return Result(evaluation, comparison, primary=o.primary, alpha=o.alpha)


__all__ = [
    "ANALYSIS_OUTPUTS",
    "OUTPUTS",
    "AnalysisResult",
    "Document",
    "Evaluator",
    "InputError",
    "Options",
    "Resampling",
    "Result",
    "Source",
    "analyze",
    "available_metrics",
    "check",
    "check_options",
    "evaluate",
    "evaluate_corpus",
    "history_add",
    "history_show",
    "meta",
    "write_check",
    "write_meta",
]
