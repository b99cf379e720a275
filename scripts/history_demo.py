"""`make history-demo`: a history of seven runs built from real edits of the seed candidate,
drawn into ``reports/history/`` (the picture in the README's "Tracking a system over time").

The runs (:data:`RUNS`): the seed candidate; two sentences dropped; restored; a name swapped;
the second half dropped; restored; and the restored candidate scored with another encoder
(``mpnet``), which changes the semantic signatures: a break. Every run but the last is scored
with ``minilm``. ``tests/eval/test_history.py`` builds the same history and checks which steps are
significant and where the break is.

Prints one line per run added, then the steps, and last ``history-demo: runs=7 significant=K
breaks=1 wall=S``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REF = ROOT / "seeds" / "reference_cnn_003_ef437a482faa74df.txt"
HYP = ROOT / "seeds" / "candidate_roundtrip_000_7002d340e3ea555d.txt"

EDITS: dict[str, str] = {
    "seed": "the seed candidate as it is",
    "minus2": "its lines 1 and 2 dropped (two sentences)",
    "name": "Donald Trump swapped for Joe Biden",
    "truncated": "cut after its line 8 (the second half dropped)",
}

# (label, edit, model): the history, in order
RUNS: tuple[tuple[str, str, str], ...] = (
    ("v1", "seed", "minilm"),
    ("v2-drop2", "minus2", "minilm"),
    ("v3-restore", "seed", "minilm"),
    ("v4-name", "name", "minilm"),
    ("v5-truncate", "truncated", "minilm"),
    ("v6-restore", "seed", "minilm"),
    ("v7-mpnet", "seed", "mpnet"),
)


def seed_edit(name: str) -> str:
    """The seed candidate's text after the edit ``name`` of :data:`EDITS`."""
    text = HYP.read_text(encoding="utf-8")
    lines = text.split("\n")
    if name == "seed":
        return text
    if name == "minus2":
        return "\n".join(lines[:1] + lines[3:])
    if name == "name":
        if text.count("Donald Trump") != 1:
            raise ValueError("the seed candidate no longer names Donald Trump once")
        return text.replace("Donald Trump", "Joe Biden")
    if name == "truncated":
        return "\n".join(lines[:9]) + "\n"
    raise KeyError(name)


def build_history(history: Path, summary: Callable[[str, str], Path]) -> None:
    """Append :data:`RUNS` to ``history``, one a day from 2026-12-01; ``summary(edit, model)``
    gives the ``summary.json`` of the seed reference against that edit."""
    import mtdrift

    for k, (label, edit, model) in enumerate(RUNS):
        mtdrift.history_add(history, summary(edit, model), label=label, time=f"2026-12-{k + 1:02d}T12:00:00Z")


def evaluator_summaries(root: Path) -> Callable[[str, str], Path]:
    """``summary(edit, model)``: evaluates each (edit, model) once, into ``root``."""
    import mtdrift

    done: dict[tuple[str, str], Path] = {}
    evaluators: dict[str, mtdrift.Evaluator] = {}

    def summary(edit: str, model: str) -> Path:
        if (edit, model) not in done:
            hyp = root / f"{edit}.txt"
            hyp.write_text(seed_edit(edit), encoding="utf-8")
            ev = evaluators.setdefault(model, mtdrift.Evaluator(model, cache=False))
            out = root / f"{edit}-{model}"
            ev.evaluate(REF, {"roundtrip": hyp}).write(out, plots=False)
            done[(edit, model)] = out / "summary.json"
        return done[(edit, model)]

    return summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="reports/history")
    args = ap.parse_args()
    import mtdrift

    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    history = out / "history.jsonl"
    history.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="mtdrift-history-") as tmp:
        build_history(history, evaluator_summaries(Path(tmp)))
    trend = mtdrift.history_show(history, out=out)
    from mtdrift.eval.render.history import step_summary

    for st in trend.steps:
        print(f"{trend.runs[st.before].label} -> {trend.runs[st.after].label}: {step_summary(trend, st)}")
    significant = sum(1 for st in trend.steps if st.significant)
    wall = time.perf_counter() - start
    breaks = len(trend.breaks)
    print(f"history-demo: runs={len(trend.runs)} significant={significant} breaks={breaks} wall={wall:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
