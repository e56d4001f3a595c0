"""Reading a data folder's tables as text (DESIGN.md, "Input data contract").

Every table is first read as text, whatever its format, with the line number a
spreadsheet would show (header = line 1).

A table comes from its own file (``communes.csv|xlsx|parquet``) or, failing that,
from the sheet of that name in the one other workbook of the folder that has it
(:func:`find_source`). In a workbook, lines are the sheet's rows as Excel numbers
them, wherever the header row is.

Nothing is guessed silently: a CSV file is UTF-8 (BOM allowed) when it decodes as
such, else Windows-1252 (said by :func:`mutualisation.data.validate.describe`); its
separator is the one of comma, semicolon and tab found most in the header; Python's csv
module splits it (strictly: a stray quote is an error) and every row must have as many
fields as the header. Headers are matched trimmed and case-insensitively, so two
that differ only by case or spaces are duplicates; a header-less column must be
empty; headers starting with ``__`` are reserved for the helper columns used here.
A workbook cell holding an error (``#N/A``) or a formula never calculated is an
error, not an empty cell.
"""

from __future__ import annotations

import csv
import io
import os
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from mutualisation.data.model import OPTIONAL_TABLES, TABLES
from mutualisation.data.problems import Problem, shown
from mutualisation.files import READ_DENIED, os_reason
from mutualisation.formatting import plural

if TYPE_CHECKING:
    from fastexcel import ExcelReader


#: Helper columns are named with this prefix, which user headers may not start with.
RESERVED_PREFIX = "__"


#: The line-number column carried through validation (not a valid header name).
LINE = f"{RESERVED_PREFIX}ligne__"


#: The encodings a CSV file may have, as :func:`describe` names them.
UTF8, CP1252 = "UTF-8", "Windows-1252"


_FORMATS = ("csv", "xlsx", "parquet")


_SAVE_UTF8 = "(dans Excel : enregistrer sous « CSV UTF-8 »)"


#: CSV separators, in the order that breaks a tie, with their French name.
_SEPARATORS = {",": "une virgule", ";": "un point-virgule", "\t": "une tabulation"}


@dataclass(frozen=True)
class _Grid:
    """A table as read, before its headers are checked: cells by position."""

    #: The header cells as written (None for an empty cell).
    header: list[str | None]
    #: The rows below the header, one column per header cell, every cell text or null.
    frame: pl.DataFrame
    #: The line of the header row (1, unless blank rows come first).
    header_line: int = 1
    #: For a CSV file, the encoding it was decoded with.
    encoding: str | None = None
    #: For a sheet, the Excel column number of the table's first column: columns are
    #: then named by their letters (« D »), as Excel shows them, not by their rank.
    first_column: int | None = None
    #: Bad cells found while reading (workbook errors, formulas never calculated).
    problems: tuple[Problem, ...] = ()

    def column_name(self, index: int) -> str:
        """How a message names the column at ``index`` (0-based) of the table."""
        if self.first_column is None:
            return str(index + 1)
        return column_letters(self.first_column + index)


@dataclass(frozen=True)
class RawTable:
    """A table read as text: normalised headers, a line column, a display name."""

    table: str
    label: str
    frame: pl.DataFrame
    #: The line of the header row (1, unless a sheet starts lower down).
    header_line: int = 1
    #: For a CSV file, the encoding it was decoded with.
    encoding: str | None = None


@dataclass(frozen=True)
class TableSource:
    """Where a table is read from: its own file, or one sheet of a workbook."""

    path: Path
    #: The sheet's name as written in the workbook; None for a file of its own.
    sheet: str | None = None

    @property
    def label(self) -> str:
        """The name used in messages: ``donnees.xlsx (feuille « communes »)``."""
        if self.sheet is None:
            return self.path.name
        return f"{self.path.name} (feuille « {self.sheet} »)"


