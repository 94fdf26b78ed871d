# OMNet: the two commands for a fresh machine are `make demo` and `make test`.
# Each creates .venv (if needed), installs PyTorch without CUDA wheels on machines without an
# NVIDIA GPU (tools/install_torch.py), installs omnet with its test tools, and runs.
# `make test` then runs the PyTorch-free tests again under Python 3.9 and 3.12, the Pythons of
# Slicer 5.8 and of 5.10 / 5.12 (tools/test_oldest_python.py; skipped with a message where
# there is none).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.omnet-installed

.PHONY: help setup demo test test-oldest-python

help:
	@echo "make demo   set up .venv, then segment the synthetic demo case into demo-output/"
	@echo "make test   set up .venv, then run the test suite (ruff lint included)"
	@echo "            and the PyTorch-free tests under Python 3.9 and 3.12 (Slicer 5.8, 5.10/5.12)"
	@echo "make setup  only set up .venv"

$(STAMP): pyproject.toml tools/install_torch.py
	@$(PYTHON) -c "import sys; sys.exit(sys.version_info < (3, 9))" || \
		{ echo "OMNet needs Python 3.9 or newer: make $(MAKECMDGOALS) PYTHON=python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python tools/install_torch.py
	$(BIN)/python -m pip install -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/omnet demo -o demo-output

test: $(STAMP)
	$(BIN)/python -m pytest
	$(BIN)/python tools/test_oldest_python.py

test-oldest-python: $(STAMP)
	$(BIN)/python tools/test_oldest_python.py
