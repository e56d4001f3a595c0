"""Everything the yearly bilan shows, computed once: key figures and tables.

The notebook displays a :class:`Bilan` (its charts are drawn by
:func:`mutualisation.present.figures.bilan_figures`); the report runner writes the same
object's tables to files, so the page and the files can't disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from mutualisation.compute import indicators, population
from mutualisation.compute import moyens as moyens_figures
from mutualisation.data.model import Dataset
from mutualisation.data.outlines import load_outlines
from mutualisation.data.parameters import DEFAULT_THRESHOLDS, Parameters
from mutualisation.data.validate import check_year, load_dataset


@dataclass
class Bilan:
    """The bilan of one year of a data set."""

    dataset: Dataset
    year: int
    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    outlines: list[dict[str, Any]] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, data: str | Path, year: int | None = None,
              thresholds: tuple[int, ...] | list[int] = DEFAULT_THRESHOLDS) -> Bilan:
        """Check the parameters, load and validate ``data``, check the year (None: the last
        one), prepare the bilan. Raises ParameterError or DataError."""
        parameters = Parameters.checked(data, year, thresholds)
        dataset = load_dataset(parameters.data)
        year = dataset.last_year if parameters.year is None else parameters.year
        check_year(dataset, year)
        return cls(dataset, year, parameters.thresholds, load_outlines(parameters.data))

    # ------------------------------------------------------------------ figures

    @cached_property
    def indicators(self) -> dict[str, Any]:
        """The key figures of the year (the content of indicators.json)."""
        figures = indicators.year_indicators(self.dataset, self.year, self.thresholds)
        figures["donnees_illustratives"] = self.dataset.illustrative
        figures |= population.year_reach(self.dataset, self.year, self.thresholds)
        if self.moyens is not None:
            figures["moyens"] = self.moyens.indicators
        return figures

    @cached_property
    def previous(self) -> dict[str, Any] | None:
        """The key figures of the year before, when the data covers it."""
        if self.year - 1 < self.dataset.first_year:
            return None
        return (indicators.year_indicators(self.dataset, self.year - 1, self.thresholds)
                | population.year_reach(self.dataset, self.year - 1, self.thresholds))

    @cached_property
    def years(self) -> list[int]:
        """From the first year of the data to the year of the bilan."""
        return list(range(self.dataset.first_year, self.year + 1))

    @cached_property
    def series(self) -> pl.DataFrame:
        return indicators.series(self.dataset, self.years, self.thresholds)

    @cached_property
    def series_long(self) -> pl.DataFrame:
        return indicators.series_long(self.dataset, self.years, self.thresholds)

    @cached_property
    def actions(self) -> pl.DataFrame:
        return indicators.actions_status(self.dataset, self.year)

    @cached_property
    def communes(self) -> pl.DataFrame:
        return population.with_population_of_year(
            indicators.actions_per_commune(self.dataset, self.year), self.dataset, self.year)

    @cached_property
    def distribution(self) -> pl.DataFrame:
        return indicators.distribution(self.dataset, self.year)

    @cached_property
    def domains(self) -> pl.DataFrame:
        return indicators.by_domain(self.dataset, self.year)

    @cached_property
    def changes(self) -> pl.DataFrame:
        return indicators.membership_changes(self.dataset, self.year)

    @cached_property
    def member_populations(self) -> pl.DataFrame:
        """code_insee, population, annee_population of the member communes (see
        :func:`mutualisation.compute.population.population_for_year`)."""
        return population.member_populations(self.dataset, self.year)

    @cached_property
    def population_known(self) -> bool:
        """Whether the population figures can be given (every member has a population)."""
        return population.known(self.member_populations)

    @cached_property
    def forms(self) -> pl.DataFrame | None:
        """The actions by legal form (None when no action has one)."""
        if not population.forms_given(self.dataset):
            return None
        return population.by_form(self.dataset, self.year)

    @cached_property
    def abandoned(self) -> pl.DataFrame:
        """The actions abandoned during the year: action_id, libelle, date_abandon."""
        return population.abandoned_in(self.dataset, self.year)

    @cached_property
    def actions_reach(self) -> pl.DataFrame:
        """:attr:`actions` with the population each reaches (population, part_population;
        both null when the population figures can't be given)."""
        reach = population.reach_by_action(self.dataset, self.year)
        return self.actions.join(reach, on="action_id", how="left", maintain_order="left")

    def _actions_table(self) -> pl.DataFrame:
        """The actions table of the files: with their legal form and population reached
        when the data gives them (the same columns as before otherwise)."""
        table = self.actions
        if self.forms is not None:
            table = table.join(self.dataset.actions.select("action_id", "forme_juridique"),
                               on="action_id", how="left", maintain_order="left")
        if self.population_known:
            table = table.join(self.actions_reach.select("action_id", "population",
                                                         "part_population"),
                               on="action_id", how="left", maintain_order="left")
        return table

    @cached_property
    def moyens(self) -> moyens_figures.Moyens | None:
        """Staff and costs of the year, when the data has a ``moyens`` table."""
        return moyens_figures.build(self.dataset, self.year, self.years)

    # ------------------------------------------------------------------ files

    def tables(self) -> dict[str, pl.DataFrame]:
        """The tables of the report, by file stem, ready for CSV (lists joined by spaces)."""
        communes = self.communes.with_columns(
            pl.col("actions", "actions_disponibles").list.join(" ")
        )
        extra = {} if self.forms is None else {"formes_juridiques": self.forms}
        if self.moyens is not None:
            extra |= {
                "moyens": self.moyens.actions,
                "moyens_communes": self.moyens.charges,
                "moyens_series": self.moyens.series,
            }
        return {
            "actions": self._actions_table(),
            "communes": communes,
            "distribution": self.distribution,
            "domaines": self.domains,
            "mouvements": self.changes,
            "series": self.series,
        } | extra
