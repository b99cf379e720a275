"""Fact checks: which numbers, negations and names changed between a reference and a candidate.

- ``numbers``: numbers, dates and quantities in any script;
- ``negation``: English negation cues;
- ``names``: named entities (spaCy's NER) across spellings, acronyms and demonyms;
- ``checker``: the checks that know a language, over many aligned units at once.
"""
