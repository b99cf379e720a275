"""`make bench-encoders`: what each packaged encoder costs, beside how well its fitted fidelity agrees
with people when the data set was left out of the fit.

Cost: for each encoder of ``metrics.models.MODELS``, in a fresh process (the model loaded first,
loading timed on its own): ``SentenceEncoder(model).encode(texts, tokens=True)``, the pipeline's
own call (sentence and token vectors from one forward pass), over the first ``--texts`` distinct
references and candidates of the WMT23 zh-en dev set (without ``../shared``: the seed sentences
repeated), with ``--threads`` torch threads; wall time, texts/s, CPU seconds and peak memory.

Agreement: the leave-one-data-set-out by-item tau and system accuracy that ``make fit`` wrote
into each encoder's parameter file.

The last line is ``bench-encoders: minilm=T1/s mpnet=T2/s ratio=R``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "mqm" / "wmt23_zhen_mqm.dev.jsonl.gz"

_RUN = """
import json, os, resource, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"; os.environ["TRANSFORMERS_OFFLINE"] = "1"
sys.path.insert(0, {root!r})
from mtdrift.metrics.encoders import SentenceEncoder
texts = json.loads(open({texts!r}, encoding="utf-8").read())
enc = SentenceEncoder({model!r}, threads={threads})
t0 = time.perf_counter(); enc.model; load = time.perf_counter() - t0
enc.encode(["warm up"], tokens=True)
t0, c0 = time.perf_counter(), time.process_time()
enc.encode(texts, tokens=True)
took, cpu = time.perf_counter() - t0, time.process_time() - c0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": took, "cpu": cpu, "load": load, "texts": len(texts), "peak_mb": peak}}))
"""


def texts(n: int) -> list[str]:
    """The first ``n`` distinct texts of the WMT23 dev corpus (or of the seeds, repeated)."""
    if DATA.is_file():
        from mtdrift.eval.corpus import read_corpus

        corpus = read_corpus(DATA)
        pool = list(dict.fromkeys([*corpus.refs, *(h for hs in corpus.hyps.values() for h in hs)]))
    else:
        from mtdrift.eval.segment import split_sentences

        seeds = ROOT / "seeds"
        pool = [
            s.text
            for f in sorted(seeds.glob("*.txt"))
            for s in split_sentences(f.read_text(encoding="utf-8"))
        ]
        pool = [f"{t} ({k})" for k in range(n // len(pool) + 1) for t in pool]
    return pool[:n]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    import tempfile

    from mtdrift.eval.judge import params_file
    from mtdrift.metrics.models import MODELS

    sample = texts(args.texts)
    chars = sum(len(t) for t in sample) / len(sample)
    print(f"{len(sample)} texts ({chars:.0f} characters on average), {args.threads} torch threads")
    speed = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "texts.json"
        path.write_text(json.dumps(sample), encoding="utf-8")
        for model in MODELS:
            code = _RUN.format(root=str(ROOT), texts=str(path), model=model, threads=args.threads)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            speed[model] = r["texts"] / r["seconds"]
            print(
                f"{model:7s} encode {r['seconds']:6.1f} s = {speed[model]:6.1f} texts/s, "
                f"CPU {r['cpu']:.1f} s, load {r['load']:.1f} s, peak {r['peak_mb']:.0f} MB"
            )
    print("\nagreement with MQM of each encoder's fitted fidelity, each data set left out of the fit")
    print("(by-item Kendall tau-b / system pairwise accuracy; from metrics/params, written by make fit)")
    for model in MODELS:
        lodo = json.loads(params_file(model).read_text(encoding="utf-8"))["lodo"]["by_item_and_sys_acc"]
        cells = "  ".join(f"{n} {v['by_item']:.3f} / {v['sys_acc']:.3f}" for n, v in lodo.items())
        print(f"{model:7s} {cells}")
    keys = list(MODELS)
    ratio = speed[keys[0]] / speed[keys[1]]
    print(f"bench-encoders: {' '.join(f'{m}={speed[m]:.1f}/s' for m in keys)} ratio={ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
