"""Fact checks: which numbers, negations and names changed between a reference and a candidate.

- ``numbers``: numbers, dates and quantities in any script;
- ``negation``: English negation cues;
- ``names``: named entities (spaCy's NER) across spellings, acronyms and demonyms;
- ``checker``: the checks that know a language, over many aligned units at once.
"""

from __future__ import annotations

from collections.abc import Iterable


def one_to_one(candidates: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Greedy one-to-one pairs ``(ref_index, hyp_index)`` from candidates in order of
    preference: each index is used at most once, the first candidate that names it wins."""
    used_ref: set[int] = set()
    used_hyp: set[int] = set()
    out = []
    for ri, hi in candidates:
        if ri in used_ref or hi in used_hyp:
            continue
        used_ref.add(ri)
        used_hyp.add(hi)
        out.append((ri, hi))
    return out
