"""Loading and validation of a data folder (DESIGN.md, "Input data contract").

Every table is first read as text, whatever its format, with the line number a
spreadsheet would show (header = line 1). Values are then checked and typed by
Polars expressions; every problem becomes a :class:`Problem` that names the
file, the line, the column and the value. :func:`load_dataset` raises
:class:`DataError` with all of them (capped per file) before anything is used.

A table comes from its own file (``communes.csv|xlsx|parquet``) or, failing that,
from the sheet of that name in the one other workbook of the folder that has it
(:func:`find_source`). In a workbook, lines are the sheet's rows as Excel numbers
them, wherever the header row is.
"""

from __future__ import annotations

import io
import json
import posixpath
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from .formatting import plural
from .model import REQUIRED, SCHEMAS, TABLES, Dataset

#: How many problems of one file are listed before the rest are only counted.
MAX_PROBLEMS_PER_FILE = 20
#: The optional metadata file of a data folder.
METADATA_FILE = "metadata.json"
#: The line-number column carried through validation (not a valid header name).
LINE = "__ligne__"

_FORMATS = ("csv", "xlsx", "parquet")
_INSEE = r"^(?:\d{5}|2[AB]\d{3})$"
_ISO_DATE = r"^\d{4}-\d{1,2}-\d{1,2}$"
_FR_DATE = r"^\d{1,2}/\d{1,2}/\d{4}$"
# Excel and Parquet datetimes arrive as "2019-01-01 00:00:00": the time is noise.
_MIDNIGHT = r"[ T]00:00(?::00(?:\.0+)?)?$"
# French Excel writes thousands with (narrow) no-break spaces.
_SPACES = r"[\s\u00a0\u202f]"
_DATE_COLUMNS = {
    name: tuple(c for c, t in schema.items() if t == pl.Date()) for name, schema in SCHEMAS.items()
}


@dataclass(frozen=True)
class Problem:
    """One problem found in the input, located as precisely as possible."""

    file: str
    message: str
    line: int | None = None
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"ligne {self.line}")
        if self.column is not None:
            where.append(f"colonne « {self.column} »")
        if self.value is not None:
            where.append(f"valeur « {self.value} »")
        return f"{', '.join(where)} : {self.message}"


class DataError(Exception):
    """Bad input: carries every problem found, each printable on one line."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem, at most MAX_PROBLEMS_PER_FILE per file."""
        out: list[str] = []
        seen: dict[str, int] = {}
        order = {p.file: i for i, p in reversed(list(enumerate(self.problems)))}
        ordered = sorted(self.problems, key=lambda p: (order[p.file], p.line or 0))
        for problem in ordered:
            seen[problem.file] = seen.get(problem.file, 0) + 1
            if seen[problem.file] <= MAX_PROBLEMS_PER_FILE:
                out.append(str(problem))
        for file, count in seen.items():
            if count > MAX_PROBLEMS_PER_FILE:
                extra = count - MAX_PROBLEMS_PER_FILE
                others = plural(extra, "autre problème non affiché",
                                "autres problèmes non affichés")
                out.append(f"{file} : … et {others}")
        return out


@dataclass(frozen=True)
class _Raw:
    """A table read as text: normalised headers, a line column, a display name."""

    table: str
    label: str
    frame: pl.DataFrame
    #: The line of the header row (1, unless a sheet starts lower down).
    header_line: int = 1


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


# --------------------------------------------------------------------------- reading


def _is_table_file(path: Path) -> bool:
    return path.stem in TABLES and path.suffix in {f".{fmt}" for fmt in _FORMATS}


def _workbooks(folder: Path) -> list[Path]:
    """The ``.xlsx`` workbooks of ``folder`` that are not a table's own file.

    Excel's lock files (``~$donnees.xlsx``, present while a workbook is open) and
    hidden files are left out.
    """
    return sorted(
        p for p in folder.iterdir()
        if p.suffix.lower() == ".xlsx" and p.is_file() and not _is_table_file(p)
        and not p.name.startswith(("~$", "."))
    )


def _sheet_names(path: Path) -> list[str] | Problem:
    import fastexcel

    try:
        return list(fastexcel.read_excel(str(path)).sheet_names)
    except Exception as err:  # fastexcel raises its own hierarchy; any failure is the file's
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return Problem(path.name, f"classeur illisible ({first})")


