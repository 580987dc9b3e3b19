# The two commands of the README:
#   make lab    set up .venv and run JupyterLab on notebooks/ with the classroom (in-memory store)
#   make test   set up .venv and run every test
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PORT ?= 8888

.PHONY: setup system lab test bench lint clean

$(VENV)/.installed: pyproject.toml labextension/package.json $(shell find labextension/src labextension/style -type f)
	rm -rf jupyter_classroom/labextension  # rebuild the JupyterLab extension from its sources
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet hatchling hatch-jupyter-builder editables "jupyterlab>=4.2,<5"
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PIP) install --quiet --no-build-isolation -e ".[test,dev]"
	# JupyterHub's proxy, for the hub tests
	npm install --silent --no-audit --no-fund --prefix $(VENV)/chp configurable-http-proxy@5
	touch $@

setup: $(VENV)/.installed

# Debian packages the tests use, installed when missing (as root; otherwise it says what to
# install): redis-server for the scale-out tests, chromium for tests/e2e (driven by Playwright,
# which never downloads a browser of its own here), janus (the SFU) and iproute2 (the network
# namespaces Janus runs in) for tests/test_sfu.py. Each entry: command:package.
system:
	@missing=""; \
	for entry in redis-server:redis-server chromium:chromium janus:janus ip:iproute2; do \
		command -v $${entry%%:*} >/dev/null || missing="$$missing $${entry#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else echo "Please install the Debian packages:$$missing"; exit 1; fi; \
	fi

lab: setup
	$(VENV)/bin/jupyter lab --no-browser --allow-root --port=$(PORT) \
		--ServerApp.root_dir=notebooks

test: setup system
	$(PY) -m pytest -p no:cacheprovider
	cd labextension && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" jlpm test

# Ours (several set-ups) vs a python-socketio relay vs a Node socket.io relay, ~25 min; writes
# docs/performance.md. On a shared machine: make bench BENCH_ARGS="--nice -10"
bench: setup
	$(PY) -m bench.run $(BENCH_ARGS)

lint: setup
	$(VENV)/bin/ruff check jupyter_classroom tests
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) build dist *.egg-info
