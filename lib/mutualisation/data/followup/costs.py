"""Import of a cost sheet in long form (one row per action × year × commune) into the
``moyens`` table of a data folder (``mutualisation import --moyens``).

The sheet is read like a follow-up sheet (:mod:`.sheet`: XLSX or CSV, a header row below
any title block); communes and actions are written by name or code and resolve exactly as
participations do (the folder's tables, then :data:`MAPPING_FILE`, then normalised names),
with the same suggestions when they don't. An empty commune cell is the action as a whole.
The rows built are then checked by the very rules of the table
(:func:`mutualisation.data.moyens.check_rows`), quoting the sheet's rows; nothing is
written while anything is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from mutualisation.data import moyens
from mutualisation.data.followup.cells import CellProblem
from mutualisation.data.followup.convert import write_together
from mutualisation.data.followup.names import (
    ACTION_HEADERS,
    COMMUNE_HEADERS,
    MAPPING_FILE,
    UNKNOWN_CODE,
    name_problems,
    normalised,
    resolve,
)
from mutualisation.data.followup.reference import (
    action_choices,
    action_choices_by_id,
    action_names,
    commune_choices,
    read_reference,
    resolve_communes,
)
from mutualisation.data.followup.sheet import HEADER_SEARCH, Sheet, long_cells, read_sheet
from mutualisation.data.problems import DataError, Problem
from mutualisation.data.read import LINE, RawTable, find_source, has_rows, list_folder
from mutualisation.data.validate import load_dataset
from mutualisation.files import os_reason
from mutualisation.formatting import plural

#: The table written, in the data folder.
OUTPUT_FILE = f"{moyens.TABLE}.csv"

#: Headings of the figure columns, once normalised (:func:`normalised`).
HEADINGS: dict[str, frozenset[str]] = {
    "annee": frozenset({"annee", "exercice", "annee budgetaire", "millesime"}),
    "etp": frozenset({"etp", "equivalents temps plein", "equivalent temps plein",
                      "effectifs etp", "effectif etp"}),
    "agents_transferes": frozenset({"agents transferes", "agents", "nombre d agents",
                                    "agents transferes ou mis a disposition",
                                    "agents mis a disposition"}),
    "cout_fonctionnement": frozenset({"cout", "cout de fonctionnement", "cout fonctionnement",
                                      "depenses de fonctionnement", "montant", "cout impute",
                                      "part imputee", "cout annuel"}),
    "economies": frozenset({"economies", "economies declarees", "gains"}),
    "mode_financement": frozenset({"mode de financement", "financement",
                                   "mode financement"}),
    "cle_repartition": frozenset({"cle de repartition", "cle", "repartition",
                                  "cle repartition"}),
}
_HEADINGS_SAID = ("une colonne action (« Action », « Libellé »…), une colonne « Année », et au "
                  "besoin « Commune », « ETP », « Agents transférés », « Coût de "
                  "fonctionnement », « Économies », « Mode de financement », « Clé de "
                  "répartition »")


@dataclass(frozen=True)
class CostImport:
    """What :func:`import_costs` wrote."""

    moyens: pl.DataFrame
    report: str
    output: Path


def _header(sheet: Sheet) -> tuple[int, dict[str, list[int]]] | Problem:
    """The header row (the first naming an action column and a year column) and the
    columns of each role."""
    top = long_cells(sheet, sheet.cells.head(HEADER_SEARCH)).with_columns(
        key=normalised(pl.col("value")))
    roles = {"commune": COMMUNE_HEADERS, "action": ACTION_HEADERS, **HEADINGS}
    for row in top["__row"].unique(maintain_order=True).to_list():
        cells = top.filter(pl.col("__row") == row)
        found = {role: [c for c, k in cells.select("col", "key").iter_rows() if k in keys]
                 for role, keys in roles.items()}
        if found["action"] and found["annee"]:
            return row, found
    return Problem(sheet.label, f"ligne d'en-tête introuvable dans les {HEADER_SEARCH} "
                   f"premières lignes : attendu {_HEADINGS_SAID}")


def _first(columns: list[int]) -> pl.Expr:
    if not columns:
        return pl.lit(None, dtype=pl.String)
    return pl.coalesce(pl.when(pl.col(f"c{c}").str.strip_chars() != "").then(pl.col(f"c{c}"))
                       for c in columns)


def _destination(folder: Path, force: bool) -> list[Problem]:
    """Why ``moyens.csv`` can't be written in ``folder`` (nothing when it can)."""
    source = find_source(folder, moyens.TABLE)
    if isinstance(source, Problem):
        return [] if "introuvable" in source.message else [source]
    if source.sheet is None and source.path.name == OUTPUT_FILE:
        return [] if force else [Problem(str(source.path),
                                         "existe déjà : --force pour le remplacer")]
    if source.sheet is not None and not has_rows(source, moyens.TABLE):
        return []  # the empty sheet of a template: the file will take over
    return [Problem(source.label, f"la table moyens est déjà là : l'import écrit "
                    f"{OUTPUT_FILE}, retirer d'abord celle-ci du dossier")]


