# Two entry points (see README): `make demo` and `make test`. Both create .venv when needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean osc-peers

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/antiphon demo

LINTED := src tests benchmarks tools

test: $(STAMP) osc-peers
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/python -m pytest -q

# Real OSC peers for the interop tests: liblo's oscsend/oscdump (Debian liblo-tools) and Pure Data (puredata-core, run headless)
osc-peers:
	@command -v oscsend >/dev/null && command -v oscdump >/dev/null && command -v pd >/dev/null || \
	  { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends liblo-tools puredata-core) >/dev/null 2>&1 \
	    || echo "warning: could not install liblo-tools and puredata-core (needs root and Debian's registry); the liblo and Pd tests will be skipped"; }

bench: $(STAMP)
	$(BIN)/python benchmarks/analysis.py
	$(BIN)/python benchmarks/training.py
	$(BIN)/python benchmarks/versus_impsy.py
	test -f demo-output/model/model.json || $(BIN)/antiphon demo
	$(BIN)/python benchmarks/realtime.py
	$(BIN)/python benchmarks/study.py

clean:
	rm -rf $(VENV) demo-output bench-output
