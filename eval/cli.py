"""The command line: parse, build, call the library, render, exit. Nothing else lives here."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_OK, EXIT_REGRESSED, EXIT_INPUT = 0, 1, 2
METRIC_NAMES = ("bleu", "chrf", "chrfpp", "ter", "semantic", "tokenmatch", "fidelity")


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("mtdrift")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mtdrift",
        description="Where did a translation keep the meaning, and where did it drift?",
    )
    p.add_argument("--version", action="version", version=f"mtdrift {_version()}")
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
    e.add_argument("--primary", default="chrf", choices=METRIC_NAMES, help="metric to sort systems by")
    e.add_argument("--seed", type=int, default=12345, help="seed of every resampling (default 12345)")
    e.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    e.add_argument(
        "--trials", type=int, default=10000, help="approximate randomization trials (default 10000)"
    )
    e.add_argument("--alpha", type=float, default=0.05, help="significance level of the marks (default 0.05)")
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
    _model_option(e)
    e.add_argument("--no-plots", action="store_true", help="skip drift.png and alignment.png")
    e.add_argument("--quiet", action="store_true", help="print nothing on success")
    e.add_argument(
        "--cache",
        help="cache directory for embeddings, lexical statistics and entities "
        "(default $MTDRIFT_CACHE_DIR, else $XDG_CACHE_HOME/mtdrift or ~/.cache/mtdrift)",
    )
    e.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")

    m = sub.add_parser(
        "meta",
        help="meta-evaluate mtdrift's metrics (and official ones) against human MQM scores",
        description="Meta-evaluate mtdrift's metrics, and the official ones, against human MQM "
        "scores on one or more data sets. Repeat --data for several sets; an --official or --name "
        "belongs to the --data right before it. With several sets, meta.md and meta.json also hold "
        "the macro mean over the sets.",
    )
    # --data, --official and --name land in one list, in command-line order, so that each
    # --official and --name can be paired with the --data before it (eval.metarun.pair_sets).
    m.add_argument(
        "--data",
        dest="sets",
        action="append",
        required=True,
        type=lambda v: ("--data", v),
        metavar="FILE",
        help="corpus with human scores (JSONL/TSV, e.g. wmt23_zhen_mqm.dev.jsonl.gz); repeat for "
        "several data sets",
    )
    m.add_argument(
        "--official",
        dest="sets",
        action="append",
        type=lambda v: ("--official", v),
        metavar="FILE",
        help="official per-segment metric scores of the --data before it (TSV, e.g. "
        "*_official_metric_seg_scores*.tsv.gz); optional",
    )
    m.add_argument(
        "--name",
        dest="sets",
        action="append",
        type=lambda v: ("--name", v),
        metavar="NAME",
        help="name of the --data before it in the reports (default: its file name up to the first "
        "dot, less _mqm: wmt23_zhen_mqm.dev.jsonl.gz -> wmt23_zhen)",
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
        "--resamples", type=int, default=1000, help="bootstrap resamples for the CIs (default 1000)"
    )
    m.add_argument("--seed", type=int, default=12345)
    m.add_argument("--threads", type=int, default=None, help="torch threads for the model")
    m.add_argument("--device", default="cpu")
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
        "(Kocmi et al. 2024: 75%% of people notice), semantic/tokenmatch/fidelity 0.01",
    )
    c.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check":
        return _check(args)
    if args.command == "meta":
        return _meta(args)
    return _evaluate(args)


def _meta(args: argparse.Namespace) -> int:
    import json

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from mtdrift.eval.metarun import pair_sets, report_md, run_meta
    from mtdrift.eval.read import InputError
    from mtdrift.metrics.embed import ModelUnavailableError

    try:
        specs = pair_sets(args.sets)
        if args.resamples < 1:
            raise InputError(f"--resamples must be positive, got {args.resamples}")
        out = Path(args.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(f"{out}: cannot create the output directory ({err.strerror})") from None
        encoder, checker, cache = _model(args)
        meta = run_meta(
            specs,
            encoder=encoder,
            checker=checker,
            cache=cache,
            human=args.human,
            keep_human=args.keep_human,
            n_resamples=args.resamples,
            seed=args.seed,
        )
    except (InputError, ModelUnavailableError) as err:
        return _fail(str(err))
    doc = meta.to_dict()
    (out / "meta.json").write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    text = report_md(meta)
    (out / "meta.md").write_text(text, encoding="utf-8")
    from mtdrift.eval.render.plots import plot_meta, plot_meta_sets

    if len(meta.sets) == 1:
        plot_meta(meta.sets[0].result.to_dict(), meta.sets[0].ours, out / "meta.png")
    else:
        plot_meta_sets(doc, meta.sets[0].ours, out / "meta.png")
    print(text, end="")
    print(f"wrote {out}/: meta.json meta.md meta.png")
    return EXIT_OK


def _model_option(p: argparse.ArgumentParser) -> None:
    from mtdrift.metrics.embed import DEFAULT_MODEL, MODELS

    p.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        choices=sorted(MODELS),
        help=f"packaged encoder, with its own fitted fidelity (default {DEFAULT_MODEL}; see the README)",
    )


def _model(args: argparse.Namespace, *, progress: bool = True):  # type: ignore[no-untyped-def]
    """The encoder, checker and cache the options ask for (``--device``, ``--threads``,
    ``--cache``, ``--no-cache``); a progress bar on stderr when it is a terminal."""
    from mtdrift.eval.read import InputError
    from mtdrift.metrics.cache import Cache, CachedEncoder, default_cache_dir
    from mtdrift.metrics.checks import FactChecker
    from mtdrift.metrics.embed import DEFAULT_MODEL, Encoder, SentenceEncoder

    encoder: Encoder = SentenceEncoder(
        getattr(args, "model", DEFAULT_MODEL),
        device=args.device,
        threads=args.threads,
        progress=progress and sys.stderr.isatty(),
    )
    cache = None
    if not args.no_cache:
        where = Path(args.cache) if args.cache else default_cache_dir()
        try:
            cache = Cache(where)
        except OSError as err:
            raise InputError(
                f"{where}: cannot use it as the cache directory ({err.strerror}); "
                "give another with --cache DIR or run with --no-cache"
            ) from None
        encoder = CachedEncoder(encoder, cache)
    return encoder, FactChecker(cache=cache), cache


def _fail(message: str) -> int:
    print(f"mtdrift: error: {message}", file=sys.stderr)
    return EXIT_INPUT


def _evaluate(args: argparse.Namespace) -> int:
    import logging

    # The library logs (e.g. a damaged cache being rebuilt); the CLI shows warnings on stderr.
    logger = logging.getLogger("mtdrift")
    if not any(getattr(h, "mtdrift_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler()  # stderr, looked up when a record is emitted
        handler.setFormatter(logging.Formatter("mtdrift: warning: %(message)s"))
        handler.mtdrift_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' weight-loading bar
    from mtdrift.eval.read import InputError, read_text

    if args.data and (args.ref or args.hyp or args.name):
        return _fail("give either --data or --ref/--hyp, not both")
    if not args.data and not (args.ref and args.hyp):
        return _fail("give --ref and at least one --hyp, or --data with a corpus file")
    if args.bootstrap < 1 or args.trials < 1:
        return _fail("--bootstrap and --trials must be positive")
    names = args.name or []
    if names and len(names) != len(args.hyp):
        print(
            f"mtdrift: error: got {len(args.hyp)} --hyp but {len(names)} --name; "
            "give one name per candidate or none",
            file=sys.stderr,
        )
        return EXIT_INPUT
    try:
        from mtdrift.eval.corpus import read_corpus
        from mtdrift.eval.run import Document, RunConfig, evaluate, evaluate_corpus

        if args.data and args.dask:
            systems: tuple[str, ...] = ()  # streamed on the cluster: known after the run
        elif args.data:
            corpus = read_corpus(args.data)
            systems = corpus.systems
        else:
            ref = Document(args.ref, read_text(args.ref))
            hyps = [
                (names[k] if names else Path(h).stem, Document(h, read_text(h)))
                for k, h in enumerate(args.hyp)
            ]
            if len({n for n, _ in hyps}) != len(hyps):
                raise InputError("system names must be distinct; give --name for each --hyp")
            systems = tuple(n for n, _ in hyps)
        if args.baseline is not None and systems and args.baseline not in systems:
            raise InputError(
                f"--baseline {args.baseline!r} is not a system; the systems are {', '.join(systems)}"
            )
        out = Path(args.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(f"{out}: cannot create the output directory ({err.strerror})") from None
        from mtdrift.metrics.embed import ModelUnavailableError

        encoder, checker, cache = _model(args, progress=not args.quiet)
        try:
            config = RunConfig(aligned=args.aligned, workers=max(0, args.workers))
            if args.dask:
                evaluation = _evaluate_dask(args, config, None if args.data else (ref, hyps))
                systems = tuple(s.system for s in evaluation.systems)
                if args.baseline is not None and args.baseline not in systems:
                    raise InputError(
                        f"--baseline {args.baseline!r} is not a system; the systems are {', '.join(systems)}"
                    )
            elif args.data:
                evaluation = evaluate_corpus(
                    corpus, encoder=encoder, checker=checker, config=config, cache=cache
                )
            else:
                evaluation = evaluate(ref, hyps, encoder=encoder, checker=checker, config=config, cache=cache)
        except ModelUnavailableError as err:
            raise InputError(str(err)) from None
    except InputError as err:
        return _fail(str(err))

    from mtdrift.eval.compare import compare_systems
    from mtdrift.eval.render import compare as cmp
    from mtdrift.eval.render.tables import report_md, segments_csv, summary_json, terminal_table
    from mtdrift.metrics.significance import Resampling

    comparison = compare_systems(
        evaluation,
        baseline=args.baseline,
        resampling=Resampling(seed=args.seed, bootstrap=args.bootstrap, trials=args.trials),
    )
    sigs, primary, alpha = evaluation.signatures, args.primary, args.alpha
    written = [
        "segments.csv",
        "summary.json",
        "report.md",
        "compare.md",
        "compare.json",
        "compare.tex",
        "compare.csv",
    ]
    (out / "segments.csv").write_text(segments_csv(evaluation), encoding="utf-8")
    from mtdrift.eval.render.parquet import PARQUET_MIN_BEADS, write_segments_parquet

    if args.parquet or sum(len(s.beads) for s in evaluation.systems) >= PARQUET_MIN_BEADS:
        write_segments_parquet(evaluation, out / "segments.parquet")
        written.append("segments.parquet/")
    (out / "summary.json").write_text(summary_json(evaluation), encoding="utf-8")
    (out / "report.md").write_text(report_md(evaluation), encoding="utf-8")
    (out / "compare.md").write_text(cmp.to_md(comparison, primary, sigs, alpha), encoding="utf-8")
    (out / "compare.json").write_text(cmp.to_json(comparison, primary, sigs, alpha), encoding="utf-8")
    (out / "compare.tex").write_text(cmp.to_tex(comparison, primary, sigs, alpha), encoding="utf-8")
    (out / "compare.csv").write_text(cmp.to_csv(comparison, primary, alpha), encoding="utf-8")
    from mtdrift.eval.render.html import report_html

    (out / "report.html").write_text(
        report_html(evaluation, comparison, primary=primary, alpha=alpha), encoding="utf-8"
    )
    written.append("report.html")
    if not args.no_plots:
        from mtdrift.eval.render.plots import plot_systems, write_plots

        written += [p.name for p in write_plots(evaluation, out)]
        plot_systems(comparison, primary, out / "systems.png", alpha)
        written.append("systems.png")
    if not args.quiet:
        print(terminal_table(evaluation), end="")
        if len(evaluation.systems) > 1:
            print()
            print(cmp.terminal(comparison, primary, alpha), end="")
        print(f"wrote {out}/: {' '.join(written)}")
    return EXIT_OK


def _evaluate_dask(args: argparse.Namespace, config, documents):  # type: ignore[no-untyped-def]
    """The evaluation on the cluster ``--dask`` names (pass-through to ``eval.distributed``)."""
    from mtdrift.eval.distributed import PARTITION_ROWS, evaluate_corpus_dask, evaluate_dask
    from mtdrift.metrics.cache import default_cache_dir

    cache_dir = None if args.no_cache else (Path(args.cache) if args.cache else default_cache_dir())
    common = {
        "address": args.dask,
        "model": args.model,
        "config": config,
        "cache_dir": cache_dir,
        "device": args.device,
        "threads": args.threads,
    }
    if documents is None:
        rows = args.partition_rows or PARTITION_ROWS
        return evaluate_corpus_dask(args.data, partition_rows=rows, **common)
    return evaluate_dask(*documents, **common)


def _check(args: argparse.Namespace) -> int:
    import json

    from mtdrift.eval.check import Incomparable, check, parse_tolerances
    from mtdrift.eval.render.check import check_text

    try:
        tolerances = parse_tolerances(args.max_drop)
    except ValueError as err:
        return _fail(str(err))
    docs = []
    for label, path in (("baseline", args.baseline), ("current", args.current)):
        p = Path(path)
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return _fail(f"{p}: no such file; give the {label} summary.json written by mtdrift evaluate")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            return _fail(
                f"{p}: not a readable summary.json ({err}); "
                f"give the {label} summary written by mtdrift evaluate"
            )
        if not isinstance(doc, dict) or "systems" not in doc or "signatures" not in doc:
            return _fail(
                f"{p}: not an mtdrift summary.json (no 'systems'/'signatures'); give the {label} summary"
            )
        docs.append(doc)
    try:
        result = check(docs[0], docs[1], tolerances=tolerances, alpha=args.alpha)
    except Incomparable as err:
        return _fail(f"cannot compare {args.current} with {args.baseline}: {err}")
    except (KeyError, TypeError, ValueError) as err:
        return _fail(f"malformed summary ({type(err).__name__}: {err}); regenerate it with mtdrift evaluate")
    print(check_text(result), end="")
    return EXIT_REGRESSED if result.regressed else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