def _rows(sheet: Sheet, folder: Path) -> tuple[RawTable | None, dict[str, int], list[Problem]]:
    """The sheet's rows as a ``moyens`` table read as text, names resolved."""
    reference = read_reference(folder)
    if isinstance(reference, list):
        return None, {}, reference
    header = _header(sheet)
    if isinstance(header, Problem):
        return None, {}, [header]
    row, roles = header
    values = [c for c in sheet.cells.columns if c != "__row"]
    body = sheet.cells.filter(
        (pl.col("__row") > row)
        & ~pl.all_horizontal(pl.col(values).str.strip_chars().fill_null("") == ""))
    commune_col, action_col = (roles["commune"] or [None])[0], roles["action"][0]
    frame = body.select(
        pl.col("__row").alias(LINE),
        _first(roles["commune"]).str.strip_chars().alias("written"),
        _first(roles["action"]).str.strip_chars().alias("action_text"),
        *(_first(roles[c]).alias(c) for c in HEADINGS),
    )
    label = sheet.label
    problems: list[Problem] = []
    communes = resolve_communes(frame["written"], reference)
    actions = resolve(frame["action_text"], action_names(reference), reference.mapping,
                      "action")

    def where(column: str, col: int | None) -> pl.DataFrame:
        letters = sheet.letters(col) if col is not None else ""
        return (frame.filter(pl.col(column).is_not_null()).group_by(column)
                .agg(pl.format("{}{}", pl.lit(letters), pl.col(LINE).min()).alias("cell"),
                     pl.col(LINE).min().alias("__row"), pl.len().cast(pl.Int64).alias("count"))
                .rename({column: "written"}))

    problems += name_problems(actions, where("action_text", action_col), label, "action",
                              action_choices(reference), action_choices_by_id(reference))
    shown_targets = dict(reference.communes.select(
        "code_insee", pl.format("{} {}", "code_insee", "nom").alias("shown")).iter_rows())
    problems += name_problems(communes, where("written", commune_col), label, "commune",
                              commune_choices(reference), shown_targets)
    problems += [
        CellProblem(label, "code INSEE absent de la table communes", line=line, value=written,
                    cell=f"{sheet.letters(commune_col)}{line}")
        for written, line in communes.filter(pl.col("how") == UNKNOWN_CODE)
        .join(where("written", commune_col), on="written").select("written", "__row")
        .iter_rows()
    ]
    if any(p.message.startswith(("action inconnue", "commune inconnue")) for p in problems):
        problems.append(Problem(str(folder / MAPPING_FILE),
                                "pour un nom que la normalisation ne suffit pas à reconnaître :"
                                " une ligne « ecrit,code » (code INSEE, action_id, ou "
                                "« ignorer »), relue à chaque import"))
    problems += [CellProblem(label, "action manquante", line=line,
                             cell=f"{sheet.letters(action_col)}{line}")
                 for (line,) in frame.filter(pl.col("action_text").is_null()).select(LINE)
                 .iter_rows()]
    resolved = (frame
                .join(actions.select(pl.col("written").alias("action_text"),
                                     pl.col("target").alias("action_id")),
                      on="action_text", how="left")
                .join(communes.select("written", pl.col("target").alias("code_insee"),
                                      pl.col("how")), on="written", how="left"))
    # A row whose names did not resolve is already reported: not checked further.
    resolved = resolved.filter(pl.col("action_id").is_not_null(),
                               pl.col("written").is_null() | pl.col("code_insee").is_not_null())
    stats = {"lues": frame.height,
             "communes": resolved.filter(pl.col("code_insee").is_not_null()).height,
             "actions": resolved.filter(pl.col("code_insee").is_null()).height}
    raw = resolved.select(LINE, "action_id", "code_insee", *HEADINGS)
    return RawTable(moyens.TABLE, label, raw, header_line=row), stats, problems


def import_costs(file: str | Path, data: str | Path, *, sheet: str | None = None,
                 force: bool = False) -> CostImport:
    """Import the cost sheet ``file`` into ``data``/moyens.csv. Raises DataError with every
    problem found, before anything is written."""
    file, folder = Path(file), Path(data)
    listed = list_folder(folder)
    if isinstance(listed, Problem):
        raise DataError([listed])
    problems = _destination(folder, force)
    read = read_sheet(file, sheet)
    if isinstance(read, list):
        raise DataError(problems + read)
    raw, stats, found = _rows(read, folder)
    problems += found
    if raw is None or problems:
        raise DataError(problems)
    dataset = load_dataset(folder)
    frame, found = moyens.check_rows(raw, dataset.communes, dataset.actions,
                                     dataset.participations, dataset.first_year,
                                     dataset.last_year)
    if found or frame is None:
        raise DataError(found)
    if frame.is_empty():
        raise DataError([Problem(read.label, "aucune ligne de moyens trouvée sous l'en-tête")])
    output = folder / OUTPUT_FILE
    text = frame.write_csv(line_terminator="\n")
    try:
        write_together({output: text.encode("utf-8")})
    except OSError as err:
        raise DataError([Problem(str(output), f"écriture impossible : {os_reason(err)} ; "
                                 "rien n'a été écrit")]) from None
    report = "\n".join([
        f"Import de {read.label} vers {folder.name}/{OUTPUT_FILE}",
        f"Lignes lues : {stats['lues']}",
        f"Lignes écrites : {plural(stats['actions'], 'ligne d’action', 'lignes d’action')}, "
        f"{plural(stats['communes'], 'part de commune', 'parts de communes')}",
    ]) + "\n"
    return CostImport(frame, report, output)
