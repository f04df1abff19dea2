# Everyday commands. `make` alone lists them. Without Nix run `make bootstrap` once first;
# inside `nix develop` the tools are already on PATH (USERS_STACK_NO_VENV=1) and bootstrap is not needed.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

ifndef USERS_STACK_NO_VENV
export PATH := $(CURDIR)/.venv/bin:$(CURDIR)/bin:$(CURDIR)/postman/node_modules/.bin:$(PATH)
endif
# Debian keeps mysqld and mariadbd in /usr/sbin.
export PATH := $(PATH):/usr/sbin

PYTEST ?= python -m pytest
SHELL_SCRIPTS := $(filter-out scripts/lib,$(wildcard scripts/* bench/run bench/profile)) scripts/lib/env.sh .ci/run

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: bootstrap
bootstrap: ## Install MariaDB, process-compose, .venv and newman (Debian/Ubuntu; run once)
	scripts/bootstrap

.PHONY: up
up: ## Start the stack in the terminal UI, with live reload (Ctrl-C stops it)
	scripts/stack-up

.PHONY: up-detached
up-detached: ## Start the stack in the background (stop it with make down)
	scripts/stack-up --detached

.PHONY: down
down: ## Stop a stack started by make up or make up-detached
	process-compose down

.PHONY: logs
logs: ## Follow the logs of a running stack (SERVICE=backend for one service)
	scripts/stack-logs $(SERVICE)

.PHONY: db-shell
db-shell: ## Open a MySQL shell on the application database, as the application user
	scripts/db-shell

.PHONY: test
test: lint ## Lint, then the shared kits', backend, frontend and end-to-end tests (the CI command)
	$(PYTEST) servicekit/tests
	$(PYTEST) testkit/tests
	$(PYTEST) backend/tests
	$(PYTEST) frontend/tests
	$(PYTEST) tests

.PHONY: test-nixpkgs
test-nixpkgs: ## Lint and test again in .venv-nixpkgs, on the library versions of nixos-26.05
	scripts/test-nixpkgs

.PHONY: lint
lint: ## Check Python style (ruff), shell scripts (shellcheck) and Nix files (statix, deadnix)
	ruff check .
	ruff format --check .
	shellcheck $(SHELL_SCRIPTS)
	scripts/nix-lint

.PHONY: fmt
fmt: ## Format the Python code (ruff)
	ruff check --fix .
	ruff format .

.PHONY: bench
bench: ## Benchmark the stack (takes a few minutes; results in bench/results/)
	bench/run

.PHONY: profile
profile: ## py-spy samples of a server under load: make profile WHAT=user|create|list|home ARGS=...
	bench/profile $(or $(WHAT),user) $(ARGS)

.PHONY: lock
lock: ## Re-pin .venv's versions in constraints.txt after changing a dependency
	{ echo "# Exact versions for .venv: regenerate with 'make lock' after changing a dependency."; \
	  .venv/bin/pip freeze --exclude-editable | grep -v '^#'; } > constraints.txt

.PHONY: clean
clean: ## Stop the stack, delete .data, .venv*, bin and caches (only inside this folder)
	-process-compose down 2>/dev/null
	rm -rf .data .venv .venv-nixpkgs bin postman/node_modules test-artifacts .pytest_cache .ruff_cache \
	  .process-compose.sock
	find backend frontend servicekit testkit tests bench -name __pycache__ -type d -prune -exec rm -rf {} +
