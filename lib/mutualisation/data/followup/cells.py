"""Cells of a follow-up sheet: what each holds (a mark, a date, a year…), and problems
located at a cell as Excel names it (``D12``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import polars as pl

from mutualisation.data.parameters import YEAR_BOUNDS
from mutualisation.data.problems import Problem

#: Cells that say « takes part, date unknown », and « does not take part » (lower case).
MARKS = ("x", "oui", "1", "✓", "✔", "☑", "✅")
NOES = ("non", "0", "-", "–", "—")
#: The kinds of cell that say a commune takes part.
TAKING_PART = ("marque", "date", "annee", "serie")
# Excel's serial numbers of 1 January 1950 and 31 December 2100 (day 0 = 1899-12-30).
_EXCEL_EPOCH = date(1899, 12, 30)
_SERIALS = ((date(YEAR_BOUNDS[0], 1, 1) - _EXCEL_EPOCH).days,
            (date(YEAR_BOUNDS[1], 12, 31) - _EXCEL_EPOCH).days)
_EXPECTED = "attendu X, oui, 1 ou ✓, une date (JJ/MM/AAAA ou AAAA-MM-JJ), une année ou rien"


@dataclass(frozen=True)
class CellProblem(Problem):
    """A problem located at a cell of the follow-up sheet, named as Excel shows it."""

    cell: str | None = None

    def place(self) -> list[str]:
        """The file and the cell (the line when no cell is known)."""
        return [self.file, f"cellule {self.cell}"] if self.cell is not None else super().place()


def fr_date(d: date) -> str:
    """``31/12/2019``."""
    return d.strftime("%d/%m/%Y")


def cell_kind(value: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """What a cell holds (``vide``, ``marque``, ``non``, ``date``, ``annee``, ``serie``,
    ``date impossible``, ``invalide``) and the date it gives (a year: its 1 January)."""
    text = value.str.strip_chars()
    low = text.str.to_lowercase().str.replace(r"^(\d+)\.0+$", "${1}")
    stamp = text.str.replace(r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$", "")
    iso_form = stamp.str.contains(r"^\d{4}-\d{1,2}-\d{1,2}$")
    fr_form = stamp.str.contains(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{4}$")
    parsed = pl.coalesce(
        pl.when(iso_form).then(stamp.str.to_date("%Y-%m-%d", strict=False)),
        pl.when(fr_form).then(stamp.str.replace_all(r"[.-]", "/")
                              .str.to_date("%d/%m/%Y", strict=False)),
    )
    number = pl.when(low.str.contains(r"^\d{1,6}$")).then(low.cast(pl.Int64, strict=False))
    year = pl.when(number.is_between(*YEAR_BOUNDS)).then(pl.date(number, 1, 1))
    serial = pl.when(number.is_between(*_SERIALS)).then(
        pl.lit(_EXCEL_EPOCH) + pl.duration(days=number))
    kind = (pl.when(text.is_null() | (text == "")).then(pl.lit("vide"))
            .when(low.is_in(list(MARKS))).then(pl.lit("marque"))
            .when(low.is_in(list(NOES))).then(pl.lit("non"))
            .when(parsed.is_not_null()).then(pl.lit("date"))
            .when(iso_form | fr_form).then(pl.lit("date impossible"))
            .when(year.is_not_null()).then(pl.lit("annee"))
            .when(serial.is_not_null()).then(pl.lit("serie"))
            .otherwise(pl.lit("invalide")))
    return kind, pl.coalesce(parsed, year, serial).cast(pl.Date)


def cell_problems(cells: pl.DataFrame, label: str, allowed: Iterable[str]) -> list[Problem]:
    """Cells (``__row``, ``cell``, ``header``, ``value``, ``kind``) of a kind not allowed."""
    bad = cells.filter(~pl.col("kind").is_in(list(allowed))).sort("__row", "cell")
    return [
        CellProblem(label, "date impossible (jour ou mois hors calendrier)"
                    if kind == "date impossible" else f"valeur non reconnue ({_EXPECTED})",
                    line=row, column=header, value=value, cell=cell)
        for row, cell, header, value, kind in
        bad.select("__row", "cell", "header", "value", "kind").iter_rows()
    ]


def parse_default(value: date | str | None) -> date | None | Problem:
    """The ``--date-par-defaut`` option: a date, or text as JJ/MM/AAAA, AAAA-MM-JJ or a year."""
    if value is None or isinstance(value, date):
        return value
    kind, parsed = cell_kind(pl.lit(value, dtype=pl.String))
    found, day = pl.select(kind.alias("kind"), parsed.alias("day")).row(0)
    if found in ("date", "annee"):
        return day
    return Problem("--date-par-defaut", "date illisible (attendu JJ/MM/AAAA, AAAA-MM-JJ ou une "
                   "année)", value=value)
