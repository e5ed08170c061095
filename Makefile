# Thin entry points; the logic lives in harness/ (see harness/toolchain/gotools.py for the pinned tools).
TOOLS    := .tools
VENV     := $(TOOLS)/venv
PYTHON   := $(VENV)/bin/python
VENV_OK  := $(VENV)/.installed
REQS     := app/requirements.txt requirements/dev.txt

.DEFAULT_GOAL := help
.PHONY: help setup demo test lint docs clean bench ipool-docs

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: $(VENV_OK) ## install every pinned tool into .tools/ (venv, helm, helm3, ct, control plane)
	$(PYTHON) -m harness.toolchain.debian install
	$(PYTHON) -m harness.toolchain.gotools install
	$(PYTHON) -m harness.toolchain.controlplane install

# Re-run pip whenever a requirement file changes.
$(VENV_OK): $(REQS)
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --disable-pip-version-check -q $(addprefix -r ,$(REQS))
	touch $@

demo: setup ## install 1.0.0, upgrade to 1.5.0, both kinds (KUBECONFIG, else the local cluster)
	$(PYTHON) -m harness.ops.demo

test: setup ## run all tests
	$(PYTHON) -m pytest

lint: setup ## lint the Python code with ruff
	$(VENV)/bin/ruff check .

docs: setup ## regenerate the chart README's values table from values.yaml
	$(PYTHON) -m harness.chart.values_doc

ipool-docs: setup ## rehearse every ipool rollout on the cluster; writes docs/ipool.md
	$(PYTHON) -m harness.ipool.scenarios --write docs/ipool.md

bench: setup ## measure the image inside the chart's limits; writes docs/benchmark.md
	$(PYTHON) -m harness.container.bench

# The image tests' engine mounts its layers under .tools: stop it first, or rm cannot remove them.
clean: ## remove .tools/ (venv, built tools, scratch)
	if test -x $(PYTHON); then $(PYTHON) -m harness.cluster down; fi
	if test -x $(PYTHON); then $(PYTHON) -m harness.container down; fi
	rm -rf $(TOOLS)
