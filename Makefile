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

test: $(STAMP) $(WEB)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python bench/sequencer.py

clean:
	rm -rf $(VENV) build *.egg-info demo-data
