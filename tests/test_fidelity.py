"""The fitted fidelity model (``eval.explain``, ``metrics/params/fidelity-v1.json``): the file
loads, its hash is in the signature, fidelity is a 0-1 number, monotone where it promises to be,
and re-fitting on the MQM tuning half reproduces the cross-validated figures the README states."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eval.explain import (
    EVIDENCE,
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    PARAMS_FILE,
    DriftConfig,
    FidelityModel,
    evidence,
)
from metrics.base import Finding
from metrics.semantic import TokenMatch
from tests.conftest import ROOT, need_mqm

SHIPPED = DriftConfig.load()
MODEL = SHIPPED.model
assert MODEL is not None


def _values(**overrides: float) -> dict[str, float]:
    """Evidence of a typical WMT23 row: the training means."""
    assert MODEL is not None
    values = dict(zip(MODEL.features, MODEL.mean, strict=True))
    values.update(overrides)
    return values


def test_the_shipped_file_loads_and_names_its_hash() -> None:
    raw = PARAMS_FILE.read_bytes()
    data = json.loads(raw)
    digest = hashlib.sha256(raw).hexdigest()[:12]
    assert MODEL is not None
    assert SHIPPED.source == MODEL.source == f"fidelity-v1.json@{digest}"
    assert data["version"] == "fidelity-v1" and data["seed"] == 12345
    assert set(MODEL.features) <= set(EVIDENCE)
    assert len(MODEL.weights) == len(MODEL.features) == len(MODEL.mean) == len(MODEL.scale)
    assert 0 < SHIPPED.major_below <= SHIPPED.minor_below < 1


def test_the_files_hash_enters_the_fidelity_signature(tmp_path: Path) -> None:
    """A changed weight is a different model: the signature (and so ``mtdrift check``) sees it."""
    data = json.loads(PARAMS_FILE.read_text())
    data["model"]["weights"][0] += 0.01
    changed = tmp_path / "fidelity-v1.json"
    changed.write_text(json.dumps(data))
    before = SHIPPED.signature().as_dict()
    after = DriftConfig.load(changed).signature().as_dict()
    digest = hashlib.sha256(PARAMS_FILE.read_bytes()).hexdigest()[:12]
    assert before["model"] == f"fidelity-v1.json@{digest}" == before["params"]
    assert after["model"] != before["model"]
    assert before["fidelity"].startswith("ranknet-logistic(") and "tm_r" in before["fidelity"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-50, 50, allow_nan=False), min_size=len(EVIDENCE), max_size=len(EVIDENCE)))
def test_fidelity_is_a_0_1_number_whatever_the_evidence(raw: list[float]) -> None:
    assert MODEL is not None
    result = MODEL.fidelity(dict(zip(EVIDENCE, raw, strict=True)))
    assert 0.0 <= result <= 1.0


@pytest.mark.parametrize("name", sorted(HIGHER_IS_BETTER | LOWER_IS_BETTER))
def test_the_weights_keep_the_monotone_promise(name: str) -> None:
    """More agreement never lowers fidelity; more mismatch never raises it."""
    assert MODEL is not None
    if name not in MODEL.features:
        pytest.skip(f"{name} is not in the shipped model")
    w = MODEL.weights[MODEL.features.index(name)]
    assert w >= 0 if name in HIGHER_IS_BETTER else w <= 0


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(sorted(HIGHER_IS_BETTER | LOWER_IS_BETTER)),
    st.floats(0, 1),
    st.floats(0, 1),
)
def test_fidelity_moves_with_the_evidence_as_promised(name: str, a: float, b: float) -> None:
    assert MODEL is not None
    lo, hi = min(a, b), max(a, b)
    f_lo = MODEL.fidelity(_values(**{name: lo}))
    f_hi = MODEL.fidelity(_values(**{name: hi}))
    assert f_hi >= f_lo if name in HIGHER_IS_BETTER else f_hi <= f_lo


def test_a_lost_number_and_a_dropped_half_lower_fidelity() -> None:
    assert MODEL is not None
    typical = MODEL.fidelity(_values())
    assert MODEL.fidelity(_values(num_major=1.0)) < typical
    assert MODEL.fidelity(_values(tm_r=0.5, ref_unmatched=0.5, chrf_r=0.2)) < typical


def _match(ref_best: list[float], hyp_best: list[float]) -> TokenMatch:
    p, r = float(np.mean(hyp_best)), float(np.mean(ref_best))
    return TokenMatch(
        p, r, 2 * p * r / (p + r), np.asarray(ref_best, np.float32), np.asarray(hyp_best, np.float32)
    )


def test_evidence_by_hand() -> None:
    """Each piece computed from a small bead whose numbers can be checked by hand."""
    chrf = np.zeros(18)
    chrf[:6] = [10, 8, 4, 9, 7, 3]  # orders 1-2: hyp, ref, match; orders 3-6 have no n-gram
    bleu = np.array([5, 10, 3, 1, 0, 0, 5, 4, 3, 2], dtype=float)  # 5 candidate, 10 reference tokens
    findings = [
        Finding(kind="number", severity="major", ref="2007"),
        Finding(kind="entity", severity="minor", hyp="Erbil"),
        Finding(kind="negation", severity="major", ref="not"),
    ]
    result = evidence(
        semantic=0.8,
        match=_match([0.9, 0.3, 0.6, 0.2], [0.9, 0.5]),
        scores={"bleu": 25.0, "chrf": 40.0, "ter": 60.0},
        stats={"bleu": bleu, "chrf": chrf},
        findings=findings,
        unmatched_below=0.45,
    )
    expected = {
        "sem": 0.8,
        "tm_p": 0.7,
        "tm_r": 0.5,
        "ref_unmatched": 0.5,  # 0.3 and 0.2 of four
        "hyp_unmatched": 0.0,
        "ref_min": 0.2,
        "chrf": 0.4,
        "chrf_p": round((4 / 10 + 3 / 9) / 2, 6),
        "chrf_r": round((4 / 8 + 3 / 7) / 2, 6),
        "bleu": 0.25,
        "neg_ter": -0.6,
        "log_len_ratio": round(float(np.log(0.5)), 6),
        "abs_log_len_ratio": round(float(np.log(2)), 6),
        "num_major": 1.0,
        "num_minor": 0.0,
        "ent_major": 0.0,
        "ent_minor": 1.0,
        "negation": 1.0,
    }
    assert result.keys() == expected.keys()
    for k, v in expected.items():
        assert result[k] == pytest.approx(v, abs=1e-6), k


def test_identical_pairs_score_bit_identically() -> None:
    """A matrix product of the same float32 vectors can differ in its last bit with memory
    alignment; evidence is rounded, so two systems with the same output tie exactly."""
    assert MODEL is not None
    stats = {"bleu": np.array([5, 5, 5, 4, 3, 2, 5, 4, 3, 2], float), "chrf": np.ones(18)}
    one, other = (
        evidence(
            semantic=0.91 + eps,
            match=_match([0.8 + eps, 0.7], [0.75, 0.66 + eps]),
            scores={"bleu": 100.0, "chrf": 100.0, "ter": 0.0},
            stats=stats,
            findings=[],
            unmatched_below=0.45,
        )
        for eps in (0.0, 3e-8)
    )
    assert one == other
    assert MODEL.fidelity(one) == MODEL.fidelity(other)


def test_a_model_built_in_code_is_recorded_by_its_parameters() -> None:
    one = FidelityModel(("sem",), (0.5,), (0.1,), (1.0,), 0.0, 1.0)
    other = FidelityModel(("sem",), (0.5,), (0.1,), (2.0,), 0.0, 1.0)
    config = DriftConfig(minor_below=0.7, major_below=0.5, span_below=0.45, model=one)
    assert config.signature().as_dict()["model"] == one.recorded_as
    assert one.recorded_as.startswith("inline@") and one.recorded_as != other.recorded_as


def test_a_model_that_does_not_add_up_is_refused() -> None:
    with pytest.raises(ValueError, match="2 features need as many means, scales and weights; got 1, 2 and 2"):
        FidelityModel(("sem", "tm_r"), (0.0,), (1.0, 1.0), (1.0, 1.0), 0.0, 1.0)
    with pytest.raises(ValueError, match="unknown evidence \\['length'\\]"):
        FidelityModel(("length",), (0.0,), (1.0,), (1.0,), 0.0, 1.0)


def _fit_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fit_fidelity", ROOT / "scripts" / "fit_fidelity.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.model
@pytest.mark.slow
def test_refitting_on_the_mqm_tuning_half_reproduces_the_stated_cv_figures() -> None:
    """``make fit`` from scratch: the evidence of all 8,970 WMT23 dev rows, the 5-fold CV by
    document, and the model fitted on every row equal what the parameter file (and the README)
    state. Minutes on a cold cache; it shares the session's cache with the other tests."""
    data = need_mqm()
    fit = _fit_script()
    from metrics.cache import default_cache_dir

    table = fit.load(str(data), str(default_cache_dir()))
    fold = fit.folds_by_document(table["doc_id"].to_numpy())
    cv = fit.cross_validate(table, fit.FEATURES, fold, monotone=True)
    stated = json.loads(PARAMS_FILE.read_text())
    assert cv["fold_mean"] == pytest.approx(stated["cv"]["by_item_tau_fold_mean"], abs=2e-3)
    assert cv["pooled"] == pytest.approx(stated["cv"]["by_item_tau_pooled"], abs=2e-3)
    assert cv["sys_acc"] == pytest.approx(stated["cv"]["sys_accuracy"], abs=0.02)
    readme = (ROOT / "README.md").read_text()
    assert f"{stated['cv']['by_item_tau_fold_mean']:.3f}" in readme
    full = fit.full_fit(table, fit.FEATURES, monotone=True)
    assert np.allclose(full["weights"], stated["model"]["weights"], atol=2e-3)
