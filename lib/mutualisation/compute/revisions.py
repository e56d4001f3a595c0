"""Revised figures: an earlier year's figure as the bilan shows it now, against the value
published in that year's own report, and the data changes that explain the difference.

The bilan shows earlier years in its series (one row per year) and its key-figure table
(the year before): members, actions inscribed, deployed, deployed during the year, active
participations, and for each threshold k the communes in at least k actions and their
share. Each is compared with the same figure of the earlier report's ``indicators.json``
(a threshold it did not have is not compared).

A change of the data explains a figure of year Y when it can move it at D = 31 December
of Y: a date changed from one side of D to the other (a start, an end, a deployment…),
a merger's successor changed, or a row added or removed whose earliest date is on or
before D (a row without date: always); and when its table feeds the figure (the members
come from ``communes``, the actions' counts from ``actions``, the participations' counts
from all three).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from mutualisation.compute.changes import ADDED, CHANGED, REMOVED, Changes
from mutualisation.data.model import reference_date

#: Fields whose change moves the counts although they are not dates: a merger's successor
#: takes over the participations.
_COUNTED_FIELDS = ("code_successeur",)

_PARTICIPATION_TABLES = ("communes", "actions", "participations")

#: The tables each figure is computed from (a figure of a threshold: its prefix).
SOURCES: dict[str, tuple[str, ...]] = {
    "communes_membres": ("communes",),
    "actions_inscrites": ("actions",),
    "actions_deployees": ("actions",),
    "actions_deployees_annee": ("actions",),
    "participations_actives": _PARTICIPATION_TABLES,
    "communes_participantes": _PARTICIPATION_TABLES,
    "part_communes_participantes": _PARTICIPATION_TABLES,
}

#: Why a figure was revised.
DATA, DEFINITION, UNKNOWN = "donnees", "definition", "donnees_non_conservees"


def shown_figures(row: dict[str, Any], thresholds: tuple[int, ...]) -> dict[str, float]:
    """The figures of one row of :func:`mutualisation.compute.indicators.series`, by
    indicator name (a threshold's figure: ``communes_participantes.5``)."""
    figures = {key: row[key] for key in SOURCES if key in row}
    for k in thresholds:
        figures[f"communes_participantes.{k}"] = row[f"communes_au_moins_{k}"]
        figures[f"part_communes_participantes.{k}"] = row[f"part_au_moins_{k}"]
    return figures


def published_figures(indicators: dict[str, Any]) -> dict[str, float]:
    """The same figures from a report's ``indicators.json``."""
    figures: dict[str, float] = {}
    for key in SOURCES:
        value = indicators.get(key)
        if isinstance(value, dict):
            figures.update({f"{key}.{k}": v for k, v in value.items()})
        elif isinstance(value, list):
            figures[key] = len(value)
        elif value is not None:
            figures[key] = value
    return figures


def _flips(day: date) -> pl.Expr:
    """A changed date that crossed ``day`` (an empty date is never on or before it)."""
    def on_or_before(column: str) -> pl.Expr:
        text = pl.col(column)
        as_date = text.str.to_date("%Y-%m-%d", strict=False)
        return (text.str.contains(r"^\d{4}-\d{2}-\d{2}$").fill_null(False)
                & (as_date <= day).fill_null(False))

    def is_date(column: str) -> pl.Expr:
        return pl.col(column).is_null() | pl.col(column).str.contains(r"^\d{4}-\d{2}-\d{2}$")

    return is_date("avant") & is_date("apres") & (on_or_before("avant") != on_or_before("apres"))


def relevant(log: pl.DataFrame, day: date) -> pl.DataFrame:
    """The entries of a change log that can move a figure at ``day``."""
    earliest = pl.col("valeurs").list.eval(
        pl.element().str.extract(r" (\d{4}-\d{2}-\d{2})$").str.to_date(strict=False)
    ).list.min()
    row = pl.col("nature").is_in([ADDED, REMOVED]) & (earliest.is_null() | (earliest <= day))
    field = (pl.col("nature") == CHANGED) & (_flips(day) | pl.col("champ").is_in(_COUNTED_FIELDS))
    return log.filter(row | field)


@dataclass(frozen=True)
class Published:
    """An earlier report: its key figures, and the change log from its data to today's
    (None when the report kept no copy of its data)."""

    year: int
    indicators: dict[str, Any]
    changes: Changes | None


@dataclass(frozen=True)
class Revision:
    """One revised figure."""

    year: int
    figure: str
    published: float
    new: float
    cause: str
    #: The change-log entries explaining it (empty unless ``cause`` is DATA).
    explained_by: pl.DataFrame


def _explaining(figure: str, year: int, changes: Changes) -> pl.DataFrame:
    base = figure.split(".")[0]
    log = changes.log.filter(pl.col("table").is_in(list(SOURCES.get(base, changes.tables))))
    found = relevant(log, reference_date(year))
    if base == "actions_deployees_annee":  # deployed during the year: the year before too
        found = pl.concat([found, relevant(log, reference_date(year - 1))]).unique(
            maintain_order=True)
    return found


def revisions(series: pl.DataFrame, thresholds: tuple[int, ...],
              published: list[Published]) -> list[Revision]:
    """Every figure of an earlier year that the bilan (its ``series``) shows differently from
    its earlier report, in year then figure order."""
    rows = {row["annee"]: row for row in series.iter_rows(named=True)}
    found = []
    for report in sorted(published, key=lambda p: p.year):
        if report.year not in rows:
            continue
        now = shown_figures(rows[report.year], thresholds)
        before = published_figures(report.indicators)
        for figure, value in now.items():
            if figure not in before or before[figure] == value:
                continue
            if report.changes is None:
                cause, explained = UNKNOWN, pl.DataFrame()
            else:
                explained = _explaining(figure, report.year, report.changes)
                cause = DATA if explained.height else DEFINITION
            found.append(Revision(report.year, figure, before[figure], value, cause, explained))
    return found
