"""Fakes for fast plumbing tests (the end-to-end tests use the real model)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from mtdrift.metrics.encoders import Encoded, Encoder, TokenVectors
from mtdrift.metrics.signature import Signature


class FakeEncoder:
    """Exact, hand-derivable vectors: a word's vector is a fixed pseudo-random unit vector
    (from the SHA-256 of its case-folded form); a text's vector is the normalised sum of its
    words'; its tokens are its words."""

    dim = 64

    def word(self, w: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(w.casefold().encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode(self, texts: Sequence[str], *, tokens: bool = False) -> Encoded:
        sent, toks = [], []
        for t in texts:
            spans = [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", t)]
            vecs = (
                np.stack([self.word(t[s:e]) for s, e in spans])
                if spans
                else np.zeros((0, self.dim), np.float32)
            )
            total = vecs.sum(axis=0) if spans else np.ones(self.dim, np.float32)
            sent.append(total / max(float(np.linalg.norm(total)), 1e-12))
            toks.append(TokenVectors(vecs, np.asarray(spans, dtype=np.int64).reshape(-1, 2)))
        return Encoded(np.asarray(sent, np.float32).reshape(-1, self.dim), toks if tokens else None)

    def signature(self) -> Signature:
        return Signature.of("semantic", [("model", "fake-hash-words")])


def token_vectors(encoder: Encoder, texts: Sequence[str]) -> dict[str, TokenVectors]:
    """Each text's token vectors from ``encoder`` (which must give them)."""
    tokens = encoder.encode(texts, tokens=True).tokens
    assert tokens is not None, "this encoder gives no token vectors"
    return dict(zip(texts, tokens, strict=True))
