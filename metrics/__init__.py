"""Pure scoring for mtdrift: lexical (sacrebleu), semantic (embeddings) and fact checks.

Nothing in this package reads files given by the user, prints, exits or configures logging.
"""

from __future__ import annotations

__version__ = "0.1.0"
