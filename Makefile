# Two entry points, each doing its own set-up on a fresh machine (Python >= 3.11, PyPI access):
#   make study   run the default study (results/default/) and build its report
#   make test    run the test suite
# More: make bench (hand-run benchmarks and their figures, results/benchmarks/), make reference
# (rebuild results/default/ from a clean clone of HEAD), make lock (refresh requirements.lock).
PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV)/bin)
LOCK   := requirements.lock
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml setup.py $(LOCK) src/dlgeom/_fused*.[ch] | sha1sum | cut -c1-12)
RUN    := PATH="$(BIN):$$PATH"
CORES  ?= all
REFTMP := /tmp/dlgeom-reference

.PHONY: study test report bench reference lock clean-results

# The exact environment: every package pinned with its hashes (requirements.lock), then dlgeom itself.
$(STAMP): pyproject.toml setup.py $(LOCK) $(wildcard src/dlgeom/_fused*.[ch])
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $(STAMP)

study: $(STAMP)
	$(RUN) snakemake --cores $(CORES)
	$(RUN) snakemake --report results/default/report.html

report: $(STAMP)
	$(RUN) snakemake --report results/default/report.html

test: $(STAMP)
	$(RUN) python -m pytest

# Hand-run benchmarks (a quiet machine, minutes each) and the figures drawn from them.
bench: $(STAMP)
	$(RUN) python benchmarks/bench_scaling.py
	$(RUN) python benchmarks/bench_time_to_cost.py
	$(RUN) python -m dlgeom perf-figure --name scaling --data results/benchmarks/scaling.json --out results/benchmarks/scaling
	$(RUN) python -m dlgeom perf-figure --name time_to_cost --data results/benchmarks/time_to_cost.json --out results/benchmarks/time_to_cost

# The committed reference: the default study run in a clean clone of HEAD (provenance names that
# commit), its tables, figures and verdict summary (report/) copied back, and its wall time and job count recorded.
reference: $(STAMP)
	@test -z "$$(git status --porcelain --untracked-files=no)" \
	  || { echo "make reference: the work tree has uncommitted changes; commit them first"; exit 1; }
	rm -rf $(REFTMP) && git clone --quiet . $(REFTMP) && rm -rf $(REFTMP)/results/default
	cd $(REFTMP) && $(RUN) snakemake --cores $(CORES) > $(REFTMP)/study.log 2>&1 \
	  || { tail -40 $(REFTMP)/study.log; echo "make reference: the study failed (log: $(REFTMP)/study.log)"; exit 1; }
	cd $(REFTMP) && $(RUN) python benchmarks/study_timing.py --study default --out $(CURDIR)/results/benchmarks/study_default.json \
	  --update-docs $(CURDIR)/docs/performance.md
	$(RUN) python benchmarks/slurm_resources.py > /dev/null
	rm -rf results/default/tables results/default/figures results/default/report
	cp -r $(REFTMP)/results/default/tables $(REFTMP)/results/default/figures $(REFTMP)/results/default/report \
	  results/default/
	@git status --short results/default | head -5

lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra workflow --extra test --extra cluster --generate-hashes \
	  --universal --python-version 3.11 -o $(LOCK)

clean-results:
	rm -rf results/default/data results/default/cells results/default/logs results/default/landscape \
	       results/default/robustness results/default/beyond results/default/benchmarks results/default/settings \
	       results/default/tables results/default/figures results/default/report results/default/report.html
