"""What the public API accepts, turned into the library's typed values: texts, paths and
:class:`~mtdrift.eval.config.Document` values; candidates as a mapping or a sequence; corpora
as files, globs, data frames or :class:`~mtdrift.eval.corpus.Corpus` values; summaries as
paths, parsed documents or results. Every problem is an :class:`InputError` of one line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtdrift.eval.config import Document
from mtdrift.eval.corpus import Corpus, build_corpus, read_corpus
from mtdrift.eval.errors import InputError
from mtdrift.eval.read import read_text
from mtdrift.eval.summary import Summary, SummaryError
from mtdrift.options import Options

if TYPE_CHECKING:
    import pandas as pd

Source = str | os.PathLike[str] | Document
"""A text to evaluate: a ``str`` is the text itself, a path (``pathlib.Path``) names a UTF-8
file, a :class:`Document` is a named text."""



def document(source: Source, default_name: str) -> Document:
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


def named_hyps(hyps: Sequence[Source] | Mapping[str, Source]) -> list[tuple[str, Document]]:
    if isinstance(hyps, str | os.PathLike | Document):
        hyps = [hyps]  # one candidate given bare
    if isinstance(hyps, Mapping):
        named = [(str(name), document(src, str(name))) for name, src in hyps.items()]
    else:
        named = []
        for k, src in enumerate(hyps):
            doc = document(src, f"hyp{k + 1}")
            name = Path(doc.name).stem if isinstance(src, os.PathLike) else doc.name
            named.append((name, doc))
    if not named:
        raise InputError("no candidate: give at least one hypothesis text or file")
    names = [n for n, _ in named]
    if len(set(names)) != len(names):
        raise InputError(f"system names must be distinct, got {', '.join(names)}; name each candidate")
    return named


def check_baseline(baseline: str | None, systems: Sequence[str]) -> None:
    if baseline is not None and baseline not in systems:
        raise InputError(f"--baseline {baseline!r} is not a system; the systems are {', '.join(systems)}")


def corpus_of(data: str | os.PathLike[str] | pd.DataFrame | Corpus) -> Corpus:
    if isinstance(data, Corpus):
        return data
    if isinstance(data, str | os.PathLike):
        return read_corpus(os.fspath(data))
    columns = getattr(data, "columns", None)
    if columns is None:
        raise InputError(f"expected a corpus file, a pandas DataFrame or a Corpus, got {type(data).__name__}")
    return build_corpus(frame_rows(data), name="DataFrame")


def frame_rows(frame: pd.DataFrame) -> Iterator[tuple[int, dict[str, Any]]]:
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


def summary_of(source: str | os.PathLike[str] | Mapping[str, Any] | Summary, label: str) -> Summary:
    if isinstance(source, Summary):
        return source
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
    try:
        return Summary.parse(doc)
    except SummaryError as err:
        raise InputError(
            f"{where}: {err}; give the {label} summary.json written by mtdrift evaluate"
        ) from None


def check_options(options: Options) -> None:
    """What :meth:`Evaluator.evaluate` checks of its options before it reads or scores
    anything, for a caller that wants to fail before its own set-up (the CLI, before it creates
    the output directory): the ``scores`` options parse, ``primary`` is a metric of the run,
    and external scores come with known segments (``aligned``, or a corpus).

    Raises:
        InputError: the first problem, in one line.
    """
    from mtdrift.eval.external import NEEDS_SEGMENTS

    if scores_of(options) and not options.aligned:
        raise InputError(NEEDS_SEGMENTS)


def scores_of(o: Options) -> tuple[Any, ...]:
    """The ``scores`` options parsed, and ``primary`` checked against every metric of the run,
    before anything is read or scored."""
    from mtdrift.eval.external import parse_scores_options
    from mtdrift.eval.pairwise import check_primary

    specs = parse_scores_options(list(o.scores), lower_is_better=o.lower_is_better)
    check_primary(o.primary, extra=[*o.metrics, *(s.name for s in specs)])
    return tuple(specs)


def label_of(source: object, label: str) -> str:
    return os.fspath(source) if isinstance(source, str | os.PathLike) else f"the {label} summary"


def model_errors(call: Any) -> Any:
    """``call()``, with a packaged model that cannot be loaded reported as an :class:`InputError`."""
    from mtdrift.metrics.models import ModelUnavailableError

    try:
        return call()
    except ModelUnavailableError as err:
        raise InputError(str(err)) from None


def value_errors(call: Any) -> Any:
    try:
        return call()
    except ValueError as err:
        raise InputError(str(err)) from None
