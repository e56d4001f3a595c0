"""Reading a follow-up sheet (XLSX or CSV) cell by cell, and finding its header row and
shape: a matrix (one row per commune, one column per action) or a list (one row per
commune and action)."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from mutualisation.data.followup.cells import CellProblem
from mutualisation.data.followup.names import (
    ACTION_HEADERS,
    COMMUNE_HEADERS,
    LIST_HEADINGS,
    normalised,
)
from mutualisation.data.followup.reference import Reference, action_names
from mutualisation.data.problems import Problem, shown
from mutualisation.data.read import (
    TableSource,
    column_letters,
    column_number,
    csv_records,
    decode,
    local_tag,
    open_workbook,
    read_bytes,
    scan_sheet,
    sheet_part,
    workbook_problem,
)

#: How many rows from the top of a sheet are searched for the header row.
HEADER_SEARCH = 50
_SEPARATORS = (",", ";", "\t")
MATRIX, LIST = "matrice", "liste"


@dataclass(frozen=True)
class Sheet:
    """A follow-up sheet as read: every cell as text, by position."""

    #: How messages name it: ``suivi.xlsx (feuille « 2019 »)``, or the CSV file's name.
    label: str
    #: ``__row`` (the row number Excel shows) then ``c0``, ``c1``… (text or null).
    cells: pl.DataFrame
    #: Excel column number of ``c0``.
    first_column: int = 1
    #: Merged ranges, as (first row, first column, last row, last column) in Excel numbers.
    merged: tuple[tuple[int, int, int, int], ...] = ()
    #: Cells in error or formulas never calculated: ``__row``, ``col``, ``value``, ``message``.
    bad: tuple[tuple[int, int, str | None, str], ...] = ()
    #: For a CSV file, the encoding it was decoded with.
    encoding: str | None = None

    @property
    def width(self) -> int:
        return self.cells.width - 1

    def letters(self, col: int) -> str:
        return column_letters(self.first_column + col)

    def ref(self, row: int, col: int) -> str:
        """``D12``."""
        return f"{self.letters(col)}{row}"

    def ref_expr(self, row: str = "__row", col: str = "col") -> pl.Expr:
        """The reference of the cell at columns ``row`` and ``col``, as an expression."""
        letters = {i: self.letters(i) for i in range(self.width)}
        return pl.concat_str(pl.col(col).replace_strict(letters, return_dtype=pl.String),
                             pl.col(row).cast(pl.String))


def read_sheet(path: Path, sheet: str | None) -> Sheet | list[Problem]:
    suffix = path.suffix.lower()
    if not path.is_file():
        what = "est un dossier" if path.is_dir() else "introuvable"
        return [Problem(str(path), f"fichier à importer {what}")]
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
    if suffix in (".csv", ".txt", ".tsv"):
        if sheet is not None:
            return [Problem(path.name, "--feuille ne s'applique qu'à un classeur .xlsx")]
        return _read_csv(path)
    if suffix == ".xls":
        return [Problem(path.name, "ancien format Excel 97-2003 (.xls) : l'enregistrer en "
                        ".xlsx")]
    return [Problem(path.name, "format non pris en charge : attendu un classeur .xlsx ou un "
                    "fichier .csv")]


def _read_xlsx(path: Path, sheet: str | None) -> Sheet | list[Problem]:
    reader, data = open_workbook(path)
    if isinstance(reader, Problem):
        return [reader]
    names = list(reader.sheet_names)
    name = sheet if sheet is not None else names[0]
    if name not in names:
        listed = ", ".join(f"« {shown(n)} »" for n in names)
        return [Problem(path.name, f"feuille « {shown(name)} » introuvable (feuilles du "
                        f"classeur : {listed})")]
    label = TableSource(path, name).label
    try:
        frame = reader.load_sheet(name, header_row=None, dtypes="string").to_polars()
    except Exception:  # fastexcel raises its own hierarchy; any failure is the file's
        return [workbook_problem(data, label)]
    if frame.height == 0:
        return [Problem(label, "feuille vide")]
    scan = scan_sheet(data, name)
    cells = (frame.rename({c: f"c{i}" for i, c in enumerate(frame.columns)})
             .with_row_index("__row", offset=scan.first_row)
             .with_columns(pl.col("__row").cast(pl.Int64)))
    bad = tuple((b.row, b.column - scan.first_column, b.value, b.message) for b in scan.bad)
    return Sheet(label, cells, scan.first_column, _merged_ranges(data, name), bad)


def _merged_ranges(data: bytes, sheet: str) -> tuple[tuple[int, int, int, int], ...]:
    """The merged cells of ``sheet`` (none when the XML is unusual)."""
    found = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book, book.open(sheet_part(book, sheet)) as part:
            for _, element in ET.iterparse(part):
                if local_tag(element.tag) == "mergeCell":
                    match = re.fullmatch(r"([A-Z]+)(\d+):([A-Z]+)(\d+)", element.get("ref", ""))
                    if match:
                        found.append((int(match[2]), column_number(match[1]),
                                      int(match[4]), column_number(match[3])))
                element.clear()
    except Exception:  # merges only help to read headers: without them, cells as they are
        return ()
    return tuple(sorted(found))


def _read_csv(path: Path) -> Sheet | list[Problem]:
    data = read_bytes(path)
    if isinstance(data, Problem):
        return [data]
    decoded = decode(data, path.name)
    if isinstance(decoded, Problem):
        return [decoded]
    text, encoding = decoded
    # The separator found most on one line: a title line above the table has none.
    lines = [line for line in text.splitlines()[:HEADER_SEARCH] if line.strip()]
    separator = max(_SEPARATORS, key=lambda s: max((line.count(s) for line in lines), default=0))
    records, error = csv_records(text, separator, path.name)
    if error is not None:
        return [error]
    width = max((len(record) for record in records), default=0)
    if width == 0 or not any(v.strip() for record in records for v in record):
        return [Problem(path.name, "fichier vide")]
    rows = [[v if v.strip() else None for v in record] + [None] * (width - len(record))
            for record in records]
    cells = (pl.DataFrame(rows, schema={f"c{i}": pl.String for i in range(width)}, orient="row")
             .with_row_index("__row", offset=1).with_columns(pl.col("__row").cast(pl.Int64)))
    return Sheet(path.name, cells, encoding=encoding)


def long_cells(sheet: Sheet, rows: pl.DataFrame | None = None) -> pl.DataFrame:
    """Non-empty cells as ``__row``, ``col`` (0-based), ``value`` (trimmed)."""
    frame = sheet.cells if rows is None else rows
    return (
        frame.unpivot(index="__row", variable_name="col", value_name="value")
        .with_columns(pl.col("col").str.slice(1).cast(pl.Int64),
                      pl.col("value").str.strip_chars())
        .filter(pl.col("value").is_not_null() & (pl.col("value") != ""))
        .sort("__row", "col")
    )


def _top_cells(sheet: Sheet) -> pl.DataFrame:
    """The non-empty cells of the rows searched for the header, a merged range's value
    repeated in each of its cells (a « Commune » merged over two header rows), those
    repeated marked ``merged``."""
    top = long_cells(sheet, sheet.cells.head(HEADER_SEARCH))
    if not sheet.merged:
        return top.with_columns(merged=pl.lit(False))
    values = {(r, c): v for r, c, v in top.iter_rows()}
    last = int(sheet.cells["__row"].max()) if sheet.cells.height else 0
    fill = [
        (row, col - sheet.first_column, values[(r1, c1 - sheet.first_column)])
        for r1, c1, r2, c2 in sheet.merged
        if (r1, c1 - sheet.first_column) in values
        for row in range(r1, min(r2, last) + 1)
        for col in range(max(c1, sheet.first_column), c2 + 1)
        if (row, col) != (r1, c1) and col - sheet.first_column < sheet.width
    ]
    top = top.with_columns(merged=pl.lit(False))
    if not fill:
        return top
    extra = pl.DataFrame([(*f, True) for f in fill], schema=top.schema, orient="row")
    return pl.concat([top, extra]).unique(["__row", "col"], keep="first").sort("__row", "col")


@dataclass(frozen=True)
class Header:
    """The header row of a sheet, and the shape of the table under it."""

    row: int
    #: Column index -> header text (merged ranges filled in).
    texts: dict[int, str]
    shape: str  # MATRIX or LIST


def find_header(sheet: Sheet, reference: Reference) -> Header | Problem:
    """The header row: the first naming the commune and action columns of a list, else
    the one naming the most actions (a matrix), else the first naming a commune column.

    A column naming actions row after row, under a header that names no more than one,
    is a list whose headings were not recognised: said, with the headings expected.
    """
    top = _top_cells(sheet).with_columns(key=normalised(pl.col("value")))
    action_keys = (action_names(reference).select(normalised(pl.col("text")))
                   .to_series().to_list()
                   + reference.mapping.filter(pl.col("kind") == "action")["key"].to_list())
    top = top.with_columns(is_action=pl.col("key").is_in(action_keys))
    scores = (top.group_by("__row").agg(
        actions=pl.col("is_action").sum(),
        commune=pl.col("key").is_in(list(COMMUNE_HEADERS)).any(),
        action=pl.col("key").is_in(list(ACTION_HEADERS)).any(),
    ).sort("__row"))
    lists = scores.filter(pl.col("commune") & pl.col("action"))
    best = scores.filter(pl.col("actions") > 0).sort("actions", "__row",
                                                     descending=[True, False])
    communes = scores.filter(pl.col("commune"))
    if lists.height:
        row, shape = lists["__row"][0], LIST
    elif best.height and best["actions"][0] < 2 and (unheaded := _unheaded_list(
            sheet, top, scores)) is not None:
        return unheaded
    elif best.height:
        row, shape = best["__row"][0], MATRIX
    elif communes.height:
        row, shape = communes["__row"][0], MATRIX
    else:
        examples = ", ".join(f"« {shown(t)} »" for t in action_names(reference)["text"][:2])
        return Problem(sheet.label, f"ligne d'en-tête introuvable dans les {HEADER_SEARCH} "
                       "premières lignes : attendu soit un tableau croisé, une colonne par "
                       "action, chacune titrée de son action_id ou de son libellé (" + examples
                       + "…), soit une liste avec " + LIST_HEADINGS)
    texts = dict(top.filter(pl.col("__row") == row).select("col", "value").iter_rows())
    return Header(int(row), texts, shape)


def _unheaded_list(sheet: Sheet, top: pl.DataFrame,
                   scores: pl.DataFrame) -> CellProblem | None:
    """A list whose header row has no recognised commune or action heading: a column that
    names an action in two rows or more (never two actions in one row)."""
    hits = (top.filter(pl.col("is_action") & ~pl.col("merged")).group_by("col")
            .agg(pl.col("__row").min().alias("first"), pl.col("value").unique(maintain_order=True),
                 pl.len().alias("n"))
            .filter(pl.col("n") >= 2).sort("n", "col", descending=[True, False]))
    if hits.height == 0:
        return None
    col, first, values, _ = hits.row(0)
    examples = ", ".join(f"« {shown(v)} »" for v in values[:2])
    above = scores.filter(pl.col("__row") < first).tail(1)
    if above.height:
        row, _, commune, action = above.row(0)
        texts = top.filter(pl.col("__row") == row)["value"].to_list()
        listed = ", ".join(f"« {shown(t)} »" for t in texts[:6])
        missing = " ni ".join(what for what, found in (("de colonne commune", commune),
                                                         ("de colonne action", action))
                              if not found)
        said = f"sa ligne d'en-tête {row} ({listed}) n'a pas {missing}"
    else:
        said = "elle n'a pas de ligne d'en-tête"
    return CellProblem(
        sheet.label, f"la colonne {sheet.letters(col)} nomme une action ligne après ligne "
        f"({examples}…) : une liste (une ligne par commune et action), mais {said} ; "
        f"en-têtes attendus : {LIST_HEADINGS}", line=first, cell=sheet.ref(first, col))
