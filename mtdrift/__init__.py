"""mtdrift: where did a translation keep the meaning, and where did it drift?

The public API (``mtdrift.api``)::

    import mtdrift
    result = mtdrift.evaluate(Path("ref.txt"), {"mt": Path("mt.txt")})
    result.segments, result.systems, result.comparison, result.signatures
    result.write("reports/mt")
    mtdrift.check("reports/baseline.json", result)
    mtdrift.history_add("reports/history.jsonl", result, label="abc123")
    mtdrift.history_show("reports/history.jsonl", out="reports/history")

The pipeline lives in ``mtdrift.eval`` and the scoring in ``mtdrift.metrics`` (the ``eval/``
and ``metrics/`` folders of the source tree). Importing ``mtdrift`` loads no model.
"""

from __future__ import annotations

from mtdrift import api
from mtdrift.api import *  # noqa: F403  (the public names: api.__all__
from mtdrift.metrics.signature import version_of

__version__ = version_of("mtdrift")

__all__ = [*api.__all__, "__version__"]
