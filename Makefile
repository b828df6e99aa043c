# The two commands of the README's Quickstart, and a few conveniences.
#   make report [PRESET=smoke]   install into .venv, then run the pipeline to the report
#   make test                    install into .venv (with test tools), then run the test suite
VENV ?= .venv
CORES ?= $(shell nproc)
PRESET ?=
BIN = $(VENV)/bin

.PHONY: install report test dry-run bench clean

$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,slurm]'
	touch $@

install: $(BIN)/.installed

report: install
	REPROLAB_PRESET=$(PRESET) $(BIN)/snakemake --resources gpu=1 --cores $(CORES) report

test: install
	$(BIN)/python -m pytest

dry-run: install
	REPROLAB_PRESET=$(PRESET) $(BIN)/snakemake -n --resources gpu=1 --cores $(CORES) report

bench: install
	$(BIN)/python bench/engine_throughput.py
	$(BIN)/python bench/smoke_run.py

clean:
	rm -rf results report logs benchmarks .snakemake
