"""Tests of the pipeline package (``eval/``), one file per module."""
