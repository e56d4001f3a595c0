"""The optional outlines of the communes of a data folder, for the map."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mutualisation.config import OUTLINES_FILE


def load_outlines(folder: Path) -> list[dict[str, Any]] | None:
    """The GeoJSON features of the communes, when the data folder has them."""
    path = folder / OUTLINES_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))["features"]
