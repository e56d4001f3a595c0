"""The optional ``populations`` table: the municipal population of a commune for a year
(``code_insee``, ``annee``, ``population``; DESIGN.md, "Input data contract").

A data folder may leave it out (the ``population`` column of ``communes`` is then the only
one); when present it is read and typed like the other tables
(:func:`mutualisation.data.validate.check_table`), then checked here: one row per commune and
year, a commune of ``communes``, a plausible year.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mutualisation.data.problems import Problem
from mutualisation.data.read import LINE, RawTable, find_source, read_table

TABLE = "populations"

#: The years a population may be given for (a census of the 19th century is no use here).
FIRST_YEAR, LAST_YEAR = 1900, 2100


def read_raw(folder: Path, sheets: dict[Path, list[str]]) -> tuple[RawTable | None,
                                                                   Path | None, list[Problem]]:
    """The table as text with its source, (None, None, []) when the folder has none."""
    source = find_source(folder, TABLE, sheets, optional=True)
    if source is None:
        return None, None, []
    if isinstance(source, Problem):
        return None, None, [source]
    raw = read_table(source, TABLE)
    if isinstance(raw, list):
        return None, source.path, raw
    return raw, source.path, []


def check_populations(frame: pl.DataFrame, communes: pl.DataFrame | None,
                      label: str) -> list[Problem]:
    """Rows given twice for a commune and year, unknown communes, implausible years."""
    problems = []
    keyed = frame.filter(pl.col("code_insee").is_not_null() & pl.col("annee").is_not_null())
    dup = keyed.with_columns(pl.col(LINE).min().over("code_insee", "annee").alias("__first")
                             ).filter(pl.col(LINE) != pl.col("__first")).sort(LINE)
    problems += [
        Problem(label, f"population de {code} pour {year} en double (déjà ligne {first})",
                line=line, column="annee", value=raw)
        for line, code, year, raw, first in
        dup.select(LINE, "code_insee", "annee", "__raw_annee", "__first").iter_rows()
    ]
    odd = keyed.filter(~pl.col("annee").is_between(FIRST_YEAR, LAST_YEAR)).sort(LINE)
    problems += [
        Problem(label, f"année hors de {FIRST_YEAR} à {LAST_YEAR}", line=line, column="annee",
                value=raw)
        for line, raw in odd.select(LINE, "__raw_annee").iter_rows()
    ]
    if communes is not None:
        unknown = keyed.filter(~pl.col("code_insee").is_in(communes["code_insee"].implode()))
        problems += [
            Problem(label, "commune absente de la table communes", line=line,
                    column="code_insee", value=raw)
            for line, raw in unknown.sort(LINE).select(LINE, "__raw_code_insee").iter_rows()
        ]
    return problems
