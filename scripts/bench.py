"""`make bench`: the full evaluation of a research-scale corpus with the default encoder, against
the encoder's own limit.

Corpus: the WMT23 zh-en dev set in ``../shared/data/mqm/`` (598 segments x 15 systems = 8,970
pairs; ``--segments N`` keeps the first N segments); without ``../shared``, a generated corpus of
the same size from the seed sentences.

Measured, each in a fresh process so that the figures do not share warm caches:
1. ``mtdrift evaluate --data CORPUS`` with an empty cache and the default settings (the
   default encoder on the path users get): wall time, pairs/s, peak memory;
2. bare encodes of the same distinct sentences (loading the model not counted), at the same
   thread count: the default encoder as users get it (``SentenceEncoder.encode``, ONNX Runtime
   on a CPU: ``encode_default``), the default encoder's sentence-transformers torch
   ``model.encode`` (``encode_default_torch``) and MiniLM's (``encode_minilm_torch``). The
   first is the limit;
3. the same ``mtdrift evaluate`` again, now with the cache filled;
4. sentence TER statistics of every pair: mtdrift's way and sacrebleu's single-process loop;
5. CPU time: of the cold run (user + system, all its processes) and of the bare encode, and of
   the parts of the work besides the model, each alone in one process (NER, the rules, each
   lexical metric). The cold run's CPU time spread perfectly over the cores, divided by the bare
   encode's wall time, is the lowest ratio any scheduling of that work could reach (the floor).

The last line is ``bench: model=M pairs=N wall=S ratio_to_bare_encode=R cached_wall=S2
peak_mb=M encode_default=E encode_default_torch=T encode_minilm_torch=L ter_wall=T
sacrebleu_ter_wall=T0``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "mqm" / "wmt23_zhen_mqm.dev.jsonl.gz"
MTDRIFT = Path(sys.executable).parent / "mtdrift"


def generated_corpus(path: Path, segments: int = 598, systems: int = 15) -> None:
    """Seed sentences made into a corpus of ``segments`` x ``systems`` rows, deterministically."""
    import numpy as np

    from mtdrift.eval.segment import split_sentences

    seeds = ROOT / "seeds"
    ref = [s.text for s in split_sentences((seeds / "reference_cnn_003_ef437a482faa74df.txt").read_text())]
    hyp = [
        s.text for s in split_sentences((seeds / "candidate_roundtrip_000_7002d340e3ea555d.txt").read_text())
    ]
    rng = np.random.default_rng(12345)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for s in range(systems):
            for k in range(segments):
                r = f"{ref[k % len(ref)]} {ref[(k * 7 + 3) % len(ref)]}"
                words = f"{hyp[(k + s) % len(hyp)]} {ref[(k * 7 + 3) % len(ref)]}".split()
                keep = [w for w in words if rng.random() > 0.1 * (s % 4)]
                row = {"doc_id": f"d{k // 10}", "seg_id": k, "system": f"sys{s:02d}"}
                row |= {"ref": r, "hyp": " ".join(keep)}
                fh.write(json.dumps(row) + "\n")


def first_segments(data: Path, n: int, out: Path) -> Path:
    """The rows of ``data`` whose segment is among its first ``n`` (in the order they first
    appear), every system kept."""
    keep: set[tuple[str, str]] = set()
    with gzip.open(data, "rt", encoding="utf-8") as fh, gzip.open(out, "wt", encoding="utf-8") as dst:
        for line in fh:
            row = json.loads(line)
            key = (str(row.get("doc_id", row.get("doc", ""))), str(row.get("seg_id", row.get("segment", ""))))
            if key not in keep and len(keep) < n:
                keep.add(key)
            if key in keep:
                dst.write(line)
    return out


_BARE = """
import json, os, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"; os.environ["TRANSFORMERS_OFFLINE"] = "1"
sys.path.insert(0, {root!r})
from mtdrift.eval.corpus import read_corpus
corpus = read_corpus({data!r})
texts = list(dict.fromkeys([*corpus.refs, *(h for hs in corpus.hyps.values() for h in hs)]))
if {path!r} == "mtdrift":
    from mtdrift.metrics.encoders import SentenceEncoder
    enc = SentenceEncoder({model!r}, threads={threads}, device={device!r})
    enc.encode(["warm up"])  # loads the model (and makes the ONNX export on first use)
    backend = enc.backend
    run = lambda: enc.encode(texts, tokens=True)
