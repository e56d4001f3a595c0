"""The in-memory data set: three typed Polars frames and what is known about them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

#: Column types of the three tables once loaded (required and optional columns).
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "communes": {
        "code_insee": pl.String(),
        "nom": pl.String(),
        "date_adhesion": pl.Date(),
        "date_sortie": pl.Date(),
        "population": pl.Int64(),
        "code_successeur": pl.String(),
        "adhesion_borne_inferieure": pl.Boolean(),
    },
    "actions": {
        "action_id": pl.String(),
        "libelle": pl.String(),
        "date_inscription": pl.Date(),
        "date_deploiement": pl.Date(),
        "domaine": pl.String(),
        "forme_juridique": pl.String(),
        "date_abandon": pl.Date(),
    },
    "participations": {
        "code_insee": pl.String(),
        "action_id": pl.String(),
        "date_debut": pl.Date(),
        "date_fin": pl.Date(),
    },
    "populations": {
        "code_insee": pl.String(),
        "annee": pl.Int64(),
        "population": pl.Int64(),
    },
}

#: Columns that must be present in each table.
REQUIRED: dict[str, tuple[str, ...]] = {
    "communes": ("code_insee", "nom", "date_adhesion"),
    "actions": ("action_id", "libelle", "date_inscription"),
    "participations": ("code_insee", "action_id", "date_debut"),
    "populations": ("code_insee", "annee", "population"),
}

TABLES: tuple[str, ...] = ("communes", "actions", "participations")

#: Tables a data folder may leave out: without them it loads exactly as before (each
#: read by its own module: ``data/populations.py``, ``data/moyens.py``).
OPTIONAL_TABLES: tuple[str, ...] = ("populations", "moyens")

#: Tables that may have no row: a schéma just started (``mutualisation init``) has no action.
MAY_BE_EMPTY: tuple[str, ...] = ("actions", "participations", "populations")


@dataclass(frozen=True)
class Dataset:
    """The three tables of a data folder, validated and typed.

    Every column of ``SCHEMAS`` is present (optional ones filled with nulls when
    the file lacks them); extra columns of the files are kept after them.
    """

    communes: pl.DataFrame
    actions: pl.DataFrame
    participations: pl.DataFrame
    #: First and last year the data is complete for (inclusive).
    first_year: int
    last_year: int
    #: True when the data set says it is illustrative (reports print a banner).
    illustrative: bool = False
    #: Free text describing the data set (from its metadata file), may be empty.
    description: str = ""
    #: The files read, by table name (plus ``metadata`` when present).
    sources: dict[str, Path] = field(default_factory=dict)
    #: The encoding each CSV table was decoded with (``UTF-8`` or ``Windows-1252``), by
    #: table name: detected, not declared, so ``mutualisation check`` shows it.
    encodings: dict[str, str] = field(default_factory=dict)
    #: True when the years covered are declared by the metadata file (``annees``), not
    #: deduced from the dates of the tables.
    years_declared: bool = False
    #: The optional ``populations`` table (code_insee, annee, population), None when the
    #: folder has none: see :func:`mutualisation.compute.population.population_for_year`.
    populations: pl.DataFrame | None = None
    #: The date ``mutualisation init --membres-depuis`` gave the communes of the reference's
    #: first edition (``membres_depuis`` of the metadata file), said in the bilan's notes.
    members_since: date | None = None
    #: The optional ``moyens`` table (staff and costs, :mod:`mutualisation.data.moyens`),
    #: None when the folder has none.
    moyens: pl.DataFrame | None = None

    @property
    def years(self) -> list[int]:
        """Every year the data covers, in order."""
        return list(range(self.first_year, self.last_year + 1))

    def source_note(self, table: str) -> str:
        """Where ``table`` was read from, as ``mutualisation check`` says it after its count:
        `` (moyens.csv)``, or for a CSV with the encoding detected, `` (moyens.csv, encodage :
        Windows-1252)`` — a file read as Windows-1252 when meant as UTF-8 shows here first;
        '' for a table the folder does not have."""
        source = self.sources.get(table)
        if source is None:
            return ""
        encoding = self.encodings.get(table)
        return f" ({source.name}, encodage : {encoding})" if encoding else f" ({source.name})"


def reference_date(year: int) -> date:
    """The reference date D of a year: 31 December, inclusive."""
    return date(year, 12, 31)


# The definitions of DESIGN.md (« Definitions ») as Polars expressions, in one place for every
# layer: ``ref`` is a date expression (the reference date D, or a column of them).


def is_member(ref: pl.Expr) -> pl.Expr:
    """A commune is a member at ``ref``: joined on or before, not left on or before."""
    left = pl.col("date_sortie")
    return (pl.col("date_adhesion") <= ref) & (left.is_null() | (left > ref))


def _stands(ref: pl.Expr) -> pl.Expr:
    """An action has not left the schéma at ``ref``: no ``date_abandon``, or a later one."""
    abandoned = pl.col("date_abandon")
    return abandoned.is_null() | (abandoned > ref)


def is_inscribed(ref: pl.Expr) -> pl.Expr:
    """An action is inscribed at ``ref`` (and not abandoned on or before it)."""
    return (pl.col("date_inscription") <= ref) & _stands(ref)


def is_deployed(ref: pl.Expr) -> pl.Expr:
    """An action is deployed at ``ref`` (never null: False when not deployed), and not
    abandoned on or before it."""
    deployed = pl.col("date_deploiement")
    return deployed.is_not_null() & (deployed <= ref) & _stands(ref)


def is_active(ref: pl.Expr) -> pl.Expr:
    """A participation is active at ``ref``: started on or before, not ended on or before."""
    end = pl.col("date_fin")
    return (pl.col("date_debut") <= ref) & (end.is_null() | (end > ref))


def is_active_between(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """A participation is active at some date from ``start`` to ``end`` (inclusive): it starts
    on or before ``end`` and ends after both its start and ``start`` (:func:`is_active` on at
    least one of those days; ``is_active_between(d, d)`` is ``is_active(d)``)."""
    began, ended = pl.col("date_debut"), pl.col("date_fin")
    return (began <= end) & (ended.is_null() | (ended > pl.max_horizontal(began, start)))