def list_folder(folder: Path) -> list[Path] | Problem:
    """The entries of the data folder, or why it can't be listed."""
    where = str(folder)
    try:
        if not folder.exists():
            return Problem(where, "dossier de données introuvable")
        if not folder.is_dir():
            return Problem(where, "ce chemin n'est pas un dossier (attendu : le dossier qui "
                           "contient les tables communes, actions et participations)")
        # Listable but not traversable (no x bit): its files could not be opened.
        if os.access(folder, os.R_OK | os.X_OK):
            return sorted(folder.iterdir())
        return Problem(where, f"dossier de données illisible : {READ_DENIED}")
    except OSError as err:
        return Problem(where, f"dossier de données illisible : {os_reason(err, reading=True)}")


def read_bytes(path: Path) -> bytes | Problem:
    """The whole file, read once; an unreadable or empty file is a problem of its own."""
    try:
        data = path.read_bytes()
    except OSError as err:
        return Problem(path.name, f"fichier illisible : {os_reason(err, reading=True)}")
    if not data:
        return Problem(path.name, "fichier vide (0 octet)")
    return data


def _is_table_file(path: Path) -> bool:
    return path.stem in TABLES + OPTIONAL_TABLES and path.suffix in {f".{fmt}" for fmt in _FORMATS}


def workbooks_of(entries: Iterable[Path]) -> list[Path]:
    """The ``.xlsx`` workbooks among a folder's ``entries`` that are not a table's own file.

    Excel's lock files (``~$donnees.xlsx``, present while a workbook is open) and
    hidden files are left out.
    """
    return sorted(
        p for p in entries
        if p.suffix.lower() == ".xlsx" and p.is_file() and not _is_table_file(p)
        and not p.name.startswith(("~$", "."))
    )


def workbook_problem(data: bytes, label: str) -> Problem:
    """Why fastexcel could not open a workbook, guessed from its first bytes."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # an OLE2 container, not a zip
        return Problem(label, "classeur illisible : ancien format Excel 97-2003 (.xls) ou "
                       "classeur protégé par un mot de passe (l'enregistrer en .xlsx, sans "
                       "mot de passe)")
    if not data.startswith(b"PK"):
        return Problem(label, "classeur illisible : ce n'est pas un fichier .xlsx (fichier "
                       "corrompu, ou d'un autre format renommé en .xlsx)")
    return Problem(label, "classeur illisible : fichier .xlsx corrompu ou incomplet (le "
                   "rouvrir et l'enregistrer à nouveau dans Excel)")


def open_workbook(path: Path) -> tuple[ExcelReader | Problem, bytes]:
    """A workbook's reader (or why it can't be opened), and the bytes it was read from."""
    import fastexcel

    data = read_bytes(path)
    if isinstance(data, Problem):
        return data, b""
    try:
        return fastexcel.read_excel(data), data
    except Exception:  # fastexcel raises its own hierarchy; any failure is the file's
        return workbook_problem(data, path.name), data


def sheet_names(path: Path) -> list[str] | Problem:
    reader, _ = open_workbook(path)
    if isinstance(reader, Problem):
        return reader
    return list(reader.sheet_names)


def find_source(folder: Path, table: str, sheets: dict[Path, list[str]] | None = None,
                optional: bool = False) -> TableSource | Problem | None:
    """Where ``table`` is in ``folder``: its own file, else a sheet of the one workbook having it
    (an ``optional`` table found nowhere: None).

    ``sheets`` gives the sheet names of the folder's other workbooks (read when None).
    A table found twice (two files, a file and a sheet, two sheets) is an error, except a
    sheet with no row beside the table's own file, which gives way to the file.
    """
    if sheets is None:
        sheets = {}
        for book in workbooks_of(folder.iterdir()):
            names = sheet_names(book)
            if isinstance(names, Problem):
                return names
            sheets[book] = names
    files = [TableSource(p) for fmt in _FORMATS if (p := folder / f"{table}.{fmt}").is_file()]
    in_books = [TableSource(book, name) for book, names in sorted(sheets.items())
                for name in names if name.strip().lower() == table]
    found = files + in_books
    if len(found) == 1:
        return found[0]
    if not found and optional:
        return None
    if not found:
        expected = ", ".join(f"{table}.{fmt}" for fmt in _FORMATS)
        return Problem(str(folder), f"table « {table} » introuvable (un fichier parmi "
                       f"{expected}, ou une feuille « {table} » dans un seul classeur .xlsx "
                       "du dossier)")
    if len(files) == 1 and not any(has_rows(s, table) for s in in_books):
        return files[0]  # an empty sheet (a template's, say) beside the table's own file
    names = ", ".join(s.label for s in found)
    if not in_books:
        return Problem(str(folder), f"table « {table} » en plusieurs exemplaires ({names}) : "
                       "n'en garder qu'un")
    return Problem(str(folder), f"table « {table} » ambiguë, trouvée à plusieurs endroits "
                   f"({names}) : ne la garder qu'à un seul (fichier ou feuille de classeur)")


def has_rows(source: TableSource, table: str) -> bool:
    """Whether the table at ``source`` has a row below its header (True when unreadable)."""
    raw = read_table(source, table)
    return isinstance(raw, list) or raw.frame.height > 0


def decode(data: bytes, name: str) -> tuple[str, str] | Problem:
    """The text of a CSV file and its encoding: UTF-8 when valid, else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Problem(name, "fichier en UTF-16 (« Texte Unicode » d'Excel) : l'enregistrer "
                       "sous « CSV UTF-8 »")
    if b"\0" in data:  # never in text, UTF-8 or Windows-1252: a binary file
        line = data[: data.index(b"\0")].count(b"\n") + 1
        return Problem(name, "caractère nul (\\x00) : ce n'est pas un fichier texte CSV",
                       line=line)
    bom = len(b"\xef\xbb\xbf") if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        return data[bom:].decode("utf-8"), UTF8
    except UnicodeDecodeError as err:
        if bom:  # says UTF-8, yet is not: don't guess further
            return bad_byte(data, bom + err.start, name, "fichier marqué UTF-8 (BOM) mais "
                             f"invalide en UTF-8 {_SAVE_UTF8}")
    try:
        return data.decode("cp1252"), CP1252
    except UnicodeDecodeError as err:
        return bad_byte(data, err.start, name,
                         f"fichier ni en UTF-8 ni en Windows-1252 {_SAVE_UTF8}")


