# Two commands set up everything on a fresh machine with Python >= 3.10 and pip:
#   make run    install into .venv, then run the whole pipeline on config/config.yaml
#   make test   install into .venv, then run the test suite
# run, report and estimate take your config: make run CONFIG=my.yaml (ARGS adds Snakemake options)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
CONFIG ?= config/config.yaml
ARGS ?=
# Snakemake's own message for a YAML error in --configfile names neither file nor line: check first.
CHECK_CONFIG = $(BIN)/python -m unlearning.config_load $(CONFIG) > /dev/null

.PHONY: install run report estimate verify test bench lint format clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

run: install
	$(CHECK_CONFIG)
	$(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG) $(ARGS)

report: install
	$(CHECK_CONFIG)
	$(BIN)/snakemake --configfile $(CONFIG) --report results/report.html $(ARGS)

# Planned jobs per rule and their estimated CPU time, from one timed batch per model and image size
estimate: install
	$(CHECK_CONFIG)
	$(BIN)/python -m unlearning.estimate --configfile $(CONFIG) --cores $(CORES) $(ARGS)

# Check every cached checkpoint; corrupt ones are listed and removed, so `make run` rebuilds them
verify: install
	$(CHECK_CONFIG)
	$(BIN)/snakemake --cores 1 --configfile $(CONFIG) verify

test: install
	$(BIN)/python -m pytest -q

# Project loops against bare PyTorch, a job's fixed cost, dry-run times: results/bench/bench.{json,md}
bench: install
	$(BIN)/python -m unlearning.bench $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check src tests workflow scripts
	$(BIN)/ruff format --check src tests workflow scripts
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint

format: install
	$(BIN)/ruff format src tests workflow scripts
	$(BIN)/ruff check --fix src tests workflow scripts
	$(BIN)/snakefmt Snakefile rules

clean:
	rm -rf results logs benchmarks .snakemake
