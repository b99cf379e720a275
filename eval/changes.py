"""What changed, sentence by sentence, between a baseline and a current ``summary.json``.

The two runs may align the reference differently (one merges sentences 3 and 4 into a 2-1
bead, the other keeps them apart), so beads are matched through the reference sentences they
cover: both runs' beads are grouped into the coarsest common units of reference sentences
(``eval.pairwise.common_units``, the units of the paired tests), and each unit is compared as a
whole. An added candidate sentence joins the unit before it.

A unit is

- **worse** when a reference sentence is newly omitted, more candidate sentences are added
  (aligned to nothing), its drift label got worse (worst bead of the unit: ``none`` <
  ``minor`` < ``major``), or its fidelity dropped by at least :data:`FIDELITY_STEP`;
- **better** when an omitted sentence is back, fewer sentences are added, the label improved,
  or fidelity rose by at least :data:`FIDELITY_STEP` (and nothing got worse);
- **changed** when only the candidate's text changed.

Units whose candidate text and labels are unchanged are not listed. Worse units come first:
newly omitted sentences, then the biggest label change, then the biggest fidelity drop.

This needs what ``summary.json`` carries since bead texts were added to it (the reference
sentences, each bead's candidate ids and drift label, the candidate sentences); an older
summary gives a :class:`BeadChanges` with ``note`` set and no units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from mtdrift.eval.pairwise import RefIds, common_units, unit_index
from mtdrift.eval.summary import SegmentBlock, Summary, SystemBlock

FIDELITY_STEP = 0.01  # the fidelity metric's default tolerance in ``mtdrift check``
RANK: dict[str, int] = {"none": 0, "minor": 1, "major": 2}
Direction = Literal["worse", "better", "changed"]


@dataclass(frozen=True)
class UnitChange:
    """One unit of reference sentences whose translation changed.

    Attributes:
        ref_ids: the unit's reference sentence ids (0-based, consecutive).
        ref: the reference sentences of the unit, joined by spaces.
        baseline_hyp / current_hyp: the candidate sentences aligned to the unit in each run,
            joined by spaces (``""``: nothing aligned, the unit is omitted).
        baseline_drift / current_drift: the worst drift label of the unit's beads.
        baseline_fidelity / current_fidelity: the unit's mean bead fidelity, 0-1 (omitted
            sentences count 0).
        newly_omitted: reference ids omitted in the current run but not in the baseline.
        restored: reference ids omitted in the baseline but not in the current run.
        baseline_added / current_added: candidate sentences with no reference counterpart
            (additions) in the unit.
        direction: ``worse``, ``better`` or ``changed`` (see the module).
    """

    ref_ids: RefIds
    ref: str
    baseline_hyp: str
    current_hyp: str
    baseline_drift: str
    current_drift: str
    baseline_fidelity: float
    current_fidelity: float
    newly_omitted: RefIds
    restored: RefIds
    direction: Direction
    baseline_added: int = 0
    current_added: int = 0

    @property
    def fidelity_delta(self) -> float:
        """Current minus baseline fidelity (negative: worse)."""
        return self.current_fidelity - self.baseline_fidelity

    def what(self) -> list[str]:
        """What changed, in words: ``["newly omitted: ref 1", "drift none -> major", ...]``."""
        out = []
        if self.newly_omitted:
            out.append("newly omitted: " + _refs(self.newly_omitted))
        if self.restored:
            out.append("no longer omitted: " + _refs(self.restored))
        if self.current_added != self.baseline_added:
            more = self.current_added > self.baseline_added
            out.append(
                f"{'more' if more else 'fewer'} added candidate sentences "
                f"({self.baseline_added} -> {self.current_added})"
            )
        if self.baseline_drift != self.current_drift:
            out.append(f"drift {self.baseline_drift} -> {self.current_drift}")
        if abs(self.fidelity_delta) >= FIDELITY_STEP:
            out.append(
                f"fidelity {self.baseline_fidelity:.2f} -> {self.current_fidelity:.2f} "
                f"({self.fidelity_delta:+.2f})"
            )
        if not out:
            out.append("text changed, scores alike")
        return out


@dataclass(frozen=True)
class BeadChanges:
    """The changed units of one system, worse first (the module's order), then better, then
    the others; ``note`` says why there are none to list when a summary lacks bead texts."""

    system: str
    units: tuple[UnitChange, ...]
    n_units: int
    note: str | None = None

    def of(self, direction: Direction) -> list[UnitChange]:
        return [u for u in self.units if u.direction == direction]


def _refs(ids: Sequence[int]) -> str:
    return ("ref " if len(ids) == 1 else "refs ") + ", ".join(str(i) for i in ids)


NO_TEXTS = (
    "the {side} summary carries no bead texts (written by an older mtdrift); re-run mtdrift "
    "evaluate to list the beads that changed"
)


def _has_texts(doc: Summary, system: SystemBlock) -> bool:
    seg = system.segments
    return (
        doc.reference.sentences is not None and seg is not None and seg.has_texts and "fidelity" in seg.stats
    )


def bead_changes(baseline: Summary, current: Summary, b: SystemBlock, c: SystemBlock) -> BeadChanges:
    """The units of reference sentences whose translation changed from system ``b`` of the
    ``baseline`` summary to system ``c`` of the ``current`` one (same reference).

    Raises:
        ValueError: beads and their labels or statistics that do not match (the caller
            reports it).
    """
    system = c.system
    for side, doc, s in (("baseline", baseline, b), ("current", current, c)):
        if not _has_texts(doc, s):
            return BeadChanges(system, (), 0, NO_TEXTS.format(side=side))
    ref = baseline.reference.sentences or ()
    sb, sc = b.segments, c.segments
    assert sb is not None and sc is not None  # _has_texts
    beads_b, beads_c = list(sb.ref_ids), list(sc.ref_ids)
    units = common_units(len(ref), [beads_b, beads_c])
    side_b = _Side(units, beads_b, sb)
    side_c = _Side(units, beads_c, sc)
    out: list[UnitChange] = []
    for u, ids in enumerate(units):
        hyp_b, hyp_c = side_b.hyp(u), side_c.hyp(u)
        drift_b, drift_c = side_b.drift(u), side_c.drift(u)
        omitted_b, omitted_c = side_b.omitted(u), side_c.omitted(u)
        added_b, added_c = side_b.added(u), side_c.added(u)
        if (
            " ".join(hyp_b.split()) == " ".join(hyp_c.split())
            and drift_b == drift_c
            and omitted_b == omitted_c
            and added_b == added_c
        ):
            continue
        fid_b, fid_c = side_b.fidelity(u), side_c.fidelity(u)
        newly = tuple(sorted(omitted_c - omitted_b))
        restored = tuple(sorted(omitted_b - omitted_c))
        delta = fid_c - fid_b
        worse = bool(newly) or added_c > added_b or RANK[drift_c] > RANK[drift_b] or delta <= -FIDELITY_STEP
        better = (
            bool(restored) or added_c < added_b or RANK[drift_c] < RANK[drift_b] or delta >= FIDELITY_STEP
        )
        direction: Direction = "worse" if worse else "better" if better else "changed"
        out.append(
            UnitChange(
                ref_ids=ids,
                ref=" ".join(ref[i] for i in ids),
                baseline_hyp=hyp_b,
                current_hyp=hyp_c,
                baseline_drift=drift_b,
                current_drift=drift_c,
                baseline_fidelity=fid_b,
                current_fidelity=fid_c,
                newly_omitted=newly,
                restored=restored,
                direction=direction,
                baseline_added=added_b,
                current_added=added_c,
            )
        )
    return BeadChanges(system, tuple(sorted(out, key=_order)), len(units))


def _order(u: UnitChange) -> tuple[int, int, int, float, int]:
    group = {"worse": 0, "better": 1, "changed": 2}[u.direction]
    label = RANK[u.current_drift] - RANK[u.baseline_drift]
    if u.direction == "worse":
        return (group, -len(u.newly_omitted), -label, u.fidelity_delta, u.ref_ids[0])
    return (group, -len(u.restored), label, -u.fidelity_delta, u.ref_ids[0])


class _Side:
    """One run's beads grouped into the common units."""

    def __init__(self, units: Sequence[RefIds], beads: Sequence[RefIds], seg: SegmentBlock) -> None:
        hyp_ids = list(seg.hyp_ids or ())
        drift = list(seg.drift or ())
        fid = seg.stats["fidelity"]
        if not len(hyp_ids) == len(drift) == len(fid) == len(beads):
            raise ValueError(
                f"{len(beads)} beads but {len(hyp_ids)} hyp_ids, {len(drift)} drift labels and "
                f"{len(fid)} fidelity rows"
            )
        unknown = sorted(set(drift) - set(RANK))
        if unknown:
            raise ValueError(f"unknown drift label(s) {unknown}")
        self.hyp_sentences = list(seg.hyp_sentences or ())
        self.members: list[list[int]] = [[] for _ in units]
        for k, u in enumerate(unit_index(units, beads)):
            self.members[u].append(k)
        self.beads, self.hyp_ids, self.drift_of, self.fid = beads, hyp_ids, drift, fid

    def hyp(self, u: int) -> str:
        return " ".join(self.hyp_sentences[j] for k in self.members[u] for j in self.hyp_ids[k])

    def drift(self, u: int) -> str:
        labels = [self.drift_of[k] for k in self.members[u]] or ["none"]
        return max(labels, key=RANK.__getitem__)

    def omitted(self, u: int) -> set[int]:
        return {i for k in self.members[u] if not self.hyp_ids[k] for i in self.beads[k]}

    def added(self, u: int) -> int:
        return sum(len(self.hyp_ids[k]) for k in self.members[u] if not self.beads[k])

    def fidelity(self, u: int) -> float:
        rows = [self.fid[k] for k in self.members[u]]
        count = sum(float(r[1]) for r in rows)
        return sum(float(r[0]) for r in rows) / count if count else 0.0
