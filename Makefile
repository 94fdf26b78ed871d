# OMNet: the two commands for a fresh machine are `make demo` and `make test`.
# Each creates .venv (if needed), installs PyTorch without CUDA wheels on machines without an
# NVIDIA GPU (tools/install_torch.py), installs omnet with its test tools, and runs.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.omnet-installed

.PHONY: help setup demo test

help:
	@echo "make demo   set up .venv, then segment the synthetic demo case into demo-output/"
	@echo "make test   set up .venv, then run the test suite (ruff lint included)"
	@echo "make setup  only set up .venv"

$(STAMP): pyproject.toml tools/install_torch.py
	@$(PYTHON) -c "import sys; sys.exit(sys.version_info < (3, 10))" || \
		{ echo "OMNet needs Python 3.10 or newer: make $(MAKECMDGOALS) PYTHON=python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python tools/install_torch.py
	$(BIN)/python -m pip install -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/omnet demo -o demo-output

test: $(STAMP)
	$(BIN)/python -m pytest
