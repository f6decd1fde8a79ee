# The two commands a fresh machine needs: `make demo` and `make test`.
# Both build their own virtual environment in .venv and install what they need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEB := web/node_modules/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# the desk's screen's front-end packages (AG Grid Community), from the npm registry, pinned by web/package-lock.json
$(WEB): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --silent
	touch $(WEB)

demo: $(STAMP) $(WEB)
	$(BIN)/seqtrade demo

# etcd for the standby sequencers' election (tests/test_ha.py starts its own on free ports): Debian's etcd-server,
# installed when it is missing and this machine can (root with apt-get); otherwise those tests say they were skipped
ETCD_BIN := $(shell command -v etcd 2>/dev/null)

test: $(STAMP) $(WEB)
ifeq ($(ETCD_BIN),)
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing etcd-server (Debian) for the HA tests"; \
	    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server) >/tmp/apt-etcd.log 2>&1 \
	    || echo "could not install etcd-server (see /tmp/apt-etcd.log): the HA tests will be skipped"; fi
endif
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python bench/sequencer.py

clean:
	rm -rf $(VENV) build *.egg-info demo-data
