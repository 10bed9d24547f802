# Set-up and the two jobs of the README. torch is pinned and installed first so pip takes the
# CPU build instead of pulling gigabytes of CUDA packages.
PYTHON ?= python3
TORCH ?= torch==2.13.0

.PHONY: install test test-fast lint demo gpu-wheels

install:
	$(PYTHON) -m pip install --quiet $(TORCH)
	$(PYTHON) -m pip install --quiet -e '.[test,demo]'

lint: install
	$(PYTHON) -m ruff check nvcodec tools tests spec

test: lint
	$(PYTHON) -m pytest -q

test-fast: install
	$(PYTHON) -m pytest -q -m 'not slow'

demo: install
	$(PYTHON) -m tools.demo

gpu-wheels: install
	$(PYTHON) -m tools.device_check --fetch-wheels
