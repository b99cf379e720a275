"""The fitted fidelity models (``eval.judge``, ``metrics/params/fidelity-v2-<encoder>.json``):
each encoder's file loads, its hash is in the signature, fidelity is a 0-1 number, monotone where
it promises to be, the encoder in use picks its own file, and re-fitting on the four MQM dev sets
reproduces the leave-one-data-set-out figures the file (and the README) state."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from mtdrift.eval.judge import (
    ENCODER_EVIDENCE,
    ENCODER_FREE,
    EVIDENCE,
    PARAMS_FILE,
    DriftConfig,
    FidelityModel,
    params_file,
)
from mtdrift.metrics.models import DEFAULT_MODEL, MODELS, USEM3
from tests.support.paths import ROOT, need_mqm

SHIPPED = DriftConfig.load()
MODEL = SHIPPED.model
assert MODEL is not None


def _values(**overrides: float) -> dict[str, float]:
    """Evidence of a typical dev row: the training means."""
    assert MODEL is not None
    values = dict(zip(MODEL.features, MODEL.mean, strict=True))
    values["log_ref_len"] = float(np.log(30))  # a typical reference of 30 tokens
    values.update(overrides)
    return values


THREE_SETS = ["wmt21ted_zhen", "wmt23_heen", "wmt23_zhen"]
FOUR_SETS = ["wmt21ted_zhen", "wmt23_ende", "wmt23_heen", "wmt23_zhen"]
FITTED_ON = {"minilm": FOUR_SETS, "lexical": FOUR_SETS, "mpnet": THREE_SETS, "usem3": FOUR_SETS}
"""The dev sets each shipped file was fitted on (mpnet's is re-fitted on the four by ``make fit``:
its encode takes about 20 minutes on 2 cores)."""


@pytest.mark.parametrize("model", [*sorted(MODELS), USEM3, ENCODER_FREE])
def test_each_encoders_file_loads_and_names_its_hash(model: str) -> None:
    path = params_file(model)
    raw = path.read_bytes()
    data = json.loads(raw)
    digest = hashlib.sha256(raw).hexdigest()[:12]
    config = DriftConfig.for_model(model)
    assert config.model is not None
    assert config.source == config.model.source == f"fidelity-v2-{model}.json@{digest}"
    assert data["version"] == "fidelity-v2" and data["encoder"] == model
    assert set(config.model.features) <= set(EVIDENCE)
    assert sorted(data["fitted_on"]) == FITTED_ON[model]
    # the thresholds are read off the calibration: twice and 1.5 times the base rate
    b = data["drift"]["base_rate"]
    assert config.major_below == round(1 - 2 * b, 3) and config.minor_below == round(1 - 1.5 * b, 3)
    assert 0 < config.major_below < config.minor_below < 1


def test_the_default_is_the_default_encoders_file() -> None:
    assert params_file(DEFAULT_MODEL) == PARAMS_FILE
    assert SHIPPED.source.startswith(f"fidelity-v2-{DEFAULT_MODEL}.json@")


def test_the_files_hash_enters_the_fidelity_signature(tmp_path: Path) -> None:
    """A changed weight is a different model: the signature (and so ``mtdrift check``) sees it."""
    data = json.loads(PARAMS_FILE.read_text())
    data["model"]["weights"][0] += 0.01
    changed = tmp_path / PARAMS_FILE.name
    changed.write_text(json.dumps(data))
    before = SHIPPED.signature().as_dict()
    after = DriftConfig.load(changed).signature().as_dict()
    digest = hashlib.sha256(PARAMS_FILE.read_bytes()).hexdigest()[:12]
    assert before["model"] == f"{PARAMS_FILE.name}@{digest}" == before["params"]
    assert after["model"] != before["model"]
    assert before["fidelity"].startswith("ranknet-logistic(") and "tm_r" in before["fidelity"]


def test_a_longer_reference_lowers_fidelity_never_the_ranking() -> None:
    """The squashing's length term: the same evidence on a longer reference has a higher chance
    of a major error; two candidates of one reference keep their order."""
    assert MODEL is not None and MODEL.length < 0
    short, long_ = _values(log_ref_len=np.log(8)), _values(log_ref_len=np.log(60))
    assert MODEL.fidelity(long_) < MODEL.fidelity(short)
    worse = _values(log_ref_len=np.log(60), tm_r=0.5)
    assert MODEL.score(worse) < MODEL.score(long_) and MODEL.fidelity(worse) < MODEL.fidelity(long_)


def test_a_model_that_does_not_add_up_is_refused() -> None:
    with pytest.raises(ValueError, match="2 features need as many means, scales and weights; got 1, 2 and 2"):
        FidelityModel(("sem", "tm_r"), (0.0,), (1.0, 1.0), (1.0, 1.0), 0.0, 1.0)
    with pytest.raises(ValueError, match="unknown evidence \\['length'\\]"):
        FidelityModel(("length",), (0.0,), (1.0,), (1.0,), 0.0, 1.0)


def _four_sets(model: str) -> tuple[Any, dict[str, Any]]:
    """The fit script and the four dev sets scored with ``model`` as ``make fit`` scores them
    (the session's cache shared with the other tests); skips without the data."""
    need_mqm()
    fit = _fit_script()
    from mtdrift.metrics.cache import default_cache_dir

    missing = [f for f in fit.DATASETS.values() if not (fit.MQM_DIR / f).is_file()]
    if missing:
        pytest.skip(f"{', '.join(missing)} absent from {fit.MQM_DIR}")
    cache = str(default_cache_dir())
    tables = {
        n: fit.language_aware(fit.load(fit.MQM_DIR / f, cache, model), fit.TARGET_LANG[n])
        for n, f in fit.DATASETS.items()
    }
    return fit, tables


def _fit_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fit_fidelity", ROOT / "scripts" / "fit_fidelity.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.model
@pytest.mark.slow
def test_refitting_minilm_on_the_four_dev_sets_reproduces_the_stated_figures() -> None:
    """``make fit`` for MiniLM from scratch: the evidence of every row of the four dev sets,
    each set left out in turn, and the model fitted on all of them equal what the parameter file
    (and the README) state; the same for the encoder-free judge, whose evidence the same rows
    carry. Minutes on a cold cache; it shares the session's cache with the other tests.
    (all-mpnet-base-v2's file is re-fitted the same way by ``make fit``: its encode of the sets
    takes about 20 minutes on 2 cores, too long for CI.)"""
    fit, tables = _four_sets("minilm")
    stated = json.loads(params_file("minilm").read_text())
    features = fit.FEATURES_BY_MODEL["minilm"]
    assert tuple(stated["model"]["features"]) == features
    figures = fit.lodo(tables, features)
    for name, expected in stated["lodo"]["by_item_and_sys_acc"].items():
        assert figures[name]["by_item"] == pytest.approx(expected["by_item"], abs=2e-3), name
        assert figures[name]["sys_acc"] == pytest.approx(expected["sys_acc"], abs=0.02), name
    full = fit.fit_ranknet(list(tables.values()), features)
    assert np.allclose(full["weights"], stated["model"]["weights"], atol=2e-3)
    readme = "\n".join(
        p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    )
    assert f"{stated['lodo']['by_item_and_sys_acc']['wmt23_heen']['by_item']:.3f}" in readme
    free = json.loads(params_file(ENCODER_FREE).read_text())
    assert tuple(free["model"]["features"]) == fit.ENCODER_FREE_FEATURES
    assert not set(fit.ENCODER_FREE_FEATURES) & ENCODER_EVIDENCE
    figures = fit.lodo(tables, fit.ENCODER_FREE_FEATURES)
    for name, expected in free["lodo"]["by_item_and_sys_acc"].items():
        assert figures[name]["by_item"] == pytest.approx(expected["by_item"], abs=2e-3), name
        assert figures[name]["sys_acc"] == pytest.approx(expected["sys_acc"], abs=0.02), name
    assert f"{free['lodo']['by_item_and_sys_acc']['wmt23_ende']['by_item']:.3f}" in readme


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("MTDRIFT_FIT_TESTS"),
    reason="scores the four dev sets with usem3, one text at a time (too long for make test's budget on "
    "2 cores); make fit runs the same check (fit_fidelity.py --model usem3 --check); set "
    "MTDRIFT_FIT_TESTS=1 to run it here",
)
def test_the_default_judge_on_german_left_out_reaches_chrf_and_its_inputs() -> None:
    """Issue 21, item 8: the judge a run without ``--model`` uses on German (usem3's,
    ``metrics.models.default_model``), fitted on zh-en, he-en and TED and measured on WMT23 en-de
    dev, reaches at least chrF (the official 0.245 by item) and each of its own inputs; the
    figures are what its parameter file states, and the fit's rule picks its features. Every row
    of the four sets is scored with usem3 (about a minute on a cold cache)."""
    fit, tables = _four_sets(USEM3)
    stated = json.loads(params_file(USEM3).read_text())
    features = fit.FEATURES_BY_MODEL[USEM3]
    assert tuple(stated["model"]["features"]) == features and "tm_r" not in features
    results = {n: fit.lodo(tables, c) for n, c in fit.SENTENCE_CANDIDATES.items()}
    singles = {
        c: {n: fit.figures(t, fit.single(t, c)) for n, t in tables.items()} for c in fit.SENTENCE_SINGLE
    }
    assert (
        fit.SENTENCE_CANDIDATES[
            fit.choose_for_other_languages(results, singles, fit.SENTENCE_CANDIDATES, ["wmt23_ende"])
        ]
        == features
    )
    figures = fit.lodo(tables, features)
    for name, expected in stated["lodo"]["by_item_and_sys_acc"].items():
        assert figures[name]["by_item"] == pytest.approx(expected["by_item"], abs=2e-3), name
    german = figures["wmt23_ende"]["by_item"]
    assert german >= 0.245  # chrF, official
    assert german >= max(singles[c]["wmt23_ende"]["by_item"] for c in ("sem", "chrf", "bleu"))
    free = json.loads(params_file(ENCODER_FREE).read_text())
    assert german > free["lodo"]["by_item_and_sys_acc"]["wmt23_ende"]["by_item"]  # what it replaces there
