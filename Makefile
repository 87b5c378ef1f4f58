# Two entry points, each doing its own set-up on a fresh machine (Python >= 3.11, PyPI access):
#   make study   run the default study (results/) and build the report (results/report.html)
#   make test    run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV)/bin)
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
RUN    := PATH="$(BIN):$$PATH"
# Snakemake looks for profiles/default next to the Snakefile; ours lives under workflow/
PROFILE := --workflow-profile workflow/profiles/default
CORES  ?= all

.PHONY: study test report clean-results

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,workflow]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

study: $(STAMP)
	$(RUN) snakemake $(PROFILE) --cores $(CORES)
	$(RUN) snakemake --report results/report.html

report: $(STAMP)
	$(RUN) snakemake --report results/report.html

test: $(STAMP)
	$(RUN) python -m pytest

clean-results:
	rm -rf results/data results/cells results/logs results/landscape results/robustness results/beyond \
	       results/benchmarks/jobs results/tables results/figures results/report.html
