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

from mutualisation.compute.bilan import Bilan
from mutualisation.compute.changes import compare
from mutualisation.compute.revisions import Published, revisions, shown_by_year
from mutualisation.config import SNAPSHOT_DIR
from mutualisation.data.problems import DataError
from mutualisation.data.snapshot import LocatedTable, located_tables
from mutualisation.formatting import plural
from mutualisation.present.changes_text import row_lines


def read_published(out: Path, current: Path, until: int | None = None) -> list[Published]:
    """Every bilan stored in ``out`` (``OUT/ANNÉE/indicators.json``; only the years before
    ``until`` when given), with the change log from the data it kept to the data folder
    ``current``.

    A report whose ``indicators.json`` can't be read is left out (it can't be compared). A
    report whose kept data no longer validates is still compared, without change log: its
    :attr:`Published.problem` says why (:func:`unreadable`). The change logs are made only
    for the reports with a readable copy of their data.
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
        changes, problem = None, None
        if (folder / SNAPSHOT_DIR).is_dir():
            try:
                before = located_tables(folder / SNAPSHOT_DIR)
            except DataError as err:
                problem = unreadable(err)
            else:
                # The current data was validated before: an error here is the command's.
                now = located_tables(current) if now is None else now
                changes = compare(before, now)
        found.append(Published(int(folder.name), indicators, changes, problem))
    return found


def unreadable(err: DataError) -> str:
    """Why a report's kept data can't be read, in one line: its first problem, and how many
    others (the file names are those of ``donnees/``, no machine path)."""
    lines = err.lines() or ["données illisibles"]
    others = len(err.problems) - 1
    more = (f" (et {plural(others, 'autre problème', 'autres problèmes')})"
            if others > 0 else "")
    return f"{SNAPSHOT_DIR}/{lines[0]}{more}"


def revision_records(bilan: Bilan, published: list[Published]) -> list[dict[str, Any]]:
    """The revisions of ``bilan`` as ``indicators.json`` stores them: year, figure, published
    and new values, cause, the explaining changes as French lines, and when the earlier
    report's kept data could not be read, why (``donnees_illisibles``)."""
    earlier = {p.year: p for p in published if p.year < bilan.year}
    records = []
    for found in revisions(shown_by_year(bilan), list(earlier.values())):
        report = earlier[found.year]
        lines = (row_lines(report.changes, found.explained_by)
                 if report.changes is not None and found.explained_by.height else [])
        record = {
            "annee": found.year,
            "indicateur": found.figure,
            "publie": found.published,
            "nouveau": found.new,
            "cause": found.cause,
            "changements": lines,
        }
        if report.problem is not None:
            record["donnees_illisibles"] = report.problem
        records.append(record)
    return records