else:
    import torch
    from sentence_transformers import SentenceTransformer
    from mtdrift.metrics.models import model_dir
    torch.set_num_threads({threads})
    model = SentenceTransformer(str(model_dir({model!r})), device={device!r}, local_files_only=True)
    backend = "torch"
    run = lambda: model.encode(texts, batch_size=64)
t0, c0 = time.perf_counter(), time.process_time()
run()
took, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({{"seconds": took, "cpu": cpu, "sentences": len(texts), "backend": backend}}))
"""

_EXPORT = """
import sys
sys.path.insert(0, {root!r})
from mtdrift.metrics.encoders import SentenceEncoder
for key in dict.fromkeys([{model!r}, "minilm"]):  # the run's encoder and the aligner's
    SentenceEncoder(key, device={device!r}).encode(["warm up"])
"""

# a command's own peak resident memory (KiB), printed after it ends
_PEAK = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(done.returncode)"
)

_TER = """
import json, sys, time
sys.path.insert(0, {root!r})
from mtdrift.eval.corpus import read_corpus
from sacrebleu.metrics import TER
corpus = read_corpus({data!r})
hyps = [h for hs in corpus.hyps.values() for h in hs]
refs = [r for _ in corpus.hyps for r in corpus.refs]
ter = TER()
t0 = time.perf_counter()
rows = [ter._extract_corpus_statistics([h], [[r]])[0] for h, r in zip(hyps, refs)]
took = time.perf_counter() - t0
print(json.dumps({{"seconds": took, "rows": [[float(x) for x in r] for r in rows]}}))
"""

_PARTS = """
import json, sys, time
sys.path.insert(0, {root!r})
from mtdrift.eval.corpus import read_corpus
from mtdrift.eval.text_stats import lexical_stats
from mtdrift.metrics.facts import checker as checks
corpus = read_corpus({data!r})
hyps = [h for hs in corpus.hyps.values() for h in hs]
refs = [r for _ in corpus.hyps for r in corpus.refs]
pairs = [(r, h) for r, h in zip(refs, hyps) if r and h]
out = {{}}
def timed(name, fn):
    t0, c0 = time.perf_counter(), time.process_time()
    value = fn()
    out[name] = {{"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}}
    return value
checker = checks.FactChecker()
checker.nlp  # loading spaCy is counted with the rest
timed("ner", lambda: checker.entities([*(r for r, _ in pairs), *(h for _, h in pairs)]))
timed("rules", lambda: checker._check_pairs(pairs, "en"))  # every entity is known by now: rules only
for name in ("bleu", "chrf", "chrfpp", "ter"):
    rows = timed(name, lambda: lexical_stats(name, hyps=hyps, refs=refs, cache=None))
out["ter_rows"] = [[float(x) for x in r] for r in rows]
print(json.dumps(out))
"""


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str, float]:
    """Run ``cmd``; its wall time, standard output and CPU time (it and every process it
    waited for)."""
    t0, c0 = time.perf_counter(), _cpu_children()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    took, cpu = time.perf_counter() - t0, _cpu_children() - c0
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"bench: {' '.join(cmd[:3])}... failed with exit {done.returncode}")
    return took, done.stdout, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--model", default=None, help="packaged encoder (default: mtdrift's default encoder)")
    ap.add_argument("--segments", type=int, default=None, help="keep the first N segments of the corpus")
    ap.add_argument("--skip-ter", action="store_true", help="skip sacrebleu's TER loop (minutes)")
    args = ap.parse_args()
    from mtdrift.metrics.models import DEFAULT_MODEL

    model = args.model or DEFAULT_MODEL

    work = Path(tempfile.mkdtemp(prefix="mtdrift-bench-"))
    data = Path(args.data)
    if not data.is_file():
        data = work / "generated.jsonl.gz"
        generated_corpus(data)
        print(f"bench: {args.data} absent; generated {data} from the seeds (598 x 15)")
    if args.segments is not None:
        data = first_segments(data, args.segments, work / f"first{args.segments}.jsonl.gz")
    from mtdrift.eval.corpus import read_corpus

    corpus = read_corpus(data)
    pairs = len(corpus.keys) * len(corpus.hyps)
    print(f"corpus: {data} ({len(corpus.keys)} segments x {len(corpus.hyps)} systems = {pairs} pairs)")

    cmd = [str(MTDRIFT), "evaluate", "--data", str(data), "--quiet", "--threads", str(args.threads),
           "--device", args.device, "--cache", str(work / "cache")]  # fmt: skip
    if args.model:
        cmd += ["--model", args.model]
    # the ONNX export is made once per installation, like the mpnet unpack: not part of a run
    _run([sys.executable, "-c", _EXPORT.format(root=str(ROOT), model=model, device=args.device)])
    wall, out, cold_cpu = _run([sys.executable, "-c", _PEAK, *cmd, "--out", str(work / "cold")])
    peak_mb = int(out.strip().splitlines()[-1]) / 1024
    print(f"cold run: {wall:.1f} s, {pairs / wall:.0f} pairs/s, peak {peak_mb:.0f} MB")

    def bare(path: str, key: str) -> dict[str, float | str]:
        code = _BARE.format(root=str(ROOT), data=str(data), threads=args.threads, model=key, path=path,
                            device=args.device)  # fmt: skip
        return dict(json.loads(_run([sys.executable, "-c", code])[1]))

    encodes = {
        "encode_default": bare("mtdrift", model),
        "encode_default_torch": bare("sentence-transformers", model),
        "encode_minilm_torch": bare("sentence-transformers", "minilm"),
    }
    limit = encodes["encode_default"]
    minilm = float(encodes["encode_minilm_torch"]["seconds"])
    for name, e in encodes.items():
        print(
            f"{name}: bare encode of the {e['sentences']} distinct sentences "
            f"({'minilm' if 'minilm' in name else model}, {e['backend']}): {e['seconds']:.1f} s, "
            f"{float(e['seconds']) / minilm:.2f}x MiniLM's torch encode"
        )
    bare_s, bare_cpu = float(limit["seconds"]), float(limit["cpu"])
    ratio = wall / bare_s
    print(f"cold run / encode_default: ratio {ratio:.2f}")

    cached, _, _ = _run([*cmd, "--out", str(work / "warm")])
    files = ("segments.csv", "summary.json")
    same = all((work / "cold" / f).read_bytes() == (work / "warm" / f).read_bytes() for f in files)
    print(f"cached run: {cached:.1f} s ({wall / cached:.1f}x faster), outputs identical: {same}")

    _, out, _ = _run([sys.executable, "-c", _PARTS.format(root=str(ROOT), data=str(data))])
    parts = json.loads(out)
    ter = parts["ter"]["seconds"]
    cores = len(os.sched_getaffinity(0))
    names = {
        "ner": "spaCy NER",
        "rules": "rules",
        "bleu": "BLEU",
        "chrf": "chrF",
        "chrfpp": "chrF++",
        "ter": "TER",
    }
    besides = sum(parts[k]["cpu"] for k in names)
    rest = cold_cpu - bare_cpu - besides
    print(
        "CPU seconds: cold run "
        f"{cold_cpu:.1f} = bare encode {bare_cpu:.1f} ({bare_cpu / bare_s:.2f} cores busy) + "
        + " + ".join(f"{label} {parts[k]['cpu']:.1f}" for k, label in names.items())
        + f" + the rest {rest:.1f} (imports, model and spaCy loading, cache, scoring, reports)"
    )
    floor = cold_cpu / cores / bare_s
    lean = (cold_cpu - parts["ner"]["cpu"] - parts["ter"]["cpu"]) / cores / bare_s
    print(
        f"floor: the cold run's CPU time spread perfectly over {cores} cores takes {cold_cpu / cores:.1f} s, "
        f"ratio {floor:.2f}; without NER and TER it would be {lean:.2f}"
    )

    sacre = float("nan")
    if not args.skip_ter:
        _, out, _ = _run([sys.executable, "-c", _TER.format(root=str(ROOT), data=str(data))])
        theirs = json.loads(out)
        sacre = theirs["seconds"]
        identical = parts["ter_rows"] == theirs["rows"]
        print(f"TER statistics of {pairs} pairs: mtdrift {ter:.1f} s, sacrebleu single process {sacre:.1f} s "
              f"({sacre / ter:.2f}x), identical: {identical}")  # fmt: skip
    print(
        f"bench: model={model} pairs={pairs} wall={wall:.1f} ratio_to_bare_encode={ratio:.2f} "
        f"cached_wall={cached:.1f} peak_mb={peak_mb:.0f} "
        + " ".join(f"{k}={float(e['seconds']):.1f}" for k, e in encodes.items())
        + f" ter_wall={ter:.1f} sacrebleu_ter_wall={sacre:.1f}"
    )
    os.environ.get("KEEP_BENCH") or subprocess.run(["rm", "-rf", str(work)], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
