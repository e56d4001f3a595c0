"""The bilan outside the notebook: a workbook (``bilan.xlsx``) and a PDF (``bilan.pdf``).

- :func:`write_workbook` writes one sheet of key figures, then one sheet per table of
  :meth:`Bilan.tables` with French headers, Excel number and date formats, column widths,
  a frozen header row and an autofilter. The cells hold the same values as the CSV tables
  (numbers as numbers, dates as dates, booleans as booleans). The workbook's dates are
  fixed, so two runs give the same bytes.
- :func:`write_pdf` prints ``bilan.html`` with WeasyPrint (a Python library on pango; no
  browser): CSS Paged Media, A4, the page's own print stylesheet (no chart or table row
  cut, headings kept with what follows, tall charts scaled to one page) plus a footer
  with the title and « Page N / M ». Only ``data:`` URLs and files of the page's folder
  are read, nothing from the network. Title, dates (the bilan's reference date) and the
  PDF /ID are fixed, so two prints give the same bytes. WeasyPrint is imported only
  when printing; :func:`pdf_engine_problem` says, in French, when it cannot be loaded
  (pango missing), so that a report can be written without its PDF.

Excel number formats are written in Excel's neutral syntax (``#,##0``, ``0.0%``,
``dd/mm/yyyy``): a French Excel or LibreOffice shows them with its own separators
("1 234", "95,6 %"). A literal ``# ##0`` would group only the last three digits.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from .formatting import MINUS, plural
from .model import reference_date
from .narrative import key_figure_rows

__all__ = [
    "COLUMN_LABELS",
    "KEY_FIGURES_SHEET",
    "SHEET_NAMES",
    "ExportError",
    "column_label",
    "local_url_fetcher",
    "page_css",
    "pdf_engine_problem",
    "write_pdf",
    "write_workbook",
]


class ExportError(Exception):
    """A workbook or PDF that could not be written; the message (French) says why."""


# --------------------------------------------------------------------------- labels

#: Name of the first sheet of the workbook.
KEY_FIGURES_SHEET = "Chiffres clés"

#: Sheet name of each table of :meth:`Bilan.tables` (Excel allows 31 characters).
SHEET_NAMES: dict[str, str] = {
    "actions": "Actions",
    "communes": "Communes",
    "distribution": "Distribution",
    "domaines": "Domaines",
    "mouvements": "Mouvements",
    "series": "Séries",
}

#: French headers of the tables' columns; a column missing here keeps its own name.
#: ``communes_au_moins_K`` and ``part_au_moins_K`` are named by :func:`column_label`.
COLUMN_LABELS: dict[str, str] = {
    "action_id": "Code de l'action",
    "libelle": "Libellé",
    "domaine": "Domaine",
    "date_inscription": "Date d'inscription",
    "date_deploiement": "Date de déploiement",
    "deployee": "Déployée",
    "deployee_annee": "Déployée dans l'année",
    "nb_communes": "Communes participantes",
    "code_insee": "Code INSEE",
    "nom": "Commune",
    "population": "Population",
    "nb_actions": "Nombre d'actions",
    "actions": "Actions suivies",
    "actions_disponibles": "Actions déployées non suivies",
    "communes": "Communes",
    "actions_inscrites": "Actions inscrites",
    "actions_deployees": "Actions déployées",
    "participations": "Participations",
    "mouvement": "Mouvement",
    "date": "Date",
    "annee": "Année",
    "communes_membres": "Communes membres",
    "actions_deployees_annee": "Actions déployées dans l'année",
    "participations_actives": "Participations actives",
}

_THRESHOLD_COLUMN = re.compile(r"(communes|part)_au_moins_(\d+)")


def column_label(name: str) -> str:
    """The French header of a table column (the raw name when there is none)."""
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    match = _THRESHOLD_COLUMN.fullmatch(name)
    if match:
        what, k = match.group(1), int(match.group(2))
        prefix = "Communes" if what == "communes" else "Part des communes"
        return f"{prefix} dans au moins {plural(k, 'action', 'actions')}"
    return name


# --------------------------------------------------------------------------- workbook

#: Excel formats (neutral syntax, localised by the spreadsheet).
DATE_FORMAT = "dd/mm/yyyy"
SHARE_FORMAT = "0.0%"
INTEGER_FORMAT = "#,##0"
YEAR_FORMAT = "0"
DECIMAL_FORMAT = "#,##0.0#"
CHANGE_FORMAT = f'+#,##0;"{MINUS}"#,##0;0'
POINTS_FORMAT = f'+0.0" pt";"{MINUS}"0.0" pt";0.0" pt"'

_MIN_WIDTH, _MAX_WIDTH = 8, 60


def _fixed_time(bilan: Any) -> dt.datetime:
    """The date written into the files' metadata: the bilan's reference date, midnight UTC."""
    day = reference_date(bilan.year)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _column_format(name: str, dtype: pl.DataType) -> str | None:
    if dtype == pl.Date or dtype == pl.Datetime:
        return DATE_FORMAT
    if name == "annee":
        return YEAR_FORMAT
    if dtype.is_float():
        return SHARE_FORMAT if name.startswith("part") else DECIMAL_FORMAT
    if dtype.is_integer():
        return INTEGER_FORMAT
    return None


def _shown_length(value: Any, fmt: str | None) -> int:
    """About how many characters a cell shows, for the column width."""
    if value is None:
        return 0
    if fmt == DATE_FORMAT:
        return 10
    if fmt == SHARE_FORMAT:
        return 7
    if isinstance(value, bool):
        return 5
    if isinstance(value, int | float):
        digits = len(f"{abs(value):,.0f}")
        return digits + (3 if fmt == DECIMAL_FORMAT else 0)
    return len(str(value))


def _width(header: str, lengths: list[int]) -> float:
    # Long headers wrap on two lines rather than widening the column too much.
    header_width = max(len(header) / 2 + 2, min(len(w) for w in header.split()) + 2)
    return float(min(_MAX_WIDTH, max(_MIN_WIDTH, header_width, *(n + 2 for n in lengths))))


def _write_table(workbook: Any, name: str, frame: pl.DataFrame, formats: dict[str, Any]) -> None:
    sheet = workbook.add_worksheet(name)
    headers = [column_label(c) for c in frame.columns]
    sheet.write_row(0, 0, headers, formats["header"])
    for col, (column, header) in enumerate(zip(frame.columns, headers, strict=True)):
        series = frame[column]
        fmt_code = _column_format(column, series.dtype)
        cell_format = formats[fmt_code] if fmt_code else formats["text"]
        for row, value in enumerate(series.to_list(), start=1):
            if value is None or value == "":
                sheet.write_blank(row, col, None, cell_format)
            elif isinstance(value, bool):
                sheet.write_boolean(row, col, value, cell_format)
            elif isinstance(value, dt.date):
                sheet.write_datetime(row, col, value, cell_format)
            elif isinstance(value, int | float):
                sheet.write_number(row, col, value, cell_format)
            else:
                sheet.write_string(row, col, str(value), cell_format)
        lengths = [_shown_length(v, fmt_code) for v in series.to_list()]
        sheet.set_column(col, col, _width(header, lengths))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(frame.height, 1), max(frame.width - 1, 0))


def _write_key_figures(workbook: Any, bilan: Any, title: str, formats: dict[str, Any]) -> None:
    sheet = workbook.add_worksheet(KEY_FIGURES_SHEET)
    year = bilan.year
    headers = ["Indicateur", str(year), str(year - 1), "Évolution"]
    sheet.write_row(0, 0, headers, formats["header"])
    rows = key_figure_rows(bilan)
    for row, (label, now, before, kind) in enumerate(rows, start=1):
        value_format = formats[SHARE_FORMAT if kind == "%" else INTEGER_FORMAT]
        sheet.write_string(row, 0, label, formats["text"])
        sheet.write_number(row, 1, now, value_format)
        if before is None:
            sheet.write_blank(row, 2, None, value_format)
            sheet.write_blank(row, 3, None, value_format)
        elif kind == "%":
            sheet.write_number(row, 2, before, value_format)
            sheet.write_number(row, 3, round((now - before) * 100, 1), formats[POINTS_FORMAT])
        else:
            sheet.write_number(row, 2, before, value_format)
            sheet.write_number(row, 3, now - before, formats[CHANGE_FORMAT])
    notes = [f"{title} — situation au {reference_date(year):%d/%m/%Y}."]
    if bilan.previous is None:
        notes.append(f"Les données ne couvrent pas {year - 1} : pas de comparaison.")
    if bilan.dataset.illustrative:
        detail = bilan.dataset.description or ""
        notes.append(f"Données illustratives — {detail}".strip(" —"))
    for offset, note in enumerate(notes):
        sheet.write_string(len(rows) + 2 + offset, 0, note, formats["note"])
    sheet.set_column(0, 0, max(len(r[0]) for r in rows) + 2)
    sheet.set_column(1, 3, 12)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(rows), len(headers) - 1)


def write_workbook(bilan: Any, path: Path, title: str) -> Path:
    """Write ``bilan.xlsx``: « Chiffres clés » then one sheet per table, in French."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
    })
    try:
        workbook.set_properties({
            "title": title,
            "subject": "Schéma de mutualisation : bilan annuel",
            "author": "mutualisation",
            "comments": "Tableaux du bilan : mêmes valeurs que les fichiers tables/*.csv.",
            "created": _fixed_time(bilan).replace(tzinfo=None),
        })
        workbook.set_size(1600, 1000)
        formats: dict[str, Any] = {
            "header": workbook.add_format({"bold": True, "text_wrap": True, "valign": "top",
                                           "bg_color": "#E8EEF4", "bottom": 1}),
            "text": workbook.add_format({"valign": "top"}),
            "note": workbook.add_format({"italic": True}),
        }
        for code in (DATE_FORMAT, SHARE_FORMAT, INTEGER_FORMAT, YEAR_FORMAT, DECIMAL_FORMAT,
                     CHANGE_FORMAT, POINTS_FORMAT):
            formats[code] = workbook.add_format({"num_format": code, "valign": "top"})
        _write_key_figures(workbook, bilan, title, formats)
        for name, frame in sorted(bilan.tables().items()):
            _write_table(workbook, SHEET_NAMES.get(name, name)[:31], frame, formats)
    finally:
        workbook.close()
    return path


