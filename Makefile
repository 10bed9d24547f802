# Set-up and the two jobs of the README, in a virtual environment (.venv) so that a system
# Python that refuses `pip install` (PEP 668: Debian 12, Ubuntu 24.04) works as well.
# --system-site-packages lets the venv use what the machine already has (torch included), so
# nothing is downloaded twice. torch is pinned and installed first; PyPI's Linux torch is the
# CUDA build, so a CPU-only machine passes TORCH_INDEX=https://download.pytorch.org/whl/cpu.
PYTHON ?= python3
VENV ?= .venv
VENV_OPTIONS ?= --system-site-packages
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
BIN = $(VENV)/bin

.PHONY: install test test-fast lint demo gpu-wheels

$(BIN)/python:
	$(PYTHON) -m venv $(VENV_OPTIONS) $(VENV)

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) '$(TORCH)'
	$(BIN)/python -m pip install --quiet -e '.[test,demo,ray]'

lint: install
	$(BIN)/python -m ruff check nvcodec tools tests spec

test: lint
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m 'not slow'

demo: install
	$(BIN)/python -m tools.demo

gpu-wheels: install
	$(BIN)/python -m tools.device_check --fetch-wheels
