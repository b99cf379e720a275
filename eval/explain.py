"""Why a bead drifted: one fidelity number, a drift label and the reasons, as data."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from metrics.base import Finding, Signature

Drift = Literal["none", "minor", "major"]
DRIFT_LABELS: tuple[Drift, ...] = ("none", "minor", "major")
PARAMS_FILE = Path(__file__).resolve().parents[1] / "metrics" / "params" / "drift-v1.json"


@dataclass(frozen=True)
class DriftConfig:
    """Thresholds that turn evidence into a drift label.

    Attributes:
        minor_below: fidelity (0-1) under which an aligned bead drifts at least ``minor``.
        major_below: fidelity (0-1) under which it drifts ``major``.
        span_below: a token whose best cosine with the other side is under this is unmatched
            and marked as a drifted span.
        source: where the numbers come from (a parameter file and its hash).
    """

    minor_below: float
    major_below: float
    span_below: float
    source: str = "defaults"

    @classmethod
    def load(cls, path: Path = PARAMS_FILE) -> DriftConfig:
        """The shipped, versioned thresholds (fitted by ``scripts/calibrate_drift.py``)."""
        raw = path.read_bytes()
        data = json.loads(raw)
        digest = hashlib.sha256(raw).hexdigest()[:12]
        return cls(
            minor_below=float(data["minor_below"]),
            major_below=float(data["major_below"]),
            span_below=float(data["span_below"]),
            source=f"{path.name}@{digest}",
        )

    def signature(self) -> Signature:
        return Signature.of(
            "drift",
            [
                ("fidelity", "mean(semantic,tokenmatch,chrf/100)"),
                ("minor", f"<{self.minor_below:.3f}"),
                ("major", f"<{self.major_below:.3f} or major finding"),
                ("span", f"<{self.span_below:.3f}"),
                ("params", self.source),
            ],
        )


def fidelity(*, semantic: float, tokenmatch: float, chrf: float) -> float:
    """Fidelity of an aligned bead, 0-1 (higher = closer in meaning and wording).

    The mean of the sentence cosine (0-1 for these texts), the greedy token-match F1 (0-1)
    and chrF / 100. An omission or an addition has fidelity 0.
    """
    return (max(semantic, 0.0) + max(tokenmatch, 0.0) + chrf / 100.0) / 3.0


def label(
    *, kind: str, fidelity_: float, findings: list[Finding], config: DriftConfig
) -> tuple[Drift, list[Finding]]:
    """The drift label of a bead and its reasons, most severe first.

    ``major``: an omission or addition, a major finding (a changed name or number, a lost
    number, a negation flip), or fidelity under ``major_below``. ``minor``: a minor finding
    (a lost or added name, an added number) or fidelity under ``minor_below``. Else ``none``.
    """
    reasons = list(findings)
    if kind in ("omission", "addition"):
        return "major", [Finding(kind=kind, severity="major")]  # type: ignore[arg-type]
    if fidelity_ < config.major_below:
        reasons.append(Finding(kind="semantic", severity="major", ref=f"{fidelity_:.2f}"))
    elif fidelity_ < config.minor_below:
        reasons.append(Finding(kind="semantic", severity="minor", ref=f"{fidelity_:.2f}"))
    reasons.sort(key=lambda f: 0 if f.severity == "major" else 1)
    if any(f.severity == "major" for f in reasons):
        return "major", reasons
    if reasons:
        return "minor", reasons
    return "none", reasons
