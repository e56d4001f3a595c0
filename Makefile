# Bilan du schéma de mutualisation — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
YEAR ?=
# Noyau Jupyter de l'environnement du projet, enregistré dans .venv/ avec lui (et par `make kernel`).
KERNEL := mutualisation
KERNEL_SPEC := $(VENV)/share/jupyter/kernels/$(KERNEL)/kernel.json
# Les notebooks (modèles et rapports stockés) nomment ce noyau : il est enregistré dès la
# création de .venv/, si bien qu'un `pytest --nbval outputs/*/bilan.ipynb` tout simple
# marche après le `make report` d'un clone neuf (sans `make lab`).
KERNEL_INSTALL = $(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (mutualisation)"
# Options supplémentaires de `make lab`, par exemple LAB_ARGS="--no-browser --port 8899".
LAB_ARGS ?=
# Serveur de `make lab` : les modèles notebooks/*.ipynb sont enregistrés sans sorties et
# s'ouvrent sans être marqués modifiés (mutualisation.run.lab_server, voir README).
LAB_SERVER := --ServerApp.contents_manager_class=mutualisation.run.lab_server.TemplateContentsManager
# Hors ligne : ni nouvelles de Jupyter (ni la question qui les propose) ni recherche de mises
# à jour, côté serveur (ces options) et côté navigateur (LAB_SETTINGS, réglages par défaut de
# l'environnement) ; voir mutualisation.run.lab_settings.
LAB_OFFLINE := --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
# Graphiques interactifs : seul `make lab` pose cette variable (pour le serveur JupyterLab,
# dont les noyaux héritent l'environnement). Les rapports (papermill) et nbval ne doivent
# jamais la voir, même si elle est exportée dans le shell : elle est retirée des recettes.
unexport MUTUALISATION_GRAPHIQUES
# `make mutation`: modules mutated (scripts/mutate.py) and parallel test runs.
MUTATION_MODULES ?= indicators problems read validate publish
MUTATION_JOBS ?= 2
# `make coverage`: where its data files go (outside the tree), and the tests it runs.
COVERAGE_DIR ?= /tmp/mutualisation-coverage
COVERAGE_TESTS ?=

.DEFAULT_GOAL := help

## help: liste les cibles
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed -e 's/^## /  /' -e 's/: /\t/' | expand -t 16

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(KERNEL_INSTALL)
	@touch $(STAMP)

## venv: crée .venv/ depuis requirements.lock (si absent ou périmé)
venv: $(STAMP)

## check: valide les données de data/
check: $(STAMP)
	$(BIN)/mutualisation check

## report: valide les données et écrit le bilan de la dernière année (YEAR=2019 pour une autre)
report: $(STAMP)
	$(BIN)/mutualisation report $(if $(YEAR),--year $(YEAR),)

## all: écrit les bilans de toutes les années, les fiches communes de la dernière, et l'index
all: $(STAMP)
	$(BIN)/mutualisation report --all-years
	$(BIN)/mutualisation fiches

## kernel: enregistre le noyau « Python (mutualisation) » (l'environnement .venv/) dans .venv/
kernel: $(KERNEL_SPEC)

$(KERNEL_SPEC): $(STAMP)
	$(KERNEL_INSTALL)
	@touch $@

## lab-settings: règle JupyterLab de .venv/ sans nouvelles ni recherche de mises à jour
lab-settings: $(LAB_SETTINGS)

$(LAB_SETTINGS): lib/mutualisation/run/lab_settings.py $(STAMP)
	$(BIN)/python -m mutualisation.run.lab_settings

## lab: ouvre notebooks/bilan.ipynb dans JupyterLab, graphiques interactifs (hors ligne)
lab: $(KERNEL_SPEC) $(LAB_SETTINGS)
	MUTUALISATION_GRAPHIQUES=interactif $(BIN)/jupyter lab --notebook-dir=. $(LAB_SERVER) $(LAB_OFFLINE) $(LAB_ARGS) notebooks/bilan.ipynb

## test: lance toute la suite de tests (ruff, couches du paquet, tests unitaires, de bout en bout et JupyterLab, nbval)
test: $(STAMP)
	$(BIN)/ruff check lib tests scripts notebooks/*.ipynb
	$(BIN)/pytest
	$(BIN)/pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg outputs/*/bilan.ipynb

## mutation: score de mutation des indicateurs, du chargeur (problems, read, validate) et de la publication avec leurs tests rapides (lent, hors CI ; MUTATION_MODULES=read pour un seul)
mutation: $(STAMP)
	nice -n 10 $(BIN)/python scripts/mutate.py $(MUTATION_MODULES) -j $(MUTATION_JOBS) --equivalent tests/MUTATION.md

## coverage: couverture des lignes et des branches de toute la suite, sous-processus et noyaux compris (lent, hors CI)
coverage: $(STAMP)
	rm -rf $(COVERAGE_DIR) && mkdir -p $(COVERAGE_DIR)
	export COVERAGE_DATA_DIR=$(COVERAGE_DIR); status=0; \
	$(BIN)/coverage run --rcfile=tests/coverage.cfg -m pytest $(COVERAGE_TESTS) || status=$$?; \
	$(BIN)/coverage combine --quiet --rcfile=tests/coverage.cfg && \
	$(BIN)/coverage report --rcfile=tests/coverage.cfg && \
	$(BIN)/python scripts/coverage_summary.py tests/coverage.cfg && exit $$status

## outputs: régénère les bilans de référence 2015 à 2019 dans outputs/
outputs: $(STAMP)
	for year in 2015 2016 2017 2018 2019; do $(BIN)/mutualisation report --year $$year || exit 1; done

## referentiel: reconstruit le référentiel officiel (EPCI, communes, fusions, contours) dans lib/mutualisation/referentiel/ (réseau la première fois)
referentiel: $(STAMP)
	nice -n 10 $(BIN)/python scripts/build_reference.py

## polices: reconstruit la police livrée (Noto Sans renommée « Mutualisation Sans ») dans lib/mutualisation/fonts/ (réseau la première fois)
polices: $(STAMP)
	$(BIN)/python scripts/build_fonts.py

## lock: régénère requirements.lock depuis pyproject.toml (après un ajout de dépendance)
lock:
	rm -rf /tmp/mutualisation-lock && $(PYTHON) -m venv /tmp/mutualisation-lock
	/tmp/mutualisation-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/mutualisation-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

## clean: supprime .venv/ et les caches
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

.PHONY: help venv kernel lab lab-settings check report all test mutation coverage outputs referentiel polices lock clean
