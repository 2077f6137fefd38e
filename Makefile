# kiln: the two commands of the README are `make render` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
PY_TOOLS := $(VENV)/.installed
KILN := $(CARGO) run --quiet --locked -p kiln-cli --

.PHONY: render check test lint build bench

## render: compile base/, overlays/ and strategies/ into out/
render:
	$(KILN) render

## check: fail if out/ is stale (what CI of a GitOps repo runs)
check:
	$(KILN) render --check

## test: formatting, lints and every test, with the external oracles
test: $(PY_TOOLS) lint
	KILN_VENV=$(CURDIR)/$(VENV) $(CARGO) test --workspace --locked

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --locked --no-deps -p kiln

build:
	$(CARGO) build --locked --release -p kiln-cli

## bench: criterion benchmarks of the stages, then kiln vs kubectl kustomize (not run by CI)
bench: build
	$(CARGO) bench --locked -p kiln-tests --bench stages
	$(CARGO) bench --locked -p kiln-tests --bench compare

# Python oracles (kubernetes-validate, jsonschema, PyYAML) live in a virtualenv of their own.
$(PY_TOOLS): tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@
