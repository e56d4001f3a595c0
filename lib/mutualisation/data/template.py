"""An Excel workbook ready to fill with the three tables (DESIGN.md, "Input data contract").

:func:`write_template` writes the sheets ``communes``, ``actions`` and
``participations`` with their headers (required columns first, in bold, each with a
note saying what is expected), date and text formats, and data validation: dates must
be dates, populations whole numbers, and the ``code_insee`` / ``action_id`` cells of
``participations`` are drop-down lists. Once filled, the workbook can be put in a data
folder as is: :func:`mutualisation.data.validate.load_dataset` reads its sheets.

The lists come from a data set when one is given (written to a hidden sheet
``listes``), otherwise from the ``communes`` and ``actions`` sheets of the workbook
itself. The output is deterministic: the same data gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import xlsxwriter

from mutualisation.data.model import REQUIRED, SCHEMAS, TABLES, Dataset
from mutualisation.data.vocabulary import FORMES_JURIDIQUES

#: The last row (as Excel numbers them) given formats and validation.
LAST_ROW = 2000
#: The hidden sheet holding the drop-down lists taken from a data set.
LISTS_SHEET = "listes"
#: A fixed creation date, so that two runs write identical bytes.
CREATED = dt.datetime(2015, 6, 19)
#: Author of the header notes.
AUTHOR = "Bilan du schéma de mutualisation"

_DATE_HINT = "Date au format JJ/MM/AAAA."

#: What each column expects, shown as a note on its header.
NOTES: dict[str, dict[str, str]] = {
    "communes": {
        "code_insee": "Code INSEE de la commune, 5 caractères (59350, 2A004). Unique.",
        "nom": "Nom de la commune.",
        "date_adhesion": f"Date d'adhésion de la commune à l'intercommunalité. {_DATE_HINT}",
        "date_sortie": "Date de sortie (fusion, retrait) ; laisser vide si la commune est "
                       f"toujours membre. {_DATE_HINT}",
        "population": "Population municipale (nombre entier). Facultatif.",
        "code_successeur": "Pour une commune sortie par fusion dans une commune nouvelle : "
                           "le code INSEE de celle-ci (une ligne de cette feuille). Ses "
                           "participations en cours à la date de sortie passent à la commune "
                           "nouvelle. Facultatif.",
        "adhesion_borne_inferieure": "« oui » quand la date d'adhésion est seulement la "
                                     "première date connue (la commune a pu adhérer avant). "
                                     "Facultatif.",
    },
    "actions": {
        "action_id": "Identifiant court et stable de l'action (CAM, RGPD). Unique.",
        "libelle": "Libellé de l'action, tel qu'il apparaît dans les rapports.",
        "date_inscription": f"Date d'inscription de l'action au schéma. {_DATE_HINT}",
        "date_deploiement": "Date de déploiement ; laisser vide si l'action n'est pas encore "
                            f"déployée. {_DATE_HINT}",
        "domaine": "Thème de l'action (achats, numérique, habitat, énergie…). Facultatif.",
        "forme_juridique": "Forme juridique de la mutualisation (liste déroulante : service "
                           "commun, service unifié, groupement de commandes…). Facultatif.",
        "date_abandon": "Date à laquelle l'action a quitté le schéma (abandonnée ou "
                        "suspendue) ; laisser vide tant qu'elle y figure. Aucune participation "
                        f"ne peut rester en cours après elle. {_DATE_HINT}",
    },
    "participations": {
        "code_insee": "Code INSEE d'une commune de la feuille « communes » (liste déroulante).",
        "action_id": "Identifiant d'une action de la feuille « actions » (liste déroulante).",
        "date_debut": f"Date à laquelle la commune a rejoint l'action. {_DATE_HINT}",
        "date_fin": "Date à laquelle la commune a quitté l'action ; laisser vide si elle y "
                    f"participe toujours. {_DATE_HINT}",
    },
}

_TEXT_COLUMNS = ("code_insee", "action_id", "code_successeur")
_KEYS = {"code_insee": "communes", "action_id": "actions"}


def _columns(table: str) -> list[str]:
    """Required columns first, then optional ones, in the order of the schema."""
    schema = SCHEMAS[table]
    return ([c for c in schema if c in REQUIRED[table]]
            + [c for c in schema if c not in REQUIRED[table]])


def _column_letter(index: int) -> str:
    return xlsxwriter.utility.xl_col_to_name(index)


def _list_sources(book: xlsxwriter.Workbook, dataset: Dataset | None,
                  tables: tuple[str, ...] = TABLES) -> dict[str, str]:
    """The range each drop-down list of ``participations`` refers to: the data set's values,
    or the workbook's own sheet when there is no data set or its table is empty (and the
    sheet is written)."""
    own = {column: table for column, table in _KEYS.items()
           if table in tables and (dataset is None or getattr(dataset, table).is_empty())}
    sources = {
        column: f"={table}!${_column_letter(_columns(table).index(column))}$2:"
                f"${_column_letter(_columns(table).index(column))}${LAST_ROW}"
        for column, table in own.items()
    }
    if dataset is None or len(own) == len(_KEYS):
        return sources
    sheet = book.add_worksheet(LISTS_SHEET)
    sheet.hide()
    text = book.add_format({"num_format": "@"})
    for index, (column, table) in enumerate(_KEYS.items()):
        if column in own:
            continue
        frame: pl.DataFrame = getattr(dataset, table)
        values = sorted(v for v in frame[column].to_list() if v is not None)
        sheet.write_string(0, index, column)
        for row, value in enumerate(values, start=1):
            sheet.write_string(row, index, value, text)
        letter = _column_letter(index)
        # An empty list still needs a valid range: the cell under the header.
        sources[column] = f"={LISTS_SHEET}!${letter}$2:${letter}${max(len(values), 1) + 1}"
    return sources


def write_template(path: str | Path, dataset: Dataset | None = None,
                   tables: tuple[str, ...] = TABLES) -> Path:
    """Write an empty workbook ready to fill with the three tables; return its path.

    With ``dataset``, the drop-down lists of ``participations`` offer its communes and
    actions; without, those typed in the ``communes`` and ``actions`` sheets. ``tables``
    chooses the sheets (``mutualisation init`` writes ``communes.csv`` apart, and a
    workbook of ``actions`` and ``participations`` only).
    """
    unknown = [t for t in tables if t not in TABLES]
    if unknown or not tables:
        raise ValueError(f"tables must be some of {TABLES}, got {tables!r}")
    tables = tuple(t for t in TABLES if t in tables)
    path = Path(path)
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    book.set_properties({
        "title": "Données du bilan du schéma de mutualisation",
        "comments": "Modèle à remplir : une feuille par table (communes, actions, "
                    "participations).",
        "author": AUTHOR,
        "created": CREATED,
    })
    required = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    optional = book.add_format({"bg_color": "#F2F2F2", "border": 1})
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    text_format = book.add_format({"num_format": "@"})

    sheets = {table: book.add_worksheet(table) for table in tables}
    lists = _list_sources(book, dataset, tables)
    for table, sheet in sheets.items():
        sheet.freeze_panes(1, 0)
        for index, column in enumerate(_columns(table)):
            is_required = column in REQUIRED[table]
            sheet.write_string(0, index, column, required if is_required else optional)
            note = NOTES[table][column]
            note = f"{'Obligatoire' if is_required else 'Facultatif'}. {note}"
            sheet.write_comment(0, index, note, {"author": AUTHOR, "x_scale": 2, "y_scale": 1.5})
            dtype = SCHEMAS[table][column]
            first, last = 1, LAST_ROW - 1
            if dtype == pl.Date():
                sheet.set_column(index, index, 14, date_format)
                sheet.data_validation(first, index, last, index, {
                    "validate": "date",
                    "criteria": "between",
                    "minimum": dt.date(1900, 1, 1),
                    "maximum": dt.date(2100, 12, 31),
                    "error_title": "Date attendue",
                    "error_message": "Saisir une date, par exemple 19/06/2015.",
                })
            elif column in _TEXT_COLUMNS:
                sheet.set_column(index, index, 14, text_format)
                if table == "participations":
                    sheet.data_validation(first, index, last, index, {
                        "validate": "list",
                        "source": lists[column],
                        "error_title": "Valeur inconnue",
                        "error_message": (
                            "Choisir une commune de la liste (feuille « communes »)."
                            if column == "code_insee" else
                            "Choisir une action de la liste (feuille « actions »)."),
                    })
            elif dtype == pl.Int64():
                sheet.set_column(index, index, 14)
                sheet.data_validation(first, index, last, index, {
                    "validate": "integer",
                    "criteria": ">=",
                    "value": 0,
                    "error_title": "Nombre entier attendu",
                    "error_message": "Saisir un nombre entier positif ou nul.",
                })
            elif column == "forme_juridique":
                sheet.set_column(index, index, 30)
                sheet.data_validation(first, index, last, index, {
                    "validate": "list",
                    "source": list(FORMES_JURIDIQUES),
                    "error_title": "Forme juridique inconnue",
                    "error_message": "Choisir une forme juridique de la liste.",
                })
            else:
                sheet.set_column(index, index, 40 if column in ("nom", "libelle") else 18)
    if "participations" in tables:  # the optional moyens sheet, with the same lists
        from mutualisation.data.moyens import write_sheet

        write_sheet(book, lists, LAST_ROW, AUTHOR)
    sheets[tables[0]].activate()
    book.close()
    return path


__all__ = ["LAST_ROW", "LISTS_SHEET", "NOTES", "write_template"]