# --------------------------------------------------------------------------- PDF

#: Page margins of bilan.pdf, the same as the @page rule of the page's template (the footer
#: sits in the bottom one).
PDF_MARGINS = {"top": "18mm", "bottom": "18mm", "left": "15mm", "right": "15mm"}
#: Fonts of the footer: DejaVu Sans first (Debian's fonts-dejavu-core), as in the page.
FOOTER_FONTS = "'DejaVu Sans', 'Liberation Sans', Arial, sans-serif"
#: URL schemes WeasyPrint may read while printing (files only under the page's own folder).
PDF_ALLOWED_SCHEMES: tuple[str, ...] = ("data", "file")
#: Loggers silenced below ERROR while printing: WeasyPrint warns about every CSS feature of
#: JupyterLab's stylesheet it does not know; fontTools talks while subsetting fonts.
QUIET_LOGGERS: tuple[str, ...] = ("weasyprint", "fontTools")

PDF_ENGINE_ADVICE = ("Installez les bibliothèques pango (Debian : apt-get install "
                     "libpango-1.0-0 libpangoft2-1.0-0), puis relancez le rapport.")
PDF_PACKAGE_ADVICE = ("Installez-le dans l'environnement du projet (pip install weasyprint), "
                      "puis relancez le rapport.")

