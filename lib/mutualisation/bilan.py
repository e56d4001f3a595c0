"""Everything the yearly bilan shows, computed once: figures, tables and charts.

The notebook displays a :class:`Bilan`; the report runner writes the same
object's tables and figures to files, so the page and the files can't disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from . import indicators as ind
from .loading import check_year, load_dataset
from .model import Dataset
from .paths import PROJECT_ROOT

#: Name of the optional commune outlines file of a data folder (GeoJSON, property code_insee).
OUTLINES_FILE = "communes.geojson"


def resolve_data(folder: str | Path) -> Path:
    """A data folder given relative to the project root (as stored reports do) or absolute."""
    path = Path(folder)
    return path if path.is_absolute() else PROJECT_ROOT / path


def portable_data_path(folder: str | Path) -> str:
    """The data folder as a report should record it: relative to the project when inside it."""
    path = Path(folder).resolve()
    try:
        return path.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def load_outlines(folder: Path) -> list[dict[str, Any]] | None:
    """The GeoJSON features of the communes, when the data folder has them."""
    path = folder / OUTLINES_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))["features"]


@dataclass
class Bilan:
    """The bilan of one year of a data set."""

    dataset: Dataset
    year: int
    thresholds: tuple[int, ...] = ind.DEFAULT_THRESHOLDS
    outlines: list[dict[str, Any]] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, data: str | Path, year: int | None = None,
              thresholds: tuple[int, ...] | list[int] = ind.DEFAULT_THRESHOLDS) -> Bilan:
        """Load and validate ``data``, check the year (None: the last one), prepare the bilan."""
        folder = resolve_data(data)
        dataset = load_dataset(folder)
        year = dataset.last_year if year is None else year
        check_year(dataset, year)
        return cls(dataset, year, tuple(thresholds), load_outlines(folder))

    # ------------------------------------------------------------------ figures

    @cached_property
    def indicators(self) -> dict[str, Any]:
        """The key figures of the year (the content of indicators.json)."""
        figures = ind.year_indicators(self.dataset, self.year, self.thresholds)
        figures["donnees_illustratives"] = self.dataset.illustrative
        return figures

    @cached_property
    def previous(self) -> dict[str, Any] | None:
        """The key figures of the year before, when the data covers it."""
        if self.year - 1 < self.dataset.first_year:
            return None
        return ind.year_indicators(self.dataset, self.year - 1, self.thresholds)

    @cached_property
    def years(self) -> list[int]:
        """From the first year of the data to the year of the bilan."""
        return list(range(self.dataset.first_year, self.year + 1))

    @cached_property
    def series(self) -> pl.DataFrame:
        return ind.series(self.dataset, self.years, self.thresholds)

    @cached_property
    def series_long(self) -> pl.DataFrame:
        return ind.series_long(self.dataset, self.years, self.thresholds)

    @cached_property
    def actions(self) -> pl.DataFrame:
        return ind.actions_status(self.dataset, self.year)

    @cached_property
    def communes(self) -> pl.DataFrame:
        return ind.actions_per_commune(self.dataset, self.year)

    @cached_property
    def distribution(self) -> pl.DataFrame:
        return ind.distribution(self.dataset, self.year)

    @cached_property
    def domains(self) -> pl.DataFrame:
        return ind.by_domain(self.dataset, self.year)

    @cached_property
    def changes(self) -> pl.DataFrame:
        return ind.membership_changes(self.dataset, self.year)

    # ------------------------------------------------------------------ files

    def tables(self) -> dict[str, pl.DataFrame]:
        """The tables of the report, by file stem, ready for CSV (lists joined by spaces)."""
        communes = self.communes.with_columns(
            pl.col("actions", "actions_disponibles").list.join(" ")
        )
        return {
            "actions": self.actions,
            "communes": communes,
            "distribution": self.distribution,
            "domaines": self.domains,
            "mouvements": self.changes,
            "series": self.series,
        }

    @cached_property
    def figures(self) -> dict[str, Any]:
        """The charts of the report, by file stem."""
        from . import charts  # Altair's import cost only when charts are wanted

        figures: dict[str, Any] = {
            "actions_par_annee": charts.actions_by_year(self.series),
            "actions_deployees_annee": charts.deployed_this_year(self.actions),
            "participations_par_action": charts.participations_by_action(self.actions),
            "domaines": charts.by_domain(self.domains),
            "parts_communes": charts.participation_shares(self.series_long),
            "distribution": charts.actions_distribution(self.distribution),
            "matrice": charts.commune_action_matrix(self.communes, self.actions),
            "taille_communes": charts.uptake_by_size(self.communes),
        }
        if self.outlines is not None:
            figures["carte"] = charts.commune_map(self.outlines, self.communes)
        return {name: charts.named(chart, name) for name, chart in sorted(figures.items())}
