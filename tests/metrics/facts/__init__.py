"""Tests of ``metrics/facts/``: numbers, negation, names and the checker."""