#: One print at a time in a process (a batch prints from several threads): WeasyPrint's
#: font machinery is not meant to be shared, and the loggers' levels are saved and restored.
_PRINT_LOCK = threading.Lock()


def _one_line(err: BaseException, limit: int = 160) -> str:
    """``Type : message`` of an exception on one line, shortened (dlopen errors are long)."""
    text = " ".join(str(err).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"{type(err).__name__} : {text}" if text else type(err).__name__


@functools.cache
def pdf_engine_problem() -> str | None:
    """None when WeasyPrint can print bilan.pdf, else one French line saying why not and what
    to do. Imports WeasyPrint (about 0.5 s) the first time; the answer is then cached.

    WeasyPrint raises OSError at import when the system libraries it loads (pango, gobject,
    fontconfig) are missing, ImportError when the package itself is.
    """
    try:
        # When its libraries are missing, WeasyPrint prints an English notice on standard
        # output before raising; the French line below says it instead.
        with contextlib.redirect_stdout(io.StringIO()):
            import weasyprint  # noqa: F401
    except ModuleNotFoundError as err:
        if err.name != "weasyprint":
            return ("bilan.pdf n'a pas été imprimé : WeasyPrint ne peut pas se charger "
                    f"({_one_line(err)}). {PDF_PACKAGE_ADVICE}")
        return ("bilan.pdf n'a pas été imprimé : le paquet Python weasyprint est absent. "
                + PDF_PACKAGE_ADVICE)
    except (ImportError, OSError) as err:
        return ("bilan.pdf n'a pas été imprimé : WeasyPrint ne peut pas se charger "
                f"({_one_line(err)}). {PDF_ENGINE_ADVICE}")
    return None


def _css_string(text: str) -> str:
    """``text`` as a double-quoted CSS string (quotes, backslashes, line breaks escaped)."""
    escaped = []
    for char in text:
        if char in '"\\' or ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\{ord(char):x} ")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def page_css(title: str) -> str:
    """The stylesheet added to the page's own when printing: A4, margins, the footer."""
    margins = " ".join(PDF_MARGINS[side] for side in ("top", "right", "bottom", "left"))
    footer = f"font-family: {FOOTER_FONTS}; font-size: 8pt; color: #555;"
    return (
        "@page {\n"
        f"  size: A4;\n  margin: {margins};\n"
        f"  @bottom-left {{ content: {_css_string(title)}; {footer}"
        " vertical-align: middle; }\n"
        '  @bottom-right { content: "Page " counter(page) " / " counter(pages); '
        f"{footer} vertical-align: middle; white-space: nowrap; }}\n"
        "}\n"
    )


def local_url_fetcher(folder: Path) -> Any:
    """A WeasyPrint URL fetcher that reads ``data:`` URLs and files under ``folder`` only.

    Anything else (http, https, ftp, a file elsewhere) raises ValueError: WeasyPrint logs
    the error and prints the page without that resource. Nothing comes from the network.
    """
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    from weasyprint.urls import URLFetcher

    root = folder.resolve()

    class LocalURLFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = url.partition(":")[0].lower()
            if scheme not in PDF_ALLOWED_SCHEMES:
                raise ValueError(f"URL refusée (rien ne vient du réseau) : {url[:200]}")
            if scheme == "file":
                where = Path(url2pathname(urlsplit(url).path)).resolve()
                if not where.is_relative_to(root):
                    raise ValueError(f"fichier refusé, hors du dossier du bilan : {where}")
            return super().fetch(url, headers)

    return LocalURLFetcher(allowed_protocols=PDF_ALLOWED_SCHEMES, allow_redirects=False)


@contextlib.contextmanager
def _quiet_loggers(names: tuple[str, ...] = QUIET_LOGGERS) -> Iterator[None]:
    """Set ``names`` to ERROR for the duration, then give them back their own levels."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _w3c_time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _render(html_path: Path, title: str, when: dt.datetime) -> bytes:
    """The PDF of ``html_path`` as bytes: WeasyPrint, print media, fixed metadata."""
    import weasyprint

    fetcher = local_url_fetcher(html_path.parent)
    with _PRINT_LOCK, _quiet_loggers():
        page = weasyprint.HTML(filename=str(html_path), url_fetcher=fetcher,
                               media_type="print")
        document = page.render(stylesheets=[weasyprint.CSS(string=page_css(title),
                                                           url_fetcher=fetcher)])
        # The metadata WeasyPrint read from the page, made independent of the run: the
        # title given, both dates at the bilan's reference date, no generator.
        metadata = document.metadata
        metadata.title = title
        metadata.created = metadata.modified = _w3c_time(when)
        metadata.generator = None
        # pdf_identifier=True: /ID is the MD5 of the file's own bytes, so it changes only
        # when the content does (the default, None, writes no /ID at all).
        return document.write_pdf(pdf_identifier=True)


def write_pdf(bilan: Any, html_path: Path, path: Path, title: str) -> Path:
    """Print ``html_path`` to ``path`` with WeasyPrint: A4, a footer with ``title`` and
    « Page N / M », nothing from the network; the same bytes on every run.

    Raises :class:`ExportError` (French message) when WeasyPrint cannot be loaded (the
    line of :func:`pdf_engine_problem`) or fails to print the page.
    """
    problem = pdf_engine_problem()
    if problem is not None:
        raise ExportError(problem)
    try:
        pdf = _render(html_path, title, _fixed_time(bilan))
    except Exception as err:
        raise ExportError(f"bilan.pdf n'a pas pu être imprimé par WeasyPrint "
                          f"({_one_line(err)}).") from err
    path.write_bytes(pdf)
    return path

