"""Charts drawn ahead: the kernel's side (reading the SVGs a helper process drew for it).

:mod:`mutualisation.run.ahead` starts the helper and gives the kernel the folder in
:data:`FOLDER_VARIABLE`; :func:`mutualisation.present.charts.render.spec_to_svg` asks
:func:`drawn_ahead` before drawing. The folder holds ``plan.json`` (the keys the helper is
going to draw), one ``<key>.svg`` per chart (each written whole, then renamed into place),
``fin`` (the helper has stopped) and one ``<key>.pris`` per chart the kernel took.

Imports nothing from the project: a kernel reads it, a helper process writes it.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import suppress
from pathlib import Path

#: Environment variable giving a kernel the folder of the charts drawn ahead for it.
FOLDER_VARIABLE = "MUTUALISATION_SVG_AHEAD"
#: The keys the helper is going to draw (JSON list).
PLAN_FILE = "plan.json"
#: Marks that the helper has stopped (or that a kernel gave up waiting).
DONE_MARK = "fin"
#: Suffix of the marks of the charts a kernel took (``<key>.pris``), counted for the log.
TAKEN_SUFFIX = ".pris"
#: Longest wait for one chart the helper announced; after it the kernel draws by itself.
WAIT_LIMIT = 30.0
_POLL = 0.005


def folder_in_use() -> Path | None:
    """The folder of charts drawn ahead for this process, or None (the usual case)."""
    value = os.environ.get(FOLDER_VARIABLE, "")
    return Path(value) if value else None


def read_plan(folder: Path) -> set[str] | None:
    """The keys the helper announced, or None before it wrote its plan."""
    try:
        return set(json.loads((folder / PLAN_FILE).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


def drawn_ahead(key: str, folder: Path | None = None,
                wait_limit: float = WAIT_LIMIT) -> str | None:
    """The SVG drawn ahead under ``key``, or None when the caller must draw it itself.

    Waits while the helper may still draw it: the key is in its plan (or the plan is not
    written yet) and the helper has not stopped. After ``wait_limit`` seconds the folder is
    given up, so that a stuck helper delays one chart and not every chart.
    """
    folder = folder_in_use() if folder is None else folder
    if folder is None or not folder.is_dir():
        return None
    svg, done = folder / f"{key}.svg", folder / DONE_MARK
    deadline = time.monotonic() + wait_limit
    while True:
        finished = done.exists()  # read before the SVG: a chart written then is seen below
        if svg.exists():
            text = svg.read_bytes().decode("utf-8")
            with suppress(OSError):  # only counted for the log
                svg.with_suffix(TAKEN_SUFFIX).touch()
            return text
        if finished:
            return None
        plan = read_plan(folder)
        if plan is not None and key not in plan:
            return None
        if time.monotonic() > deadline:
            done.touch()
            return None
        time.sleep(_POLL)