def bad_byte(data: bytes, at: int, name: str, message: str) -> Problem:
    line = data[:at].count(b"\n") + 1
    return Problem(name, f"octet 0x{data[at]:02X} illisible : {message}", line=line)


def _separator(text: str) -> str:
    """The separator found most in the first non-blank line (comma on a tie)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    return max(_SEPARATORS, key=header.count)


def _csv_error(err: csv.Error) -> str:
    reason = str(err)
    if "expected after" in reason:
        return ("guillemet fermant suivi d'autres caractères : une valeur entre guillemets "
                "doit l'être en entier (doubler les guillemets qu'elle contient)")
    if "end of data" in reason or "field limit" in reason:
        return "guillemet ouvert jamais refermé (la suite du fichier serait une seule valeur)"
    return f"CSV mal formé ({reason})"


def csv_records(text: str, separator: str, name: str) -> tuple[list[list[str]], Problem | None]:
    """Every record of the file (a blank line is ``[]``); record i is spreadsheet line i+1.

    Python's csv module reads it (strict: stray quotes are errors, not guesses), as
    Excel does: a quoted value may hold separators and line breaks.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    records: list[list[str]] = []
    try:
        records.extend(reader)
    except csv.Error as err:
        return records, Problem(name, _csv_error(err), line=len(records) + 1)
    return records, None


def _blank(record: list[str]) -> bool:
    return not "".join(record).strip()


def _ragged(record: list[str], line: int, width: int, separator: str, name: str) -> Problem:
    """A row with more fields than the header: its values can't be put in columns."""
    hint = f"{_SEPARATORS[separator]} dans une valeur ? l'entourer de guillemets"
    return Problem(name, f"{plural(len(record), 'champ', 'champs')} au lieu de {width} ({hint})",
                   line=line, value=separator.join(record))


