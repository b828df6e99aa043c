# The two commands of the README's Quickstart, and a few conveniences.
#   make report [PRESET=smoke]   install into .venv, then run the pipeline to the report
#   make test                    install into .venv (with test tools), then run the test suite
#   make lock                    recompile requirements.lock from pyproject.toml and requirements.in
# `make install` installs every package from requirements.lock (exact versions, hash-checked: the
# full tree of all extras for Linux x86_64 CPython 3.11), then the project itself without deps.
VENV ?= .venv
PYTHON ?= python3
UV ?= uv
CORES ?= $(shell nproc)
PRESET ?=
BIN = $(VENV)/bin

.PHONY: install lock report test dry-run bench clean

$(BIN)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(BIN)/.installed

# Needs uv (`pip install uv`, or UV=/path/to/uv). Keeps the locked versions that still fit;
# add --upgrade (or --upgrade-package NAME) to move them.
lock:
	$(UV) pip compile --quiet pyproject.toml requirements.in --all-extras --generate-hashes \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 -o requirements.lock

report: install
	REPROLAB_PRESET=$(PRESET) $(BIN)/snakemake report --cores $(CORES) --resources gpu=1

test: install
	$(BIN)/python -m pytest

dry-run: install
	REPROLAB_PRESET=$(PRESET) $(BIN)/snakemake report -n --cores $(CORES) --resources gpu=1

bench: install
	$(BIN)/python bench/engine_throughput.py
	$(BIN)/python bench/smoke_run.py
	$(BIN)/python bench/cifar_augment.py

clean:
	rm -rf results report logs benchmarks .snakemake
