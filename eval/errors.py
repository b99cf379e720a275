"""The error of bad input: :class:`InputError` carries one line that names the file (and line)
and what to do. The library raises it and never prints or exits; the command line prints the
line and exits 2. The metrics layer's own errors (``LanguageError``, ``TokenizerError``,
``MetricError``, ``ModelUnavailableError``) become it where the pipeline calls them.
"""

from __future__ import annotations


class InputError(Exception):
    """Bad input from the user: a one-line message naming the file and what to do."""