def _csv_grid(data: bytes, name: str) -> _Grid | list[Problem]:
    decoded = decode(data, name)
    if isinstance(decoded, Problem):
        return [decoded]
    text, encoding = decoded
    separator = _separator(text)
    records, error = csv_records(text, separator, name)
    # Blank lines before the header are skipped, keeping the numbering (as in a sheet).
    start = next((i for i, record in enumerate(records) if not _blank(record)), None)
    if start is None:
        return [error or Problem(name, "fichier vide (aucune ligne d'en-tête)")]
    header, width = records[start], len(records[start])
    # Blank rows, whatever their number of fields, are kept empty (for the numbering).
    rows = [None if _blank(record) else record for record in records[start + 1:]]
    problems = [_ragged(row, line, width, separator, name)
                for line, row in enumerate(rows, start=start + 2)
                if row is not None and len(row) > width]
    if error is not None or problems:
        return problems + ([error] if error else [])
    # A shorter row has its last values empty: Excel leaves out trailing separators of
    # empty cells in some rows of its CSV exports. A value shifted left by a missing
    # separator in the middle then fails the checks of its column (a date, a code…).
    rows = [[None] * width if row is None
            else [v if v != "" else None for v in row] + [None] * (width - len(row))
            for row in rows]
    frame = pl.DataFrame(rows, schema={f"{RESERVED_PREFIX}{i}": pl.String for i in range(width)},
                         orient="row")
    return _Grid(list(header), frame, header_line=start + 1, encoding=encoding)


def local_tag(tag: str) -> str:
    """An XML tag without its namespace: ``{…/main}row`` -> ``row``."""
    return tag.rsplit("}", 1)[-1]


def column_number(reference: str) -> int:
    """``"C12"`` -> 3."""
    number = 0
    for char in re.match(r"[A-Z]*", reference.upper()).group():
        number = number * 26 + ord(char) - ord("A") + 1
    return number


def column_letters(number: int) -> str:
    """3 -> ``"C"``, 28 -> ``"AB"``."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


@dataclass(frozen=True)
class BadCell:
    """A workbook cell in error or a formula never calculated, found by :func:`scan_sheet`."""

    row: int
    column: int
    reference: str
    value: str | None
    message: str


@dataclass(frozen=True)
class SheetScan:
    """What fastexcel (calamine) does not say about a sheet, read from its XML.

    fastexcel starts a sheet at its first cell holding a value (formatted but empty
    cells do not count), and gives an error cell or a formula never calculated as
    an empty cell; both are found here.
    """

    first_row: int = 1
    first_column: int = 1
    bad: tuple[BadCell, ...] = ()


def sheet_part(book: zipfile.ZipFile, sheet: str) -> str:
    """The zip member holding ``sheet``'s cells."""
    workbook = ET.fromstring(book.read("xl/workbook.xml"))
    rid = next(
        value for element in workbook.iter() if local_tag(element.tag) == "sheet"
        and element.get("name") == sheet
        for key, value in element.attrib.items() if local_tag(key) == "id"
    )
    rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    target = next(r.get("Target", "") for r in rels if r.get("Id") == rid)
    return (target.lstrip("/") if target.startswith("/")
            else posixpath.normpath(posixpath.join("xl", target)))


def _bad_cell(cell: ET.Element, row: int, column: int, reference: str) -> BadCell | None:
    """An error cell (``#N/A``), or a formula whose result was never stored."""
    children = {local_tag(child.tag): child for child in cell}
    value = children.get("v")
    if cell.get("t") == "e":
        return BadCell(row, column, reference, value.text if value is not None else None,
                        f"cellule {reference} en erreur")
    formula = children.get("f")
    stored = value is not None and (value.text or cell.get("t") in ("str", "s", "inlineStr"))
    if formula is None or stored:
        return None
    text = f"={formula.text}" if formula.text else None
    return BadCell(row, column, reference, text,
                    f"cellule {reference} : formule sans résultat enregistré (ouvrir le "
                    "classeur dans Excel ou LibreOffice, recalculer et enregistrer)")


