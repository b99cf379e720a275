"""Tests of the metrics package (``metrics/``), one file per module."""
