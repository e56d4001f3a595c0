"""What a follow-up sheet is resolved against: the folder's ``communes`` and ``actions``
tables, and its mapping file (:data:`MAPPING_FILE`, two columns ``ecrit,code``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from mutualisation.data.followup.names import (
    CODE_MATCH,
    IGNORE,
    MAPPING_FILE,
    UNKNOWN_CODE,
    normalise_name,
    normalised,
    resolve,
)
from mutualisation.data.problems import Problem, shown
from mutualisation.data.read import LINE, find_source, read_table
from mutualisation.data.validate import check_table

_CODE = r"^(?:\d{4,5}|2[ab]\d{3})$"
#: The columns of the reference tables the import uses, and their key.
_COLUMNS = {"communes": ("code_insee", "nom", "date_adhesion"),
            "actions": ("action_id", "libelle", "date_inscription", "date_deploiement",
                        "forme_juridique")}


@dataclass(frozen=True)
class Reference:
    """The communes and actions of the data folder, and its mapping file."""

    #: ``code_insee``, ``nom``, ``date_adhesion``.
    communes: pl.DataFrame
    #: ``action_id``, ``libelle``, ``date_inscription``, ``date_deploiement``,
    #: ``forme_juridique`` (canonical, null when not given).
    actions: pl.DataFrame
    #: ``text`` (as written, trimmed), ``key`` (normalised), ``code``, ``kind``
    #: (``commune``, ``action`` or IGNORE), ``line``.
    mapping: pl.DataFrame


def _typed_table(folder: Path, table: str) -> tuple[pl.DataFrame | None, list[Problem]]:
    """The columns of ``table`` the import needs, typed, once the table passes the checks of
    ``mutualisation check`` on its own (:func:`mutualisation.data.validate.check_table`)."""
    source = find_source(folder, table)
    if isinstance(source, Problem):
        return None, [source]
    raw = read_table(source, table)
    if isinstance(raw, list):
        return None, raw
    typed, problems = check_table(raw)
    if typed is None or problems:
        return None, problems
    return typed.select(_COLUMNS[table]), []


def read_reference(folder: Path) -> Reference | list[Problem]:
    """The folder's communes, actions and mapping file, or what's wrong with them."""
    communes, problems = _typed_table(folder, "communes")
    actions, more = _typed_table(folder, "actions")
    problems += more
    if communes is None or actions is None:
        return problems
    mapping, more = read_mapping(folder / MAPPING_FILE, communes, actions)
    if more:
        return more
    return Reference(communes, actions, mapping)


def read_mapping(path: Path, communes: pl.DataFrame,
                  actions: pl.DataFrame) -> tuple[pl.DataFrame, list[Problem]]:
    """The mapping file (empty when absent): every line checked against the tables."""
    empty = pl.DataFrame(schema={"text": pl.String, "key": pl.String, "code": pl.String,
                                 "kind": pl.String, "line": pl.Int64})
    if not path.exists():
        return empty, []
    raw = read_table(path, "correspondances")
    if isinstance(raw, list):
        return empty, raw
    columns = {normalise_name(c): c for c in raw.frame.columns if c != LINE}
    text_column = next((columns[k] for k in ("ecrit", "tel qu ecrit", "nom") if k in columns),
                       None)
    code_column = next((columns[k] for k in ("code", "code insee", "action id")
                        if k in columns), None)
    if text_column is None or code_column is None:
        found = ", ".join(shown(c) for c in columns.values()) or "aucune"
        return empty, [Problem(raw.label, f"colonnes « ecrit » et « code » attendues (colonnes "
                               f"trouvées : {found})", line=raw.header_line)]
    code = pl.col("written").str.strip_chars()
    frame = (
        raw.frame.select(pl.col(LINE).alias("line"),
                         pl.col(text_column).str.strip_chars().alias("text"),
                         pl.col(code_column).alias("written"))
        .with_columns(
            key=normalised(pl.col("text")),
            code=pl.when(normalised(code).is_in([IGNORE, "ignore"])).then(pl.lit(IGNORE))
            .when(code.str.contains(r"^\d{4}(?:\.0+)?$")).then(
                code.str.replace(r"\.0+$", "").str.zfill(5))
            .otherwise(code.str.replace(r"^(\d{5})\.0+$", "${1}").str.to_uppercase()),
        )
        .with_columns(kind=pl.when(pl.col("code") == IGNORE).then(pl.lit(IGNORE))
                      .when(pl.col("code").is_in(communes["code_insee"].implode()))
                      .then(pl.lit("commune"))
                      .when(pl.col("code").is_in(actions["action_id"].implode()))
                      .then(pl.lit("action")))
    )
    problems = [
        Problem(raw.label, "« ecrit » vide", line=line, column=text_column, value=code or "")
        for line, code in frame.filter(pl.col("text").is_null()).select("line", "written")
        .iter_rows()
    ]
    problems += [
        Problem(raw.label, "code inconnu : ni un code_insee de la table communes, ni un "
                f"action_id de la table actions, ni « {IGNORE} »", line=line,
                column=code_column, value=written or "")
        for line, written in frame.filter(pl.col("text").is_not_null() & pl.col("kind").is_null())
        .select("line", "written").iter_rows()
    ]
    clashes = (frame.filter(pl.col("kind").is_not_null())
               .with_columns(pl.col("line").min().over("key").alias("first"),
                             pl.col("code").n_unique().over("key").alias("codes"))
               .filter((pl.col("codes") > 1) & (pl.col("line") != pl.col("first"))))
    problems += [
        Problem(raw.label, f"même nom que la ligne {first} (une fois normalisé), autre code",
                line=line, column=text_column, value=text)
        for line, text, first in clashes.select("line", "text", "first").iter_rows()
    ]
    kept = frame.select("text", "key", "code", "kind", "line").drop_nulls(["text", "kind"])
    return kept, problems


def commune_names(reference: Reference) -> pl.DataFrame:
    """``text`` -> ``target`` (INSEE code): each name, and each name with its department."""
    communes = reference.communes
    department = (pl.when(pl.col("code_insee").str.starts_with("97"))
                  .then(pl.col("code_insee").str.slice(0, 3))
                  .otherwise(pl.col("code_insee").str.slice(0, 2)))
    return pl.concat([
        communes.select(text=pl.col("nom"), target=pl.col("code_insee")),
        communes.select(text=pl.format("{} ({})", pl.col("nom"), department),
                        target=pl.col("code_insee")),
    ])


def action_names(reference: Reference) -> pl.DataFrame:
    """``text`` -> ``target`` (action_id): each id and each label."""
    actions = reference.actions
    return pl.concat([actions.select(text=pl.col("action_id"), target=pl.col("action_id")),
                      actions.select(text=pl.col("libelle"), target=pl.col("action_id"))])


def resolve_communes(written: pl.Series, reference: Reference) -> pl.DataFrame:
    """:func:`~mutualisation.data.followup.names.resolve` for communes, a value that looks
    like an INSEE code taken as one (a leading zero that Excel dropped put back)."""
    text = pl.col("written").str.strip_chars().str.to_lowercase().str.replace(r"\.0+$", "")
    code = (pl.when(text.str.contains(_CODE))
            .then(pl.when(text.str.len_chars() == 4).then(text.str.zfill(5))
                  .otherwise(text.str.to_uppercase())))
    values = pl.DataFrame({"written": written}).unique().drop_nulls().with_columns(code=code)
    known = reference.communes["code_insee"].implode()
    by_code = values.filter(pl.col("code").is_not_null()).select(
        "written", key=pl.col("code"),
        target=pl.when(pl.col("code").is_in(known)).then(pl.col("code")),
        how=pl.when(pl.col("code").is_in(known)).then(pl.lit(CODE_MATCH))
        .otherwise(pl.lit(UNKNOWN_CODE)),
        candidates=pl.lit(None, dtype=pl.List(pl.String)),
    )
    by_name = resolve(values.filter(pl.col("code").is_null())["written"],
                      commune_names(reference), reference.mapping, "commune")
    return pl.concat([by_code, by_name]).sort("written")


def commune_choices(reference: Reference) -> list[tuple[str, str]]:
    """(normalised name, « Nom (code) ») of every commune, for suggestions."""
    frame = reference.communes.select(normalised(pl.col("nom")).alias("key"),
                                      pl.format("{} ({})", "nom", "code_insee").alias("shown"))
    return list(frame.sort("key", "shown").iter_rows())


def action_choices(reference: Reference) -> list[tuple[str, str]]:
    """(normalised label or id, « Libellé (id) ») of every action, for suggestions."""
    shown_as = pl.format("{} ({})", "libelle", "action_id").alias("shown")
    frame = pl.concat([
        reference.actions.select(normalised(pl.col("libelle")).alias("key"), shown_as),
        reference.actions.select(normalised(pl.col("action_id")).alias("key"), shown_as),
    ])
    return list(frame.sort("key", "shown").iter_rows())


def action_choices_by_id(reference: Reference) -> dict[str, str]:
    """``action_id`` -> « libellé (action_id) »."""
    return dict(reference.actions.select(
        "action_id", pl.format("{} ({})", "libelle", "action_id").alias("shown")).iter_rows())
