# imagegate developer tasks. `make install` then `make run` starts the service;
# `make test` runs the tests. Everything lives in .venv; nothing is installed globally.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint format check clean bench bench-stores bench-reconcile e2e-tools e2e cluster-tools cluster-images cluster-e2e kind-up kind-e2e

install: $(STAMP) ## create .venv and install imagegate with its development tools

# Re-install only when the project's dependencies change.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("imagegate needs Python >= 3.11") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

run: install ## serve the API on http://127.0.0.1:8080 with the embedded store ./imagegate.db
	$(BIN)/imagegate serve

test: install ## run the whole test suite
	$(BIN)/pytest

lint: install ## ruff (lint and format check) and mypy
	$(BIN)/ruff check src tests benchmarks testbed
	$(BIN)/ruff format --check src tests benchmarks testbed
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix src tests benchmarks testbed
	$(BIN)/ruff format src tests benchmarks testbed

check: lint test

# Extra flags for the webhook benchmark (python -m benchmarks.webhook --help),
# e.g. BENCH_ARGS="--soak 0 --servers floor,imagegate-audit".
BENCH_ARGS ?=

# The kopf peer needs kube-apiserver and etcd: hack/e2e-tools.sh builds them once (cached) and
# prints their directory last; without them the run says the kopf peer was skipped, and why.
bench: install ## imagegate vs a bare aiohttp floor and a kopf webhook (under 10 min); writes benchmarks/results/latest.json
	IMAGEGATE_E2E_BIN="$$(hack/e2e-tools.sh | tail -1)" $(BIN)/python -m benchmarks.webhook $(BENCH_ARGS)

# Extra flags for python -m benchmarks.stores, e.g. STORES_ARGS="--records 200000 --writes 500".
STORES_ARGS ?=

bench-stores: install ## SQLite vs PostgreSQL store over 1M records (needs Debian's postgresql); writes benchmarks/results/stores.json
	$(BIN)/python -m benchmarks.stores $(STORES_ARGS)

# Extra flags for python -m benchmarks.reconcile, e.g. RECONCILE_ARGS="--workloads 2000".
RECONCILE_ARGS ?=

bench-reconcile: install ## the cluster watch reconciling 10,000 workloads on a real kube-apiserver; writes benchmarks/results/reconcile.json
	IMAGEGATE_E2E_BIN="$$(hack/e2e-tools.sh | tail -1)" $(BIN)/python -m benchmarks.reconcile $(RECONCILE_ARGS)

# --- end-to-end tests against a real kube-apiserver ---------------------------------

e2e-tools: ## build (once; cached outside the repo) kube-apiserver, etcd, kubectl and helm
	hack/e2e-tools.sh

e2e: install ## the end-to-end suite on a local kube-apiserver + etcd (builds them if needed)
	IMAGEGATE_E2E_BIN="$$(hack/e2e-tools.sh | tail -1)" IMAGEGATE_E2E_REQUIRED=1 \
		$(BIN)/pytest tests/e2e

# --- end-to-end tests on a cluster with a real node ----------------------------------
# Needs root: the harness runs containerd, kubelet and the rest in a network namespace
# of its own (tests/cluster, docs/testing.md).

cluster-tools: ## build (once; cached outside the repo) the node's binaries; installs Debian's packages
	hack/cluster-tools.sh

cluster-images: ## build the images the node runs (imagegate from the Dockerfile) with buildah
	hack/cluster-images.sh "$$(hack/cluster-tools.sh | tail -1)"

cluster-e2e: install ## the node suite: helm install of the built image, real pods (builds what it needs)
	tools="$$(hack/cluster-tools.sh | tail -1)" && hack/cluster-images.sh "$$tools" && \
	IMAGEGATE_CLUSTER_BIN="$$tools" IMAGEGATE_CLUSTER_REQUIRED=1 $(BIN)/pytest tests/cluster

# For users with Docker and kind; not run in this repository's CI (no Docker engine).
KIND_CLUSTER ?= imagegate-e2e

kind-up: ## (Docker + kind) create a kind cluster for the end-to-end scenarios
	kind get clusters | grep -qx '$(KIND_CLUSTER)' || kind create cluster --name '$(KIND_CLUSTER)' --wait 120s

kind-e2e: install kind-up ## (Docker + kind) the end-to-end scenarios on the kind cluster
	kind get kubeconfig --name '$(KIND_CLUSTER)' > .kind-kubeconfig
	IMAGEGATE_E2E_KUBECONFIG="$(CURDIR)/.kind-kubeconfig" \
	IMAGEGATE_E2E_WEBHOOK_HOST="$$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' | tr ' ' '\n' | grep -E '^[0-9.]+$$' | head -1)" \
		$(BIN)/pytest tests/e2e

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache

# --- container image and Helm chart ------------------------------------------------

.PHONY: docker-build helm-lint manifests kind-load kind-deploy

IMAGE_REPOSITORY ?= imagegate
IMAGE_TAG        ?= dev
IMAGE            ?= $(IMAGE_REPOSITORY):$(IMAGE_TAG)
IMAGE_SOURCE     ?= https://github.com/imagegate/imagegate
PROJECT_VERSION  := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
# helm on PATH, else the pinned one hack/e2e-tools.sh builds (expanded only when used).
HELM             ?= $(shell command -v helm 2>/dev/null || echo "$$(hack/e2e-tools.sh | tail -1)/helm")

docker-build: ## (Docker) build the image $(IMAGE) from the Dockerfile, with OCI labels
	docker build -t '$(IMAGE)' \
		--build-arg VERSION='$(PROJECT_VERSION)' \
		--build-arg REVISION="$$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
		--build-arg SOURCE='$(IMAGE_SOURCE)' \
		.

helm-lint: ## lint the Helm chart charts/imagegate (values checked against its schema)
	'$(HELM)' lint charts/imagegate --strict

manifests: ## re-render manifests/ from the chart's defaults (pinned helm; commit the result)
	hack/render-manifests.sh

kind-load: ## (Docker + kind) load the locally built $(IMAGE) into the kind cluster's nodes
	kind load docker-image '$(IMAGE)' --name '$(KIND_CLUSTER)'

kind-deploy: kind-up docker-build kind-load ## (Docker + kind) install the chart with the local image into the kind cluster
	'$(HELM)' upgrade --install imagegate charts/imagegate \
		--kube-context 'kind-$(KIND_CLUSTER)' --namespace imagegate --create-namespace \
		--set image.repository='$(IMAGE_REPOSITORY)' --set image.tag='$(IMAGE_TAG)' \
		--set image.pullPolicy=Never --set clusterName='$(KIND_CLUSTER)' \
		--wait --timeout 5m
	'$(HELM)' test imagegate --kube-context 'kind-$(KIND_CLUSTER)' --namespace imagegate --logs
