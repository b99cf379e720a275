"""The seed pair evaluated against real edits of its candidate (the ``seed_summary`` fixture)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class SeedSummary(Protocol):
    """``seed_summary(edit, model="minilm")``: the ``summary.json`` of the seed reference against
    the seed candidate with one of ``scripts/history_demo.py``'s ``EDITS`` applied."""

    def __call__(self, edit: str, model: str = "minilm") -> Path: ...
