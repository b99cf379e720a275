"""How many people agree with a metric's verdict on two systems, by how far apart their scores
are: Kocmi et al. 2024's calibration, and the default tolerance of ``mtdrift check`` that
follows from it (the smallest drop three people in four would notice).
"""

from __future__ import annotations

import math
from typing import Final

# Kocmi et al. 2024, "Navigating the Metrics Maze: Reconciling Score Magnitudes and
# Accuracies" (ACL): the share of human judgements (percent) that agree with a metric's
# ranking of two systems whose scores differ by ``delta`` points:
# acc = a / (1 + exp(-b * delta)). Published for BLEU and chrF only.
AGREEMENT: dict[str, tuple[float, float]] = {
    "bleu": (88.33, 0.9664),
    "chrf": (93.00, 1.1143),
}

TOLERANCE_AGREEMENT: Final = 75.0
"""Percent of people who would notice a drop: where ``mtdrift check``'s default tolerance of a
calibrated metric lies (:func:`calibrated_drop`)."""


def agreement(metric: str, delta: float) -> float | None:
    """Percent of people expected to agree with a ranking decided by ``delta`` points of
    ``metric`` (Kocmi et al. 2024); ``None`` where no calibration is published."""
    if metric not in AGREEMENT:
        return None
    a, b = AGREEMENT[metric]
    return a / (1.0 + math.exp(-b * abs(delta)))


def delta_for_agreement(metric: str, percent: float) -> float | None:
    """The smallest delta at which ``agreement(metric, delta)`` reaches ``percent``
    (``None`` without a calibration, or where the curve never gets there)."""
    if metric not in AGREEMENT:
        return None
    a, b = AGREEMENT[metric]
    if not 0 < percent < a:
        return None
    return max(0.0, -math.log(a / percent - 1.0) / b)


def calibrated_drop(metric: str) -> float:
    """The default tolerance of a metric calibrated as ``metric`` (``"bleu"`` or ``"chrf"``):
    the delta at which :data:`TOLERANCE_AGREEMENT` percent of people agree, to 2 decimals."""
    value = delta_for_agreement(metric, TOLERANCE_AGREEMENT)
    if value is None:
        raise ValueError(f"no agreement calibration for {metric!r}; known: {', '.join(AGREEMENT)}")
    return round(value, 2)
