# The two commands of the README's Quickstart, and a few conveniences.
#   make report [PRESET=smoke]   install into .venv, then run the pipeline to the report
#   make test                    install into .venv (with test tools), then run the test suite
#   make lock                    recompile requirements.lock from pyproject.toml and requirements.in
#   make install-slurm           add the Slurm executor plugin (`make test` does: tests/test_slurm.py)
# `make install` installs every package from requirements.lock (exact versions, hash-checked: the
# full tree of all extras for Linux x86_64 CPython 3.11) but the Slurm executor plugin, then the
# project itself without deps. The plugin, once installed, runs `scontrol show config` at every
# Snakemake start, which waits 9 s where the Slurm client is installed and no controller answers:
# local runs go without it; `make install-slurm` adds it, at the locked version and hashes.
VENV ?= .venv
PYTHON ?= python3
UV ?= uv
CORES ?= $(shell nproc)
PRESET ?=
BIN = $(VENV)/bin

SLURM_PLUGIN = ^snakemake-executor-plugin-slurm(-jobstep)?==

.PHONY: install install-slurm lock report test dry-run bench clean

$(BIN)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	awk -v re='$(SLURM_PLUGIN)' '/^[^ #]/ {skip = ($$0 ~ re)} !skip' requirements.lock > $(VENV)/requirements-local.txt
	$(BIN)/python -m pip install --quiet --require-hashes -r $(VENV)/requirements-local.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(BIN)/.installed-slurm: $(BIN)/.installed
	awk -v re='$(SLURM_PLUGIN)' '/^[^ #]/ {keep = ($$0 ~ re)} keep' requirements.lock > $(VENV)/requirements-slurm.txt
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r $(VENV)/requirements-slurm.txt
	touch $@

install: $(BIN)/.installed

install-slurm: $(BIN)/.installed-slurm

# Needs uv (`pip install uv`, or UV=/path/to/uv). Keeps the locked versions that still fit;
# add --upgrade (or --upgrade-package NAME) to move them.
lock:
	$(UV) pip compile --quiet pyproject.toml requirements.in --all-extras --generate-hashes \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 -o requirements.lock

report: install
	REPROLAB_PRESET=$(PRESET) $(BIN)/snakemake report --cores $(CORES) --resources gpu=1

test: install-slurm
	$(BIN)/python -m pytest

dry-run: install
	REPROLAB_PRESET=$(PRESET) $(BIN)/snakemake report -n --cores $(CORES) --resources gpu=1

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf results report logs benchmarks .snakemake
