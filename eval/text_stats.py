"""Per-segment sufficient statistics of the lexical metrics and the plug-ins: each distinct
(hypothesis, reference) pair computed once, read from the cache first, and computed in a
worker process beside the encoder when the input is large.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np

from mtdrift.metrics.cache import Cache, cached_rows, pair_key
from mtdrift.metrics.lexical import LEXICAL_METRICS, get_lexical
from mtdrift.metrics.registry import (
    PluginMetric,
    load_plugin,
)


def _text_stats(
    hyps: list[str],
    refs: list[str],
    cache: Cache | None,
    plugins: Sequence[PluginMetric],
    lex: tuple[str, str | None] = ("en", None),
) -> dict[str, np.ndarray]:
    """Every lexical metric's statistics (``lex``: target language and BLEU tokenizer), then
    every plug-in's."""
    trg_lang, tokenize = lex
    out = {
        name: lexical_stats(name, hyps=hyps, refs=refs, cache=cache, trg_lang=trg_lang, tokenize=tokenize)
        for name in LEXICAL_METRICS
    }
    out.update({m.name: plugin_stats(m, hyps=hyps, refs=refs, cache=cache) for m in plugins})
    return out


def _lexical_all(
    hyps: list[str],
    refs: list[str],
    cache_dir: str | None,
    plugins: tuple[str, ...] = (),
    lex: tuple[str, str | None] = ("en", None),
) -> dict[str, np.ndarray]:
    """:func:`_text_stats` in a worker process: it opens its own cache and loads the plug-ins
    by name."""
    cache = Cache(cache_dir) if cache_dir is not None else None
    return _text_stats(hyps, refs, cache, [load_plugin(name) for name in plugins], lex)


@contextmanager
def start_stats(
    hyps: list[str],
    refs: list[str],
    cache: Cache | None,
    parallel: bool,
    plugins: Sequence[PluginMetric] = (),
    lex: tuple[str, str | None] = ("en", None),
) -> Iterator[Callable[[], dict[str, np.ndarray]]]:
    """Start the lexical and plug-in statistics (in a worker process when ``parallel``); the
    yielded function waits for them."""
    if not parallel:
        yield lambda: _text_stats(hyps, refs, cache, plugins, lex)
        return
    cache_dir = None if cache is None else str(cache.directory)
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        job = pool.submit(_lexical_all, hyps, refs, cache_dir, tuple(m.name for m in plugins), lex)
        yield job.result


def lexical_stats(
    name: str,
    *,
    hyps: Sequence[str],
    refs: Sequence[str],
    cache: Cache | None,
    trg_lang: str = "en",
    tokenize: str | None = None,
) -> np.ndarray:
    """sacrebleu's per-segment statistics for targets in ``trg_lang``; each distinct
    (hypothesis, reference) pair computed once, and looked up in ``cache`` first (under the
    metric's signature, which names the tokenizer)."""
    metric = get_lexical(name, trg_lang=trg_lang, tokenize=tokenize)
    return _pair_stats(metric, f"lexical|{name}|{metric.signature('corpus')}", hyps, refs, cache)


def plugin_stats(
    metric: PluginMetric, *, hyps: Sequence[str], refs: Sequence[str], cache: Cache | None
) -> np.ndarray:
    """A plug-in's per-segment statistics, as :func:`lexical_stats`: each distinct pair once,
    cached under the plug-in's signature (a new version or setting never reads old rows)."""
    return _pair_stats(metric, f"plugin|{metric.name}|{metric.signature().format()}", hyps, refs, cache)


def _pair_stats(
    metric: Any, namespace: str, hyps: Sequence[str], refs: Sequence[str], cache: Cache | None
) -> np.ndarray:
    """``metric.stats`` of each distinct (hypothesis, reference) pair once, cached under
    ``namespace``, as rows in the order of the pairs."""
    keys = [pair_key(h, r) for h, r in zip(hyps, refs, strict=True)]
    pairs = dict(zip(keys, zip(hyps, refs, strict=True), strict=True))

    def compute(missing: list[str]) -> np.ndarray:
        return np.asarray(
            metric.stats(hyps=[pairs[k][0] for k in missing], refs=[pairs[k][1] for k in missing])
        )

    return cached_rows(cache, namespace, keys, compute, metric.num_stats)
