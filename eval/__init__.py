"""The mtdrift pipeline: read, segment, align, score, explain, render.

Each stage is a pure function over typed values; files are read and written only by
``eval.read`` and ``eval.render`` at the edges, and only the CLI prints or exits.
"""

from __future__ import annotations
