"""The command line: parse, build, call the library, render, exit. Nothing else lives here."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_OK, EXIT_INPUT = 0, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mtdrift",
        description="Where did a translation keep the meaning, and where did it drift?",
    )
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("evaluate", help="align, score and explain candidates against a reference")
    e.add_argument("--ref", required=True, help="reference text (UTF-8)")
    e.add_argument("--hyp", required=True, action="append", help="candidate text; repeat for more systems")
    e.add_argument("--name", action="append", help="system name per --hyp (default: file name)")
    e.add_argument("--out", required=True, help="output directory")
    e.add_argument("--aligned", action="store_true", help="inputs are line-parallel, one segment per line")
    e.add_argument("--threads", type=int, default=None, help="torch threads for the model")
    e.add_argument("--device", default="cpu", help="torch device for the model (cpu, cuda)")
    e.add_argument("--no-plots", action="store_true", help="skip drift.png and alignment.png")
    e.add_argument("--quiet", action="store_true", help="print nothing on success")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' weight-loading bar
    from eval.read import InputError, read_text

    names = args.name or []
    if names and len(names) != len(args.hyp):
        print(
            f"mtdrift: error: got {len(args.hyp)} --hyp but {len(names)} --name; "
            "give one name per candidate or none",
            file=sys.stderr,
        )
        return EXIT_INPUT
    try:
        from eval.run import Document, RunConfig, evaluate

        ref = Document(args.ref, read_text(args.ref))
        hyps = [
            (names[k] if names else Path(h).stem, Document(h, read_text(h))) for k, h in enumerate(args.hyp)
        ]
        if len({n for n, _ in hyps}) != len(hyps):
            raise InputError("system names must be distinct; give --name for each --hyp")
        out = Path(args.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(f"{out}: cannot create the output directory ({err.strerror})") from None
        from metrics.checks import FactChecker
        from metrics.embed import MiniLMEncoder, ModelUnavailableError

        encoder = MiniLMEncoder(
            device=args.device,
            threads=args.threads,
            progress=sys.stderr.isatty() and not args.quiet,
        )
        try:
            evaluation = evaluate(
                ref,
                hyps,
                encoder=encoder,
                checker=FactChecker(),
                config=RunConfig(aligned=args.aligned),
            )
        except ModelUnavailableError as err:
            raise InputError(str(err)) from None
    except InputError as err:
        print(f"mtdrift: error: {err}", file=sys.stderr)
        return EXIT_INPUT

    from eval.render.tables import report_md, segments_csv, summary_json, terminal_table

    (out / "segments.csv").write_text(segments_csv(evaluation), encoding="utf-8")
    (out / "summary.json").write_text(summary_json(evaluation), encoding="utf-8")
    (out / "report.md").write_text(report_md(evaluation), encoding="utf-8")
    if not args.no_plots:
        from eval.render.plots import write_plots

        write_plots(evaluation, out)
    if not args.quiet:
        print(terminal_table(evaluation), end="")
        print(
            f"wrote {out}/: segments.csv summary.json report.md"
            + ("" if args.no_plots else " drift.png alignment.png")
        )
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
