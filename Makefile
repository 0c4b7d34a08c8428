# The verbs a person uses. Every target installs what it needs first (cached outside the clone).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PY := .venv/bin/python
export PYTHONPATH := $(CURDIR)/workers
export IPA_PYTHON := $(CURDIR)/.venv/bin/python
ARTIFACTS := test-artifacts

.PHONY: help setup setup-node setup-python setup-system test format-check format test-ts test-py test-vllm test-image-stack demo demo-premise bench chaos gpu-check typecheck clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: setup-system setup-node setup-python ## Install everything (Node deps, Python env, redis-server), then say how to put `ipa` on PATH
	@scripts/ipa-on-path.sh

setup-system:
	@scripts/setup-system.sh $(if $(BROWSER),--browser,)

setup-node: node_modules/.package-lock.json
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup-python:
	@scripts/setup-python.sh

typecheck: setup-node ## TypeScript type check
	npx tsc --noEmit -p .

test: ## Run all tests (vitest + pytest) against a throwaway Redis
	@$(MAKE) --no-print-directory setup BROWSER=1
	@mkdir -p $(ARTIFACTS)
	@rc=0; \
	npx tsc --noEmit -p . || rc=1; \
	$(MAKE) --no-print-directory format-check || rc=1; \
	npx vitest run --reporter=default --reporter=json --outputFile.json=$(ARTIFACTS)/vitest.json || rc=1; \
	$(PY) -m pytest -q workers/tests --junitxml=$(ARTIFACTS)/pytest.xml || rc=1; \
	node scripts/test-summary.mjs $(ARTIFACTS)/vitest.json $(ARTIFACTS)/pytest.xml || rc=1; \
	exit $$rc

format-check: setup-node setup-python ## Formatting and lint: prettier (TypeScript, 120 columns) and ruff (lint + format, 120 columns); part of make test
	@npx prettier --check --log-level warn "**/*.{ts,mjs,js,cjs}" || { echo "format-check: run 'make format' to fix"; exit 1; }
	@.venv/bin/ruff check --quiet . || { echo "format-check: ruff's lint found the problems above ('make format' fixes most)"; exit 1; }
	@.venv/bin/ruff format --check --quiet . || { echo "format-check: run 'make format' to fix"; exit 1; }
	@echo "format-check: prettier and ruff find nothing to change"

format: setup-node setup-python ## Format the tree: prettier --write, ruff check --fix, ruff format
	npx prettier --write --log-level warn "**/*.{ts,mjs,js,cjs}"
	.venv/bin/ruff check --fix --quiet .
	.venv/bin/ruff format --quiet .

test-ts: setup ## vitest only
	npx vitest run

test-py: setup-python ## pytest only
	$(PY) -m pytest -q workers/tests

test-vllm: setup-python ## The vllm backend (sample, verify, revise, three rounds on one engine) on the tiny Qwen2-VL against the hf backend, in its own env (scripts/setup-vllm.sh, ~6 GB; not part of make test); train stages run in .venv
	@scripts/setup-vllm.sh
	.venv-vllm/bin/python -m pytest -q workers/tests_vllm -p no:cacheprovider --durations=0

test-image-stack: ## The worker tests on the worker image's own Python set (docker/worker-requirements.lock: CUDA vLLM and torch, on the CPU; scripts/setup-image-stack.sh, ~9 GB, cached)
	@scripts/setup-image-stack.sh
	IPA_PYTHON=$(CURDIR)/.venv-image/bin/python .venv-image/bin/python -m pytest -q workers/tests -p no:cacheprovider

# One process (node --import tsx, not the tsx wrapper): Ctrl-C reaches ipa run itself, which stops in order.
demo: setup ## Run recipes/tiny-canonical.yaml end to end (about 9 min on a quiet machine): SFT warm-up, 3 IPA rounds, evaluation, the results tables per round
	node --import tsx orchestrator/cli/main.ts run recipes/tiny-canonical.yaml

demo-premise: setup ## Run recipes/tiny.yaml, the premise task (issue 26): far longer than make demo (the warm-up alone an estimated 30-55 min on a quiet machine); prints fact accuracy, compliance, success and the verifier's audit per round
	node --import tsx orchestrator/cli/main.ts run recipes/tiny.yaml

bench: setup ## Benchmarks, side by side with their baselines; writes bench/results.json
	npx tsx bench/run.ts

chaos: setup ## Fault injection: 24 random faults (kills, Redis restart, FLUSHALL, late workers, truncated files) on a 256-seed run vs an undisturbed one
	npx tsx scripts/chaos.ts

gpu-check: setup-python ## The worker's sample, verify and DPO train stages on a random-weight Qwen2-VL-7B on a CUDA GPU: tokens/s, memory, MFU, HFU. Without a usable GPU it exits 2 saying why (GPU_CHECK_ARGS=--cpu-tiny: the tiny CPU form)
	$(PY) -m ipa_worker.tools.gpu_check $(GPU_CHECK_ARGS)

clean: ## Remove run directories and test artifacts (caches outside the clone stay)
	rm -rf runs $(ARTIFACTS) .cache
