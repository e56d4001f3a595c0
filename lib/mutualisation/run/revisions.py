"""The revisions of a new bilan: what the output folder's earlier reports published, against
what the current data gives (:mod:`mutualisation.compute.revisions`), as the list stored in
``indicators.json`` and handed to the notebook.

The earlier reports are read once, before anything is written (a batch reads them before its
first run): every bilan of a command compares with the reports as they stood when it began,
whatever order its runs end in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mutualisation.compute.changes import compare
from mutualisation.compute.revisions import Published, revisions
from mutualisation.config import SNAPSHOT_DIR
from mutualisation.data.problems import DataError
from mutualisation.data.snapshot import LocatedTable, located_tables
from mutualisation.present.changes_text import row_lines


def read_published(out: Path, current: Path, until: int | None = None) -> list[Published]:
    """Every bilan stored in ``out`` (``OUT/ANNÉE/indicators.json``; only the years before
    ``until`` when given), with the change log from the data it kept to the data folder
    ``current``.

    A report whose files can't be read, or whose kept data no longer validates, is left out
    (it can't be compared). The change logs are made only for the reports with a copy of
    their data.
    """
    if not out.is_dir():
        return []
    now: dict[str, LocatedTable] | None = None
    found = []
    for folder in sorted(p for p in out.iterdir() if p.name.isdigit() and p.is_dir()
                         and (until is None or int(p.name) < until)):
        try:
            indicators = json.loads((folder / "indicators.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(indicators, dict) or "communes_membres" not in indicators:
            continue
        changes = None
        if (folder / SNAPSHOT_DIR).is_dir():
            try:
                before = located_tables(folder / SNAPSHOT_DIR)
                now = located_tables(current) if now is None else now
            except DataError:
                continue
            changes = compare(before, now)
        found.append(Published(int(folder.name), indicators, changes))
    return found


def revision_records(series: Any, thresholds: tuple[int, ...], year: int,
                     published: list[Published]) -> list[dict[str, Any]]:
    """The revisions of the bilan of ``year`` (its ``series``) as ``indicators.json`` stores
    them: year, figure, published and new values, cause, and the explaining changes as
    French lines."""
    earlier = [p for p in published if p.year < year]
    records = []
    for found in revisions(series, thresholds, earlier):
        changes = next(p.changes for p in earlier if p.year == found.year)
        lines = (row_lines(changes, found.explained_by)
                 if changes is not None and found.explained_by.height else [])
        records.append({
            "annee": found.year,
            "indicateur": found.figure,
            "publie": found.published,
            "nouveau": found.new,
            "cause": found.cause,
            "changements": lines,
        })
    return records
