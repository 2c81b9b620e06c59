# The two commands: `make run` (the local stack) and `make test` (the whole suite). Both set up what they need.
VENV   := .venv
PY     := $(VENV)/bin/python
HELM   := layers/helm/build/v4/helm layers/helm/build/v3/helm

.PHONY: run test setup kube lint unit e2e chaos fuzz-values mutation clean-state package package-terraform

run: setup
	$(PY) -m devstack

test: setup lint
	$(PY) -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed $(HELM) kube

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check 'pip<26.3'
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

$(HELM) &: layers/helm/build.sh
	layers/helm/build.sh

kube:
	scripts/install-kube.sh
	scripts/install-registry.sh

# ruff (lint + format), mypy --strict on everything but the tests, and the layering contracts (pyproject.toml)
PYTHON_SOURCES := app.py chalicelib charthouse_cli devstack chaos tests bench deploy
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check $(PYTHON_SOURCES)
	$(VENV)/bin/ruff format --check $(PYTHON_SOURCES)
	$(VENV)/bin/mypy --strict chalicelib charthouse_cli devstack chaos
	$(VENV)/bin/lint-imports --no-cache

unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit tests/functional

e2e: setup
	$(PY) -m pytest tests/e2e

# the chaos harness, longer than make test's fixed-seed run (docs/RELIABILITY.md): CHAOS_MINUTES, CHAOS_SEED
CHAOS_MINUTES ?= 30
CHAOS_SEED ?= 1
chaos: setup
	$(PY) -m chaos --seed $(CHAOS_SEED) --minutes $(CHAOS_MINUTES)

# mutation testing of the security- and reliability-critical modules ([tool.mutmut] in pyproject.toml); the score
# and the explained survivors are in docs/SECURITY.md
mutation: setup
	rm -rf mutants
	$(VENV)/bin/mutmut run
	$(VENV)/bin/mutmut results

# the differential fuzz of --set/--set-string/--set-json against both helm majors, longer than make test's run
fuzz-values: setup
	CHARTHOUSE_FUZZ_EXAMPLES=$${CHARTHOUSE_FUZZ_EXAMPLES:-2000} $(PY) -m pytest tests/unit/domain/values/test_output.py -k fuzz

clean-state:
	rm -rf .local

# A deployable template: `make package STAGE=prod`, then `aws cloudformation package` + `deploy` on dist/<stage>/sam.json
STAGE ?= dev
package: $(VENV)/.installed $(HELM)
	rm -rf dist/$(STAGE) && mkdir -p dist
	$(PY) -m deploy.merge_template dist/merge-$(STAGE).json $(STAGE)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(VENV)/bin/chalice package --stage $(STAGE) \
		--merge-template dist/merge-$(STAGE).json dist/$(STAGE)
	$(PY) -m deploy.bytecode dist/$(STAGE)
	cp layers/helm/build/helm-layer.zip dist/$(STAGE)/
	$(VENV)/bin/cfn-lint dist/$(STAGE)/sam.json deploy/examples/helm-release.yaml

# The same in Terraform's form: dist/<stage>-terraform/ (chalice.tf.json, deployment.zip, helm-layer.zip)
package-terraform: $(VENV)/.installed $(HELM)
	rm -rf dist/$(STAGE)-terraform && mkdir -p dist
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(VENV)/bin/chalice package --pkg-format terraform \
		--stage $(STAGE) dist/$(STAGE)-terraform
	$(PY) -m deploy.bytecode dist/$(STAGE)-terraform
	$(PY) -m deploy.terraform dist/$(STAGE)-terraform $(STAGE)
	cp layers/helm/build/helm-layer.zip dist/$(STAGE)-terraform/
