"""Meta-evaluation: how well metric scores agree with human MQM judgments (``mtdrift meta``).

- ``agreement``: the statistics (Kendall's tau by item, pooled, system-level accuracy) and their
  bootstrap intervals;
- ``sets``: the data sets (official scores, human scores) and how the options pair them;
- ``scoring``: mtdrift's own metrics on a set;
- ``evaluation``: the figures of one set, of several and their macro mean, as typed values.

Their Markdown is in ``eval.render.meta``; their figures in ``eval.render.figures.meta``.
"""
