# Every target creates the virtual environment .venv on first use (pip, exact pins from
# constraints.txt), so a fresh clone needs only python3, make and git.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard book/*.ipynb))
EXERCISE ?= 01_convolution
SUBMISSIONS ?= submissions
OUT ?= grades.csv
JOBS ?= 2

.PHONY: help venv book lab test lint execute exercises grade bench screenshots constraints clean

help:
	@echo "make book       build the static site into _build/html"
	@echo "make lab        open the course in JupyterLab"
	@echo "make test       lint, unit/property tests, notebooks (nbval), book build, grader"
	@echo "make execute    re-run every chapter notebook in place, top to bottom"
	@echo "make exercises  generate student notebooks and autograder zips"
	@echo "make grade EXERCISE=01_convolution SUBMISSIONS=dir [OUT=grades.csv]"
	@echo "make bench      run the speed benchmarks"
	@echo "make screenshots  screenshot every page into _build/screenshots (and the README's)"
	@echo "make clean      remove build outputs (keeps .venv)"

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "Open $(CURDIR)/_build/html/index.html in a browser."

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=$(CURDIR) $(if $(filter 0,$(shell id -u)),--allow-root)

lint: $(STAMP)
	$(BIN)/ruff check coursepkg tests benchmarks book exercises
	$(BIN)/ruff format --check coursepkg tests benchmarks book exercises

test: lint
	$(BIN)/python -m pytest --nbval --nbval-sanitize-with tests/sanitize.cfg \
		--cov=coursepkg --cov-report=term tests book

# Outputs get into the repository only this way: a fresh kernel, top to bottom, one at a time.
execute: $(STAMP)
	@for nb in $(NOTEBOOKS); do \
		echo "executing $$nb"; start=$$(date +%s); \
		$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.kernel_name=python3 --NotebookClient.record_timing=False \
			--ExecutePreprocessor.timeout=600 "$$nb" || exit 1; \
		echo "$$nb ran in $$(( $$(date +%s) - start )) s"; \
	done

exercises: $(STAMP)
	$(BIN)/python -m coursepkg.grading release

grade: $(STAMP)
	$(BIN)/python -m coursepkg.grading grade $(EXERCISE) $(SUBMISSIONS) --out $(OUT) --jobs $(JOBS)

bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

screenshots: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/browser/test_site.py -k loads_cleanly
	mkdir -p book/images
	cp _build/screenshots/book__01_convolution__first_screen.png book/images/site.png
	@echo "Screenshots are in $(CURDIR)/_build/screenshots/; book/images/site.png (README) updated"

constraints: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | sed 's/+cpu$$//' > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf _build .pytest_cache .hypothesis .coverage
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
