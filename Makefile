# Two commands do all the set-up on a fresh machine:
#   make run   - opens the start page (both tutorials, the dashboards) in JupyterLab (creates .venv on first use)
#   make test  - creates .venv, installs what the tests need (chromium too), runs every test
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,notebook]"
	touch $(STAMP)

# JupyterLab refuses root without --allow-root (containers and CI machines run as root).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

run: $(STAMP)
	cd notebooks && $(CURDIR)/$(VENV)/bin/jupyter lab $(ROOT_FLAG) start_here.ipynb

# The browser tests drive Debian's chromium (Playwright cannot download its own offline).
test: $(STAMP)
	bash .ci/browser-setup.sh $(VENV)
	bash tests/run_all.sh $(PY)

bench: $(STAMP)
	$(PY) benchmarks/bench_forward.py
	$(PY) benchmarks/bench_gradient.py
	$(PY) benchmarks/bench_workshop.py
	$(PY) benchmarks/bench_interactivity.py

clean:
	rm -rf $(VENV) build *.egg-info
