# agentjobs-mcp: every target is stdlib Python; nothing to install for test, test-all or demo.
PYTHON ?= python3
VERSION = $(shell $(PYTHON) agentjobs_mcp.py --version | cut -d' ' -f2)
QUICK ?=

.DEFAULT_GOAL := help
.PHONY: help test test-all demo bench interop lint version clean

help: ## show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

test: ## run the whole suite on $(PYTHON) (ends with "N passed, N failed")
	$(PYTHON) test_agentjobs_mcp.py

test-all: ## run the suite on every CPython 3.6-3.13 found (pyenv and PATH)
	$(PYTHON) dev/test_all.py

demo: ## start the stand-in API and the real server, and show a short session
	$(PYTHON) -m standin.demo

bench: ## start-up, per-call overhead, bursts, memory, exit, a slow network; python -S (QUICK=1: smoke run)
	$(PYTHON) -S bench/bench.py $(if $(QUICK),--quick,)

interop: ## talk to the server with the official SDK clients and the MCP Inspector
	$(PYTHON) interop/run.py

lint: ## pyflakes when it is installed (it is skipped otherwise)
	@if $(PYTHON) -m pyflakes --version >/dev/null 2>&1; then \
		$(PYTHON) -m pyflakes agentjobs_mcp.py test_agentjobs_mcp.py standin bench dev interop; \
	else echo "lint: pyflakes not installed; skipped"; fi

version: ## print the version (read from agentjobs_mcp.py)
	@echo $(VERSION)

clean: ## remove caches and the interop tool folder
	rm -rf __pycache__ */__pycache__ interop/.deps build *.egg-info
