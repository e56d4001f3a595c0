"""Revised figures: an earlier year's figure as the bilan shows it now, against the value
published in that year's own report, and the data changes that explain the difference.

The bilan shows earlier years (:func:`shown_by_year`) in its series (one row per year:
members, actions inscribed, deployed, deployed during the year, active participations, and
for each threshold k the communes in at least k actions and their share), in its
key-figure table (the year before: the same, and when every member has a population, the
members' population and the population share of the communes in at least k actions) and,
when the data has a ``moyens`` table, in the series of « Moyens et coûts » (every year: cost,
ETP, agents transferred, savings, cost per inhabitant, actions with and without figures).
Each is compared with the same figure of the earlier report's ``indicators.json`` (a figure
it did not publish, such as a threshold it did not have, is not compared).

A change of the data explains a figure of year Y when its table feeds the figure
(:data:`SOURCES`) and it can move the figure at D = 31 December of Y:

- in a table of dated rows (communes, actions, participations): a date changed from one
  side of D to the other (a start, an end, a deployment…), a merger's successor changed, a
  row added or removed whose earliest date is on or before D (a row without date: always),
  or a value the figure adds up changed (a commune's ``population``, for the population
  figures);
- in a table of yearly rows: any change of a row that applies to Y — a ``populations`` row of
  a year on or before Y (the latest one on or before Y is the year's population), the
  action's own ``moyens`` row of year Y (the communes' parts are not in the totals).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import polars as pl

from mutualisation.compute.changes import ADDED, CHANGED, KEYS, REMOVED, Changes
from mutualisation.compute.moyens import FIGURES as MOYENS_SUMS
from mutualisation.data.model import reference_date

if TYPE_CHECKING:
    from mutualisation.compute.bilan import Bilan

#: Fields whose change moves the counts although they are not dates: a merger's successor
#: takes over the participations.
_COUNTED_FIELDS = ("code_successeur",)

_PARTICIPATION_TABLES = ("communes", "actions", "participations")
_POPULATION_TABLES = (*_PARTICIPATION_TABLES, "populations")

#: The figures of the ``moyens`` object of ``indicators.json`` the bilan shows for earlier
#: years (named ``moyens.<key>`` here).
MOYENS_FIGURES: tuple[str, ...] = ("actions_renseignees", "actions_non_renseignees",
                                   *MOYENS_SUMS, "cout_par_habitant")
_MOYENS = "moyens."

#: The tables each figure is computed from (a figure of a threshold: its prefix).
SOURCES: dict[str, tuple[str, ...]] = {
    "communes_membres": ("communes",),
    "actions_inscrites": ("actions",),
    "actions_deployees": ("actions",),
    "actions_deployees_annee": ("actions",),
    "participations_actives": _PARTICIPATION_TABLES,
    "communes_participantes": _PARTICIPATION_TABLES,
    "part_communes_participantes": _PARTICIPATION_TABLES,
    # The year's population: ``populations``, else the column of ``communes``.
    "population_membres": ("communes", "populations"),
    "part_population_communes_participantes": _POPULATION_TABLES,
    # The actions' own rows of the year, over the actions deployed at D.
    **{f"{_MOYENS}{key}": ("actions", "moyens") for key in MOYENS_FIGURES},
    # Divided by the population of the member communes taking part on D.
    f"{_MOYENS}cout_par_habitant": (*_POPULATION_TABLES, "moyens"),
}

#: Fields of the dated tables whose change moves a figure whatever its date: the values
#: it adds up (a figure not listed: none).
_VALUES: dict[str, tuple[str, ...]] = {
    "population_membres": ("population",),
    "part_population_communes_participantes": ("population",),
    f"{_MOYENS}cout_par_habitant": ("population",),
}

#: The figures of ``indicators.json`` read as they are (a threshold's: a dict by k).
_PUBLISHED = [key for key in SOURCES if not key.startswith(_MOYENS)]

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


def population_figures(previous: dict[str, Any], thresholds: tuple[int, ...]
                       ) -> dict[str, float]:
    """The population figures of the key-figure table's column of the year before
    (``previous``: :attr:`mutualisation.compute.bilan.Bilan.previous`; none when a member
    had no population that year)."""
    if "population_membres" not in previous:
        return {}
    shares = previous["part_population_communes_participantes"]
    return {"population_membres": previous["population_membres"],
            **{f"part_population_communes_participantes.{k}": shares[str(k)]
               for k in thresholds}}


def moyens_figures(row: dict[str, Any]) -> dict[str, float | None]:
    """The figures of one row of :func:`mutualisation.compute.moyens.series`, as
    ``moyens.<key>`` (None: « non renseigné »)."""
    return {f"{_MOYENS}{key}": row[key] for key in MOYENS_FIGURES}


def shown_by_year(bilan: Bilan) -> dict[int, dict[str, float | None]]:
    """Every figure of an earlier year that ``bilan`` shows, by year then indicator name."""
    shown = {row["annee"]: shown_figures(row, bilan.thresholds)
             for row in bilan.series.iter_rows(named=True) if row["annee"] < bilan.year}
    # The key-figure table has population rows when the year has population figures and
    # actions (present.bilan_text.key_figure_rows), the year before's value when it has one.
    figures = bilan.indicators
    if (bilan.previous is not None and figures["actions_inscrites"]
            and "population_membres" in figures):
        shown[bilan.year - 1] |= population_figures(bilan.previous, bilan.thresholds)
    if bilan.moyens is not None:
        for row in bilan.moyens.series.iter_rows(named=True):
            if row["annee"] in shown:
                shown[row["annee"]] |= moyens_figures(row)
    return shown


def published_figures(indicators: dict[str, Any]) -> dict[str, float | None]:
    """The same figures from a report's ``indicators.json`` (a ``moyens`` figure may be
    None: « non renseigné »; any other absent or null figure is left out)."""
    figures: dict[str, float | None] = {}
    for key in _PUBLISHED:
        value = indicators.get(key)
        if isinstance(value, dict):
            figures.update({f"{key}.{k}": v for k, v in value.items()})
        elif isinstance(value, list):
            figures[key] = len(value)
        elif value is not None:
            figures[key] = value
    moyens = indicators.get("moyens")
    if isinstance(moyens, dict):
        figures.update({f"{_MOYENS}{key}": moyens[key] for key in MOYENS_FIGURES
                        if key in moyens})
    return figures


def same(published: float | None, new: float | None) -> bool:
    """Whether a figure is unchanged: equal to 4 decimals (the shares' precision; cents and
    hundredths of ETP are exact at it, float noise is not), or both unknown."""
    if published is None or new is None:
        return published is None and new is None
    return round(float(published), 4) == round(float(new), 4)


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


def _key_part(table: str, column: str) -> pl.Expr:
    """A column of the key of ``table``'s rows, from the log's ``cle``."""
    return pl.col("cle").list.get(KEYS[table].index(column), null_on_oob=True)


def _row_year(table: str) -> pl.Expr:
    return _key_part(table, "annee").cast(pl.Int64, strict=False)


def _yearly(year: int) -> dict[str, pl.Expr]:
    """The rows of the tables of yearly rows that apply to ``year``, by table."""
    return {
        "populations": (_row_year("populations") <= year).fill_null(False),
        "moyens": ((_row_year("moyens") == year) & (_key_part("moyens", "code_insee") == ""))
        .fill_null(False),
    }


def relevant(log: pl.DataFrame, day: date, values: tuple[str, ...] = ()) -> pl.DataFrame:
    """The entries of a change log that can move a figure at ``day`` (``values``: the fields
    of the dated tables the figure adds up, relevant whatever their date)."""
    earliest = pl.col("valeurs").list.eval(
        pl.element().str.extract(r" (\d{4}-\d{2}-\d{2})$").str.to_date(strict=False)
    ).list.min()
    row = pl.col("nature").is_in([ADDED, REMOVED]) & (earliest.is_null() | (earliest <= day))
    field = (pl.col("nature") == CHANGED) & (
        _flips(day) | pl.col("champ").is_in([*_COUNTED_FIELDS, *values]))
    rule = row | field
    for table, applies in _yearly(day.year).items():
        rule = pl.when(pl.col("table") == table).then(applies).otherwise(rule)
    return log.filter(rule)


@dataclass(frozen=True)
class Published:
    """An earlier report: its key figures, and the change log from its data to today's
    (None when the report kept no copy of its data)."""

    year: int
    indicators: dict[str, Any]
    changes: Changes | None
    #: Why its kept data could not be read, in one line (None: read, or none kept).
    problem: str | None = None


@dataclass(frozen=True)
class Revision:
    """One revised figure."""

    year: int
    figure: str
    published: float | None
    new: float | None
    cause: str
    #: The change-log entries explaining it (empty unless ``cause`` is DATA).
    explained_by: pl.DataFrame


def base_figure(figure: str) -> str:
    """The name :data:`SOURCES` knows a figure by (a threshold's figure: its prefix)."""
    return figure if figure.startswith(_MOYENS) else figure.split(".")[0]


def _explaining(figure: str, year: int, changes: Changes) -> pl.DataFrame:
    base = base_figure(figure)
    log = changes.log.filter(pl.col("table").is_in(list(SOURCES.get(base, changes.tables))))
    values = _VALUES.get(base, ())
    found = relevant(log, reference_date(year), values)
    if base == "actions_deployees_annee":  # deployed during the year: the year before too
        found = pl.concat([found, relevant(log, reference_date(year - 1), values)]).unique(
            maintain_order=True)
    return found


def revisions(shown: dict[int, dict[str, float | None]],
              published: list[Published]) -> list[Revision]:
    """Every figure of an earlier year that the bilan shows (``shown``:
    :func:`shown_by_year`) differently from its earlier report, in year then figure
    order."""
    found = []
    for report in sorted(published, key=lambda p: p.year):
        if report.year not in shown:
            continue
        now = shown[report.year]
        before = published_figures(report.indicators)
        for figure, value in now.items():
            if figure not in before or same(before[figure], value):
                continue
            if report.changes is None:
                cause, explained = UNKNOWN, pl.DataFrame()
            else:
                explained = _explaining(figure, report.year, report.changes)
                cause = DATA if explained.height else DEFINITION
            found.append(Revision(report.year, figure, before[figure], value, cause, explained))
    return found
