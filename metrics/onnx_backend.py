"""The CPU path of the packaged encoders: their transformer exported once to ONNX and run with
ONNX Runtime in fp32 (``metrics.encoders.SentenceEncoder`` with ``backend="onnxruntime"``).

Why: on a 2-core CPU, ONNX Runtime encodes faster than torch for the same texts (``make bench``:
``encode_default`` against ``encode_default_torch``), with vectors that agree with torch's to
about 3e-7 per component (token vectors 6e-7). Its batches hold texts of exactly one length,
so no compute goes to padding: on 300 WMT23 zh-en texts, one thread, mpnet took 20.7 CPU
seconds this way, 27.8 with torch's 16-token buckets, 26.5 on torch (mtdrift's batching) and
37.0 with sentence-transformers' own ``encode`` (MiniLM's: 6.0). Dynamic int8 quantisation was
measured too and rejected: about as slow as fp32 here, and its vectors moved by a mean cosine
error of 0.14.

The export is made at first use, like the mpnet unpack: the Hugging Face model is loaded with
torch from the packaged directory and traced with ``torch.onnx.export`` (opset
:data:`OPSET`), with two outputs from one forward pass: the last layer (the sentence vector is
its masked mean) and the output of the token layer (the token vectors). It is written into
``metrics.models.model_home()`` under a name made of the model, the digest of its weights, the
token layer, the opset and the precision, first to a temporary file that is then renamed, so
that two processes exporting at once both succeed and a half-written file is never read.

Numbers: a text's vectors do not depend on the other texts of its batch, nor on the number of
threads (ONNX Runtime's matrix products split rows and columns across threads, never the sum),
as the torch path. They differ from torch's in the last bits, so the semantic signature names
the backend (``backend:onnxruntime==1.32.0|opset:17``) and the cache keeps them apart.
"""

from __future__ import annotations

import importlib.metadata
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mtdrift.metrics.models import ModelUnavailableError, model_home

OPSET = 17
"""The ONNX opset of the export."""
PRECISION = "fp32"
"""The export's precision (int8 was measured and rejected: see the module doc)."""


def runtime_version() -> str | None:
    """ONNX Runtime's version, or ``None`` when it (or ``onnx``, which the export needs) is not
    installed."""
    try:
        importlib.metadata.version("onnx")
        return importlib.metadata.version("onnxruntime")
    except importlib.metadata.PackageNotFoundError:
        return None


def export_path(name: str, digest: str, token_layer: int) -> Path:
    """Where the export of model ``name`` (weights ``digest``) at ``token_layer`` lives."""
    safe = name.replace("/", "--").replace("|", "_")
    return model_home() / "onnx" / f"{safe}-{digest}-layer{token_layer}-opset{OPSET}-{PRECISION}.onnx"


def export(model_dir: Path, token_layer: int, target: Path) -> Path:
    """Export the transformer of the sentence-transformers model in ``model_dir`` to ``target``
    (skipped when it is there already). Torch is needed here only.

    Raises:
        ModelUnavailableError: the export cannot be written (one line: where, and what to do).
    """
    if target.is_file():
        return target
    import torch
    from transformers import AutoModel

    auto = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager")
    auto.eval()

    class _TwoOutputs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.auto = auto

        def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
            out = self.auto(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            return out.last_hidden_state, out.hidden_states[token_layer]

    ids = torch.ones((2, 16), dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".export-", suffix=".onnx")
        os.close(fd)
        try:
            import warnings

            with warnings.catch_warnings(), torch.inference_mode():
                warnings.simplefilter("ignore")  # the tracer's notes on advanced indexing
                torch.onnx.export(
                    _TwoOutputs(),
                    (ids, torch.ones_like(ids)),
                    tmp,
                    input_names=["input_ids", "attention_mask"],
                    output_names=["last", "layer"],
                    dynamic_axes={"input_ids": axes, "attention_mask": axes, "last": axes, "layer": axes},
                    opset_version=OPSET,
                    dynamo=False,
                )
            os.replace(tmp, target)  # atomic: a reader never sees half a file
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as err:
        raise ModelUnavailableError(
            f"{target.parent}: cannot write the ONNX export there ({err.strerror or err}); "
            "set MTDRIFT_MODEL_DIR to a writable directory, or pass --backend torch"
        ) from None
    return target


class OnnxModel:
    """An ONNX Runtime session over an export of :func:`export`, on the CPU.

    Args:
        path: the ``.onnx`` file.
        threads: intra-op threads (``None``: ONNX Runtime's default, one per core). The numbers
            do not depend on it.
    """

    def __init__(self, path: Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # threads wait on the OS, not by spinning: the lexical worker process, Dask workers and
        # other jobs share the cores (spinning cost 45% more CPU for the same texts on a busy
        # 2-core machine)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The last layer and the token layer, each (batch, tokens, dim) float32."""
        last, layer = self.session.run(
            ["last", "layer"],
            {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64)},
        )
        return last, layer