def scan_sheet(data: bytes, sheet: str) -> SheetScan:
    """Where ``sheet`` starts and its bad cells; a plain sheet at A1 when the XML is unusual."""
    first_row = first_column = None
    bad: list[BadCell] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book, book.open(sheet_part(book, sheet)) as part:
            row = column = 0
            for event, element in ET.iterparse(part, events=("start", "end")):
                tag = local_tag(element.tag)
                if event == "start" and tag == "row":
                    number = element.get("r")
                    row, column = (int(number) if number and number.isdigit() else row + 1), 0
                if event != "end" or tag != "c":
                    continue
                reference = element.get("r") or ""
                column = column_number(reference) or column + 1
                if any(local_tag(child.tag) in ("v", "is") for child in element):
                    first_row = row if first_row is None else first_row
                    first_column = min(column, first_column or column)
                found = _bad_cell(element, row, column,
                                  reference or f"{column_letters(column)}{row}")
                if found is not None:
                    bad.append(found)
                element.clear()
    except Exception:  # an unusual layout: fall back on the table starting at A1
        return SheetScan()
    return SheetScan(max(first_row or 1, 1), first_column or 1, tuple(bad))


def _cell_problems(scan: SheetScan, header: list[str | None], label: str) -> list[Problem]:
    problems = []
    for cell in scan.bad:
        index = cell.column - scan.first_column
        name = header[index] if 0 <= index < len(header) else None
        problems.append(Problem(label, cell.message, line=cell.row,
                                column=name.strip().lower() if name else None,
                                value=cell.value))
    return problems


def _xlsx_grid(path: Path, sheet: str | None, label: str) -> _Grid | list[Problem]:
    """A sheet (the first one by default) as text cells, with Excel's row numbers."""
    reader, data = open_workbook(path)
    if isinstance(reader, Problem):
        return [reader]
    name = sheet if sheet is not None else reader.sheet_names[0]
    if name not in reader.sheet_names:
        return [Problem(path.name, f"feuille « {name} » introuvable")]
    try:
        # Everything as text: types are decided by our own rules, not per cell by Excel.
        # No header row: the header cells are checked here, not renamed by fastexcel.
        cells = reader.load_sheet(name, header_row=None, dtypes="string").to_polars()
    except Exception:  # fastexcel raises its own hierarchy; any failure is the file's
        return [workbook_problem(data, label)]
    if cells.height == 0:
        return [Problem(label, "feuille vide (aucune ligne d'en-tête)")]
    scan = scan_sheet(data, name)
    header = list(cells.row(0))
    frame = cells.slice(1).rename(
        {c: f"{RESERVED_PREFIX}{i}" for i, c in enumerate(cells.columns)})
    return _Grid(header, frame, header_line=scan.first_row, first_column=scan.first_column,
                 problems=tuple(_cell_problems(scan, header, label)))


def _parquet_grid(path: Path) -> _Grid | list[Problem]:
    data = read_bytes(path)
    if isinstance(data, Problem):
        return [data]
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except pl.exceptions.DuplicateError as err:
        # Polars refuses same-named columns (other writers make them): positions unknown.
        found = re.search(r"name '(.*)' has more", str(err))
        return [Problem(path.name, "colonne en double (plusieurs colonnes portent ce nom) : "
                        "n'en garder qu'une", line=1, column=found.group(1) if found else None)]
    except Exception:  # corrupt or foreign files raise several error types
        what = ("fichier corrompu ou incomplet" if data[:4] == b"PAR1"
                else "ce n'est pas un fichier Parquet")
        return [Problem(path.name, f"fichier Parquet illisible : {what}")]
    columns, problems = [], []
    for i, (name, dtype) in enumerate(frame.schema.items()):
        column = _parquet_text(frame.to_series(i), dtype)
        if column is None:
            problems.append(Problem(path.name, f"type de colonne non pris en charge ({dtype})",
                                    line=1, column=name))
        else:
            columns.append(column.alias(f"{RESERVED_PREFIX}{i}"))
    if problems:
        return problems
    return _Grid(list(frame.columns), pl.DataFrame(columns))


def _parquet_text(series: pl.Series, dtype: pl.DataType) -> pl.Series | None:
    """A Parquet column as text, written as a CSV would hold it; None when it can't be."""
    if dtype == pl.Date:
        series = series.dt.strftime("%Y-%m-%d")
    elif isinstance(dtype, pl.Datetime):
        # The time is kept: midnight is dropped by the date rule, any other time is an error.
        series = series.dt.strftime("%Y-%m-%d %H:%M:%S")
    try:
        return series.cast(pl.String)
    except pl.exceptions.PolarsError:  # lists, structs: not a table cell
        return None


