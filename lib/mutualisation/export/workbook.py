"""The bilan as a workbook (``bilan.xlsx``).

:func:`write_workbook` writes one sheet of key figures, then one sheet per table of
:meth:`Bilan.tables` with French headers (:mod:`mutualisation.present.labels`), Excel number
and date formats, column widths, a frozen header row and an autofilter. The cells hold the
same values as the CSV tables (numbers as numbers, dates as dates, booleans as booleans).
The workbook's dates are fixed, so two runs give the same bytes.

Excel number formats are written in Excel's neutral syntax (``#,##0``, ``0.0%``,
``dd/mm/yyyy``): a French Excel or LibreOffice shows them with its own separators
("1 234", "95,6 %"). A literal ``# ##0`` would group only the last three digits.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl

from mutualisation.data.model import reference_date
from mutualisation.formatting import MINUS
from mutualisation.present.bilan_text import key_figure_rows
from mutualisation.present.labels import column_label


class ExportError(Exception):
    """A workbook or PDF that could not be written; the message (French) says why."""


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
    "formes_juridiques": "Formes juridiques",
    "moyens": "Moyens",
    "moyens_communes": "Moyens par commune",
    "moyens_series": "Moyens par année",
}

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


def fixed_time(bilan: Any) -> dt.datetime:
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
            "created": fixed_time(bilan).replace(tzinfo=None),
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


