# Thin entry points; the logic lives in harness/ (docs/architecture.md), the pins in
# harness/toolchain and requirements/.
TOOLS    := .tools
VENV     := $(TOOLS)/venv
PYTHON   := $(VENV)/bin/python
VENV_OK  := $(VENV)/.installed
SCRIPTS_OK := $(VENV)/.scripts-installed
# checkov's many dependencies clash with dev.txt's pins: it gets a venv of its own.
CHECKOV_VENV := $(TOOLS)/checkov-venv
CHECKOV_OK := $(CHECKOV_VENV)/.installed
REQS     := requirements/scripts.txt requirements/dev.txt app/requirements.txt
# Every pin carries its sha256 (harness.toolchain.pins): pip refuses a file that differs.
PIP      := $(PYTHON) -m pip install --disable-pip-version-check -q --require-hashes

.DEFAULT_GOAL := help
.PHONY: help setup setup-scripts demo test test-times lint docs clean bench ipool-docs rollout-docs disruption-docs bench-harness

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

setup: $(VENV_OK) $(CHECKOV_OK) ## install every pinned tool the tests need into .tools/ (needs root, Go)
	$(PYTHON) -m harness.toolchain.debian install
	$(PYTHON) -m harness.toolchain.gotools install
	$(PYTHON) -m harness.toolchain.renderer install
	$(PYTHON) -m harness.toolchain.crds install
	$(PYTHON) -m harness.toolchain.controlplane install
	$(PYTHON) -m harness.toolchain.node_parts install

setup-scripts: $(SCRIPTS_OK) ## only what scripts/ need: a venv and the pinned helm
	$(PYTHON) -m harness.toolchain.gotools install helm

# Re-run pip whenever a requirement file changes.
$(VENV_OK): $(REQS)
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PIP) $(addprefix -r ,$(REQS))
	touch $@

$(SCRIPTS_OK): requirements/scripts.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PIP) -r requirements/scripts.txt
	touch $@

$(CHECKOV_OK): requirements/checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --disable-pip-version-check -q --require-hashes -r requirements/checkov.txt
	mkdir -p $(TOOLS)/bin
	ln -sfn ../checkov-venv/bin/checkov $(TOOLS)/bin/checkov
	touch $@

demo: setup ## install 1.0.0, upgrade to 1.5.0, both kinds (the local cluster, or DEMO_KUBECONFIG's)
	$(PYTHON) -m harness.demo $(if $(DEMO_KUBECONFIG),--kubeconfig $(DEMO_KUBECONFIG))

# Test files run side by side in TEST_PROCESSES processes (pytest-xdist; pyproject.toml), each
# file's tests in one process, the slowest files first (tests/conftest.py); the processes
# share one cluster and one engine (tests/support/shared.py). 0 runs all in this process.
# `make test` checks 2,000 generated values sets (a bare pytest run, 400: tests/support/property_runs.py).
TEST_PROCESSES ?= 4
PROPERTY_CASES ?= 2000
PYTEST   := DFA_PROPERTY_CASES=$(PROPERTY_CASES) $(PYTHON) -m pytest --numprocesses $(TEST_PROCESSES)
test: setup ## run all tests (e2e on the local cluster, or DFA_E2E_KUBECONFIG's)
	$(PYTEST)

test-times: setup ## run all tests as `make test` does; writes docs/test-times.md from their times
	DFA_TEST_TIMES=docs/test-times.json $(PYTEST)

lint: setup ## lint the Python code with ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

docs: setup ## regenerate the chart README's values table from values.yaml
	$(PYTHON) -m harness.chart.values_doc

ipool-docs: setup ## rehearse every ipool rollout on the local cluster; writes docs/ipool.md
	$(PYTHON) -m harness.ipool.scenarios --write docs/ipool.md

rollout-docs: setup ## count failed requests through the Service during upgrades; writes docs/rollout-under-load.md
	$(PYTHON) -m harness.traffic.under_load

disruption-docs: setup ## drain a node and kill one on two real nodes, under load; writes docs/node-disruptions.md
	$(PYTHON) -m harness.disruption

bench: setup ## measure the image inside the chart's limits; writes docs/benchmark.md
	$(PYTHON) -m harness.bench.image

bench-harness: setup ## time render() against helm-unittest on the same 200 value sets; writes docs/harness-benchmark.md
	$(PYTHON) -m harness.toolchain.helm_unittest install
	$(PYTHON) -m harness.bench.render

# The image tests' engine mounts its layers under .tools: stop it first, or rm cannot remove them.
clean: ## stop the local cluster and engine, remove .tools/
	if test -x $(PYTHON); then $(PYTHON) -m harness.cluster down; fi
	if test -x $(PYTHON); then $(PYTHON) -m harness.container down; fi
	rm -rf $(TOOLS)
