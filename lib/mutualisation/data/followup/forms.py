"""The legal form of the actions, when a follow-up list has a column for it (« Forme
juridique »): read, matched with the vocabulary of :mod:`mutualisation.data.vocabulary`,
checked against the folder's ``actions`` table, and written into its ``forme_juridique``
column when that table is the folder's own ``actions.csv`` (only cells left empty are
filled; a different value already there is an error, not overwritten).

The rewritten ``actions.csv`` keeps its encoding, separator, header and every other cell as
they were; it is written together with ``participations.csv`` (both or neither).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from mutualisation.data.followup.cells import CellProblem
from mutualisation.data.problems import Problem
from mutualisation.data.read import UTF8, decode, find_source, read_bytes
from mutualisation.data.vocabulary import FORMES_JURIDIQUES, canonical_expr, closest, listed

_ACTIONS_FILE = "actions.csv"


def read_forms(rows: pl.DataFrame, sheet_label: str,
               actions: pl.DataFrame) -> tuple[dict[str, str], list[Problem]]:
    """The legal form of each action the list gives one for, and the problems.

    ``rows``: ``action_id`` (resolved, null when not), ``form_text``, ``form_cell``;
    ``actions``: the folder's ``action_id`` and ``forme_juridique`` (canonical).
    Problems: a value outside the vocabulary (the closest suggested), two forms for one
    action, a form other than the one of the ``actions`` table.
    """
    given = (rows.filter(pl.col("action_id").is_not_null()
                         & (pl.col("form_text").str.strip_chars() != ""))
             .with_columns(form=canonical_expr(pl.col("form_text"), FORMES_JURIDIQUES))
             .sort("__row"))
    problems: list[Problem] = [
        # « non reconnue », not « inconnue »: that word calls for correspondances.csv.
        CellProblem(sheet_label, f"forme juridique non reconnue : « "
                    f"{closest(text, FORMES_JURIDIQUES)} » ? (valeurs admises : "
                    f"{listed(FORMES_JURIDIQUES)})", line=row, value=text, cell=cell)
        for row, text, cell in given.filter(pl.col("form").is_null())
        .select("__row", "form_text", "form_cell").iter_rows()
    ]
    known = given.filter(pl.col("form").is_not_null())
    first = known.group_by("action_id", maintain_order=True).agg(
        pl.col("form").first().alias("first_form"), pl.col("form_cell").first().alias("first"),
        pl.col("__row").first().alias("first_row"))
    clash = known.join(first, on="action_id").filter(pl.col("form") != pl.col("first_form"))
    problems += [
        CellProblem(sheet_label, f"forme juridique de {action} différente de celle de la "
                    f"cellule {where} (« {before} ») : une seule forme par action",
                    line=row, value=text, cell=cell)
        for row, action, text, cell, where, before in clash.select(
            "__row", "action_id", "form_text", "form_cell", "first", "first_form").iter_rows()
    ]
    table = first.join(actions.select("action_id", pl.col("forme_juridique").alias("table")),
                       on="action_id", how="left")
    differs = table.filter(pl.col("table").is_not_null()
                           & (pl.col("table") != pl.col("first_form")))
    problems += [
        CellProblem(sheet_label, f"forme juridique « {form} » pour {action}, alors que la "
                    f"table actions dit « {written} » : corriger l'une ou l'autre",
                    line=row, value=form, cell=cell)
        for action, form, cell, row, written in differs.select(
            "action_id", "first_form", "first", "first_row", "table").iter_rows()
    ]
    return dict(first.select("action_id", "first_form").iter_rows()), problems


def filled_actions_csv(folder: Path, forms: dict[str, str]) -> tuple[bytes | None, str]:
    """The new bytes of the folder's ``actions.csv`` with ``forms`` written where its
    ``forme_juridique`` cell is empty (None when nothing changes or the table is elsewhere),
    and the line of the conversion report saying what became of the forms read."""
    if not forms:
        return None, ""
    read = ", ".join(f"{action} : {form}" for action, form in sorted(forms.items()))
    source = find_source(folder, "actions")
    if isinstance(source, Problem) or source.sheet is not None or source.path.name != \
            _ACTIONS_FILE:
        where = source.label if not isinstance(source, Problem) else "actions"
        return None, (f"Formes juridiques lues : {read} (à reporter dans la colonne "
                      f"forme_juridique de {where})")
    data = read_bytes(source.path)
    decoded = None if isinstance(data, Problem) else decode(data, source.path.name)
    if decoded is None or isinstance(decoded, Problem):
        return None, f"Formes juridiques lues : {read} (actions.csv illisible : non écrites)"
    text, encoding = decoded
    # The header is the first line that is not blank, as the loader reads it.
    first = next(line for line in text.splitlines() if line.strip())
    separator = max((",", ";", "\t"), key=first.count)
    newline = "\r\n" if "\r\n" in text else "\n"
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
    start = next(i for i, record in enumerate(records) if "".join(record).strip())
    header = [cell.strip().lower() for cell in records[start]]
    if "forme_juridique" not in header:
        records[start].append("forme_juridique")
        header.append("forme_juridique")
    key, column = header.index("action_id"), header.index("forme_juridique")
    written = []
    for record in records[start + 1:]:
        if len(record) <= key or record[key].strip() not in forms:
            continue
        record.extend([""] * (column + 1 - len(record)))
        if not record[column].strip():
            record[column] = forms[record[key].strip()]
            written.append(record[key].strip())
    if not written:
        return None, f"Formes juridiques lues : {read} (déjà dans {_ACTIONS_FILE})"
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=separator, lineterminator=newline).writerows(records)
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    body = out.getvalue().encode("utf-8" if encoding == UTF8 else "cp1252")
    return bom + body, (f"Formes juridiques lues : {read} ; écrites dans {_ACTIONS_FILE} "
                        f"pour {', '.join(sorted(written))}")