def _listed(texts: list[str]) -> str:
    """``["3", "5", "7"]`` -> ``"3, 5 et 7"``."""
    return texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} et {texts[-1]}"


def _duplicates(grid: _Grid, names: list[str], label: str) -> list[Problem]:
    """Columns whose headers are the same once trimmed and lower-cased."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        if name:
            positions.setdefault(name, []).append(i)
    problems = []
    for name, where in positions.items():
        if len(where) < 2:
            continue
        written = [grid.header[i] or "" for i in where]
        spelled = ("" if len(set(written)) == 1
                   else ", écrites " + _listed([f"« {shown(w)} »" for w in written]))
        columns = _listed([grid.column_name(i) for i in where])
        problems.append(Problem(
            label, f"colonne en double (colonnes {columns}{spelled}) : n'en garder qu'une",
            line=grid.header_line, column=name))
    return problems


def _unnamed_but_filled(grid: _Grid, names: list[str], label: str) -> list[Problem]:
    """Header-less columns holding a value: data under an erased header is not dropped."""
    problems = []
    for i, column in enumerate(grid.frame.columns):
        if names[i]:
            continue
        filled = (grid.frame.with_row_index("n", offset=grid.header_line + 1)
                  .filter(pl.col(column).str.strip_chars() != "").select("n", column))
        if filled.height == 0:
            continue
        first_line, value = filled.row(0)
        problems.append(Problem(
            label, f"colonne {grid.column_name(i)} sans en-tête mais remplie (ligne {first_line} "
            f": « {shown(value)} ») : lui donner un nom ou la vider", line=grid.header_line))
    return problems


def _header_problems(grid: _Grid, names: list[str], label: str) -> list[Problem]:
    """Duplicate and reserved headers, and filled columns without one."""
    reserved = [Problem(label, f"nom de colonne réservé (commençant par « {RESERVED_PREFIX} ») "
                        ": renommer la colonne", line=grid.header_line, column=name)
                for name in dict.fromkeys(names) if name.startswith(RESERVED_PREFIX)]
    return [*_duplicates(grid, names, label), *reserved,
            *_unnamed_but_filled(grid, names, label)]


def _named(grid: _Grid, label: str) -> pl.DataFrame | list[Problem]:
    """The grid's columns named by their trimmed, lower-case headers; empty header-less
    columns (Excel's trailing separators) dropped."""
    names = [(h or "").strip().lower() for h in grid.header]
    problems = [*_header_problems(grid, names, label), *grid.problems]
    if problems:
        return problems
    positional = grid.frame.columns
    return grid.frame.select(pl.col(p).alias(n) for p, n in zip(positional, names, strict=True)
                             if n)


def read_table(path: Path | TableSource, table: str) -> RawTable | list[Problem]:
    """Read one table (a file, or a workbook's sheet) as text, with normalised headers and
    spreadsheet lines."""
    source = path if isinstance(path, TableSource) else TableSource(path)
    path, label = source.path, source.label
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        grid = _xlsx_grid(path, source.sheet, label)
    elif suffix == ".parquet":
        grid = _parquet_grid(path)
    else:
        data = read_bytes(path)
        grid = [data] if isinstance(data, Problem) else _csv_grid(data, path.name)
    if isinstance(grid, list):
        return grid
    frame = _named(grid, label)
    if isinstance(frame, list):
        return frame
    frame = frame.with_row_index(LINE, offset=grid.header_line + 1)
    # Blank lines keep their number but carry nothing to check.
    values = [c for c in frame.columns if c != LINE]
    if values:
        frame = frame.filter(~pl.all_horizontal(pl.col(values).str.strip_chars().is_null()
                                                | (pl.col(values).str.strip_chars() == "")))
    return RawTable(table, label, frame.with_columns(pl.col(LINE).cast(pl.Int64)),
                grid.header_line, grid.encoding)
