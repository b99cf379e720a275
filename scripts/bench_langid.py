"""Language identification on real sentences: accuracy, speed and off-target false alarms.

Prints, for py3langid (mtdrift's identifier): accuracy per language on up to 600 sentences of
the dev sets (zh and he sources, en references, de references and one system's output), its
speed, and the off-target rule's false-alarm rate on every candidate sentence of every dev set
and of the seed candidate, with the rule's thresholds and stricter/looser ones beside them.
``--lingua`` also measures lingua-language-detector when it is installed (not a dependency).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mtdrift.eval.segment import split_sentences  # noqa: E402
from mtdrift.metrics import language  # noqa: E402

MQM = ROOT.parent / "shared" / "data" / "mqm"
SETS = {
    "wmt23_zhen": ("wmt23_zhen_mqm.dev.jsonl.gz", "zh", "en"),
    "wmt23_heen": ("wmt23_heen_mqm.dev.jsonl.gz", "he", "en"),
    "wmt21ted_zhen": ("wmt21ted_zhen_mqm.dev.jsonl.gz", "zh", "en"),
    "wmt23_ende": ("wmt23_ende_mqm.dev.jsonl.gz", "en", "de"),
}


def rows(name: str) -> list[dict[str, object]]:
    with gzip.open(MQM / name, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def sentences(texts: list[str]) -> list[str]:
    return [s.text for t in texts for s in split_sentences(t.lstrip("\ufeff"))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lingua", action="store_true")
    args = ap.parse_args()
    rng = random.Random(0)
    by_lang: dict[str, list[str]] = {}
    candidates: dict[str, tuple[str, list[str]]] = {}
    for key, (name, src, trg) in SETS.items():
        data = rows(name)
        by_lang.setdefault(src, []).extend(sentences(sorted({str(r["source"]) for r in data})))
        by_lang.setdefault(trg, []).extend(sentences(sorted({str(r["reference"]) for r in data})))
        hyps = [str(r["hypothesis"]) for r in data if not r.get("is_human")]
        candidates[key] = (trg, sentences(hyps))
    seed = (ROOT / "seeds" / "candidate_roundtrip_000_7002d340e3ea555d.txt").read_text(encoding="utf-8")
    candidates["seed"] = ("en", sentences([seed]))
    for lang, ss in by_lang.items():
        ss = [s for s in dict.fromkeys(ss) if len(s) >= 3]
        rng.shuffle(ss)
        by_lang[lang] = ss[:600]

    print("identifier accuracy (sentences of the dev sets):")
    t = time.perf_counter()
    n = 0
    for lang, ss in sorted(by_lang.items()):
        got = [language.identify(s) for s in ss]
        n += len(ss)
        ok = sum(c == lang for c, _ in got)
        sure_wrong = sum(c != lang and p >= 0.9 for c, p in got)
        print(f"  py3langid {lang}: {ok / len(ss):.3f} of {len(ss)}; wrong with p>=0.9: {sure_wrong}")
    print(f"  py3langid speed: {n / (time.perf_counter() - t):.0f} sentences/s")
    if args.lingua:
        from lingua import LanguageDetectorBuilder

        t = time.perf_counter()
        det = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models().build()
        print(f"  lingua load: {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        for lang, ss in sorted(by_lang.items()):
            ok = 0
            for s in ss:
                c = det.compute_language_confidence_values(s)[0]
                ok += c.language.iso_code_639_1.name.lower() == lang
            print(f"  lingua {lang}: {ok / len(ss):.3f}")
        print(f"  lingua speed: {n / (time.perf_counter() - t):.0f} sentences/s")

    print("off-target false alarms (every candidate sentence; none is off-target in these sets):")
    rules = [(0.01, 20), (language.OFF_TARGET_MAX_PROB, language.OFF_TARGET_MIN_LETTERS), (0.001, 10)]
    for key, (trg, ss) in candidates.items():
        ids = [(language.rank(s), sum(ch.isalpha() for ch in s)) for s in ss]
        cells = []
        shown: list[tuple[str, str]] = []
        for p_max, letters in rules:
            alarms = [
                (s, r[0][0]) for s, (r, k) in zip(ss, ids, strict=True)
                if k >= letters and language.target_prob(r, trg) <= p_max
            ]  # fmt: skip
            share = len(alarms) / len(ss)
            cells.append(f"p_ref<={p_max},letters>={letters}: {len(alarms)}/{len(ss)} ({share:.4%})")
            if (p_max, letters) == rules[1]:
                shown = alarms[:3]
        print(f"  {key} ({trg}): " + "; ".join(cells))
        for s, c in shown:
            print(f"     [{c}] {s[:100]}")


if __name__ == "__main__":
    main()
