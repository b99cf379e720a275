"""The CPU path of the packaged encoders (``metrics.onnx_backend``): the ONNX export made once
under a name that says what it is, ONNX Runtime's vectors against torch's on real text (the seed
pair), their independence of the thread count, and the signatures that keep the two apart."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mtdrift.metrics import onnx_backend
from mtdrift.metrics.encoders import SentenceEncoder
from mtdrift.metrics.models import MODELS, ModelUnavailableError, model_home
from tests.support.paths import HYP, REF

# real sentences of the seed pair, short and long (one over 60 tokens)
TEXTS = [
    line.strip()
    for path in (REF, HYP)
    for line in path.read_text(encoding="utf-8").splitlines()
    if line.strip()
][:24]


@pytest.fixture(scope="module")
def minilm_both() -> tuple[SentenceEncoder, SentenceEncoder]:
    return SentenceEncoder("minilm", threads=2), SentenceEncoder("minilm", threads=2, backend="torch")


@pytest.mark.model
def test_the_export_is_named_by_weights_layer_opset_and_precision() -> None:
    enc = SentenceEncoder("minilm")
    enc.encode(["warm up"])
    files = sorted((model_home() / "onnx").glob("*all-MiniLM-L6-v2*.onnx"))
    assert [f.name for f in files] == [
        f"sentence-transformers--all-MiniLM-L6-v2-{enc.signature().as_dict()['rev']}-layer6-opset17-fp32.onnx"
    ]
    assert not list((model_home() / "onnx").glob(".export-*"))  # no half-written file left


@pytest.mark.model
def test_onnxruntime_agrees_with_torch_on_the_seed_pair(
    minilm_both: tuple[SentenceEncoder, SentenceEncoder],
) -> None:
    fast, torch = minilm_both
    a, b = fast.encode(TEXTS, tokens=True), torch.encode(TEXTS, tokens=True)
    assert a.sentence.shape == b.sentence.shape == (len(TEXTS), 384)
    assert np.abs(a.sentence - b.sentence).max() < 2e-6
    assert a.tokens is not None and b.tokens is not None
    for x, y in zip(a.tokens, b.tokens, strict=True):
        assert np.array_equal(x.offsets, y.offsets)  # the same tokenizer, the same tokens
        assert np.abs(x.vectors - y.vectors).max() < 5e-6
    # the cosines the pipeline reads move below the reports' precision (3 decimals)
    cos_a = (a.sentence[:12] * a.sentence[12:]).sum(1)
    cos_b = (b.sentence[:12] * b.sentence[12:]).sum(1)
    assert np.abs(cos_a - cos_b).max() < 1e-6


@pytest.mark.model
def test_onnxruntime_vectors_do_not_depend_on_threads_or_batch() -> None:
    one, two = SentenceEncoder("minilm", threads=1), SentenceEncoder("minilm", threads=2)
    together = two.encode(TEXTS, tokens=True)
    for k in (0, 5, 17):
        alone = one.encode([TEXTS[k]], tokens=True)
        assert np.array_equal(alone.sentence[0], together.sentence[k])
        assert alone.tokens is not None and together.tokens is not None
        assert np.array_equal(alone.tokens[0].vectors, together.tokens[k].vectors)


@pytest.mark.model
def test_the_signature_names_the_backend(minilm_both: tuple[SentenceEncoder, SentenceEncoder]) -> None:
    fast, torch = (e.signature().as_dict() for e in minilm_both)
    assert fast["backend"] == f"onnxruntime=={onnx_backend.runtime_version()}" and fast["opset"] == "17"
    assert torch["backend"].startswith("torch==2.") and "opset" not in torch
    assert {k: v for k, v in fast.items() if k not in ("backend", "opset")} == {
        k: v for k, v in torch.items() if k != "backend"
    }


@pytest.mark.model
def test_an_unwritable_export_place_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    target = blocker / "onnx" / "x.onnx"
    with pytest.raises(ModelUnavailableError, match=r"cannot write the ONNX export there .*MODEL_DIR"):
        onnx_backend.export(MODELS["minilm"].locate(), 6, target)
    assert os.listdir(tmp_path) == ["file"]
