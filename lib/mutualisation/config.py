"""Every path and setting of the project, derived from the package location, never from the
working directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The repository root (the folder holding ``lib/``, ``data/``, ``notebooks/``).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / "data"
OUTPUTS_DIR = PROJECT_ROOT / "outputs"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"

#: Sub-folder of a year's output folder holding the commune sheets.
FICHES_DIR = "fiches"
#: The entry page of an output folder.
INDEX_FILE = "index.html"
#: The optional metadata file of a data folder.
METADATA_FILE = "metadata.json"
#: Sub-folder of a report holding the snapshot of the data it was made from (#21).
SNAPSHOT_DIR = "donnees"
#: The open-data description of a report folder (Frictionless Data Package).
DATAPACKAGE_FILE = "datapackage.json"
#: The optional commune outlines of a data folder, for the map (GeoJSON, property code_insee).
OUTLINES_FILE = "communes.geojson"

#: The package's folder, whose data (templates, official reference) ships with it.
PACKAGE_DIR = Path(__file__).resolve().parent
#: The package's own templates (nbconvert's page template, the index page).
TEMPLATES_DIR = PACKAGE_DIR / "templates"
#: The font shipped with the package (scripts/build_fonts.py): files, licence, provenance.
FONTS_DIR = PACKAGE_DIR / "fonts"
#: The folder to put on ``PYTHONPATH`` for another process to import this very package.
PACKAGE_PARENT = Path(__file__).resolve().parents[1]

#: The notebook of the yearly bilan.
BILAN_NOTEBOOK = NOTEBOOKS_DIR / "bilan.ipynb"
#: The notebook of one commune's sheet.
FICHE_NOTEBOOK = NOTEBOOKS_DIR / "fiche_commune.ipynb"

#: Environment variable choosing how a kernel displays charts (``make lab`` sets it).
CHART_MODE_VARIABLE = "MUTUALISATION_GRAPHIQUES"
#: Key of a chart's ``usermeta`` (and of its notebook output's metadata) naming its figure file.
FIGURE_KEY = "fichier"

#: The kernel reports run on (papermill's name for the current environment's Python).
KERNEL_NAME = "python3"
#: The kernel's own log is noise for report runs: start-up warnings (unencrypted local TCP)
#: and, after Ctrl-C, the tracebacks of a reply sent on a socket already closed. A cell's
#: error reaches the report through papermill, not through this log.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]
#: How every report notebook is run by papermill, cold or on a warm kernel. Papermill's
#: saving of the notebook around each cell stays on (about 0.1 s for a bilan): a kernel that
#: dies leaves the cells run so far for diagnosis.
PAPERMILL_OPTIONS: dict[str, Any] = {"progress_bar": False, "log_output": False}
