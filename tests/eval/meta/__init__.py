"""Tests of the meta-evaluation package (``eval/meta/``)."""