def find_source(folder: Path, table: str,
                sheets: dict[Path, list[str]] | None = None) -> TableSource | Problem:
    """Where ``table`` is in ``folder``: its own file, else a sheet of the one workbook having it.

    ``sheets`` gives the sheet names of the folder's other workbooks (read when None).
    A table found twice (two files, a file and a sheet, two sheets) is an error.
    """
    if sheets is None:
        sheets = {}
        for book in _workbooks(folder):
            names = _sheet_names(book)
            if isinstance(names, Problem):
                return names
            sheets[book] = names
    files = [TableSource(p) for fmt in _FORMATS if (p := folder / f"{table}.{fmt}").is_file()]
    in_books = [TableSource(book, name) for book, names in sorted(sheets.items())
                for name in names if name.strip().lower() == table]
    found = files + in_books
    if len(found) == 1:
        return found[0]
    if not found:
        expected = ", ".join(f"{table}.{fmt}" for fmt in _FORMATS)
        return Problem(str(folder), f"table « {table} » introuvable (un fichier parmi "
                       f"{expected}, ou une feuille « {table} » dans un seul classeur .xlsx "
                       "du dossier)")
    names = ", ".join(s.label for s in found)
    if not in_books:
        return Problem(str(folder), f"table « {table} » en plusieurs exemplaires ({names}) : "
                       "n'en garder qu'un")
    return Problem(str(folder), f"table « {table} » ambiguë, trouvée à plusieurs endroits "
                   f"({names}) : ne la garder qu'à un seul (fichier ou feuille de classeur)")


def _normalise_headers(frame: pl.DataFrame, label: str,
                       header_line: int = 1) -> pl.DataFrame | Problem:
    names = [str(c).strip().lower() for c in frame.columns]
    for i, name in enumerate(names):
        if name and name in names[:i]:
            return Problem(label, "colonne en double", line=header_line, column=name)
    return frame.rename(dict(zip(frame.columns, names, strict=True)))


