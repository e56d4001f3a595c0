"""The change log in French: grouped by table, counted, one line per row, field by field
(« Saint-André-lez-Lille, CAM : date_debut 2019-01-01 → 2018-11-02 »)."""

from __future__ import annotations

import polars as pl

from mutualisation.compute.changes import ADDED, CHANGED, REMOVED, Changes
from mutualisation.formatting import plural

#: How a table's rows are named (singular, plural); all feminine, like the participles.
NOUNS: dict[str, tuple[str, str]] = {
    "communes": ("commune", "communes"),
    "actions": ("action", "actions"),
    "participations": ("participation", "participations"),
    "populations": ("population", "populations"),
    "moyens": ("ligne de moyens", "lignes de moyens"),
}

#: What happened to a row (singular, plural), in the order they are counted.
PARTICIPLES: dict[str, tuple[str, str]] = {
    ADDED: ("ajoutée", "ajoutées"),
    REMOVED: ("supprimée", "supprimées"),
    CHANGED: ("modifiée", "modifiées"),
}

#: How an empty value shows.
EMPTY = "(vide)"


def _noun(table: str) -> tuple[str, str]:
    return NOUNS.get(table, (f"ligne de {table}", f"lignes de {table}"))


def element(table: str, key: list[str], names: dict[str, str]) -> str:
    """How a row is named: « Lille (59350) », « Lille, CAM », « CAM »…"""
    def commune(code: str) -> str:
        return f"{names[code]} ({code})" if code in names else code

    if table == "participations" and len(key) == 2:
        return f"{names.get(key[0], key[0])}, {key[1]}"
    if table in ("communes", "populations") and key:
        return ", ".join([commune(key[0]), *key[1:]])
    if table == "moyens" and len(key) == 3:
        return ", ".join([*key[:2], *([commune(key[2])] if key[2] else [])])
    return ", ".join(key)


def _rows(changes: Changes, log: pl.DataFrame) -> pl.DataFrame:
    """One row per changed row of ``log``, its changed fields gathered in order."""
    return log.with_columns(
        pl.format("{} {} → {}", "champ", pl.col("avant").fill_null(EMPTY),
                  pl.col("apres").fill_null(EMPTY)).alias("__champ"),
    ).group_by("table", "nature", "cle", "ligne", "ligne_avant", maintain_order=True).agg(
        pl.col("__champ").drop_nulls(), pl.col("valeurs").first(),
    )


def row_lines(changes: Changes, log: pl.DataFrame | None = None, *,
              noun: bool = True) -> list[str]:
    """One line per changed row of ``log`` (default: the whole log): what happened, where
    (the current file's line; a removed row's line in the earlier file) and what changed.

    ``noun``: begin with the kind of row (« participation modifiée »), else only the
    participle (under a table's heading)."""
    lines = []
    for table, nature, key, line, before, fields, values in _rows(
            changes, changes.log if log is None else log).iter_rows():
        what = PARTICIPLES[nature][0]
        if noun:
            what = f"{_noun(table)[0]} {what}"
        current, earlier = changes.labels.get(table, (table, table))
        where = (f"avant : {earlier}, ligne {before}" if nature == REMOVED
                 else f"{current}, ligne {line}")
        if (before if nature == REMOVED else line) is None:
            where = earlier if nature == REMOVED else current
        name = element(table, key, changes.names)
        detail = (f" : {', '.join(fields)}" if nature == CHANGED
                  else f" ({', '.join(values)})" if values else "")
        lines.append(f"{what} — {where} : {name}{detail}")
    return lines


def counts(changes: Changes, table: str) -> str:
    """« 2 ajoutées, 1 modifiée » for one table ('' when nothing changed)."""
    rows = _rows(changes, changes.of_table(table))
    found = dict(rows.group_by("nature").len().iter_rows())
    return ", ".join(plural(found[nature], *forms)
                     for nature, forms in PARTICIPLES.items() if nature in found)


def change_report(changes: Changes, since: str, current: str) -> list[str]:
    """The whole log as ``mutualisation diff`` prints it."""
    head = f"Données {current} comparées à {since}"
    if changes.empty:
        return [head, "Aucun changement."]
    total = _rows(changes, changes.log).height
    lines = [head, f"{plural(total, 'ligne changée', 'lignes changées')} :"]
    for table in changes.tables:
        log = changes.of_table(table)
        singular, many = _noun(table)
        if log.height == 0:
            lines.append(f"{many.capitalize()} : aucun changement")
            continue
        lines.append(f"{many.capitalize()} : {counts(changes, table)}")
        lines += [f"  {line}" for line in row_lines(changes, log, noun=False)]
    return lines
