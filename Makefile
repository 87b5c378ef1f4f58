# Two entry points, each doing its own set-up on a fresh machine (Python >= 3.11, PyPI access):
#   make study   run the default study (results/default/) and build its report
#   make test    run the test suite
# More: make install (only the environment, .venv/: about a minute), make tiny (the tiny study of
# config/test.yaml and its report, under a minute), make bench (hand-run benchmarks and their
# figures, results/benchmarks/), make reference
# (rebuild results/default/ from a clean clone of HEAD), make verify (rerun a study in a clean clone
# and check it against its committed reference), make lock (refresh requirements.lock).
PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV)/bin)
LOCK   := requirements.lock
# A C compiler decides whether the fused kernel is built: its presence is part of the stamp, so
# installing one and rerunning `make test` (or `make study`) rebuilds dlgeom with the kernel.
CC_PATH := $(shell command -v $(CC) 2>/dev/null)
STAMP  := $(VENV)/.installed-$(shell { cat pyproject.toml setup.py $(LOCK) src/dlgeom/_fused*.[ch]; \
            echo "cc=$(CC_PATH)"; } | sha1sum | cut -c1-12)
RUN    := PATH="$(BIN):$$PATH"
CORES  ?= all
REFTMP := /tmp/dlgeom-reference
# A clean clone runs its own src/ (the rules set PYTHONPATH to it), so its compiled kernels are built
# in place there; without a compiler the clone runs the engines that need nothing compiled.
KERNELS := $(BIN)/python setup.py -q build_ext --inplace > build.log 2>&1 \
  || echo "note: the compiled kernels were not built in the clone (see its build.log)"

.PHONY: install study tiny test report bench reference verify lock clean-results

# The exact environment: every package pinned with its hashes (requirements.lock), then dlgeom itself.
$(STAMP): pyproject.toml setup.py $(LOCK) $(wildcard src/dlgeom/_fused*.[ch])
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@$(BIN)/python -c "import dlgeom._fused" 2>/dev/null \
	  && echo "dlgeom: compiled kernel built (landscape engine 'fused' available)" \
	  || echo "dlgeom: NOTE: no C compiler found ($(CC)): the compiled kernel is not built, landscape engine \
	'fused' is unavailable ('batched' and 'sequential' work); install gcc or clang, then rerun make"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# The tiny study (every stage on a few small cells) and its report, results/tiny/.
tiny: $(STAMP)
	$(RUN) snakemake --cores $(CORES) --configfile config/test.yaml
	$(RUN) snakemake --configfile config/test.yaml --report results/tiny/report.html

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
	cd $(REFTMP) && $(KERNELS)
	cd $(REFTMP) && $(RUN) snakemake --cores $(CORES) > $(REFTMP)/study.log 2>&1 \
	  || { tail -40 $(REFTMP)/study.log; echo "make reference: the study failed (log: $(REFTMP)/study.log)"; exit 1; }
	cd $(REFTMP) && $(RUN) python benchmarks/study_timing.py --study default --out $(CURDIR)/results/benchmarks/study_default.json \
	  --update-docs $(CURDIR)/docs/performance.md
	$(RUN) python benchmarks/slurm_resources.py > /dev/null
	rm -rf results/default/tables results/default/figures results/default/report
	cp -r $(REFTMP)/results/default/tables $(REFTMP)/results/default/figures $(REFTMP)/results/default/report \
	  results/default/
	$(RUN) dlgeom headline --tables results/default/tables --update README.md
	$(RUN) dlgeom compare-studies --base results/default/tables --other results/paper/tables --update README.md
	@git status --short results/default | head -5

# Rerun a study in a clean clone of HEAD and check it against its committed reference
# (docs/studies.md, "Check a rerun"): STUDY=default (config/config.yaml) or STUDY=paper.
STUDY  ?= default
VERTMP := /tmp/dlgeom-verify-$(STUDY)
verify: $(STAMP)
	rm -rf $(VERTMP) && git clone --quiet . $(VERTMP) && rm -rf $(VERTMP)/results/$(STUDY)
	cd $(VERTMP) && $(KERNELS)
	cd $(VERTMP) && $(RUN) snakemake --cores $(CORES) $(if $(filter default,$(STUDY)),,--configfile config/$(STUDY).yaml) \
	  > $(VERTMP)/study.log 2>&1 || { tail -40 $(VERTMP)/study.log; echo "make verify: the study failed"; exit 1; }
	$(RUN) dlgeom verify --reference results/$(STUDY)/tables --rerun $(VERTMP)/results/$(STUDY)/tables

# One set of versions for every supported Python (--fork-strategy fewest: no per-Python forks of
# numpy or scipy), from the ranges in pyproject.toml; the versions already locked are kept.
lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra workflow --extra test --extra cluster --generate-hashes \
	  --universal --fork-strategy fewest --python-version 3.11 -o $(LOCK)

clean-results:
	rm -rf results/default/data results/default/cells results/default/logs results/default/landscape \
	       results/default/robustness results/default/beyond results/default/benchmarks results/default/settings \
	       results/default/tables results/default/figures results/default/report results/default/report.html
