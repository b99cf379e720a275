"""Renderers: each turns an :class:`eval.results.Evaluation` into one kind of output.

They return strings or write files; none prints. All of them read the same result object, so
the CSV, the JSON, the Markdown report and the plots always agree.
"""

from __future__ import annotations
