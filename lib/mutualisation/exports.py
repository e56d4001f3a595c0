"""The bilan outside the notebook: a workbook (``bilan.xlsx``) and a PDF (``bilan.pdf``).

- :func:`write_workbook` writes one sheet of key figures, then one sheet per table of
  :meth:`Bilan.tables` with French headers, Excel number and date formats, column widths,
  a frozen header row and an autofilter. The cells hold the same values as the CSV tables
  (numbers as numbers, dates as dates, booleans as booleans). The workbook's dates are
  fixed, so two runs give the same bytes.
- :func:`write_pdf` prints ``bilan.html`` with Debian's headless Chromium through
  Playwright, network blocked, A4, a French footer with page numbers. Its two timestamps
  are fixed, so two prints give the same bytes.

Excel number formats are written in Excel's neutral syntax (``#,##0``, ``0.0%``,
``dd/mm/yyyy``): a French Excel or LibreOffice shows them with its own separators
("1 234", "95,6 %"). A literal ``# ##0`` would group only the last three digits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import html
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from .formatting import MINUS, plural
from .model import reference_date
from .narrative import key_figure_rows

__all__ = [
    "CHROMIUM_CANDIDATES",
    "COLUMN_LABELS",
    "KEY_FIGURES_SHEET",
    "SHEET_NAMES",
    "ExportError",
    "chromium_missing_message",
    "column_label",
    "find_chromium",
    "fix_pdf_dates",
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

#: Where Debian's package puts the browser; the real binary first (the wrapper script
#: in /usr/bin prints a harmless warning). Same list as tests/browser.py.
CHROMIUM_CANDIDATES: tuple[str, ...] = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS: list[str] = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
]
#: URL schemes the page may load while printing; everything else is aborted.
ALLOWED_SCHEMES: tuple[str, ...] = ("file:", "data:", "blob:")
#: Page margins, the same as the @page rule of the template (the footer sits in the bottom one).
PDF_MARGINS = {"top": "18mm", "bottom": "18mm", "left": "15mm", "right": "15mm"}
FOOTER_TEMPLATE = (
    '<div style="box-sizing:border-box;width:100%;padding:0 15mm;display:flex;'
    "justify-content:space-between;font-family:'DejaVu Sans','Liberation Sans',Arial,"
    'sans-serif;font-size:8pt;color:#555">'
    "<span>{title}</span>"
    '<span>Page <span class="pageNumber"></span> / <span class="totalPages"></span></span>'
    "</div>"
)

_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) ?\(D:(\d{14})([^)]*)\)")


def find_chromium() -> str | None:
    """Path of Debian's Chromium, or None when it is not installed."""
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def chromium_missing_message() -> str:
    return ("Chromium est introuvable (cherché : " + ", ".join(CHROMIUM_CANDIDATES) + ") : "
            "il imprime bilan.pdf. Installez le paquet Debian chromium "
            "(sudo apt-get install chromium), puis relancez le rapport.")


def fix_pdf_dates(pdf: bytes, when: dt.datetime) -> bytes:
    """``pdf`` with /CreationDate and /ModDate set to ``when``, byte lengths unchanged.

    The cross-reference table counts bytes: only the 14 digits of the date and the
    digits of the time zone (set to 0, i.e. UTC) are replaced, never their number.
    """
    stamp = when.strftime("%Y%m%d%H%M%S").encode("ascii")

    def replace(match: re.Match[bytes]) -> bytes:
        zone = re.sub(rb"\d", b"0", match.group(3))
        return match.group(0)[: match.start(2) - match.start(0)] + stamp + zone + b")"

    return _PDF_DATE.sub(replace, pdf)


def _print(html_path: Path, executable: str, title: str) -> bytes:
    from playwright.sync_api import sync_playwright

    def route(r: Any) -> None:
        if r.request.url.startswith(ALLOWED_SCHEMES):
            r.continue_()
        else:
            r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", route)
            page.goto(html_path.resolve().as_uri(), wait_until="load")
            page.evaluate("document.fonts.ready.then(() => true)")
            page.emulate_media(media="print")
            return page.pdf(
                format="A4",
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=FOOTER_TEMPLATE.format(title=html.escape(title)),
                margin=PDF_MARGINS,
            )
        finally:
            browser.close()


def _outside_event_loop(work: Callable[[], bytes]) -> bytes:
    """Playwright's sync API refuses to run in a thread with a running asyncio loop
    (a Jupyter kernel): run it in a worker thread then."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def write_pdf(bilan: Any, html_path: Path, path: Path, title: str) -> Path:
    """Print ``html_path`` to ``path`` (A4, French footer); same bytes on every run."""
    executable = find_chromium()
    if executable is None:
        raise ExportError(chromium_missing_message())
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as err:
        raise ExportError("le paquet Python playwright est absent : il pilote Chromium pour "
                          "imprimer bilan.pdf (pip install playwright ; ne lancez pas "
                          "« playwright install », Chromium vient de Debian).") from err
    pdf = _outside_event_loop(lambda: _print(html_path, executable, title))
    path.write_bytes(fix_pdf_dates(pdf, _fixed_time(bilan)))
    return path
