"""mtdrift: where did a translation keep the meaning, and where did it drift?

The pipeline lives in ``mtdrift.eval`` and the scoring in ``mtdrift.metrics`` (the ``eval/``
and ``metrics/`` folders of the source tree).
"""

from __future__ import annotations
