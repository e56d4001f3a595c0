"""Project paths, derived from the package location, never from the working directory."""

from pathlib import Path

#: The repository root (the folder holding ``lib/``, ``data/``, ``notebooks/``).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / "data"
OUTPUTS_DIR = PROJECT_ROOT / "outputs"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"

#: Sub-folder of a year's output folder holding the commune sheets.
FICHES_DIR = "fiches"
