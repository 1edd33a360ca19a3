# Two entry points (see README): `make demo` and `make test`. Both create .venv when needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean peers kernels

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# The engine's kernels compiled ahead of time (src/antiphon/model/ahead_of_time.py), again whenever a module there
# changes: `serve` then runs without Numba (about 127 MB less). The build needs a C compiler (Debian's gcc, installed
# here when missing); without one it says so and the engine compiles the same kernels with Numba when it starts.
KERNELS := $(VENV)/.kernels
$(KERNELS): $(STAMP) $(wildcard src/antiphon/model/*.py)
	@command -v cc >/dev/null || { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev) >/dev/null 2>&1 \
	  || echo "warning: no C compiler and could not install gcc (needs root and Debian's registry)"; }
	$(BIN)/python -m antiphon.model.ahead_of_time
	touch $(KERNELS)

kernels: $(KERNELS)

demo: $(STAMP) $(KERNELS)
	$(BIN)/antiphon demo

LINTED := src tests benchmarks tools

# The suite runs in two processes (pytest-xdist), a test file to each at a time, so a file's module fixtures are built
# once; each torch process (and every process a test starts) computes on one thread, or the two would fight over the
# 2 cores (a sharpness test took 6 s alone and 37 s beside another with two threads each). `pytest` alone runs it serially.
test: $(STAMP) $(KERNELS) peers
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile

# Real peers for the interop tests: liblo's oscsend/oscdump (Debian liblo-tools), Pure Data (puredata-core, run
# headless), and a JACK server with its dummy backend (jackd2) that gives PortAudio (libportaudio2) devices without a sound card
peers:
	@command -v oscsend >/dev/null && command -v oscdump >/dev/null && command -v pd >/dev/null && command -v jackd >/dev/null \
	  && ldconfig -p | grep -q libportaudio.so || \
	  { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends liblo-tools puredata-core jackd2 libportaudio2) >/dev/null 2>&1 \
	    || echo "warning: could not install liblo-tools, puredata-core, jackd2 and libportaudio2 (needs root and Debian's registry); the liblo, Pd and JACK tests will be skipped"; }

bench: $(STAMP) $(KERNELS)
	$(BIN)/python benchmarks/analysis.py
	$(BIN)/python benchmarks/training.py
	$(BIN)/python benchmarks/versus_impsy.py
	test -f demo-output/model/model.json || $(BIN)/antiphon demo
	$(BIN)/python benchmarks/realtime.py
	$(BIN)/python benchmarks/live.py
	$(BIN)/python benchmarks/study.py

clean:
	rm -rf $(VENV) demo-output bench-output