def _read_csv(path: Path) -> pl.DataFrame | Problem:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        return Problem(path.name, "le fichier n'est pas en UTF-8 (dans Excel : enregistrer sous "
                       "« CSV UTF-8 »)", line=line)
    if not text.strip():
        return Problem(path.name, "fichier vide")
    header = text.splitlines()[0]
    separator = ";" if header.count(";") > header.count(",") else ","
    try:
        return pl.read_csv(
            io.BytesIO(text.encode()),
            separator=separator,
            infer_schema=False,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as err:
        first = str(err).strip().splitlines()[0]
        return Problem(path.name, f"CSV illisible ({first})")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _first_row(path: Path, sheet: str) -> int:
    """The row (as Excel numbers it) of the first cell of ``sheet`` holding a value.

    fastexcel (calamine) starts a sheet there, skipping empty rows above the header;
    formatted but empty cells do not count, as for calamine. 1 when unsure.
    """
    try:
        with zipfile.ZipFile(path) as book:
            workbook = ET.fromstring(book.read("xl/workbook.xml"))
            rid = next(
                value for element in workbook.iter() if _local(element.tag) == "sheet"
                and element.get("name") == sheet
                for key, value in element.attrib.items() if _local(key) == "id"
            )
            rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
            target = next(r.get("Target", "") for r in rels if r.get("Id") == rid)
            part = (target.lstrip("/") if target.startswith("/")
                    else posixpath.normpath(posixpath.join("xl", target)))
            row = 0
            with book.open(part) as stream:
                for event, element in ET.iterparse(stream, events=("start", "end")):
                    tag = _local(element.tag)
                    if event == "start" and tag == "row":
                        number = element.get("r")
                        row = int(number) if number and number.isdigit() else row + 1
                    elif (event == "end" and tag == "c"
                          and any(_local(child.tag) in ("v", "is") for child in element)):
                        return max(row, 1)
    except Exception:  # an unusual layout: fall back on the header being row 1
        return 1
    return 1


def _read_xlsx(path: Path, sheet: str | None = None) -> tuple[pl.DataFrame, int] | Problem:
    """A sheet (the first one by default) as text, and the line of its header row."""
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
        name = sheet if sheet is not None else reader.sheet_names[0]
        if name not in reader.sheet_names:
            return Problem(path.name, f"feuille « {name} » introuvable")
        # Everything as text: types are decided by our own rules, not per cell by Excel.
        loaded = reader.load_sheet(name, dtypes="string")
        frame = loaded.to_polars()
    except Exception as err:  # fastexcel raises its own hierarchy; any failure is the file's
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return Problem(path.name, f"classeur illisible ({first})")
    return frame, _first_row(path, name)


def _read_parquet(path: Path) -> pl.DataFrame | Problem:
    try:
        frame = pl.read_parquet(path)
    except Exception as err:  # corrupt or foreign files raise several error types
        return Problem(path.name, f"fichier Parquet illisible ({str(err).splitlines()[0]})")
    return frame.with_columns(
        pl.col(pl.Date, pl.Datetime).dt.strftime("%Y-%m-%d"),
    ).with_columns(pl.all().cast(pl.String))


def read_table(path: Path | TableSource, table: str) -> _Raw | Problem:
    """Read one table (a file, or a workbook's sheet) as text, with normalised headers and
    spreadsheet lines."""
    source = path if isinstance(path, TableSource) else TableSource(path)
    path, label, header_line = source.path, source.label, 1
    if path.suffix.lower() == ".xlsx":
        read = _read_xlsx(path, source.sheet)
        if isinstance(read, Problem):
            return read
        frame, header_line = read
    else:
        frame = {".csv": _read_csv, ".parquet": _read_parquet}[path.suffix.lower()](path)
    if isinstance(frame, Problem):
        return frame
    frame = _normalise_headers(frame, label, header_line)
    if isinstance(frame, Problem):
        return frame
    frame = (frame.with_columns(pl.all().cast(pl.String))
             .with_row_index(LINE, offset=header_line + 1))
    # Blank lines keep their number but carry nothing to check.
    values = [c for c in frame.columns if c != LINE]
    frame = frame.filter(~pl.all_horizontal(pl.col(values).str.strip_chars().is_null()
                                            | (pl.col(values).str.strip_chars() == "")))
    return _Raw(table, label, frame.with_columns(pl.col(LINE).cast(pl.Int64)), header_line)


# --------------------------------------------------------------------------- checking


def _problems(frame: pl.DataFrame, label: str, column: str, message: str) -> list[Problem]:
    """Problems for the rows of ``frame`` (columns LINE and ``column``, raw text)."""
    return [
        Problem(label, message, line=line, column=column, value=value if value is not None else "")
        for line, value in frame.select(LINE, pl.col(column)).iter_rows()
    ]


def _clean(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _insee(column: str) -> pl.Expr:
    """INSEE code as text: upper case, a leading zero Excel dropped put back."""
    text = _clean(column).str.to_uppercase().str.replace(r"\.0+$", "")
    return pl.when(text.str.contains(r"^\d{4}$")).then(text.str.zfill(5)).otherwise(text)


def _date(column: str) -> pl.Expr:
    text = _clean(column).str.replace(_MIDNIGHT, "")
    return pl.coalesce(
        pl.when(text.str.contains(_ISO_DATE)).then(text.str.to_date("%Y-%m-%d", strict=False)),
        pl.when(text.str.contains(_FR_DATE)).then(text.str.to_date("%d/%m/%Y", strict=False)),
    )


def _integer(column: str) -> pl.Expr:
    text = _clean(column).str.replace_all(_SPACES, "").str.replace(r"\.0+$", "")
    return pl.when(text.str.contains(r"^\d+$")).then(text.cast(pl.Int64, strict=False))


def _check_and_type(raw: _Raw) -> tuple[pl.DataFrame | None, list[Problem]]:
    """Check one table on its own and return it typed (or None when it can't be)."""
    frame, label, schema = raw.frame, raw.label, SCHEMAS[raw.table]
    missing = [c for c in REQUIRED[raw.table] if c not in frame.columns]
    if missing:
        found = ", ".join(c for c in frame.columns if c != LINE) or "aucune"
        return None, [
            Problem(label, f"colonne obligatoire absente (colonnes trouvées : {found})",
                    line=raw.header_line, column=c)
            for c in missing
        ]
    if frame.height == 0:
        return None, [Problem(label, "la table ne contient aucune ligne")]

    frame = frame.with_columns(pl.lit(None, pl.String).alias(c)
                               for c in schema if c not in frame.columns)
    typed_exprs = []
    for column, dtype in schema.items():
        if column == "code_insee":
            typed_exprs.append(_insee(column))
        elif dtype == pl.Date():
            typed_exprs.append(_date(column))
        elif dtype == pl.Int64():
            typed_exprs.append(_integer(column))
        else:
            typed_exprs.append(_clean(column))
    typed = frame.with_columns(
        (e.alias(f"__typed_{c}") for e, c in zip(typed_exprs, schema, strict=True))
    )

    problems: list[Problem] = []
    for column, dtype in schema.items():
        new = pl.col(f"__typed_{column}")
        present = _clean(column).is_not_null()
        if column in REQUIRED[raw.table]:
            problems += _problems(typed.filter(~present), label, column,
                                  "valeur obligatoire manquante")
        if column == "code_insee":
            bad = typed.filter(present & ~new.str.contains(_INSEE))
            problems += _problems(bad, label, column,
                                  "code INSEE mal formé (5 caractères : 59350, 2A004…)")
        elif dtype == pl.Date():
            bad = typed.filter(present & new.is_null())
            problems += _problems(bad, label, column,
                                  "date illisible (attendu AAAA-MM-JJ ou JJ/MM/AAAA)")
        elif dtype == pl.Int64():
            bad = typed.filter(present & new.is_null())
            problems += _problems(bad, label, column, "nombre entier attendu")

    key = {"communes": "code_insee", "actions": "action_id"}.get(raw.table)
    if key is not None:
        dup = typed.with_columns(
            pl.col(LINE).min().over(f"__typed_{key}").alias("__first")
        ).filter(pl.col(f"__typed_{key}").is_not_null() & (pl.col(LINE) != pl.col("__first")))
        problems += [
            Problem(label, f"{key} en double (déjà ligne {first_line})",
                    line=line, column=key, value=value)
            for line, value, first_line in dup.select(LINE, key, "__first").iter_rows()
        ]

    out = typed.select(
        LINE,
        *(pl.col(f"__typed_{c}").alias(c).cast(t) for c, t in schema.items()),
        *(c for c in frame.columns if c not in schema and c != LINE),
        # The text as written, to quote it in messages of the later checks.
        *(pl.col(c).alias(f"__raw_{c}") for c in schema),
    )
    start, end = {"communes": ("date_adhesion", "date_sortie"),
                  "actions": ("date_inscription", "date_deploiement"),
                  "participations": ("date_debut", "date_fin")}[raw.table]
    problems += _ordered(out, label, start, end)
    return out, problems


def _ordered(typed: pl.DataFrame, label: str, start: str, end: str) -> list[Problem]:
    """Rows whose ``end`` date comes before their ``start`` date."""
    bad = typed.filter(pl.col(end) < pl.col(start)).select(LINE, start, f"__raw_{end}")
    return [
        Problem(label, f"{end} antérieure à {start} ({s.strftime('%d/%m/%Y')})",
                line=line, column=end, value=e)
        for line, s, e in bad.iter_rows()
    ]


def _check_participations(
    participations: pl.DataFrame, communes: pl.DataFrame, actions: pl.DataFrame, label: str,
    communes_complete: bool = True, actions_complete: bool = True,
) -> list[Problem]:
    """Rules that relate a participation to its commune, its action and its siblings.

    A reference is only called unknown when the table it points to had no bad key
    (``*_complete``): otherwise the row at fault is the one already reported there.
    """
    joined = (
        participations.join(communes.select("code_insee", "date_adhesion"),
                            on="code_insee", how="left")
        .join(actions.select("action_id", "date_inscription"), on="action_id", how="left")
        .with_columns(
            known_commune=pl.col("code_insee").is_in(communes["code_insee"].implode()),
            known_action=pl.col("action_id").is_in(actions["action_id"].implode()),
        )
        .sort(LINE)
    )
    problems = []
    if communes_complete:
        problems += _problems(joined.filter(~pl.col("known_commune")), label, "code_insee",
                              "commune absente de la table communes")
    if actions_complete:
        problems += _problems(joined.filter(~pl.col("known_action")), label, "action_id",
                              "action absente de la table actions")

    def fr(d: date) -> str:
        return d.strftime("%d/%m/%Y")

    early = joined.filter(pl.col("date_debut") < pl.col("date_adhesion"))
    problems += [
        Problem(label, f"participation antérieure à l'adhésion de la commune {code} "
                f"({fr(joined_on)})", line=line, column="date_debut", value=start)
        for line, code, start, joined_on in
        early.select(LINE, "code_insee", "__raw_date_debut", "date_adhesion").iter_rows()
    ]
    early = joined.filter(pl.col("date_debut") < pl.col("date_inscription"))
    problems += [
        Problem(label, f"participation antérieure à l'inscription de l'action {action} "
                f"({fr(inscribed)})", line=line, column="date_debut", value=start)
        for line, action, start, inscribed in
        early.select(LINE, "action_id", "__raw_date_debut", "date_inscription").iter_rows()
    ]

    # Periods are [debut, fin): an open end runs forever. A period overlaps an earlier
    # one of the same pair when it starts before the latest end seen so far.
    open_end = pl.col("date_fin").fill_null(date.max)
    overlaps = (
        participations.sort("code_insee", "action_id", "date_debut", LINE)
        .with_columns(
            prev_end=open_end.cum_max().shift(1).over("code_insee", "action_id"),
            prev_line=pl.col(LINE).shift(1).over("code_insee", "action_id"),
        )
        .filter(pl.col("date_debut") < pl.col("prev_end"))
        .sort(LINE)
    )
    problems += [
        Problem(label, f"chevauche une autre participation de {code} à {action} "
                f"(ligne {prev})", line=line, column="date_debut", value=start)
        for line, code, action, start, prev in
        overlaps.select(LINE, "code_insee", "action_id", "__raw_date_debut", "prev_line")
        .iter_rows()
    ]
    return problems


def _cleanly_typed(
    typed: dict[str, pl.DataFrame],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Participations, communes and actions restricted to rows whose keys and dates typed.

    A row already reported (bad code, unreadable date, duplicate key) is left out here, so
    that it does not also produce a misleading "unknown commune" or "overlap" message.
    """
    def typed_or_empty(column: str) -> pl.Expr:
        return pl.col(column).is_not_null() | _clean(f"__raw_{column}").is_null()

    participations = typed["participations"].filter(
        pl.col("code_insee").str.contains(_INSEE), pl.col("action_id").is_not_null(),
        pl.col("date_debut").is_not_null(), typed_or_empty("date_fin"),
    )
    communes = typed["communes"].filter(pl.col("code_insee").str.contains(_INSEE)).unique(
        "code_insee", keep="first", maintain_order=True)
    actions = typed["actions"].filter(pl.col("action_id").is_not_null()).unique(
        "action_id", keep="first", maintain_order=True)
    return participations, communes, actions


# --------------------------------------------------------------------------- metadata


@dataclass(frozen=True)
class _Meta:
    illustrative: bool
    first_year: int | None
    last_year: int | None
    description: str


def _read_metadata(path: Path) -> _Meta | Problem:
    try:
        meta = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        line = getattr(err, "lineno", None)
        return Problem(path.name, f"JSON illisible ({err})", line=line)
    if not isinstance(meta, dict):
        return Problem(path.name, "un objet JSON est attendu")
    illustrative = meta.get("illustratif", False)
    if not isinstance(illustrative, bool):
        return Problem(path.name, "« illustratif » doit valoir true ou false",
                       column="illustratif", value=str(illustrative))
    years = meta.get("annees")
    first = last = None
    if years is not None:
        ok = (isinstance(years, dict)
              and all(isinstance(years.get(k), int) and not isinstance(years.get(k), bool)
                      for k in ("debut", "fin"))
              and years["debut"] <= years["fin"])
        if not ok:
            return Problem(path.name, "« annees » doit être {\"debut\": AAAA, \"fin\": AAAA} "
                           "avec debut <= fin", column="annees", value=json.dumps(years))
        first, last = years["debut"], years["fin"]
    description = meta.get("description", "")
    return _Meta(illustrative, first, last, str(description))


def _covered_years(communes: pl.DataFrame, actions: pl.DataFrame,
                   participations: pl.DataFrame) -> tuple[int, int]:
    """From the first inscription to the last dated event of the data."""
    first = actions["date_inscription"].min()
    last = max(
        d for d in (
            frame.select(pl.max_horizontal(pl.col(cols).max())).item()
            for frame, cols in ((communes, _DATE_COLUMNS["communes"]),
                                (actions, _DATE_COLUMNS["actions"]),
                                (participations, _DATE_COLUMNS["participations"]))
        ) if d is not None
    )
    return first.year, max(first.year, last.year)


# --------------------------------------------------------------------------- entry points


def load_dataset(folder: str | Path) -> Dataset:
    """Load and validate the three tables of ``folder``; raise DataError on bad input."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError([Problem(str(folder), "dossier de données introuvable")])
    problems: list[Problem] = []
    sources: dict[str, Path] = {}
    raws: dict[str, _Raw] = {}
    sheets: dict[Path, list[str]] = {}
    for book in _workbooks(folder):
        names = _sheet_names(book)
        if isinstance(names, Problem):
            problems.append(names)
        else:
            sheets[book] = names
    for table in TABLES:
        source = find_source(folder, table, sheets)
        if isinstance(source, Problem):
            problems.append(source)
            continue
        sources[table] = source.path
        raw = read_table(source, table)
        if isinstance(raw, Problem):
            problems.append(raw)
        else:
            raws[table] = raw

    typed: dict[str, pl.DataFrame] = {}
    for table, raw in raws.items():
        frame, found = _check_and_type(raw)
        problems += found
        if frame is not None:
            typed[table] = frame

    meta = _Meta(False, None, None, "")
    meta_path = folder / METADATA_FILE
    if meta_path.is_file():
        sources["metadata"] = meta_path
        read = _read_metadata(meta_path)
        if isinstance(read, Problem):
            problems.append(read)
        else:
            meta = read
    if all(t in typed for t in TABLES):
        # The rules across tables run on the rows that typed cleanly, so that a file's
        # problems are reported together, not one stage per run.
        participations, communes, actions = _cleanly_typed(typed)
        problems += _check_participations(
            participations, communes, actions, raws["participations"].label,
            communes_complete=communes.height == typed["communes"].height,
            actions_complete=actions.height == typed["actions"].height,
        )
    if problems:
        raise DataError(problems)

    communes, actions, participations = (typed[t] for t in TABLES)

    first, last = _covered_years(communes, actions, participations)
    frames = {t: typed[t].select(pl.exclude(LINE, r"^__raw_.*$")) for t in TABLES}
    return Dataset(
        communes=frames["communes"].sort("code_insee"),
        actions=frames["actions"].sort("action_id"),
        participations=frames["participations"].sort("code_insee", "action_id", "date_debut"),
        first_year=meta.first_year if meta.first_year is not None else first,
        last_year=meta.last_year if meta.last_year is not None else last,
        illustrative=meta.illustrative,
        description=meta.description,
        sources=sources,
    )


def check_year(dataset: Dataset, year: int) -> None:
    """Raise DataError when ``year`` is outside the years the data covers."""
    if not dataset.first_year <= year <= dataset.last_year:
        where = str(dataset.sources.get("metadata", Path("données")))
        raise DataError([Problem(
            where,
            f"aucune donnée complète pour l'année {year} : le jeu de données couvre "
            f"{dataset.first_year} à {dataset.last_year}",
        )])


def describe(dataset: Dataset) -> str:
    """A short French summary of a loaded data set, for ``mutualisation check``."""
    flag = " (données illustratives)" if dataset.illustrative else ""
    return "\n".join([
        f"Données valides{flag}",
        f"  communes        : {dataset.communes.height}",
        f"  actions         : {dataset.actions.height}",
        f"  participations  : {dataset.participations.height}",
        f"  années couvertes: {dataset.first_year} à {dataset.last_year}",
    ])


__all__ = ["DataError", "Problem", "TableSource", "check_year", "describe", "find_source",
           "load_dataset", "read_table", "MAX_PROBLEMS_PER_FILE", "METADATA_FILE"]
